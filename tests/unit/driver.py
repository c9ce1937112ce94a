"""A small test driver: the engine's real handlers, DynamoDB Local, and hand-run plumbing.

It reads the real stream records of the `workflows` table from DynamoDB Local's Streams API,
keeps workflow items only (the event-source mapping's filter), hands them to the orchestrator in
Lambda's event format, and performs the invocations the handlers asked for: worker invokes and
retry-queue messages to the worker, task invokes to task functions. The handlers get their AWS
clients through `engine.runtime.configure` (the only seam); DynamoDB is always the real one.
"""

from __future__ import annotations

import base64
import io
import json
import random
import subprocess
import sys
import threading
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError
from engine import runtime
from engine.handlers import api, orchestrator, reaper, websocket, worker

ROOT = Path(__file__).resolve().parents[2]
TASKS = ROOT / "lambdas" / "tasks"
WORKER_FUNCTION = "orchestra-test-worker"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/000000000000/orchestra-test-task-retries"
MANAGEMENT_ENDPOINT = "https://abc123.execute-api.us-east-1.amazonaws.com/prod"
ARTIFACTS_KEY_ARN = "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TASK_FUNCTIONS = {
    "task-a": {"function_name": "orchestra-test-task-a", "type": "node", "timeout_seconds": 60},
    "task-b1": {"function_name": "orchestra-test-task-b1", "type": "node", "timeout_seconds": 60},
    "task-b2": {"function_name": "orchestra-test-task-b2", "type": "python", "timeout_seconds": 60},
    "task-b3": {"function_name": "orchestra-test-task-b3", "type": "container", "timeout_seconds": 60},
    "task-c": {"function_name": "orchestra-test-task-c", "type": "node", "timeout_seconds": 60},
}


def catalog_document(functions: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The catalog the engine reads (CATALOG_FILE): the sample task functions, and the reference
    definition from its file (workflows/orchestra.yaml), loaded as the synthesis loads it."""
    from workflows.definitions import WORKFLOWS_DIR, load_file

    functions = TASK_FUNCTIONS if functions is None else functions
    timeouts = {k: int(v["timeout_seconds"]) for k, v in functions.items()}
    reference = load_file(WORKFLOWS_DIR / "orchestra.yaml", timeouts)
    return {"functions": functions, "definitions": [reference.named().model_dump(mode="json")]}


# What API Gateway's Cognito authorizer passes on (requestContext.authorizer.claims): all strings.
OPERATOR_CLAIMS = {
    "sub": "0b3f-operator",
    "username": "operator@example.com",
    "cognito:groups": "operators",
    "scope": "aws.cognito.signin.user.admin",
    "token_use": "access",
    "client_id": "cli-client",
}
VIEWER_CLAIMS = {
    **OPERATOR_CLAIMS,
    "sub": "7c1d-viewer",
    "username": "viewer@example.com",
    "cognito:groups": "viewers",
}
MACHINE_CLAIMS = {
    "sub": "machine-client",
    "client_id": "machine-client",
    "scope": "orchestra/read",
    "token_use": "access",
}
OPERATOR_CONTEXT = {
    "principalId": "operator@example.com",
    "kind": "user",
    "role": "operator",
    "permissions": "operate read",
}
READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


@dataclass
class FakeContext:
    function_name: str = "orchestra-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:orchestra-test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    remaining_ms: int = 900_000  # the worker's timeout; a fresh invocation

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def worker_parallel_tasks(monkeypatch: Any, n: int) -> None:
    """The worker's WORKER_PARALLEL_TASKS (settings orchestration.worker_parallel_tasks) for one test."""
    monkeypatch.setenv("WORKER_PARALLEL_TASKS", str(n))
    runtime.settings.cache_clear()


class TaskFailed(Exception):
    """Raised by a fake task function: becomes Lambda's FunctionError payload."""


TaskFunction = Callable[[dict[str, Any]], Any]


def simulated(event: dict[str, Any]) -> dict[str, Any]:
    """An in-process task honouring input.simulate.<task_id> like the real ones (fast tests)."""
    sim = ((event.get("input") or {}).get("simulate") or {}).get(event["task_id"]) or {}
    if event["attempt"] <= int(sim.get("fail_attempts", 0)):
        raise TaskFailed(f"simulated failure of {event['task_id']} attempt {event['attempt']}")
    output: dict[str, Any] = {
        "task": event["task_id"],
        "attempt": event["attempt"],
        "deps": sorted(event["dependencies"]),
    }
    if sim.get("output_bytes"):
        output["padding"] = "x" * int(sim["output_bytes"])
    return output


def real_task(directory: str, runtime_name: str) -> TaskFunction:
    """Run a real task handler the way Lambda would: its own process, event in, result or error out."""
    path = TASKS / directory
    if runtime_name == "node":
        script = (
            "let d='';process.stdin.on('data',c=>d+=c).on('end',async()=>{"
            f"const h=require({json.dumps(str(path / 'index.js'))});"
            "try{process.stdout.write(JSON.stringify({ok:await h.handler(JSON.parse(d))}))}"
            "catch(e){process.stdout.write(JSON.stringify({error:{errorType:e.name,errorMessage:e.message}}))}});"
        )
        command = ["node", "-e", script]
    else:
        script = (
            "import json,sys;sys.path.insert(0,sys.argv[1]);import handler;e=json.load(sys.stdin)\n"
            "try: print(json.dumps({'ok': handler.handler(e, None)}))\n"
            "except Exception as x:\n"
            "    print(json.dumps({'error': {'errorType': type(x).__name__, 'errorMessage': str(x)}}))"
        )
        command = [sys.executable, "-c", script, str(path)]

    def run(event: dict[str, Any]) -> Any:
        done = subprocess.run(
            command, input=json.dumps(event), capture_output=True, text=True, check=True, timeout=60
        )
        result = json.loads(done.stdout)
        if "error" in result:
            raise TaskFailed(result["error"]["errorMessage"])
        return result["ok"]

    return run


REAL_TASKS: dict[str, TaskFunction] = {
    "orchestra-test-task-a": real_task("a", "node"),
    "orchestra-test-task-b1": real_task("b1", "node"),
    "orchestra-test-task-b2": real_task("b2", "python"),
    "orchestra-test-task-b3": real_task("b3", "python"),
    "orchestra-test-task-c": real_task("c", "node"),
}


class FakeLambda:
    """The Lambda Invoke API as the handlers use it: async invokes of the worker are queued for the
    driver; synchronous invokes of task functions run the function now."""

    def __init__(self, cloud: Cloud, read_timeout: int | None = None) -> None:
        self.cloud = cloud
        self.read_timeout = read_timeout

    def invoke(
        self, FunctionName: str, InvocationType: str = "RequestResponse", Payload: bytes = b"{}"
    ) -> Any:
        if InvocationType != "Event":
            self.cloud.read_timeouts.append(self.read_timeout)
        event = json.loads(Payload)
        with self.cloud.lock:
            self.cloud.invocations[FunctionName] += 1
        if InvocationType == "Event":
            assert FunctionName == WORKER_FUNCTION, FunctionName
            with self.cloud.lock:
                self.cloud.worker_queue.append(event)
            return {"StatusCode": 202}
        function = self.cloud.tasks[FunctionName]
        with self.cloud.lock:
            self.cloud.task_runs.append((event["task_id"], event["attempt"]))
            self.cloud.task_events.append(event)
        try:
            result = function(event)
        except TaskFailed as exc:
            body = {"errorType": "Error", "errorMessage": str(exc)}
            return {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": io.BytesIO(json.dumps(body).encode()),
            }
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(result).encode())}


