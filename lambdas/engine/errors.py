"""The engine's domain errors: one type per condition. DynamoDB's errors are chained (`raise ... from`)."""

from __future__ import annotations

from typing import Any


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""


class ConfigError(EngineError):
    """An environment variable is missing or malformed; the message names it."""


class InvalidDefinition(EngineError):
    """A workflow definition is not a valid DAG; `details` point at the offending fields."""

    def __init__(self, reason: str, details: list[dict[str, str]] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details or []


class WorkflowNotFound(EngineError):
    def __init__(self, workflow_id: str) -> None:
        super().__init__(f"workflow {workflow_id!r} does not exist")
        self.workflow_id = workflow_id


class WorkflowIdConflict(EngineError):
    """A create reused a workflow id with a different body (or one whose workflow expired)."""

    def __init__(self, workflow_id: str, why: str = "already exists with a different request body") -> None:
        super().__init__(f"workflow {workflow_id!r} {why}")
        self.workflow_id = workflow_id


class TransitionRejected(EngineError):
    """The transition table does not allow this change from the current status."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class VersionConflict(EngineError):
    """A conditional write lost: the item is no longer at the version (or status) that was read.

    `current` carries the item as DynamoDB returned it with the cancellation, when it did.
    """

    def __init__(self, message: str, current: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.current = current


class ItemAlreadyExists(VersionConflict):
    """A put conditioned on absence found the item there (`current` holds it)."""


class ContentionExhausted(EngineError):
    """A write kept losing its condition to concurrent writes after every bounded retry."""


class InvalidCursor(EngineError):
    def __init__(self) -> None:
        super().__init__("cursor is not one this API returned for this query")
