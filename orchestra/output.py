"""What the command line prints: tables for people (Rich), JSON for scripts (--json)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from orchestra.watch import Transition

ISO = "%Y-%m-%dT%H:%M:%S.%fZ"
STATUS_STYLE = {
    "SUCCESS": "green",
    "SUCCEEDED": "green",
    "FAILED": "red",
    "CANCELLED": "yellow",
    "SKIPPED": "dim",
    "RUNNING": "cyan",
    "READY": "blue",
}


def console(stream: TextIO | None = None) -> Console:
    stream = stream or sys.stdout
    # Not a terminal (a pipe, a file, a test): no colour codes, and wide enough that ids never wrap.
    terminal = stream.isatty()
    return Console(file=stream, width=None if terminal else 200, no_color=not terminal, highlight=False)


def print_json(value: Any, stream: TextIO | None = None) -> None:
    (stream or sys.stdout).write(json.dumps(value, indent=2, sort_keys=True) + "\n")


def print_json_line(value: Any, stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    out.write(json.dumps(value, sort_keys=True, separators=(",", ":")) + "\n")
    out.flush()


def seconds(ms: int | float | None) -> str:
    if ms is None:
        return "-"
    return f"{ms / 1000:.1f} s" if ms < 60_000 else f"{int(ms // 60_000)} min {int(ms % 60_000) // 1000} s"


def when(iso: str | None) -> str:
    """An ISO-8601 UTC time to the second (the API's times are UTC with milliseconds)."""
    if not iso:
        return "-"
    return datetime.strptime(iso, ISO).strftime("%Y-%m-%d %H:%M:%S")


def styled(status: str) -> str:
    style = STATUS_STYLE.get(status)
    return f"[{style}]{status}[/{style}]" if style else status


def counts(task_counts: dict[str, int]) -> str:
    total = sum(task_counts.values())
    done = task_counts.get("SUCCEEDED", 0)
    rest = ", ".join(f"{n} {s.lower()}" for s, n in sorted(task_counts.items()) if s != "SUCCEEDED" and n)
    return f"{done}/{total} succeeded" + (f" ({rest})" if rest else "")


def workflows_table(items: Iterable[dict[str, Any]]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("WORKFLOW", "DEFINITION", "STATUS", "TASKS", "CREATED (UTC)", "DURATION"):
        table.add_column(column, no_wrap=True)
    for w in items:
        table.add_row(
            w["workflow_id"],
            w["definition_name"],
            styled(w["status"]),
            counts(w["task_counts"]),
            when(w["created_at"]),
            seconds(w["duration_ms"]),
        )
    return table


def workflow_header(w: dict[str, Any]) -> str:
    version = f" version {w['definition_version']}" if w.get("definition_version") else ""
    return (
        f"{w['workflow_id']}  {styled(w['status'])}  definition {w['definition_name']}{version}  "
        f"created {when(w['created_at'])} UTC  duration {seconds(w['duration_ms'])}"
    )


def _attempts(task: dict[str, Any]) -> str:
    runs = []
    for a in task.get("attempts", []):
        started, finished = a.get("started_at"), a.get("finished_at")
        took = "-"
        if started and finished:
            took = seconds(_ms(started, finished))
        runs.append(f"{a['attempt']}: {a['status'].lower()} {took}")
    return ", ".join(runs) or "-"


def _ms(started: str, finished: str) -> float:
    return (datetime.strptime(finished, ISO) - datetime.strptime(started, ISO)).total_seconds() * 1000


def tasks_table(w: dict[str, Any]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("TASK", "FUNCTION", "STATUS", "ATTEMPT", "DURATION", "ATTEMPTS", "ERROR"):
        table.add_column(column, no_wrap=column != "ERROR", overflow="fold")
    for t in w["tasks"]:
        error = t.get("error") or {}
        table.add_row(
            t["task_id"],
            t["function"],
            styled(t["status"]),
            f"{t['attempt']}/{t['max_attempts']}",
            seconds(t.get("duration_ms")),
            _attempts(t),
            f"{error.get('type')}: {error.get('message')}" if error else "",
        )
    return table


def definitions_table(items: Iterable[dict[str, Any]]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("DEFINITION", "VERSION", "TASKS", "SOURCE", "DESCRIPTION"):
        table.add_column(column, no_wrap=column != "DESCRIPTION", overflow="fold")
    for d in items:
        table.add_row(d["name"], d["version"], str(len(d["tasks"])), d.get("source") or "-", d["description"])
    return table


def transition_line(t: Transition) -> str:
    """One line per task transition: `12:00:01.234  split  RUNNING → SUCCEEDED  attempt 1`."""
    clock = datetime.fromtimestamp(t.at).strftime("%H:%M:%S.%f")[:-3]
    attempt = f"  attempt {t.attempt}" if t.attempt else ""
    change = f"{t.before} → {t.after}" if t.before else f"{t.after} (when watching began)"
    return f"{clock}  {t.task_id}  {change}{attempt}"


def summary_line(w: dict[str, Any]) -> str:
    return f"{w['workflow_id']} {w['status']} in {seconds(w['duration_ms'])}: {counts(w['task_counts'])}"
