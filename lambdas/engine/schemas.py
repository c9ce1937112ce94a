"""Pydantic models of the REST API's bodies: request validation and the OpenAPI 3.1 document use them,
and so do the tests (they validate responses against the served document)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from engine.definitions import InlineDefinition, TaskDefinition
from engine.model import TaskStatus, WorkflowStatus

WORKFLOW_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$"


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
        dict[str, Any], Field(description="Passed to every task (merged under its own input).")
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
