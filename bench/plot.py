"""The quota scenario over time, as a PNG: requests/s sent and 429s per second (from the emulator's
records), the quota, and patch-worker's lane state at each throttle (paced rate and concurrency limit).
`plot_rates` draws the throttling matrix's hardest cells the same way: 200s and 429s per half second.

Time 0 is each client's first request. The lane state is known only at the `lane.paused` log events
(patch-worker logs nothing about its lane between throttles), so it is drawn as points, not a curve.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt

from bench.quota import Timeline

BIN_S = 1.0


def _per_second(times: list[float], end: float, bin_s: float = BIN_S) -> tuple[list[float], list[float]]:
    """Counts per bin of `bin_s` seconds, as a rate per second."""
    counts = Counter(int(t // bin_s) for t in times if t >= 0)
    bins = range(int(end // bin_s) + 1)
    return [b * bin_s for b in bins], [counts.get(b, 0) / bin_s for b in bins]


def plot_quota(timelines: dict[str, Timeline], quota: float, jobs: int, path: Path) -> Path:
    """Draw one panel per client (patch-worker first) on a shared time axis; write `path`."""
    names = [name for name in ("patchWorker", "naive") if name in timelines]
    titles = {"patchWorker": "patch-worker (learned pacing, lane-wide pause)", "naive": "naive: aiohttp + tenacity"}
    origins = {name: min((t for t, _ in tl.requests), default=0.0) for name, tl in timelines.items()}
    end = max((t - origins[name] for name, tl in timelines.items() for t, _ in tl.requests), default=1.0) + BIN_S
    fig, axes = plt.subplots(len(names), 1, figsize=(11, 3.6 * len(names)), sharex=True, squeeze=False)
    for ax, name in zip(axes[:, 0], names, strict=True):
        timeline, origin = timelines[name], origins[name]
        sent_x, sent_y = _per_second([t - origin for t, _ in timeline.requests], end)
        throttled_x, throttled_y = _per_second([t - origin for t, status in timeline.requests if status == 429], end)
        total = len(timeline.requests)
        throttled = sum(1 for _, status in timeline.requests if status == 429)
        ax.step(sent_x, sent_y, where="post", color="tab:blue", label="requests/s sent")
        ax.bar(throttled_x, throttled_y, width=BIN_S, align="edge", color="tab:red", alpha=0.6, label="429s/s")
        ax.axhline(quota, color="gray", linestyle="--", linewidth=1, label=f"quota {quota:g}/s")
        ax.set_ylabel("per second")
        ax.set_title(
            f"{titles[name]}: {total} requests, {throttled} answered 429 ({throttled / max(total, 1):.1%})",
            fontsize=10,
        )
        ax.grid(alpha=0.3)
        handles, labels = ax.get_legend_handles_labels()
        events = [{**e, "t": e["t"] - origin} for e in timeline.lane_events]
        rated = [e for e in events if e["rate"] is not None]
        if rated:
            ax.plot(
                [e["t"] for e in rated],
                [e["rate"] for e in rated],
                "o",
                color="tab:green",
                markersize=5,
                label="lane paced rate (req/s), set at a 429",
            )
        if events:
            right = ax.twinx()
            right.plot(
                [e["t"] for e in events],
                [e["limit"] for e in events],
                "x",
                color="tab:purple",
                markersize=6,
                label="lane concurrency limit, cut at a 429",
            )
            right.set_ylabel("concurrency limit", color="tab:purple")
            right.set_ylim(bottom=0, top=max(e["limit"] for e in events) * 1.6)
            h2, l2 = right.get_legend_handles_labels()
            h1, l1 = ax.get_legend_handles_labels()
            handles, labels = h1 + h2, l1 + l2
        ax.legend(handles, labels, loc="upper center", ncol=3, fontsize=8, framealpha=0.9)
        ax.set_ylim(bottom=0, top=max(max(sent_y, default=quota), quota) * 1.6)  # room for the legend
    axes[-1, 0].set_xlabel("seconds since the client's first request")
    fig.suptitle(f"Quota scenario: {jobs} jobs, emulator quota {quota:g} requests/s per tenant", fontsize=12)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _rate_panel(ax: Any, title: str, timeline: Timeline, quota: float, bin_s: float) -> None:
    origin = min((t for t, _ in timeline.requests), default=0.0)
    times = [(t - origin, status) for t, status in timeline.requests]
    end = max((t for t, _ in times), default=1.0) + bin_s
    ok_x, ok_y = _per_second([t for t, status in times if status == 200], end, bin_s)
    throttled_x, throttled_y = _per_second([t for t, status in times if status == 429], end, bin_s)
    throttled = sum(1 for _, status in times if status == 429)
    ax.step(ok_x, ok_y, where="post", color="tab:blue", label="200s/s")
    ax.bar(throttled_x, throttled_y, width=bin_s, align="edge", color="tab:red", alpha=0.6, label="429s/s")
    ax.axhline(quota, color="gray", linestyle="--", linewidth=1, label=f"quota {quota:g}/s")
    ax.set_title(f"{title}: {len(times)} requests, {throttled / max(len(times), 1):.1%} answered 429", fontsize=9)
    ax.set_ylim(bottom=0, top=max(*ok_y, *throttled_y, quota) * 1.5)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=7, framealpha=0.9)


def plot_rates(rows: list[tuple[str, dict[str, Timeline], float]], path: Path, bin_s: float = 0.5) -> Path:
    """One row per (title, timelines by client, quota in requests/s), patch-worker left, naive right."""
    names = ("patchWorker", "naive")
    labels = {"patchWorker": "patch-worker", "naive": "naive aiohttp + tenacity"}
    fig, axes = plt.subplots(len(rows), 2, figsize=(13, 2.8 * len(rows)), squeeze=False)
    for (title, timelines, quota), row in zip(rows, axes, strict=True):
        for name, ax in zip(names, row, strict=True):
            if name in timelines:
                _rate_panel(ax, f"{title} — {labels[name]}", timelines[name], quota, bin_s)
            ax.set_ylabel("per second")
    for ax in axes[-1]:
        ax.set_xlabel("seconds since the client's first request")
    fig.suptitle(f"Throttling matrix: answers per {bin_s:g} s, as rates", fontsize=12)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
