"""Test controls shared by the Python sample tasks (B2, B3): input.simulate.<task_id> =
{"fail_attempts": N, "sleep_ms": N, "sleep_attempts": N, "output_bytes": N}
(docs/architecture.md, "Sample tasks' test controls").

This file lives in b3/ because B3's container image builds from that folder alone; b2/simulate.py
links here, so both deployments carry the same code.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any


class SimulatedFailure(Exception):
    """The failure `fail_attempts` asks for."""


def controls(event: dict[str, Any]) -> dict[str, float]:
    mine = ((event.get("input") or {}).get("simulate") or {}).get(event.get("task_id")) or {}
    result = {}
    for name in ("fail_attempts", "sleep_ms", "sleep_attempts", "output_bytes"):
        raw = mine.get(name) or 0
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw < 0:
            raise TypeError(f"input.simulate.{event.get('task_id')}.{name} must be a non-negative number")
        result[name] = raw
    if mine.get("sleep_attempts") is None:
        result["sleep_attempts"] = float("inf")  # absent: every attempt sleeps; N: attempts 1..N
    return result


def pad(output: dict[str, Any], size: float) -> dict[str, Any]:
    current = len(json.dumps(output, separators=(",", ":")).encode())
    missing = int(size) - current - 14  # "padding", its quotes, colon and comma
    return {**output, "padding": "x" * missing} if missing > 0 else output


def simulate(event: dict[str, Any], produce: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    """Run `produce(event)` under the test controls: sleep, then fail the first N attempts, then pad."""
    c = controls(event)
    attempt = int(event.get("attempt", 1))
    if c["sleep_ms"] and attempt <= c["sleep_attempts"]:
        time.sleep(c["sleep_ms"] / 1000)
    if attempt <= c["fail_attempts"]:
        task = event.get("task_id")
        raise SimulatedFailure(
            f"simulated failure of {task} attempt {attempt} (fail_attempts={c['fail_attempts']:g})"
        )
    output = produce(event)
    return pad(output, c["output_bytes"]) if c["output_bytes"] else output
