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


def load_json_bounded(text: str) -> Any:
    """json.loads that refuses documents nested deeper than MAX_JSON_DEPTH with TooDeep (naming the
    top-level field it happened under, or "body"); malformed JSON raises json.JSONDecodeError."""
    try:
        document = json.loads(text)
    except RecursionError:
        raise TooDeep("body") from None
    # Iterative walk: a recursive one would hit the same limit the check is here to avoid.
    pending: list[tuple[Any, int, str]] = [(document, 1, "body")]
    while pending:
        value, depth, field = pending.pop()
        if isinstance(value, dict):  # the body's own keys name the field below them
            children = [(key if depth == 1 else field, child) for key, child in value.items()]
        elif isinstance(value, list):
            children = [(field, child) for child in value]
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            raise TooDeep(field)
        pending.extend((child, depth + 1, name) for name, child in children)
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
    input: Any
    tasks: list[TaskView]


class WorkflowList(BaseModel):
    items: list[WorkflowSummary]
    next_cursor: str | None


class DefinitionView(BaseModel):
    name: str
    description: str
    tasks: list[TaskDefinition]


class DefinitionList(BaseModel):
    items: list[DefinitionView]
