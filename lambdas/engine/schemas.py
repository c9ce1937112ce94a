"""Pydantic models of the REST API's bodies: request validation and the OpenAPI 3.1 document use them,
and so do the tests (they validate responses against the served document)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from engine.definitions import InlineDefinition, TaskDefinition
from engine.model import TaskStatus, WorkflowStatus

WORKFLOW_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$"

# User JSON (workflow input, WebSocket messages) may nest this deep. Far beyond any real input, and far
# below the depth at which Python's json module (in the worker too, when it reads the input back)
# raises RecursionError.
MAX_JSON_DEPTH = 32


class TooDeep(ValueError):
    def __init__(self, field: str) -> None:
        super().__init__(f"nested more than {MAX_JSON_DEPTH} levels deep")
        self.field = field


class NotJsonNumber(ValueError):
    """NaN, Infinity, or a number too large to carry: Python's json reads them, JSON has none of them."""

    def __init__(self, field: str, text: str) -> None:
        super().__init__(f"{text[:40]} is not a number JSON can carry (no NaN, no Infinity, no overflow)")
        self.field = field


class _Refused:
    """What the parser returns for a number it must not accept (reported with its path afterwards)."""

    def __init__(self, text: str) -> None:
        self.text = text


def _float(text: str) -> Any:
    value = float(text)
    return _Refused(text) if value in (float("inf"), float("-inf")) else value


def _int(text: str) -> Any:
    try:
        return int(text)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        return _Refused(text)


def load_json_bounded(text: str) -> Any:
    """json.loads that refuses documents nested deeper than MAX_JSON_DEPTH with TooDeep (naming the
    top-level field it happened under, or "body") and numbers JSON cannot carry with NotJsonNumber
    (naming the path); malformed JSON raises json.JSONDecodeError."""
    try:
        document = json.loads(text, parse_constant=_Refused, parse_float=_float, parse_int=_int)
    except RecursionError:
        raise TooDeep("body") from None
    # Iterative walk: a recursive one would hit the same limit the check is here to avoid.
    pending: list[tuple[Any, int, str, str]] = [(document, 1, "body", "")]
    while pending:
        value, depth, field, path = pending.pop()
        if isinstance(value, _Refused):
            raise NotJsonNumber(path or "body", value.text)
        if isinstance(value, dict):  # the body's own keys name the field below them
            children = [
                (key if depth == 1 else field, f"{path}.{key}" if path else key, child)
                for key, child in value.items()
            ]
        elif isinstance(value, list):
            children = [(field, f"{path}[{i}]", child) for i, child in enumerate(value)]
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            raise TooDeep(field)
        pending.extend((child, depth + 1, name, child_path) for name, child_path, child in children)
    return document


class NotAnObject(ValueError):
    def __init__(self, kind: str) -> None:
        super().__init__(f"the request body must be a JSON object (or empty), not {kind}")


def load_request_body(text: str) -> Any:
    """A request body: bounded JSON that is an object, or null (an empty body counts as null)."""
    document = load_json_bounded(text) if text.strip() else None
    if document is not None and not isinstance(document, dict):
        raise NotAnObject(type(document).__name__.replace("list", "an array").replace("str", "a string"))
    return document


class CreateWorkflowRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workflow_id: Annotated[
        str | None,
        Field(
            validation_alias=AliasChoices("workflowId", "workflow_id"),
            pattern=WORKFLOW_ID_PATTERN,
            description="Generated as wf-<uuid4 hex> when absent. Reusing it with the same body returns the "
            "existing workflow; with a different body, 409.",
        ),
    ] = None
    definition: Annotated[
        str | InlineDefinition | None,
        Field(description="A definition name (default `orchestra`) or an inline DAG."),
    ] = None
    input: Annotated[
        dict[str, Any],
        Field(
            description="Passed to every task (merged under its own input). The request body may nest "
            f"at most {MAX_JSON_DEPTH} levels deep."
        ),
    ] = {}


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    error: str
    message: str
    details: list[ErrorDetail] = []


class AttemptView(BaseModel):
    attempt: int
    status: TaskStatus
    started_at: str | None
    finished_at: str | None
    error: dict[str, str] | None


class TaskView(BaseModel):
    task_id: str
    function: str
    type: str | None
    depends_on: list[str]
    status: TaskStatus
    attempt: int
    max_attempts: int
    input: Any
    output: Any
    output_ref: str | None
    error: dict[str, str] | None
    started_at: str | None
    finished_at: str | None
    duration_ms: int | None
    attempts: list[AttemptView]


class WorkflowSummary(BaseModel):
    workflow_id: str
    definition_name: str
    status: WorkflowStatus
    created_at: str
    started_at: str | None
    finished_at: str | None
    duration_ms: int | None
    task_counts: dict[str, int]
    version: int


class WorkflowView(WorkflowSummary):
    definition_version: Annotated[
        str | None,
        Field(description="The version of the definition it started with (it keeps running that copy)."),
    ]
    input: Any
    tasks: list[TaskView]


class WorkflowList(BaseModel):
    items: list[WorkflowSummary]
    next_cursor: str | None


class DefinitionView(BaseModel):
    name: str
    description: str
    version: Annotated[str, Field(description="A hash of its tasks as they run (timeouts filled in).")]
    source: Annotated[str, Field(description="The file of workflows/ it comes from.")]
    tasks: list[TaskDefinition]


class DefinitionList(BaseModel):
    items: list[DefinitionView]
