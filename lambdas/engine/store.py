"""DynamoDB access for the `workflows` table.

Every change is a conditional write on the version the writer read. A task's change and the
workflow item's `tasks.<task_id>` summary are written in one transaction, so every workflow item
image in the stream is a consistent snapshot of the whole workflow. The workflow item's own
`version` goes up by one with every change, so images are ordered and clients can drop stale ones.

Conditions are built from named parts (`Expr.require(why, ...)`), each saying which race it stops.
A lost condition becomes `VersionConflict` (chained from DynamoDB's error, carrying the current
item when DynamoDB returned it); a transaction that collides with another in flight
(`TransactionConflict`) is retried a bounded number of times with jitter.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from engine import model
from engine.errors import ContentionExhausted, ItemAlreadyExists, VersionConflict
from engine.model import Attempt, Entity, Task, TaskSummary, Workflow, WorkflowSummary

WORKFLOW_SK = "#WF"
TASK_SK_PREFIX = "TASK#"
LIST_PK = "WORKFLOW"
DUE_PK = "DUE"
BY_CREATED, BY_STATUS, BY_DUE = "by_created", "by_status", "by_due"
MAX_TRANSACTION_ATTEMPTS = 5

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


# --- codec -------------------------------------------------------------------------------------


def _to_dynamo_value(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_dynamo_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_dynamo_value(v) for v in value]
    return value


def _from_dynamo_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo_value(v) for v in value]
    return value


def serialize(value: Any) -> dict[str, Any]:
    return cast("dict[str, Any]", _serializer.serialize(_to_dynamo_value(value)))


def serialize_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: serialize(v) for k, v in item.items() if v is not None}


def deserialize_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _from_dynamo_value(_deserializer.deserialize(v)) for k, v in item.items()}


def workflow_key(workflow_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"WF#{workflow_id}"}, "sk": {"S": WORKFLOW_SK}}


def task_key(workflow_id: str, task_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"WF#{workflow_id}"}, "sk": {"S": f"{TASK_SK_PREFIX}{task_id}"}}


def is_workflow_item(item: dict[str, Any]) -> bool:
    return item.get("sk") == WORKFLOW_SK


# User data (workflow and task input, task output, inline definitions) is stored as JSON text:
# DynamoDB maps nest at most 32 levels deep and numbers carry 38 digits, and JSON from callers owes
# us neither. (Also, DynamoDB Local's stream renders an empty map as `{}` without its "M" type.)
def dump_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _load_json(text: Any) -> Any:
    return None if text is None else json.loads(text)


def workflow_to_item(wf: Workflow) -> dict[str, Any]:
    return {
        "pk": f"WF#{wf.workflow_id}",
        "sk": WORKFLOW_SK,
        "workflow_id": wf.workflow_id,
        "status": wf.status,
        "wf_status": wf.status,
        "list_pk": LIST_PK,
        "definition_name": wf.definition_name,
        "definition": dump_json(wf.definition),
        "input": dump_json(wf.input),
        "request_hash": wf.request_hash,
        "tasks": {tid: s.to_item() for tid, s in wf.tasks.items()},
        "version": wf.version,
        "created_at": wf.created_at,
        "started_at": wf.started_at,
        "finished_at": wf.finished_at,
        "expires_at": wf.expires_at,
    }


def summary_from_item(item: dict[str, Any]) -> WorkflowSummary:
    """A list row from a by_created / by_status item."""
    return WorkflowSummary(
        workflow_id=item["workflow_id"],
        status=item["status"],
        definition_name=item["definition_name"],
        tasks={tid: TaskSummary.from_item(s) for tid, s in item.get("tasks", {}).items()},
        version=int(item["version"]),
        created_at=item["created_at"],
        started_at=item.get("started_at"),
        finished_at=item.get("finished_at"),
    )


def workflow_from_item(item: dict[str, Any]) -> Workflow:
    return Workflow(
        workflow_id=item["workflow_id"],
        status=item["status"],
        definition_name=item["definition_name"],
        definition=_load_json(item["definition"]),
        input=_load_json(item.get("input")),
        request_hash=item.get("request_hash", ""),
        tasks={tid: TaskSummary.from_item(s) for tid, s in item.get("tasks", {}).items()},
        version=int(item["version"]),
        created_at=item["created_at"],
        started_at=item.get("started_at"),
        finished_at=item.get("finished_at"),
        expires_at=item.get("expires_at"),
    )


def task_to_item(task: Task) -> dict[str, Any]:
    due = task.status in (model.TaskStatus.READY, model.TaskStatus.RUNNING) and task.due_at is not None
    return {
        "pk": f"WF#{task.workflow_id}",
        "sk": f"{TASK_SK_PREFIX}{task.task_id}",
        "workflow_id": task.workflow_id,
        "task_id": task.task_id,
        "status": task.status,
        "function": task.function,
        "depends_on": list(task.depends_on),
        "attempt": task.attempt,
        "max_attempts": task.max_attempts,
        "backoff": task.backoff,
        "timeout_seconds": task.timeout_seconds,
        "input": dump_json(task.input),
        "output": None if task.output is None else dump_json(task.output),
        "output_ref": task.output_ref,
        "error": task.error,
        "attempts": [a.to_item() for a in task.attempts],
        "not_before": task.not_before,
        "lease_expires_at": task.lease_expires_at,
        # by_due is sparse: only READY and RUNNING tasks carry its keys.
        "due_pk": DUE_PK if due else None,
        "due_at": task.due_at if due else None,
        "version": task.version,
        "started_at": task.started_at,
        "finished_at": task.finished_at,
    }


def task_from_item(item: dict[str, Any]) -> Task:
    return Task(
        workflow_id=item["workflow_id"],
        task_id=item["task_id"],
        status=item["status"],
        function=item["function"],
        depends_on=list(item.get("depends_on", [])),
        attempt=int(item.get("attempt", 0)),
        max_attempts=int(item["max_attempts"]),
        backoff=float(item.get("backoff", 0)),
        timeout_seconds=int(item["timeout_seconds"]),
        input=_load_json(item.get("input")),
        version=int(item["version"]),
        output=_load_json(item.get("output")),
        output_ref=item.get("output_ref"),
        error=item.get("error"),
        attempts=[Attempt.from_item(a) for a in item.get("attempts", [])],
        not_before=item.get("not_before"),
        lease_expires_at=item.get("lease_expires_at"),
        due_at=item.get("due_at"),
        started_at=item.get("started_at"),
        finished_at=item.get("finished_at"),
    )


# --- expressions built from named parts ---------------------------------------------------------


@dataclass
class Expr:
    """Placeholders and clauses for one item's UpdateExpression and ConditionExpression."""

    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    sets: list[str] = field(default_factory=list)
    removes: list[str] = field(default_factory=list)
    conditions: list[tuple[str, str]] = field(default_factory=list)  # (why, clause)

    def name(self, *path: str) -> str:
        parts = []
        for segment in path:
            placeholder = f"#n{len(self.names)}"
            for existing, value in self.names.items():
                if value == segment:
                    placeholder = existing
                    break
            self.names[placeholder] = segment
            parts.append(placeholder)
        return ".".join(parts)

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = serialize(value)
        return placeholder

    def set(self, path: tuple[str, ...], value: Any) -> None:
        if value is None:
            self.removes.append(self.name(*path))
        else:
            self.sets.append(f"{self.name(*path)} = {self.value(value)}")

    def require(self, why: str, clause: str) -> None:
        """Add a condition clause; `why` names the race or mistake it rules out (kept for errors)."""
        self.conditions.append((why, clause))

    def update_expression(self) -> str:
        text = ""
        if self.sets:
            text += "SET " + ", ".join(self.sets)
        if self.removes:
            text += " REMOVE " + ", ".join(self.removes)
        return text.strip()

    def condition_expression(self) -> str:
        return " AND ".join(f"({clause})" for _, clause in self.conditions)

    def reasons(self) -> str:
        return "; ".join(why for why, _ in self.conditions)


