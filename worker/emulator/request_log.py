"""What the emulator saw: a bounded log of recent requests plus counters that are never trimmed."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

import orjson

from worker.emulator.config import EmulatorConfig

#: The status recorded for a request whose connection was dropped without an answer.
DROPPED = 0


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One PATCH as answered; `time` is `time.monotonic()` when it was answered.

    A `$batch` item is recorded like a single PATCH, plus `batch_id` (the request-id of the `$batch` HTTP
    request that carried it, shared by its items) and `item_id` (its "id" in the batch); both are None for
    a single PATCH.

    The body is kept as the JSON bytes received (None when the emulator never read it or could not parse
    it): bytes cost a fraction of the memory of parsed JSON, and the garbage collector never scans them.
    """

    method: str
    version: str
    path: str
    tenant: str
    client_request_id: str | None
    status: int
    raw_body: bytes | None
    time: float
    batch_id: str | None = None
    item_id: str | None = None

    @property
    def via_batch(self) -> bool:
        """True for an item of a `$batch` request."""
        return self.batch_id is not None

    @property
    def body(self) -> Any:
        """The parsed JSON body, or None."""
        return None if self.raw_body is None else orjson.loads(self.raw_body)

    def to_json(self) -> dict[str, Any]:
        """The JSON form served by `GET /_emulator/requests`, with the body parsed."""
        return {
            "method": self.method,
            "version": self.version,
            "path": self.path,
            "tenant": self.tenant,
            "client_request_id": self.client_request_id,
            "status": self.status,
            # the bytes are known-valid JSON: embedded as they are, never re-parsed
            "body": None if self.raw_body is None else orjson.Fragment(self.raw_body),
            "time": self.time,
            "batch_id": self.batch_id,
            "item_id": self.item_id,
        }


class RequestLog:
    """Keeps the last `config.record_limit` requests and running totals for `/_emulator/stats`."""

    def __init__(self, config: EmulatorConfig) -> None:
        self._config = config
        self._records: deque[RecordedRequest] = deque()
        self._by_status: Counter[int] = Counter()
        self._by_tenant: Counter[str] = Counter()
        self._by_tenant_status: Counter[tuple[str, int]] = Counter()
        self._succeeded_ids: set[str] = set()
        self._duplicate_successes = 0
        self._batches: Counter[int] = Counter()
        self._batch_items = 0
        self._in_flight = 0
        self._max_in_flight = 0
        self._token_requests: Counter[str] = Counter()

    def clear(self) -> None:
        """Forget every record and counter (the in-flight gauge keeps counting live requests)."""
        self._records.clear()
        self._by_status.clear()
        self._by_tenant.clear()
        self._by_tenant_status.clear()
        self._succeeded_ids.clear()
        self._duplicate_successes = 0
        self._batches.clear()
        self._batch_items = 0
        self._max_in_flight = self._in_flight
        self._token_requests.clear()

    def enter(self) -> None:
        """A request started: track the concurrency the client achieved."""
        self._in_flight += 1
        self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def leave(self) -> None:
        """A request finished (answered or dropped)."""
        self._in_flight -= 1

    def record(self, request: RecordedRequest) -> None:
        """Log one answered request; the oldest record goes once the limit is reached."""
        records = self._records
        records.append(request)
        # a deque's maxlen is fixed at creation, but the limit can change at runtime
        while len(records) > self._config.record_limit:
            records.popleft()
        self._by_status[request.status] += 1
        self._by_tenant[request.tenant] += 1
        self._by_tenant_status[request.tenant, request.status] += 1
        if request.batch_id is not None:
            self._batch_items += 1
        if 200 <= request.status < 300 and request.client_request_id is not None:  # 200, or 204 (directory)
            if request.client_request_id in self._succeeded_ids:
                self._duplicate_successes += 1
            else:
                self._succeeded_ids.add(request.client_request_id)

    def record_token_request(self, tenant: str) -> None:
        """Count one POST to the token endpoint for `tenant` (the tenant in its path), whatever the answer."""
        self._token_requests[tenant] += 1

    def record_batch(self, status: int) -> None:
        """Count one `$batch` HTTP request by the status of its envelope (its items are recorded one by one)."""
        self._batches[status] += 1

    def requests(
        self, status: int | None = None, tenant: str | None = None, limit: int | None = None
    ) -> list[RecordedRequest]:
        """Recorded requests, oldest first, filtered; `limit` keeps the most recent ones."""
        found = [
            record
            for record in self._records
            if (status is None or record.status == status) and (tenant is None or record.tenant == tenant)
        ]
        return found if limit is None else found[max(0, len(found) - limit) :]

    def stats(self) -> dict[str, Any]:
        """Totals since the last reset, for `GET /_emulator/stats`.

        Every count but the `batches*` ones is per PATCH: a `$batch` item counts as one, exactly like a
        single PATCH. `batches` counts `$batch` HTTP requests (`batches_by_status` by envelope status, 0 for
        a dropped connection) and `batch_items` the recorded PATCHes that came inside one. `token_requests`
        counts requests to the token endpoint per tenant (they are not PATCHes: not in `total`).
        `by_tenant_status` splits `by_tenant` by status (e.g. {"a": {"200": 5, "429": 1}}); when each
        answer was given is in `/_emulator/requests` (`time`, `time.monotonic()` of the emulator).
        """
        by_tenant_status: dict[str, dict[str, int]] = {}
        for (tenant, status), count in sorted(self._by_tenant_status.items()):
            by_tenant_status.setdefault(tenant, {})[str(status)] = count
        return {
            "total": self._by_status.total(),
            "by_status": {str(status): count for status, count in sorted(self._by_status.items())},
            "by_tenant": dict(sorted(self._by_tenant.items())),
            "by_tenant_status": by_tenant_status,
            "throttled": self._by_status[429],
            "dropped": self._by_status[DROPPED],
            "in_flight": self._in_flight,
            "max_in_flight": self._max_in_flight,
            "distinct_succeeded": len(self._succeeded_ids),
            "duplicate_succeeded": self._duplicate_successes,
            "recorded": len(self._records),
            "batches": self._batches.total(),
            "batches_by_status": {str(status): count for status, count in sorted(self._batches.items())},
            "batch_items": self._batch_items,
            "token_requests": dict(sorted(self._token_requests.items())),
        }
