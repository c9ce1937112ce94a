"""Task functions, declared once.

A definition's task names its function by id. That id is either

- a function packaged from this repository: a folder under `lambdas/tasks/` holding a `task.toml`
  (id, description, runtime, handler; optional memory and timeout). `./noxw -s package` builds it
  (a deterministic zip for the Python and Node.js runtimes, a container image's build context for
  `runtime = "image"`); the stack creates its Lambda function `<name_prefix>-<id>`, its role and
  log group, its alarms, and the worker's permission to invoke it;
- or an existing Lambda function by ARN: `[external_tasks.<id>]` in an environment's settings
  (`environments/*.toml`, validated there).

Everything else is generated from these declarations (workflows/catalog.py): the functions the
engine knows, the worker's IAM policy, the alarms. A manifest is checked when it is loaded, against
what Lambda accepts, and a problem names the file, the line and the key.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from environments import Model, SettingsError, TaskId, load_toml, raise_problems, sync_timeout_problem
from modules import naming
from preflight import facts

ROOT = Path(__file__).resolve().parents[1]
TASKS_DIR = ROOT / "lambdas" / "tasks"
MANIFEST = "task.toml"
IMAGE = "image"
TaskType = Literal["node", "python", "container"]

# CreateFunction (AWS Lambda API Reference): Handler is at most 128 characters without whitespace;
# Description at most 256 characters.
HANDLER_PATTERN = r"^[^\s]{1,128}$"
# How each runtime finds a handler ("Define Lambda function handler in Python" / "... in Node.js"):
# Python `module.function` (a dotted module path: package folders), Node.js `file.export`, the file
# a .js, .mjs or .cjs beside the manifest.
PYTHON_HANDLER = re.compile(r"^(?P<module>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\.(?P<function>[A-Za-z_]\w*)$")
NODE_HANDLER = re.compile(r"^(?P<module>[\w./-]*\w)\.(?P<function>[A-Za-z_$][\w$]*)$")
NODE_EXTENSIONS = (".js", ".mjs", ".cjs")
DOCKERFILE_CMD = re.compile(r'^\s*CMD\s*\[\s*"([^"]+)"', re.MULTILINE)


# The zip runtimes this project builds and tests a task on: the local cloud runs Node 24 pinned
# (localcloud/package.json) and the engine's Python 3.12 packages; another version would run locally
# on whatever this machine has, so "it works locally" would say little about Lambda.
PINNED_RUNTIMES = ("nodejs24.x", "python3.12")


def supported_runtimes(today: dt.date | None = None) -> tuple[str, ...]:
    """The zip runtimes a new function may use: Lambda still supports them ("Lambda runtimes",
    facts.RUNTIME_DEPRECATION), and the package step and the local cloud build and run them."""
    today = today or dt.date.today()
    return tuple(
        sorted(
            runtime
            for runtime, ends in facts.RUNTIME_DEPRECATION.items()
            if ends > today and runtime in PINNED_RUNTIMES
        )
    )


class TaskManifest(Model):
    """lambdas/tasks/<folder>/task.toml."""

    id: TaskId
    description: Annotated[str, Field(min_length=1, max_length=256)]
    # A Lambda zip runtime (nodejs24.x, python3.12, ...) or "image": a container image built from the
    # folder's Dockerfile (its CMD is the handler).
    runtime: Annotated[str, Field(pattern=r"^(image|nodejs\d+\.x|python3\.\d+)$")]
    handler: Annotated[str, Field(pattern=HANDLER_PATTERN)]
    # Absent: the environment's functions.memory_mb and functions.timeout_seconds.
    memory_mb: Annotated[int, Field(ge=128, le=10240)] | None = None
    timeout_seconds: Annotated[int, Field(ge=1, le=900)] | None = None


@dataclass(frozen=True)
class PackagedTask:
    """A task function built from a folder of this repository."""

    id: str
    description: str
    type: TaskType
    runtime: str | None  # None: a container image
    handler: str
    folder: Path  # relative to the repository root
    memory_mb: int | None
    timeout_seconds: int | None
    manifest: Path  # for error messages

    @property
    def is_image(self) -> bool:
        return self.runtime is None

    @property
    def artifact(self) -> str:
        """Its entry in build/lambda/manifest.json (zips) or build/images.json (images)."""
        return self.id


def task_type(runtime: str) -> TaskType:
    if runtime == IMAGE:
        return "container"
    return "node" if runtime.startswith("nodejs") else "python"


def load_task(path: Path, today: dt.date | None = None) -> PackagedTask:
    """One manifest, validated; SettingsError names the file, line and key of every problem."""
    manifest = load_toml(path, TaskManifest)
    raise_problems(path, _problems(manifest, path.parent, today))
    return PackagedTask(
        id=manifest.id,
        description=manifest.description,
        type=task_type(manifest.runtime),
        runtime=None if manifest.runtime == IMAGE else manifest.runtime,
        handler=manifest.handler,
        folder=_relative(path.parent),
        memory_mb=manifest.memory_mb,
        timeout_seconds=manifest.timeout_seconds,
        manifest=path,
    )


def load_tasks(directory: Path = TASKS_DIR, today: dt.date | None = None) -> tuple[PackagedTask, ...]:
    """Every packaged task function: each folder of `directory` with a task.toml, sorted by id."""
    tasks = [load_task(path, today) for path in sorted(directory.glob(f"*/{MANIFEST}"))]
    seen: dict[str, PackagedTask] = {}
    for task in tasks:
        if task.id in seen:
            raise_problems(
                task.manifest,
                [(("id",), f"{task.id!r} is declared twice: also in {_relative(seen[task.id].manifest)}")],
            )
        seen[task.id] = task
    if not tasks:
        raise SettingsError(f"{_relative(directory)}: no task function is declared (no */{MANIFEST})")
    return tuple(sorted(tasks, key=lambda t: t.id))


def _problems(
    manifest: TaskManifest, folder: Path, today: dt.date | None
) -> list[tuple[tuple[str, ...], str]]:
    found: list[tuple[tuple[str, ...], str]] = []
    if manifest.id in naming.ENGINE_FUNCTION_IDS:
        found.append((("id",), f"{manifest.id!r} is the id of one of the engine's own functions"))
    runtime = manifest.runtime
    if runtime != IMAGE and runtime not in supported_runtimes(today):
        ends = facts.RUNTIME_DEPRECATION.get(runtime)
        today_ = today or dt.date.today()
        why = (
            f"Lambda's support for {runtime} ended on {ends} and it refuses new functions on it"
            if ends and ends <= today_
            else f"{runtime} is not a runtime this project builds and tests tasks on (the local cloud "
            "pins Node 24 and runs the engine's Python 3.12)"
        )
        found.append(
            (("runtime",), f"{why} (Lambda runtimes): use one of {', '.join(supported_runtimes(today))}")
        )
    found += _handler_problems(manifest, folder)
    if manifest.timeout_seconds is not None and manifest.timeout_seconds > facts.MAX_SYNC_TASK_TIMEOUT:
        found.append((("timeout_seconds",), sync_timeout_problem(manifest.timeout_seconds)))
    return found


def _handler_problems(manifest: TaskManifest, folder: Path) -> list[tuple[tuple[str, ...], str]]:
    handler, runtime = manifest.handler, manifest.runtime
    if runtime == IMAGE:
        dockerfile = folder / "Dockerfile"
        if not dockerfile.is_file():
            return [(("runtime",), f"'image' builds from {_relative(dockerfile)}, which does not exist")]
        # The last CMD is the image's (a multi-stage build's earlier stages have their own).
        commands = DOCKERFILE_CMD.findall(dockerfile.read_text())
        if not commands or commands[-1] != handler:
            shown = commands[-1] if commands else "no exec-form CMD"
            return [(("handler",), f"must equal the Dockerfile's CMD (it has {shown!r})")]
        return []
    pattern, extensions = (
        (NODE_HANDLER, NODE_EXTENSIONS) if runtime.startswith("nodejs") else (PYTHON_HANDLER, (".py",))
    )
    match = pattern.match(handler)
    if match is None:
        form = "file.export (index.handler)" if runtime.startswith("nodejs") else "module.function"
        return [(("handler",), f"{handler!r} is not a {runtime} handler: it has the form {form}")]
    module = match.group("module")
    base = module if runtime.startswith("nodejs") else module.replace(".", "/")
    if not any((folder / f"{base}{extension}").is_file() for extension in extensions):
        files = " or ".join(f"{base}{e}" for e in extensions)
        # Lambda answers the first invoke with Runtime.ImportModuleError: the package has no such file.
        return [(("handler",), f"names {files}, which is not in {_relative(folder)}")]
    return []


def _relative(path: Path) -> Path:
    resolved = path.resolve()
    return resolved.relative_to(ROOT) if resolved.is_relative_to(ROOT) else resolved
