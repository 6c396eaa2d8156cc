"""What a lane got through lately: the controller's short memory of the second before a refusal."""

from __future__ import annotations


class RecentRate:
    """Successes per second over the last second, counted in tenths: what got through just before a refusal."""

    SLOTS = 10
    WINDOW_S = 1.0
    SHORTEST_S = 0.1  # a rate over less than this is noise

    def __init__(self) -> None:
        self._counts = [0] * self.SLOTS
        self._tenth = 0  # the tenth of a second the newest slot counts
        self._since: float | None = None  # the first success: a young lane's window is shorter

    def add(self, now: float) -> None:
        if self._since is None:
            self._since = now
        tenth = int(now * self.SLOTS)
        if tenth != self._tenth:  # once a tenth, not once a success: this runs for every job
            self._advance(now)
        self._counts[self._tenth % self.SLOTS] += 1

    def per_s(self, now: float) -> float:
        """Successes per second over the last second (or since the first, if later): the slots hold nine
        whole tenths and the current one's elapsed part, so the count is divided by what they cover."""
        self._advance(now)
        if self._since is None:
            return 0.0
        tenths = self.SLOTS - 1 + (now * self.SLOTS - self._tenth)
        covered = min(now - self._since, tenths / self.SLOTS)
        return sum(self._counts) / max(covered, self.SHORTEST_S)

    def _advance(self, now: float) -> None:
        tenth = int(now * self.SLOTS)
        for stale in range(max(self._tenth + 1, tenth - self.SLOTS + 1), tenth + 1):
            self._counts[stale % self.SLOTS] = 0
        self._tenth = max(self._tenth, tenth)
