"""Small helpers the benchmarks share: percentiles of a sample, and a process's CPU time and peak
memory read from ``/proc`` (Linux; elsewhere the figures are ``None`` and print as "n/a")."""

from __future__ import annotations

import math
import os
from pathlib import Path


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1) of an already sorted, non-empty list: a value
    that was measured, never an interpolation between two."""
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


def summary_ms(seconds: list[float]) -> dict[str, float | int]:
    """p50/p95/p99/max in milliseconds (and the sample size) of durations given in seconds."""
    if not seconds:
        return {"n": 0}
    ordered = sorted(seconds)
    return {
        "n": len(ordered),
        "p50_ms": round(percentile(ordered, 0.50) * 1000, 1),
        "p95_ms": round(percentile(ordered, 0.95) * 1000, 1),
        "p99_ms": round(percentile(ordered, 0.99) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds the process has used so far (``/proc/<pid>/stat``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime: fields 14 and 15 of stat


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident memory so far (``VmHWM``), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        return None
    return None


def fmt(value: float | int | None, unit: str = "", digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"