# --- changes --------------------------------------------------------------------------------------


@dataclass
class TaskChange:
    """Move one task from the status and version its writer read, by one named transition.

    `sets` holds other attributes in item form (None removes one). The task's due time (READY and
    RUNNING only) keys the sparse by_due index; `not_before` travels into the workflow's summary.
    """

    workflow_id: str
    task_id: str
    transition: str
    from_status: str
    from_version: int
    attempt: int
    sets: dict[str, Any] = field(default_factory=dict)
    due_at: float | None = None
    not_before: float | None = None

    def __post_init__(self) -> None:
        rule = model.transition(Entity.TASK, self.transition)
        if self.from_status not in rule.from_states:
            raise ValueError(f"task {self.transition} from {self.from_status} is not in the transition table")
        self.to_status = rule.to_state

    @property
    def summary(self) -> TaskSummary:
        return TaskSummary(self.to_status, self.attempt, self.from_version + 1, self.not_before)


@dataclass
class TaskTouch:
    """Change attributes of a task that are not its state (no transition, no new version), on the
    condition that it is still at the version read."""

    workflow_id: str
    task_id: str
    version: int
    sets: dict[str, Any]


@dataclass
class WorkflowChange:
    """Changes to the workflow item that travel with the task changes in one transaction.

    `expected_version` conditions on the whole workflow (used when a decision reads every task);
    `expected_status` only on its status. `read_tasks` are tasks whose summaries a decision was
    derived from without changing them (e.g. a dependency's SUCCEEDED): they must still be there.
    """

    workflow_id: str
    transition: str | None = None
    from_status: str | None = None
    expected_version: int | None = None
    expected_status: frozenset[str] | None = None
    sets: dict[str, Any] = field(default_factory=dict)
    read_tasks: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.transition is not None:
            rule = model.transition(Entity.WORKFLOW, self.transition)
            if self.from_status not in rule.from_states:
                raise ValueError(f"{self.transition} from {self.from_status} is not in the table")
            self.sets["status"] = rule.to_state
            self.sets["wf_status"] = rule.to_state


