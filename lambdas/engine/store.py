"""DynamoDB access for the `workflows` table (docs/architecture.md, "The workflows table").

Per workflow partition `WF#<id>`: the state item (`#WF`, small, mutable), the definition item
(`#DEF`, immutable: the DAG, the input, the request hash) and one result item per ended attempt
(`RES#<task>#<attempt>`, immutable, written once with attribute_not_exists).

Every transition is one conditional UpdateItem of the state item built from a `flow.Change`: it
sets the tasks that change, bumps `version` by one (so images are ordered) and carries the change's
conditions, each named for the race it stops. A lost condition is `StateConflict`, carrying the
state as it is now (DynamoDB returns it with the failure: no second read). No transactions.

The list indexes are write-sharded (`list_pk` = LIST#<shard>, `status_pk` = <STATUS>#<shard>, the
shard a hash of the workflow id) and keys-only: an index row is written when a workflow is created
and when its status changes, never on a task transition.
"""

from __future__ import annotations

import heapq
import json
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from engine.errors import ItemAlreadyExists, VersionConflict
from engine.flow import Change, Require
from engine.model import AttemptResult, TaskState, WorkflowState, WorkflowSummary

STATE_SK = "#WF"
DEFINITION_SK = "#DEF"
RESULT_SK_PREFIX = "RES#"
BY_CREATED, BY_STATUS = "by_created", "by_status"
# Index shards: each list and status key takes 1/SHARDS of the writes (docs: "Capacity model").
SHARDS = 16

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class StateConflict(VersionConflict):
    """A state write lost its condition; `state` is the state item as it is now (None: gone)."""

    def __init__(self, message: str, state: WorkflowState | None) -> None:
        super().__init__(message)
        self.state = state


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


def partition(workflow_id: str) -> str:
    return f"WF#{workflow_id}"


