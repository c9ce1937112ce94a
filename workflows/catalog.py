"""One environment's catalog: every task function its definitions may use, and the definitions.

Built at synthesis from the declarations (workflows/tasks.py, the environment's [external_tasks]) and
the files of workflows/ (workflows/definitions.py). modules/orchestration.py creates a Lambda function
for each packaged task, grants the worker lambda:InvokeFunction on exactly these functions' ARNs and
nothing else, and `bundle` writes `catalog.json` into a copy of the engine's zip: the engine reads it
from there (engine.catalog), so the catalog never counts against Lambda's 4 KB of environment
variables, however many tasks and definitions there are.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from environments import ENVIRONMENTS_DIR, ExternalTask, Settings, raise_problems
from modules import naming
from preflight import facts
from workflows.definitions import WORKFLOWS_DIR, LoadedDefinition, load_all
from workflows.tasks import TASKS_DIR, PackagedTask, load_tasks

ROOT = Path(__file__).resolve().parents[1]
CATALOG_FILE = "catalog.json"  # at the root of the engine's code package (engine.config CODE_ROOT)
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # as scripts/package.py: the same catalog, the same zip bytes
KEEP_BUNDLES = 24


@dataclass(frozen=True)
class CatalogFunction:
    id: str
    function_name: str  # the name Lambda knows it by, or the ARN of an existing function
    arn: str  # what the worker's policy allows it to invoke
    type: str  # node / python / container / external
    timeout_seconds: int
    description: str
    packaged: PackagedTask | None = None
    external: ExternalTask | None = None


@dataclass(frozen=True)
class Catalog:
    environment: str
    functions: dict[str, CatalogFunction]
    definitions: dict[str, LoadedDefinition]

    @property
    def packaged(self) -> list[CatalogFunction]:
        return [f for f in self.functions.values() if f.packaged is not None]

    @property
    def external(self) -> list[CatalogFunction]:
        return [f for f in self.functions.values() if f.external is not None]

    def document(self) -> dict[str, Any]:
        """What catalog.json holds (engine.catalog reads it)."""
        return {
            "functions": {
                f.id: {"function_name": f.function_name, "type": f.type, "timeout_seconds": f.timeout_seconds}
                for f in self.functions.values()
            },
            "definitions": [d.named().model_dump(mode="json") for _, d in sorted(self.definitions.items())],
        }

    def content(self) -> bytes:
        return (json.dumps(self.document(), indent=1, sort_keys=True) + "\n").encode()

    def bundle(self, engine_zip: Path, directory: Path) -> Path:
        """A copy of the engine's zip with catalog.json added, named by its content (deterministic:
        the same zip and catalog give the same bytes, so an unchanged catalog is never redeployed)."""
        content = self.content()
        key = hashlib.sha256(engine_zip.read_bytes() + b"\0" + content).hexdigest()[:16]
        target = directory / f"engine-{key}.zip"
        if target.exists():
            return target
        directory.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        shutil.copyfile(engine_zip, partial)
        with zipfile.ZipFile(partial, "a") as archive:
            if CATALOG_FILE in archive.namelist():
                raise ValueError(f"{engine_zip} already has a {CATALOG_FILE}")
            info = zipfile.ZipInfo(CATALOG_FILE, date_time=FIXED_TIME)
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content, compresslevel=9)
        partial.rename(target)
        # Each catalog makes a new bundle (tests synthesize variants too): keep the recent ones only.
        for old in sorted(directory.glob("engine-*.zip"), key=lambda p: p.stat().st_mtime)[:-KEEP_BUNDLES]:
            old.unlink(missing_ok=True)
        return target


def build(
    settings: Settings,
    tasks: tuple[PackagedTask, ...] | None = None,
    definitions_dir: Path = WORKFLOWS_DIR,
    environments_dir: Path | None = None,
) -> Catalog:
    """The catalog of one environment; SettingsError or DefinitionError (file, line, reason)."""
    tasks = load_tasks(TASKS_DIR) if tasks is None else tasks
    functions = task_functions(settings, tasks, environments_dir)
    definitions = load_all({k: f.timeout_seconds for k, f in functions.items()}, definitions_dir)
    return Catalog(settings.name, functions, definitions)


def task_functions(
    settings: Settings, tasks: tuple[PackagedTask, ...] | None = None, environments_dir: Path | None = None
) -> dict[str, CatalogFunction]:
    """Every task function of one environment by id: the packaged ones, then the existing ones."""
    tasks = load_tasks(TASKS_DIR) if tasks is None else tasks
    prefix = settings.name_prefix
    functions: dict[str, CatalogFunction] = {}
    for task in tasks:
        _check_names(settings, task)
        name = naming.function(prefix, task.id)
        functions[task.id] = CatalogFunction(
            id=task.id,
            function_name=name,
            arn=f"arn:aws:lambda:{settings.region}:{settings.account_id}:function:{name}",
            type=task.type,
            timeout_seconds=task.timeout_seconds or settings.functions.timeout_seconds,
            description=task.description,
            packaged=task,
        )
    for task_id, external in sorted(settings.external_tasks.items()):
        if task_id in functions:
            packaged = functions[task_id].packaged
            raise_problems(
                _environment_file(settings, environments_dir),
                [
                    (
                        ("external_tasks", task_id),
                        f"{task_id!r} is already a packaged task function "
                        f"({packaged.manifest if packaged else 'declared twice'})",
                    )
                ],
            )
        functions[task_id] = CatalogFunction(
            id=task_id,
            function_name=external.arn,
            arn=external.arn,
            type="external",
            timeout_seconds=external.timeout_seconds,
            description=external.description or f"existing function {external.function_name}",
            external=external,
        )
    images = {t.id for t in tasks if t.is_image}
    unknown = sorted(set(settings.functions.image_digests) - images)
    if unknown:
        raise_problems(
            _environment_file(settings, environments_dir),
            [
                (
                    ("functions", "image_digests", task_id),
                    f"{task_id!r} is not a container-image task function "
                    f"(those are: {', '.join(sorted(images)) or 'none'})",
                )
                for task_id in unknown
            ],
        )
    return dict(sorted(functions.items()))


def _check_names(settings: Settings, task: PackagedTask) -> None:
    """The names a packaged task derives in this environment fit AWS's limits (naming.py)."""
    derived = [
        ("lambda_function", naming.function(settings.name_prefix, task.id)),
        ("iam_role", naming.role(settings.name_prefix, task.id)),
        ("cloudwatch_alarm", f"{settings.name_prefix}-{task.id}-throttles"),
    ]
    for kind, name in derived:
        limit, _, source = facts.NAME_LIMITS[kind]
        if len(name) > limit:
            raise_problems(
                task.manifest,
                [
                    (
                        ("id",),
                        f"{task.id!r} is {len(name) - limit} character(s) too long for environment "
                        f"{settings.name}: its {kind.replace('_', ' ')} name {name!r} has {len(name)} "
                        f"characters, AWS allows {limit} ({source})",
                    )
                ],
            )


def _environment_file(settings: Settings, directory: Path | None) -> Path:
    return (directory or ENVIRONMENTS_DIR) / f"{settings.name}.toml"