class Store:
    def __init__(
        self,
        client: Any,
        table_name: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.table = table_name
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security

    # --- reads -----------------------------------------------------------------------------------

    def load(self, workflow_id: str) -> tuple[Workflow, dict[str, Task]] | None:
        """The workflow and all its tasks: one strongly consistent Query of the partition."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"WF#{workflow_id}"}},
            "ConsistentRead": True,
        }
        while True:
            page = self.client.query(**kwargs)
            items.extend(deserialize_item(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        wf_items = [i for i in items if is_workflow_item(i)]
        if not wf_items:
            return None
        tasks = {i["task_id"]: task_from_item(i) for i in items if not is_workflow_item(i)}
        return workflow_from_item(wf_items[0]), tasks

    def get_workflow(self, workflow_id: str) -> Workflow | None:
        page = self.client.get_item(TableName=self.table, Key=workflow_key(workflow_id), ConsistentRead=True)
        return workflow_from_item(deserialize_item(page["Item"])) if "Item" in page else None

    def load_for_claim(
        self, workflow_id: str, task_id: str, dependencies: Sequence[str]
    ) -> tuple[Workflow | None, Task | None, dict[str, Task]]:
        """The workflow, one task and its dependencies, read as one atomic snapshot (one request)."""
        keys = [workflow_key(workflow_id), task_key(workflow_id, task_id)]
        keys += [task_key(workflow_id, d) for d in dependencies]
        response = self.client.transact_get_items(
            TransactItems=[{"Get": {"TableName": self.table, "Key": k}} for k in keys]
        )
        items = [deserialize_item(r["Item"]) if "Item" in r else None for r in response["Responses"]]
        wf = workflow_from_item(items[0]) if items[0] else None
        task = task_from_item(items[1]) if items[1] else None
        deps = {i["task_id"]: task_from_item(i) for i in items[2:] if i}
        return wf, task, deps

    def get_task(self, workflow_id: str, task_id: str) -> Task | None:
        page = self.client.get_item(
            TableName=self.table, Key=task_key(workflow_id, task_id), ConsistentRead=True
        )
        return task_from_item(deserialize_item(page["Item"])) if "Item" in page else None

    def list_workflows(
        self, status: str | None, limit: int, start_key: dict[str, Any] | None
    ) -> tuple[list[WorkflowSummary], dict[str, Any] | None]:
        """Newest first, from by_created (or by_status when filtering); the key to continue from."""
        if status is None:
            index, condition, values = BY_CREATED, "list_pk = :k", {":k": {"S": LIST_PK}}
        else:
            index, condition, values = BY_STATUS, "wf_status = :k", {":k": {"S": status}}
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        page = self.client.query(**kwargs)
        workflows = [summary_from_item(deserialize_item(i)) for i in page.get("Items", [])]
        return workflows, page.get("LastEvaluatedKey")

    def due_tasks(self, now: float, limit: int = 500) -> Iterator[Task]:
        """READY and RUNNING tasks whose due time passed, oldest first (the sparse by_due index).

        The index holds keys only (it is written on every READY and RUNNING transition, so it stays
        small); each task is then read whole and current, which also drops one that moved on since."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": BY_DUE,
            "KeyConditionExpression": "due_pk = :due AND due_at <= :now",
            "ExpressionAttributeValues": {":due": {"S": DUE_PK}, ":now": serialize(now)},
            "Limit": min(limit, 100),
        }
        seen = 0
        while seen < limit:
            page = self.client.query(**kwargs)
            for item in page.get("Items", []):
                seen += 1
                current = self.client.get_item(
                    TableName=self.table, Key={"pk": item["pk"], "sk": item["sk"]}, ConsistentRead=True
                ).get("Item")
                if current:
                    yield task_from_item(deserialize_item(current))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # --- writes ----------------------------------------------------------------------------------

    def create(self, workflow: Workflow, tasks: Sequence[Task]) -> None:
        """Write the workflow and its tasks together, or nothing when the id is taken."""
        items = [workflow_to_item(workflow)] + [task_to_item(t) for t in tasks]
        transact = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": serialize_item(item),
                    # Two creates with one workflow id (a client retrying, two clients racing):
                    # only the first writes; the other learns what is there.
                    "ConditionExpression": "attribute_not_exists(pk)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
            for item in items
        ]
        reasons = ["the workflow id is new"] * len(transact)
        self._transact(transact, reasons, what=f"create {workflow.workflow_id}", lost=ItemAlreadyExists)

    def apply(
        self, change: WorkflowChange, tasks: Sequence[TaskChange] = (), touches: Sequence[TaskTouch] = ()
    ) -> None:
        """Write task changes and the workflow item (summaries, version + 1) in one transaction."""
        updates = [self._task_update(tc) for tc in tasks] + [self._task_touch(t) for t in touches]
        updates.append(self._workflow_update(change, tasks))
        what = f"workflow {change.workflow_id}"
        if len(updates) == 1:
            self._update(updates[0], what=what)
        else:
            self._transact(
                [{"Update": params} for params, _ in updates], [why for _, why in updates], what=what
            )

    def _task_update(self, tc: TaskChange) -> tuple[dict[str, Any], str]:
        e = Expr()
        e.require(
            "the task is still at the version its writer read: a concurrent claim, result or cancel, "
            "or a stale decision (a duplicated, replayed or reordered stream record) loses here",
            f"{e.name('version')} = {e.value(tc.from_version)}",
        )
        due = tc.to_status in (model.TaskStatus.READY, model.TaskStatus.RUNNING)
        if due and tc.due_at is None:
            raise ValueError(f"{tc.transition} makes task {tc.task_id} {tc.to_status}: it needs a due time")
        sets: dict[str, Any] = {
            **tc.sets,
            "status": tc.to_status,
            "attempt": tc.attempt,
            "version": tc.from_version + 1,
            "not_before": tc.not_before,
            "due_pk": DUE_PK if due else None,
            "due_at": tc.due_at if due else None,
        }
        for attribute, value in sets.items():
            e.set((attribute,), value)
        return self._update_params(task_key(tc.workflow_id, tc.task_id), e)

    def _task_touch(self, touch: TaskTouch) -> tuple[dict[str, Any], str]:
        e = Expr()
        e.require(
            "the task is still at the version read (touching it must not hide a concurrent change)",
            f"{e.name('version')} = {e.value(touch.version)}",
        )
        for attribute, value in touch.sets.items():
            e.set((attribute,), value)
        return self._update_params(task_key(touch.workflow_id, touch.task_id), e)

    def _workflow_update(
        self, change: WorkflowChange, tasks: Sequence[TaskChange]
    ) -> tuple[dict[str, Any], str]:
        e = Expr()
        e.require("the workflow exists (a late write must not create a partial item)", "attribute_exists(pk)")
        if change.expected_version is not None:
            e.require(
                "nothing changed in the workflow since the image the decision was derived from",
                f"{e.name('version')} = {e.value(change.expected_version)}",
            )
        if change.expected_status is not None:
            clause = " OR ".join(f"{e.name('status')} = {e.value(s)}" for s in sorted(change.expected_status))
            e.require(
                "the workflow is still in a state that allows this (e.g. not cancelled meanwhile)", clause
            )
        for tc in tasks:
            e.require(
                f"the summary of task {tc.task_id} is at the version read (it moves with the task item)",
                f"{e.name('tasks', tc.task_id, 'version')} = {e.value(tc.from_version)}",
            )
            e.set(("tasks", tc.task_id), tc.summary.to_item())
        for task_id, version in change.read_tasks.items():
            e.require(
                f"task {task_id}, which the decision relied on, has not changed",
                f"{e.name('tasks', task_id, 'version')} = {e.value(version)}",
            )
        for attribute, value in change.sets.items():
            e.set((attribute,), value)
        e.sets.append(f"{e.name('version')} = {e.name('version')} + {e.value(1)}")
        return self._update_params(workflow_key(change.workflow_id), e)

    def _update_params(self, key: dict[str, Any], e: Expr) -> tuple[dict[str, Any], str]:
        params: dict[str, Any] = {
            "TableName": self.table,
            "Key": key,
            "UpdateExpression": e.update_expression(),
            "ConditionExpression": e.condition_expression(),
            "ExpressionAttributeNames": e.names,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if e.values:
            params["ExpressionAttributeValues"] = e.values
        return params, e.reasons()

    def _update(self, update: tuple[dict[str, Any], str], *, what: str) -> None:
        params, reasons = update
        try:
            self.client.update_item(**params)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            current = cast("Mapping[str, Any] | None", exc.response.get("Item"))
            raise VersionConflict(
                f"{what}: condition failed ({reasons})", deserialize_item(current) if current else None
            ) from exc

    def _transact(
        self,
        transact: list[dict[str, Any]],
        reasons: Sequence[str],
        *,
        what: str,
        lost: type[VersionConflict] = VersionConflict,
    ) -> None:
        for attempt in range(1, MAX_TRANSACTION_ATTEMPTS + 1):
            try:
                self.client.transact_write_items(TransactItems=transact)
                return
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                codes = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
                if "ConditionalCheckFailed" in codes:
                    index = codes.index("ConditionalCheckFailed")
                    item = exc.response["CancellationReasons"][index].get("Item")
                    raise lost(
                        f"{what}: condition failed on item {index} ({reasons[index] or 'absent'})",
                        deserialize_item(item) if item else None,
                    ) from exc
                if "TransactionConflict" not in codes or attempt == MAX_TRANSACTION_ATTEMPTS:
                    if "TransactionConflict" in codes:
                        raise ContentionExhausted(f"{what}: {attempt} transaction conflicts") from exc
                    raise
                # Another transaction held one of these items: back off a little, with full jitter,
                # so that racing writers do not collide again in lockstep.
                self._sleep(self._rng.uniform(0, 0.02 * 2**attempt))
