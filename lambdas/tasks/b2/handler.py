"""Task B2 (Python): statistics of A's data."""

from __future__ import annotations

import statistics
from typing import Any

from simulate import simulate


def _statistics(event: dict[str, Any]) -> dict[str, Any]:
    data = [
        x
        for x in (event.get("dependencies") or {}).get("A", {}).get("data", [])
        if isinstance(x, (int, float))
    ]
    return {
        "task": event["task_id"],
        "count": len(data),
        "mean": statistics.fmean(data) if data else None,
        "median": statistics.median(data) if data else None,
        "min": min(data, default=None),
        "max": max(data, default=None),
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return simulate(event, _statistics)
