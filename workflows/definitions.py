"""Definition files: `workflows/<name>.yaml` (or `.yml`, `.json`), one named definition each.

    description: A report of the orders, per region and product.
    tasks:
      - id: split
        function: report-split
      - id: summarize-1
        function: report-summarize
        depends_on: [split]
        input: {chunk: 0}

The file name is the definition's name. The shape is the engine's TaskDefinition (the same as an
inline definition of `POST /workflows`), checked by pydantic and then by the engine's own validator
(engine.definitions) against the environment's task functions; every problem is reported as
`workflows/report.yaml:12: tasks[2].depends_on[0]: <reason>`, the line being where the value is.
YAML is read safely (no tags), and a key given twice in one mapping is an error rather than the
last one silently winning. Aliases (`*name`) are refused and nesting is bounded, so a small file
cannot expand into a huge one; the resolved definition is at most MAX_DEFINITION_BYTES, because a
workflow stores it with its input (up to 256 KB, the API's body limit) in one DynamoDB item, which is
at most 400 KB ("Service, account, and table quotas in Amazon DynamoDB": item size).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from engine.definitions import (
    DEFINITION_NAME_PATTERN,
    INLINE,
    NamedDefinition,
    Resolved,
    TaskDefinition,
    resolve_tasks,
)
from engine.errors import InvalidDefinition
from pydantic import BaseModel, ConfigDict, Field, ValidationError

WORKFLOWS_DIR = Path(__file__).resolve().parent
ROOT = WORKFLOWS_DIR.parent
SUFFIXES = (".yaml", ".yml", ".json")
MAX_FILE_BYTES = 256 * 1024
MAX_DEFINITION_BYTES = 64 * 1024  # + 256 KB of input + the item's other attributes < 400 KB
MAX_NESTING = 64  # mappings and lists inside each other


class DefinitionError(ValueError):
    """A definition file that cannot run, with the file, line and reason of each problem."""


class DefinitionFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: Annotated[str, Field(min_length=1, max_length=500)]
    tasks: Annotated[list[TaskDefinition], Field(min_length=1)]


@dataclass(frozen=True)
class LoadedDefinition:
    name: str
    description: str
    source: str  # the file, as the repository names it
    resolved: Resolved  # validated, timeouts filled in, versioned

    @property
    def version(self) -> str:
        return self.resolved.version

    def named(self) -> NamedDefinition:
        """As the catalog carries it (the tasks as written; the engine fills the timeouts in)."""
        return NamedDefinition(
            name=self.name, description=self.description, source=self.source, tasks=self.resolved.tasks
        )


def load_file(path: Path, functions: Mapping[str, int]) -> LoadedDefinition:
    """One definition file, validated against `functions` (task function id -> its timeout)."""
    where = display(path)
    name = path.stem
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError(f"{where}: cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise DefinitionError(f"{where}: not UTF-8 text") from None
    if len(text.encode()) > MAX_FILE_BYTES:
        raise DefinitionError(f"{where}:1: the file has {len(text.encode())} bytes: at most {MAX_FILE_BYTES}")
    if path.suffix == ".json":
        # JSON's own white space may be tabs, which YAML refuses; a JSON string cannot hold a raw tab.
        text = text.replace("\t", " ")
    if path.suffix not in SUFFIXES:
        raise DefinitionError(f"{where}: a definition file ends with {', '.join(SUFFIXES)}")
    if not re.fullmatch(DEFINITION_NAME_PATTERN, name) or name == INLINE:
        raise DefinitionError(
            f"{where}:1: the file name is the definition's name: {name!r} must be lowercase letters, "
            f"digits and hyphens, starting with a letter, at most 63 characters, and not {INLINE!r}"
        )
    root, data = _parse(where, text)
    try:
        parsed = DefinitionFile.model_validate(data)
    except ValidationError as exc:
        raise DefinitionError(
            "\n".join(
                f"{where}:{_line(root, tuple(e['loc']))}: {_path(tuple(e['loc']))}: {_message(e)}"
                for e in exc.errors()
            )
        ) from None
    try:
        resolved = resolve_tasks(name, parsed.tasks, functions)
    except InvalidDefinition as exc:
        field = (exc.details[0]["field"] if exc.details else "").removeprefix("definition.")
        loc = _loc(field)
        raise DefinitionError(f"{where}:{_line(root, loc)}: {field or 'tasks'}: {exc.reason}") from None
    size = len(json.dumps([t.model_dump(mode="json") for t in resolved.tasks], separators=(",", ":")))
    if size > MAX_DEFINITION_BYTES:
        raise DefinitionError(
            f"{where}:1: tasks: {size} bytes as JSON, at most {MAX_DEFINITION_BYTES}: a workflow stores its "
            "definition and its input (up to 256 KB) in one DynamoDB item of at most 400 KB; move large "
            "task inputs into the workflow's input or S3"
        )
    return LoadedDefinition(name, parsed.description, where, resolved)


def load_all(functions: Mapping[str, int], directory: Path = WORKFLOWS_DIR) -> dict[str, LoadedDefinition]:
    """Every definition file of `directory`, by name; all problems of all files in one error."""
    found: dict[str, LoadedDefinition] = {}
    problems: list[str] = []
    for path in sorted(p for p in directory.iterdir() if p.suffix in SUFFIXES and p.is_file()):
        if path.name.endswith(".input.json"):
            continue  # an example input (workflows/report.input.json), not a definition
        try:
            loaded = load_file(path, functions)
        except DefinitionError as exc:
            problems.append(str(exc))
            continue
        if loaded.name in found:
            problems.append(
                f"{loaded.source}:1: the definition {loaded.name!r} is also {found[loaded.name].source}"
            )
        found[loaded.name] = loaded
    if problems:
        raise DefinitionError("\n".join(problems))
    return found


def display(path: Path) -> str:
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(path)


# --- YAML with line marks ------------------------------------------------------------------------


def _shape_problem(text: str) -> tuple[int, str] | None:
    """An alias, or nesting deeper than MAX_NESTING, as (line, reason): found from the parser's events,
    before anything is composed (the composer recurses, and an alias is a copy)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark is not None else 1
        if isinstance(event, yaml.AliasEvent):
            return line, f"aliases (*{event.anchor}) are not allowed: write the value out"
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_NESTING:
                return line, f"nested more than {MAX_NESTING} levels deep"
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
    return None


