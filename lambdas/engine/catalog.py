"""The deployment's catalog: its task functions and its named definitions, read once per cold start.

The stack bundles `catalog.json` into the engine's code package (workflows/catalog.py writes it at
synthesis from the task declarations and the files of workflows/), and CATALOG_FILE names it. The
catalog travels with the code, not in environment variables: Lambda allows 4 KB of those per
function in total ("Lambda quotas"), which a growing list of tasks and definitions would pass.

    {"functions": {"task-a": {"function_name": "orchestra-dev-task-a", "type": "node",
                              "timeout_seconds": 60}, ...},
     "definitions": [{"name": "orchestra", "description": "...", "source": "workflows/orchestra.yaml",
                      "tasks": [TaskDefinition, ...]}, ...]}

Every definition is validated against the functions with the engine's own validator: a catalog the
synthesis would have refused stops the function at start-up (ConfigError), never a request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.definitions import MAX_TIMEOUT_SECONDS, NamedDefinition, resolve_tasks
from engine.errors import ConfigError, InvalidDefinition

TASK_TYPES = ("node", "python", "container", "external")


@dataclass(frozen=True)
class TaskFunction:
    function_name: str  # a name, or a full ARN for an existing function (another account's too)
    type: str
    timeout_seconds: int  # the function's configured Lambda timeout: no attempt may be longer


@dataclass(frozen=True)
class Catalog:
    functions: Mapping[str, TaskFunction] = field(default_factory=dict)
    definitions: Mapping[str, NamedDefinition] = field(default_factory=dict)

    @property
    def timeouts(self) -> dict[str, int]:
        return {k: f.timeout_seconds for k, f in self.functions.items()}


def _functions(where: str, data: Any) -> dict[str, TaskFunction]:
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"{where} must be a non-empty JSON object of task function id -> settings")
    result = {}
    for key, value in data.items():
        if not isinstance(value, dict) or not isinstance(value.get("function_name"), str):
            raise ConfigError(f"{where}[{key!r}] needs a string function_name")
        if value.get("type") not in TASK_TYPES:
            raise ConfigError(f"{where}[{key!r}].type must be one of {', '.join(TASK_TYPES)}")
        timeout = value.get("timeout_seconds")
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int)
            or not 1 <= timeout <= MAX_TIMEOUT_SECONDS
        ):
            raise ConfigError(
                f"{where}[{key!r}].timeout_seconds must be the function's timeout, 1..{MAX_TIMEOUT_SECONDS} s"
            )
        result[key] = TaskFunction(value["function_name"], value["type"], timeout)
    return result


def parse(document: Any, where: str = "catalog") -> Catalog:
    """A catalog from its JSON document; ConfigError names what is wrong."""
    if not isinstance(document, dict):
        raise ConfigError(f"{where} must be a JSON object with functions and definitions")
    functions = _functions(f"{where}.functions", document.get("functions"))
    timeouts = {k: f.timeout_seconds for k, f in functions.items()}
    definitions: dict[str, NamedDefinition] = {}
    raw = document.get("definitions", [])
    if not isinstance(raw, list):
        raise ConfigError(f"{where}.definitions must be a list")
    for i, item in enumerate(raw):
        try:
            named = NamedDefinition.model_validate(item)
        except ValidationError as exc:
            first = exc.errors()[0]
            path = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"{where}.definitions[{i}].{path}: {first['msg']}") from exc
        if named.name in definitions:
            raise ConfigError(f"{where}.definitions: {named.name!r} is defined twice")
        try:
            resolve_tasks(named.name, named.tasks, timeouts)
        except InvalidDefinition as exc:
            raise ConfigError(f"{where}: definition {named.name!r} ({named.source}): {exc.reason}") from exc
        definitions[named.name] = named
    return Catalog(functions, definitions)


def load(path: Path) -> Catalog:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"the catalog {path} cannot be read: {exc.strerror}") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"the catalog {path} is not valid JSON: {exc.msg} at position {exc.pos}") from exc
    return parse(document, str(path))