def key(workflow_id: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": partition(workflow_id)}, "sk": {"S": sk}}


def result_sk(task_id: str, attempt: int) -> str:
    return f"{RESULT_SK_PREFIX}{task_id}#{attempt:04d}"


def shard(workflow_id: str) -> int:
    return zlib.crc32(workflow_id.encode()) % SHARDS


def list_pk(workflow_id: str) -> str:
    return f"LIST#{shard(workflow_id):02d}"


def status_pk(status: str, workflow_id: str) -> str:
    return f"{status}#{shard(workflow_id):02d}"


def is_state_item(item: dict[str, Any]) -> bool:
    return item.get("sk") == STATE_SK


# User data (workflow and task input, task output, inline definitions) is stored as JSON text:
# DynamoDB maps nest at most 32 levels deep and numbers carry 38 digits, and JSON from callers owes
# us neither. (Also, DynamoDB Local's stream renders an empty map as `{}` without its "M" type.)
def dump_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _load_json(text: Any) -> Any:
    return None if text is None else json.loads(text)


def state_to_item(state: WorkflowState) -> dict[str, Any]:
    return {
        "pk": partition(state.workflow_id),
        "sk": STATE_SK,
        "workflow_id": state.workflow_id,
        "status": state.status,
        "version": state.version,
        "definition_name": state.definition_name,
        "created_at": state.created_at,
        "started_at": state.started_at,
        "finished_at": state.finished_at,
        "updated_at": state.updated_at,
        "expires_at": state.expires_at,
        "settled": state.settled,
        "list_pk": list_pk(state.workflow_id),
        "status_pk": status_pk(state.status, state.workflow_id),
        "tasks": [t.to_item() for t in state.tasks],
    }


def state_from_item(item: dict[str, Any]) -> WorkflowState:
    workflow_id = item.get("workflow_id") or str(item["pk"]).removeprefix("WF#")
    return WorkflowState(
        workflow_id=workflow_id,
        status=item["status"],
        version=int(item["version"]),
        definition_name=item.get("definition_name", ""),
        created_at=item["created_at"],
        tasks=tuple(TaskState.from_item(t) for t in item.get("tasks", [])),
        started_at=item.get("started_at"),
        finished_at=item.get("finished_at"),
        updated_at=int(item.get("updated_at", 0)),
        expires_at=item.get("expires_at"),
        settled=bool(item.get("settled", True)),
    )


def summary_from_state(state: WorkflowState) -> WorkflowSummary:
    return WorkflowSummary(
        workflow_id=state.workflow_id,
        status=state.status,
        definition_name=state.definition_name,
        task_statuses=tuple(t.status for t in state.tasks),
        version=state.version,
        created_at=state.created_at,
        started_at=state.started_at,
        finished_at=state.finished_at,
    )


def result_to_item(workflow_id: str, result: AttemptResult, expires_at: int) -> dict[str, Any]:
    return {
        "pk": partition(workflow_id),
        "sk": result_sk(result.task_id, result.attempt),
        "task_id": result.task_id,
        "attempt": result.attempt,
        "status": result.status,
        "output": None if result.output is None or result.output_ref else dump_json(result.output),
        "output_ref": result.output_ref,
        "error": result.error,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "expires_at": expires_at,
    }


def result_from_item(item: dict[str, Any]) -> AttemptResult:
    return AttemptResult(
        task_id=item["task_id"],
        attempt=int(item["attempt"]),
        status=item["status"],
        started_at=item.get("started_at"),
        finished_at=item["finished_at"],
        output=_load_json(item.get("output")),
        output_ref=item.get("output_ref"),
        error=item.get("error"),
    )


@dataclass
class Definition:
    """The immutable definition item."""

    workflow_id: str
    definition_name: str
    definition: dict[str, Any]
    input: Any
    request_hash: str
    created_at: str
    # The version of the definition the workflow started with (engine.definitions.version_of); the
    # copy in `definition` is what it runs, whatever the deployment's definitions become.
    definition_version: str | None = None

    def to_item(self, expires_at: int) -> dict[str, Any]:
        return {
            "pk": partition(self.workflow_id),
            "sk": DEFINITION_SK,
            "definition_name": self.definition_name,
            **({"definition_version": self.definition_version} if self.definition_version else {}),
            "definition": dump_json(self.definition),
            "input": dump_json(self.input),
            "request_hash": self.request_hash,
            "created_at": self.created_at,
            "expires_at": expires_at,
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Definition:
        return cls(
            workflow_id=str(item["pk"]).removeprefix("WF#"),
            definition_name=item["definition_name"],
            definition=_load_json(item["definition"]),
            input=_load_json(item.get("input")),
            request_hash=item.get("request_hash", ""),
            created_at=item["created_at"],
            definition_version=item.get("definition_version"),
        )


@dataclass(frozen=True)
class SweepPosition:
    """Where a sweep is: the index of a status shard in its list, and the last row it read there."""

    work: int = 0
    after: tuple[str, str] | None = None  # (created_at, workflow id)


# The sweep's position between runs: one small item outside any workflow's partition (no index keys;
# the stream mapping passes state items only).
_SWEEP_KEY = {"pk": {"S": "SWEEP"}, "sk": {"S": "#POSITION"}}


@dataclass
class Snapshot:
    """A whole workflow: state, definition and every result item (one consistent Query)."""

    state: WorkflowState | None
    definition: Definition | None
    results: dict[tuple[str, int], AttemptResult] = field(default_factory=dict)


# --- conditions --------------------------------------------------------------------------------


@dataclass
class Expr:
    """Placeholders and clauses for one UpdateExpression and ConditionExpression."""

    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    sets: list[str] = field(default_factory=list)
    removes: list[str] = field(default_factory=list)
    conditions: list[tuple[str, str]] = field(default_factory=list)  # (why, clause)

    def name(self, segment: str) -> str:
        for placeholder, value in self.names.items():
            if value == segment:
                return placeholder
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = segment
        return placeholder

    def task(self, index: int, attribute: str | None = None) -> str:
        path = f"{self.name('tasks')}[{index}]"
        return f"{path}.{self.name(attribute)}" if attribute else path

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = serialize(value)
        return placeholder

    def set(self, path: str, value: Any) -> None:
        if value is None:
            self.removes.append(path)
        else:
            self.sets.append(f"{path} = {self.value(value)}")

    def require(self, why: str, clause: str) -> None:
        self.conditions.append((why, clause))

    def clause(self, requirement: Require) -> str:
        if requirement.kind == "any":
            return " OR ".join(f"({self.clause(alternative)})" for alternative in requirement.values)
        if requirement.kind == "task":
            path = self.task(requirement.index, requirement.field)
        elif requirement.kind == "status":
            path = self.name("status")
        elif requirement.kind == "version":
            path = self.name("version")
        else:
            raise ValueError(f"unknown condition {requirement.kind}")
        values = [self.value(v) for v in requirement.values]
        if requirement.op == "in" or (requirement.kind == "status" and len(values) > 1):
            return f"{path} IN ({', '.join(values)})"
        return f"{path} {requirement.op} {values[0]}"

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


def iso_ms(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Store:
    sweep_page = 100  # index rows per page of the sweep (BatchGetItem reads at most 100 keys)

    def __init__(self, client: Any, table_name: str, *, ttl_days: int = 30) -> None:
        self.client = client
        self.table = table_name
        self.ttl_days = ttl_days

    def finished_expiry(self, now: float) -> int:
        return int(now + self.ttl_days * 86400)

    def running_expiry(self, now: float) -> int:
        """Items written while a workflow runs (definition, results) cannot get their TTL when it
        finishes without being rewritten: they expire RUN_LIMIT_DAYS later than a finished state would."""
        return int(now + (self.ttl_days + RUN_LIMIT_DAYS) * 86400)

    # --- reads -----------------------------------------------------------------------------------

    def read(self, workflow_id: str, *, consistent: bool = True) -> Snapshot:
        """State, definition and results: one Query of the partition (strongly consistent unless told)."""
        snapshot = Snapshot(None, None)
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition(workflow_id)}},
            "ConsistentRead": consistent,
        }
        while True:
            page = self.client.query(**kwargs)
            for raw in page.get("Items", []):
                item = deserialize_item(raw)
                sk = item["sk"]
                if sk == STATE_SK:
                    snapshot.state = state_from_item(item)
                elif sk == DEFINITION_SK:
                    snapshot.definition = Definition.from_item(item)
                elif sk.startswith(RESULT_SK_PREFIX):
                    result = result_from_item(item)
                    snapshot.results[(result.task_id, result.attempt)] = result
            if "LastEvaluatedKey" not in page:
                return snapshot
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def get_state(self, workflow_id: str) -> WorkflowState | None:
        page = self.client.get_item(TableName=self.table, Key=key(workflow_id, STATE_SK), ConsistentRead=True)
        return state_from_item(deserialize_item(page["Item"])) if "Item" in page else None

    def get_definition(self, workflow_id: str) -> Definition | None:
        """Immutable: an eventually consistent read, then a consistent one if it is not there yet."""
        for consistent in (False, True):
            page = self.client.get_item(
                TableName=self.table, Key=key(workflow_id, DEFINITION_SK), ConsistentRead=consistent
            )
            if "Item" in page:
                return Definition.from_item(deserialize_item(page["Item"]))
        return None

    def get_results(
        self, workflow_id: str, attempts: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], AttemptResult]:
        """Result items by (task id, attempt), read consistently (BatchGetItem, unprocessed keys retried)."""
        found: dict[tuple[str, int], AttemptResult] = {}
        keys = [key(workflow_id, result_sk(t, a)) for t, a in dict.fromkeys(attempts)]
        while keys:
            batch, keys = keys[:100], keys[100:]
            request: dict[str, Any] = {self.table: {"Keys": batch, "ConsistentRead": True}}
            while request:
                page = self.client.batch_get_item(RequestItems=request)
                for raw in page.get("Responses", {}).get(self.table, []):
                    result = result_from_item(deserialize_item(raw))
                    found[(result.task_id, result.attempt)] = result
                request = page.get("UnprocessedKeys") or {}
        return found

    def get_states(self, workflow_ids: Sequence[str]) -> list[WorkflowState]:
        """Many state items, eventually consistent (list pages and the sweep; writes check anyway)."""
        states: dict[str, WorkflowState] = {}
        ids = list(dict.fromkeys(workflow_ids))
        while ids:
            batch, ids = ids[:100], ids[100:]
            request: dict[str, Any] = {self.table: {"Keys": [key(w, STATE_SK) for w in batch]}}
            while request:
                page = self.client.batch_get_item(RequestItems=request)
                for raw in page.get("Responses", {}).get(self.table, []):
                    state = state_from_item(deserialize_item(raw))
                    states[state.workflow_id] = state
                request = page.get("UnprocessedKeys") or {}
        return [states[w] for w in workflow_ids if w in states]

    def list_page(
        self, status: str | None, limit: int, after: tuple[str, str] | None
    ) -> tuple[list[WorkflowSummary], tuple[str, str] | None]:
        """Newest first across every shard of by_created (or by_status): one Query per shard in parallel,
        merged. `after` is the (created_at, workflow_id) of the last row of the previous page."""
        index, attribute = (BY_CREATED, "list_pk") if status is None else (BY_STATUS, "status_pk")
        prefix = "LIST" if status is None else status

        def query(n: int) -> list[tuple[str, str]]:
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": index,
                "KeyConditionExpression": f"{attribute} = :k" + (" AND created_at <= :c" if after else ""),
                "ExpressionAttributeValues": {":k": {"S": f"{prefix}#{n:02d}"}}
                | ({":c": {"S": after[0]}} if after else {}),
                "ScanIndexForward": False,
            }
            # An index returns rows of one created_at in no set order, so a page may end inside a tie:
            # read on until one more than a page (it tells whether there is a next one) lies strictly
            # newer than the last row read, i.e. every tie it belongs to was read whole.
            rows: list[tuple[str, str]] = []
            kwargs["Limit"] = limit + 5
            while True:
                page = self.client.query(**kwargs)
                for raw in page.get("Items", []):
                    row = (raw["created_at"]["S"], raw["pk"]["S"].removeprefix("WF#"))
                    if after is None or row < after:  # ties on created_at: order by id
                        rows.append(row)
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
                last_read = page["LastEvaluatedKey"]["created_at"]["S"]
                if sum(1 for created_at, _ in rows if created_at > last_read) > limit:
                    break
            return sorted(rows, reverse=True)[: limit + 1]

        with ThreadPoolExecutor(SHARDS) as pool:
            per_shard = list(pool.map(query, range(SHARDS)))
        merged = list(heapq.merge(*per_shard, reverse=True))
        page_rows = merged[:limit]
        more = len(merged) > limit
        states = {s.workflow_id: s for s in self.get_states([w for _, w in page_rows])}
        summaries = [summary_from_state(states[w]) for _, w in page_rows if w in states]
        return summaries, (page_rows[-1] if more and page_rows else None)

    def unfinished(
        self, statuses: Sequence[str], created_before: str, start: SweepPosition | None = None
    ) -> Iterator[tuple[list[str], SweepPosition]]:
        """Ids of the workflows in `statuses` created before a time (the sweep), a page at a time, each
        with the position after it: the status shards one after another, oldest first within each,
        from `start` on (a sweep that ran out of time goes on from there next time)."""
        work = [(status, n) for status in statuses for n in range(SHARDS)]
        position = start or SweepPosition()
        for index in range(position.work, len(work)):
            prefix, n = work[index]
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": BY_STATUS,
                "KeyConditionExpression": "status_pk = :k AND created_at <= :c",
                "ExpressionAttributeValues": {":k": {"S": f"{prefix}#{n:02d}"}, ":c": {"S": created_before}},
                "Limit": self.sweep_page,  # one BatchGetItem of states per page
            }
            if index == position.work and position.after is not None:
                created_at, workflow_id = position.after
                kwargs["ExclusiveStartKey"] = {
                    "status_pk": {"S": f"{prefix}#{n:02d}"},
                    "created_at": {"S": created_at},
                    **key(workflow_id, STATE_SK),
                }
            while True:
                page = self.client.query(**kwargs)
                rows = [(raw["created_at"]["S"], raw["pk"]["S"].removeprefix("WF#")) for raw in page["Items"]]
                more = "LastEvaluatedKey" in page
                after = SweepPosition(index, rows[-1]) if more and rows else SweepPosition(index + 1)
                if rows or not more:
                    yield [w for _, w in rows], after
                if not more:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def sweep_position(self) -> SweepPosition:
        """Where the last sweep stopped (the start, after a sweep that went through everything)."""
        page = self.client.get_item(TableName=self.table, Key=_SWEEP_KEY, ConsistentRead=True)
        item = deserialize_item(page["Item"]) if "Item" in page else {}
        after = item.get("after")
        return SweepPosition(int(item.get("work", 0)), tuple(after) if after else None)

    def save_sweep_position(self, position: SweepPosition) -> None:
        item = {**_SWEEP_KEY, "work": {"N": str(position.work)}}
        if position.after is not None:
            item["after"] = serialize(list(position.after))
        self.client.put_item(TableName=self.table, Item=item)

    # --- writes ----------------------------------------------------------------------------------

    def create(self, definition: Definition, change: Change, now: float) -> WorkflowState:
        """The definition item, then the state item; each only if absent (two creates with one id: the
        first writes, the other learns what is there: ItemAlreadyExists carrying the definition).
        The state as written."""
        self._put_new(definition.to_item(self.running_expiry(now)), f"create {definition.workflow_id}")
        state = self._stamped(change.after(), change, now)
        self._put_new(state_to_item(state), f"create {definition.workflow_id}")
        return state

    def create_state(self, change: Change, now: float) -> None:
        self._put_new(
            state_to_item(self._stamped(change.after(), change, now)), f"create {change.workflow_id}"
        )

    def _stamped(self, state: WorkflowState, change: Change, now: float) -> WorkflowState:
        from dataclasses import replace

        return replace(
            state,
            updated_at=int(now * 1000),
            started_at=iso_ms(now) if change.sets.get("started_at_now") else state.started_at,
        )

    def _put_new(self, item: dict[str, Any], what: str) -> None:
        try:
            self.client.put_item(
                TableName=self.table,
                Item=serialize_item(item),
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            current = cast("Mapping[str, Any] | None", exc.response.get("Item"))
            raise ItemAlreadyExists(
                f"{what}: the item exists", deserialize_item(current) if current else None
            ) from exc

    def put_result(self, workflow_id: str, result: AttemptResult, now: float) -> AttemptResult | None:
        """Write an attempt's result once. None when written; the result already there otherwise (the
        attempt was ended by someone else first: a cancel, the sweep, a duplicate worker)."""
        try:
            self._put_new(result_to_item(workflow_id, result, self.running_expiry(now)), "result")
        except ItemAlreadyExists as exc:
            if exc.current is None:
                found = self.get_results(workflow_id, [(result.task_id, result.attempt)])
                return found[(result.task_id, result.attempt)]
            return result_from_item(exc.current)
        return None

    def apply(self, change: Change, now: float) -> WorkflowState:
        """One conditional UpdateItem of the state item; the state after it. StateConflict when a
        condition fails (carrying the current state)."""
        e = Expr()
        e.require("the workflow exists (a late write must not create a partial item)", "attribute_exists(pk)")
        for requirement in change.requires:
            e.require(requirement.why, e.clause(requirement))
        for i, task in sorted(change.tasks.items()):
            e.set(e.task(i), task.to_item())
        before = change.before
        if change.status is not None and change.status != before.status:
            e.set(e.name("status"), change.status)
            e.set(e.name("status_pk"), status_pk(change.status, change.workflow_id))
        sets = dict(change.sets)
        if sets.pop("started_at_now", False):
            sets["started_at"] = iso_ms(now)
        if sets.pop("finished_at_now", False):
            sets["finished_at"] = iso_ms(now)
            sets["expires_at"] = self.finished_expiry(now)
        for attribute, value in sets.items():
            e.set(e.name(attribute), value)
        if change.settled != before.settled:
            e.set(e.name("settled"), change.settled)
        e.set(e.name("updated_at"), int(now * 1000))
        e.sets.append(f"{e.name('version')} = {e.name('version')} + {e.value(1)}")
        params: dict[str, Any] = {
            "TableName": self.table,
            "Key": key(change.workflow_id, STATE_SK),
            "UpdateExpression": e.update_expression(),
            "ConditionExpression": e.condition_expression(),
            "ExpressionAttributeNames": e.names,
            "ExpressionAttributeValues": e.values,
            "ReturnValues": "ALL_NEW",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        try:
            response = self.client.update_item(**params)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            current = cast("Mapping[str, Any] | None", exc.response.get("Item"))
            state = state_from_item(deserialize_item(current)) if current else None
            raise StateConflict(
                f"workflow {change.workflow_id}: condition failed ({e.reasons()})", state
            ) from exc
        return state_from_item(deserialize_item(response["Attributes"]))

    def refresh_expiry(self, workflow_id: str, sks: Sequence[str], now: float) -> None:
        """A retried workflow runs again: its definition and the results it reuses must outlive it."""
        for sk in sks:
            self.client.update_item(
                TableName=self.table,
                Key=key(workflow_id, sk),
                UpdateExpression="SET expires_at = :e",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":e": {"N": str(self.running_expiry(now))}},
            )


# A workflow cannot run longer than this between two API calls: at most 20 levels of at most 10
# attempts, each at most 900 s plus a 900 s backoff (about 4.3 days).
RUN_LIMIT_DAYS = 5


def retry_conflicts(
    attempt: Callable[[WorkflowState], Change | None],
    apply: Callable[[Change], WorkflowState],
    state: WorkflowState,
    attempts: int = 10,
) -> tuple[Change | None, WorkflowState | None]:
    """Compute a change from `state` and write it; when the write loses, compute again from the state
    DynamoDB returned with the failure. (None, state) when the change is no longer possible."""
    from engine.errors import ContentionExhausted

    for _ in range(attempts):
        change = attempt(state)
        if change is None or change.empty:
            return None, state
        try:
            return change, apply(change)
        except StateConflict as conflict:
            if conflict.state is None:
                return None, None
            state = conflict.state
    raise ContentionExhausted(
        f"workflow {state.workflow_id}: {attempts} writes in a row lost their condition"
    )
