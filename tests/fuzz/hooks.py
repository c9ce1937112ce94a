"""Schemathesis hooks: what the generator must know that JSON Schema cannot say.

A definition's `depends_on` must name earlier-defined tasks of the same definition (no unknown
task, no cycle, at most 20 deep) and task ids are unique. The schema cannot express references
between array items, so generated inline definitions are made consistent here: ids made unique,
dependencies pointed at earlier tasks. Nothing else is touched, so a request that breaks the schema
still breaks it (schemathesis's negative cases stay negative).
"""

from __future__ import annotations

import re
from typing import Any

import schemathesis

TASK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
MAX_DEPTH = 20
MAX_TASKS = 50


def _consistent(tasks: list[Any]) -> None:
    if not all(isinstance(t, dict) for t in tasks):
        return
    ids = [t.get("id") for t in tasks]
    if not all(isinstance(i, str) and TASK_ID.match(i) for i in ids):
        return
    seen: set[str] = set()
    for n, task in enumerate(tasks):
        if task["id"] in seen:
            task["id"] = f"t{n}"[:64]
        seen.add(task["id"])
    depth: dict[str, int] = {}
    for n, task in enumerate(tasks):
        deps = task.get("depends_on")
        # Only a depends_on the schema accepts is made consistent (a negative case stays negative).
        valid = (
            isinstance(deps, list)
            and len(deps) <= MAX_TASKS
            and len(set(map(str, deps))) == len(deps)
            and all(isinstance(d, str) and TASK_ID.match(d) for d in deps)
        )
        if valid:
            earlier = [t["id"] for t in tasks[:n] if depth.get(t["id"], 1) < MAX_DEPTH]
            task["depends_on"] = earlier[-len(deps) :] if deps and earlier else []
        valid = task.get("depends_on") if isinstance(task.get("depends_on"), list) else []
        depth[task["id"]] = 1 + max((depth.get(d, 1) for d in valid if isinstance(d, str)), default=0)


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    if isinstance(body, dict):
        definition = body.get("definition")
        if isinstance(definition, dict) and isinstance(definition.get("tasks"), list):
            _consistent(definition["tasks"])
    return body