def _parse(where: str, text: str) -> tuple[yaml.Node | None, Any]:
    try:
        shape = _shape_problem(text)
        if shape is not None:
            raise DefinitionError(f"{where}:{shape[0]}: {shape[1]}")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise DefinitionError(f"{where}:{line}: not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise DefinitionError(f"{where}: not valid YAML: {exc}") from None
    if root is None:
        raise DefinitionError(f"{where}:1: the file is empty: it needs description and tasks")
    duplicate = _duplicate_key(root)
    if duplicate is not None:
        key, line = duplicate
        raise DefinitionError(f"{where}:{line}: {key}: given twice in one mapping")
    loader = yaml.SafeLoader("")
    try:
        data = loader.construct_document(root)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        raise DefinitionError(f"{where}:{mark.line + 1 if mark else 1}: {exc.problem}") from None
    if not isinstance(data, dict):
        raise DefinitionError(f"{where}:1: the file must be a mapping with description and tasks")
    return root, data


def _duplicate_key(node: yaml.Node) -> tuple[str, int] | None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                return str(key.value), key.start_mark.line + 1
            seen.add(key.value)
            found = _duplicate_key(value)
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found = _duplicate_key(item)
            if found:
                return found
    return None


def _line(node: yaml.Node | None, loc: Sequence[Any]) -> int:
    """The line of the value at `loc` (or of the deepest part of it that exists)."""
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            match = next(((k, v) for k, v in node.value if k.value == part), None)
            if match is None:
                return line
            key, node = match
            line = node.start_mark.line + 1 if node.value not in ("", None) else key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _loc(field: str) -> tuple[str | int, ...]:
    """`tasks[2].depends_on[0]` as a location: ("tasks", 2, "depends_on", 0)."""
    parts: list[str | int] = []
    for name, index in re.findall(r"([A-Za-z_]\w*)|\[(\d+)\]", field):
        parts.append(name if name else int(index))
    return tuple(parts)


def _path(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(file)"


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key (a typo?)"
    if error["type"] == "missing":
        return "required key is missing"
    message = str(error["msg"])
    if "input" in error and not isinstance(error["input"], (dict, list)):
        message += f" (got {error['input']!r})"
    return message