class FakeSQS:
    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud

    def send_message(self, QueueUrl: str, MessageBody: str, DelaySeconds: int = 0) -> dict[str, Any]:
        assert QueueUrl == QUEUE_URL
        with self.cloud.lock:
            self.cloud.sent_messages.append({"body": MessageBody, "delay": DelaySeconds})
            self.cloud.sqs_queue.append(MessageBody)
        return {"MessageId": str(uuid.uuid4())}


class FakeManagementApi:
    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud

    def post_to_connection(self, ConnectionId: str, Data: bytes) -> dict[str, Any]:
        if ConnectionId in self.cloud.gone:
            raise ClientError(
                {
                    "Error": {"Code": "GoneException", "Message": "gone"},
                    "ResponseMetadata": {"HTTPStatusCode": 410},
                },
                "PostToConnection",
            )
        self.cloud.posts.append((ConnectionId, json.loads(Data)))
        return {}


class Cloud:
    """One test's world: fresh tables, the handlers wired to fakes, and the stream to pump."""

    def __init__(
        self,
        ddb_kwargs: dict[str, Any],
        workflows: str,
        connections: str,
        clock: Callable[[], float],
        dispatch_mode: str = "writer",
    ) -> None:
        self.dispatch_mode = dispatch_mode
        self.lock = threading.Lock()
        self.workflows, self.connections = workflows, connections
        self.dynamodb = boto3.client("dynamodb", **ddb_kwargs)
        self.streams = boto3.client("dynamodbstreams", **ddb_kwargs)
        self.calls: Counter[tuple[str, str]] = Counter()
        self.items: Counter[tuple[str, str]] = Counter()
        self.dynamodb.meta.events.register("before-parameter-build.dynamodb", self._count)
        self.invocations: Counter[str] = Counter()
        self.tasks: dict[str, TaskFunction] = {
            fn["function_name"]: simulated for fn in TASK_FUNCTIONS.values()
        }
        self.task_runs: list[tuple[str, int]] = []
        self.read_timeouts: list[int | None] = []
        self.task_events: list[dict[str, Any]] = []
        self.worker_queue: deque[dict[str, Any]] = deque()
        self.sqs_queue: deque[str] = deque()
        self.sent_messages: list[dict[str, Any]] = []
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.gone: set[str] = set()
        self.delivered: list[dict[str, Any]] = []  # every stream record handed to the orchestrator
        self.orchestrator_results: list[dict[str, Any]] = []
        self.s3: Any = None
        self._iterators: dict[str, str | None] = {}
        self._stream_arn = self._admin_client(ddb_kwargs).describe_table(TableName=workflows)["Table"][
            "LatestStreamArn"
        ]
        runtime.configure(
            clients=runtime.Clients(
                dynamodb=self.dynamodb,
                lambda_=FakeLambda(self),
                sqs=FakeSQS(self),
                s3=_NoS3(),
                management_api=self._management_api,
                task_lambda=lambda read_timeout: FakeLambda(self, read_timeout),
            ),
            clock=clock,
        )

    @staticmethod
    def _admin_client(ddb_kwargs: dict[str, Any]) -> Any:
        return boto3.client("dynamodb", **ddb_kwargs)

    def _management_api(self, endpoint: str) -> FakeManagementApi:
        assert endpoint == MANAGEMENT_ENDPOINT
        return FakeManagementApi(self)

    def use_s3(self, client: Any) -> None:
        current = runtime.clients()
        runtime.configure(
            clients=runtime.Clients(
                current.dynamodb,
                current.lambda_,
                current.sqs,
                client,
                current.management_api,
                current.task_lambda,
            )
        )

    def _count(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        """Count every DynamoDB request the handlers make, per table (botocore's event hook)."""
        if model.name.startswith("Transact"):
            entries = [next(iter(e.values())) for e in params["TransactItems"]]
            tables = {e["TableName"] for e in entries}
        elif model.name.startswith("Batch"):
            entries = [{"TableName": t} for t in params["RequestItems"]]
            tables = set(params["RequestItems"])
        else:
            entries, tables = [params], {params.get("TableName")}
        with self.lock:
            for table in tables:
                self.calls[(table, model.name)] += 1
                self.items[(table, model.name)] += sum(1 for e in entries if e.get("TableName") == table)

    def reads(self, table: str | None = None) -> int:
        return sum(n for (t, op), n in self.calls.items() if op in READS and t == (table or self.workflows))

    def writes(self, table: str | None = None) -> int:
        return sum(n for (t, op), n in self.calls.items() if op in WRITES and t == (table or self.workflows))

    def cost(self) -> dict[str, Any]:
        """DynamoDB requests and Lambda invocations so far, for the report."""
        return {
            "workflows_table": {
                "reads": self.reads(),
                "writes": self.writes(),
                "items_written": sum(
                    n for (t, op), n in self.items.items() if t == self.workflows and op in WRITES
                ),
                "by_operation": {op: n for (t, op), n in sorted(self.calls.items()) if t == self.workflows},
            },
            "connections_table": {
                "reads": self.reads(self.connections),
                "writes": self.writes(self.connections),
            },
            "invocations": dict(sorted(self.invocations.items())),
        }

    # --- API Gateway ---------------------------------------------------------------------------

    def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw_body: str | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        claims: dict[str, str] | None = OPERATOR_CLAIMS,
    ) -> tuple[int, Any, dict[str, str]]:
        """One REST API request as API Gateway's Lambda proxy integration delivers it, by default
        from an operator (`claims=None`: no authorizer claims at all)."""
        text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
        hdrs = {"Content-Type": "application/json"} if text is not None else {}
        hdrs.update(headers or {})
        event = {
            "resource": "/{proxy+}",
            "path": path,
            "httpMethod": method,
            "headers": hdrs,
            "multiValueHeaders": {k: [v] for k, v in hdrs.items()},
            "queryStringParameters": query,
            "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
            "pathParameters": {"proxy": path.lstrip("/")},
            "stageVariables": None,
            "requestContext": {
                "resourcePath": "/{proxy+}",
                "httpMethod": method,
                "path": f"/prod{path}",
                "stage": "prod",
                "requestId": str(uuid.uuid4()),
                "identity": {"sourceIp": "127.0.0.1"},
                **({"authorizer": {"claims": claims}} if claims is not None else {}),
            },
            "body": text,
            "isBase64Encoded": False,
        }
        with self.lock:
            self.invocations["api"] += 1
        response = api.handler(event, FakeContext(function_name="orchestra-test-api"))
        raw = response.get("body") or ""
        if response.get("isBase64Encoded"):
            raw = base64.b64decode(raw).decode()
        headers_out = dict(response.get("headers") or {})
        for k, values in (response.get("multiValueHeaders") or {}).items():
            headers_out.setdefault(k, ", ".join(values))
        return response["statusCode"], (json.loads(raw) if raw else None), headers_out

    def websocket(
        self,
        route: str,
        connection_id: str,
        body: Any = None,
        authorizer: dict[str, str] | None = OPERATOR_CONTEXT,
    ) -> dict[str, Any]:
        event = {
            "requestContext": {
                "routeKey": route,
                "connectionId": connection_id,
                "eventType": "MESSAGE",
                "stage": "prod",
                **({"authorizer": authorizer} if authorizer is not None and route == "$connect" else {}),
            },
            "body": None if body is None else (body if isinstance(body, str) else json.dumps(body)),
            "isBase64Encoded": False,
        }
        with self.lock:
            self.invocations["websocket"] += 1
        return websocket.handler(event, FakeContext(function_name="orchestra-test-websocket"))

    # --- the stream ------------------------------------------------------------------------------

    def read_stream(self) -> list[dict[str, Any]]:
        """New records since the last read, in Lambda's event format, workflow items only."""
        shards = self.streams.describe_stream(StreamArn=self._stream_arn)["StreamDescription"]["Shards"]
        records: list[dict[str, Any]] = []
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = self.streams.get_shard_iterator(
                    StreamArn=self._stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            iterator = self._iterators[shard_id]
            while iterator:
                page = self.streams.get_records(ShardIterator=iterator, Limit=1000)
                iterator = page.get("NextShardIterator")
                self._iterators[shard_id] = iterator
                if not page["Records"]:
                    break
                records.extend(self._lambda_record(r) for r in page["Records"])
        # The event-source mapping's filter: {"dynamodb": {"Keys": {"sk": {"S": ["#WF"]}}}} (state items)
        return [r for r in records if r["dynamodb"]["Keys"]["sk"]["S"] == "#WF"]

    def _lambda_record(self, r: dict[str, Any]) -> dict[str, Any]:
        d = dict(r["dynamodb"])
        d["ApproximateCreationDateTime"] = int(d["ApproximateCreationDateTime"].timestamp())
        return {
            "eventID": r["eventID"],
            "eventName": r["eventName"],
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": d,
            "eventSourceARN": self._stream_arn,
        }

    def orchestrate(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        with self.lock:
            self.invocations["orchestrator"] += 1
        self.delivered.extend(records)
        result = orchestrator.handler(
            {"Records": records}, FakeContext(function_name="orchestra-test-orchestrator")
        )
        self.orchestrator_results.append(result)
        return result

    # --- workers ---------------------------------------------------------------------------------

    def run_worker(self, event: dict[str, Any]) -> Any:
        with self.lock:
            self.invocations["worker"] += 1
        return worker.handler(event, FakeContext(function_name="orchestra-test-worker"))

    def run_sqs_worker(self, bodies: list[str]) -> Any:
        records = [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "r",
                "body": b,
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:q",
                "awsRegion": "us-east-1",
            }
            for b in bodies
        ]
        with self.lock:
            self.invocations["worker"] += 1
        return worker.handler({"Records": records}, FakeContext(function_name="orchestra-test-worker"))

    def reap(self) -> Any:
        with self.lock:
            self.invocations["reaper"] += 1
        return reaper.handler({"source": "aws.events"}, FakeContext(function_name="orchestra-test-reaper"))

    def run_pending_workers(self) -> int:
        ran = 0
        while self.worker_queue or self.sqs_queue:
            if self.worker_queue:
                self.run_worker(self.worker_queue.popleft())
            else:
                self.run_sqs_worker([self.sqs_queue.popleft()])
            ran += 1
        return ran

    def run(
        self,
        *,
        max_rounds: int = 200,
        duplicate: bool = False,
        shuffle: random.Random | None = None,
        batch_size: int = 100,
        until: Callable[[], bool] | None = None,
    ) -> int:
        """Pump stream -> orchestrator -> workers until nothing moves. Optional chaos: every batch
        delivered twice, records shuffled within (and across) batches."""
        for rounds in range(max_rounds):
            if until is not None and until():
                return rounds
            records = self.read_stream()
            if shuffle is not None:
                shuffle.shuffle(records)
            for start in range(0, len(records), batch_size):
                batch = records[start : start + batch_size]
                self.orchestrate(batch)
                if duplicate:
                    self.orchestrate(list(reversed(batch)) if shuffle else batch)
            ran = self.run_pending_workers()
            if not records and not ran:
                return rounds
        raise AssertionError("the workflow did not settle")

    def replay_everything(self) -> None:
        """Deliver every record seen so far again, oldest first, as one batch per record."""
        for record in list(self.delivered):
            self.orchestrate([record])
        self.run_pending_workers()


class _NoS3:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"S3 used without a test S3 client ({name})")
