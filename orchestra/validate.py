"""`orchestra validate FILE`: a definition file checked offline, exactly as synthesis checks it.

The validator is the repository's own (workflows/definitions.py and the engine's, lambdas/engine),
against each environment's task functions (their ids and timeouts: workflows/catalog.py): the
repository is found from the file (or the working directory) upwards, so an installed command line
checks a clone with that clone's rules.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestra.client import USAGE, CliError


@dataclass(frozen=True)
class Result:
    environment: str
    source: str
    name: str
    version: str
    tasks: int


def repository(file: Path) -> Path:
    start = file.resolve().parent
    for folder in [start, *start.parents, Path.cwd(), *Path.cwd().parents]:
        if (folder / "workflows" / "definitions.py").is_file() and (folder / "environments").is_dir():
            return folder
    raise CliError(
        f"{file}: validate checks a definition against an Orchestra repository's task functions, and "
        "none contains this file or the working directory: run it inside a clone",
        USAGE,
    )


def _modules(root: Path) -> tuple[Any, Any, Any, Any]:
    for path in (str(root / "lambdas"), str(root)):
        if path not in sys.path:
            sys.path.insert(0, path)
    environments = importlib.import_module("environments")
    definitions = importlib.import_module("workflows.definitions")
    catalog = importlib.import_module("workflows.catalog")
    return environments, definitions, catalog, environments.SettingsError


def validate_file(file: Path, chosen: Sequence[str]) -> list[Result]:
    if not file.is_file():
        raise CliError(f"{file}: no such file", USAGE)
    root = repository(file)
    environments, definitions, catalog, settings_error = _modules(root)
    names = list(chosen) or list(environments.ENVIRONMENT_NAMES)
    unknown = [n for n in names if n not in environments.ENVIRONMENT_NAMES]
    if unknown:
        raise CliError(
            f"--environment {unknown[0]}: not an environment "
            f"(they are: {', '.join(environments.ENVIRONMENT_NAMES)})",
            USAGE,
        )
    results = []
    for name in names:
        try:
            settings = environments.load(name)
            functions = catalog.task_functions(settings)
            loaded = definitions.load_file(file, {k: f.timeout_seconds for k, f in functions.items()})
        except (definitions.DefinitionError, settings_error) as exc:
            suffix = f" (environment {name})" if len(names) > 1 else ""
            raise CliError(f"{exc}{suffix}", USAGE) from None
        results.append(Result(name, loaded.source, loaded.name, loaded.version, len(loaded.resolved.tasks)))
    return results
