"""Benchmark the engine on the local cloud, in both dispatch modes, and print figures (not pass/fail).

For each mode (`localcloud up --meter --dispatch writer|stream`, one after the other):

- latency p50/p95 of the reference workflow: from sending the POST to the commit of its final state
  (its `finished_at`), workflows one after another;
- `level_ms`: the slope of that latency over chains of 1, 2, 4 and 8 tasks;
- what AWS bills per workflow, measured without any WebSocket subscriber: DynamoDB write and read
  request units (the local cloud's meter: index writes, failed conditions included), Lambda
  invocations and GB-seconds of the engine's functions (api, orchestrator, worker, reaper; not the
  task functions), SQS requests, the REST request; and the same for a 20-task fan-out;
- the most writes one index partition key takes per workflow (read back from the table's stream);
- (writer mode) the delay from a task's state change to its WebSocket update, one subscriber.

It ends with one line `BENCH <json>`. Completion is watched on DynamoDB Local directly (not through
the functions' metered gate), so watching costs nothing in the figures. Task bodies do nothing worth
timing; figures depend on this machine, where every process of the local cloud shares the cores.

    python scripts/bench.py [--stack dev] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from collections import Counter
from datetime import datetime
from typing import Any

import aiohttp
from run_local import local_clients, local_cloud, machine_token

ENGINE_FUNCTIONS = ("api", "orchestrator", "worker", "reaper")

# AWS list prices in USD (us-east-1, on-demand, x86), the one table the cost figures come from;
# checked against: "AWS Lambda Pricing" (requests; duration, first 6 billion GB-s a month; arm64
# would be $0.0000133334), "Amazon DynamoDB On-Demand - No Capacity Planning and Pay-Per-Request
# Pricing" (AWS News Blog, updated 31 January 2025 for the reduced on-demand prices), "Amazon API
# Gateway pricing" (REST, first 333 million a month), "Amazon SQS pricing" (standard queue requests,
# each 64 KB chunk one request), "Amazon CloudWatch pricing", "AWS Step Functions pricing".
# Lambda also bills the INIT phase since 1 August 2025 ("AWS Lambda standardizes billing for INIT
# Phase"): the local cloud's billed duration leaves it out, and the bench warms every function up
# first, as steady traffic would (cold starts are then a small fraction of invocations).
PRICES = {
    "lambda_request": 0.20 / 1_000_000,
    "lambda_gb_second": 0.0000166667,
    "dynamodb_write_request_unit": 0.625 / 1_000_000,  # on-demand, since the November 2024 price cut
    "dynamodb_read_request_unit": 0.125 / 1_000_000,
    "api_gateway_rest_request": 3.50 / 1_000_000,  # first 333 million a month
    "sqs_request": 0.40 / 1_000_000,
    "cloudwatch_logs_gb": 0.50,  # Lambda logs, Standard class, first 10 TB a month
    "step_functions_state_transition": 25.0 / 1_000_000,  # Standard workflows
    # DynamoDB Streams reads by Lambda triggers and EventBridge scheduled rules are free.
}
# The reference workflow in Step Functions Standard: start, A, a Parallel of B1..B3 (enter, three
# branches, exit), C, end: about 7 transitions.
STEP_FUNCTIONS_TRANSITIONS = 7


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def slope(points: list[tuple[float, float]]) -> float:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x in xs)


def chain(depth: int) -> dict[str, Any]:
    tasks = [
        {
            "id": f"T{i}",
            "function": "task-a",
            "depends_on": [f"T{i - 1}"] if i else [],
            "retry": {"max_attempts": 1},
        }
        for i in range(depth)
    ]
    return {"definition": {"tasks": tasks}}


def fan_out(n: int) -> dict[str, Any]:
    """n tasks: a root, n - 2 in parallel, a join (the reference workflow is fan_out(5))."""
    middle = [f"B{i}" for i in range(1, n - 1)]
    tasks: list[dict[str, Any]] = [{"id": "A", "function": "task-a"}]
    tasks += [{"id": b, "function": "task-b1", "depends_on": ["A"]} for b in middle]
    tasks += [{"id": "C", "function": "task-c", "depends_on": middle}]
    return {"definition": {"tasks": tasks}}


class Cloud:
    """One local cloud, its REST API, its control API and DynamoDB Local itself (unmetered)."""

    def __init__(
        self, http: aiohttp.ClientSession, outputs: dict[str, Any], endpoints: dict[str, Any]
    ) -> None:
        self.http = http
        self.api = str(outputs["api_url"]).rstrip("/")
        token = machine_token(endpoints)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.websocket_url = str(outputs["websocket_url"]) + (f"?token={token}" if token else "")
        self.table = str(outputs["workflows_table_name"])
        self.control = str(endpoints["control"])
        aws = local_clients(endpoints, "dynamodb", "dynamodbstreams")
        self.dynamodb, self.streams = aws["dynamodb"], aws["dynamodbstreams"]

    async def post(self, body: dict[str, Any]) -> tuple[str, float]:
        workflow_id = f"wf-bench-{uuid.uuid4().hex[:12]}"
        for attempt in range(10):
            sent = time.time()
            async with self.http.post(
                f"{self.api}/workflows", json={"workflowId": workflow_id, **body}, headers=self.headers
            ) as response:
                if response.status != 429:  # the stage's throttling: back off and try again
                    response.raise_for_status()
                    return workflow_id, sent
            await asyncio.sleep(0.1 * 2**attempt)
        raise RuntimeError("throttled ten times in a row")

    async def finished_at(self, workflow_id: str, timeout: float = 120) -> float:
        """The commit time of the final state, watched on DynamoDB Local itself (not metered)."""
        deadline = time.monotonic() + timeout
        key = {"pk": {"S": f"WF#{workflow_id}"}, "sk": {"S": "#WF"}}
        while time.monotonic() < deadline:
            item = await asyncio.to_thread(self.dynamodb.get_item, TableName=self.table, Key=key)
            found = item.get("Item", {})
            if found.get("status", {}).get("S") in ("SUCCESS", "FAILED", "CANCELLED"):
                if found["status"]["S"] != "SUCCESS":
                    raise RuntimeError(f"{workflow_id} ended {found['status']['S']}")
                return parse_time(found["finished_at"]["S"])
            await asyncio.sleep(0.02)
        raise TimeoutError(workflow_id)

    async def run_one(self, body: dict[str, Any] | None = None) -> tuple[str, float]:
        workflow_id, sent = await self.post(body or {})
        return workflow_id, await self.finished_at(workflow_id) - sent

    async def stats(self) -> dict[str, Any]:
        async with self.http.get(f"{self.control}/stats") as response:
            return dict(await response.json())

    def stream_records(self) -> list[dict[str, Any]]:
        arn = self.dynamodb.describe_table(TableName=self.table)["Table"]["LatestStreamArn"]
        records: list[dict[str, Any]] = []
        for shard in self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            iterator = self.streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            while iterator:
                page = self.streams.get_records(ShardIterator=iterator, Limit=1000)
                if not page["Records"]:
                    break
                records += [dict(r) for r in page["Records"]]
                iterator = page.get("NextShardIterator")
        return records


def index_key_writes(records: list[dict[str, Any]], workflow_ids: set[str]) -> int:
    """The most writes any index partition key took from one workflow, as AWS counts index writes
    (a row put, a row deleted, both when the key changes; KEYS_ONLY rows change with their keys only)."""
    per_key: Counter[tuple[str, str, str]] = Counter()
    for record in records:
        keys = record["dynamodb"]["Keys"]
        workflow_id = keys["pk"]["S"].removeprefix("WF#")
        if workflow_id not in workflow_ids:
            continue
        old = record["dynamodb"].get("OldImage") or {}
        new = record["dynamodb"].get("NewImage") or {}
        for index, attribute in (("by_created", "list_pk"), ("by_status", "status_pk")):
            before = (old.get(attribute, {}).get("S"), old.get("created_at", {}).get("S"))
            after = (new.get(attribute, {}).get("S"), new.get("created_at", {}).get("S"))
            if before == after:
                continue
            if before[0] and before[1]:
                per_key[(workflow_id, index, before[0])] += 1
            if after[0] and after[1]:
                per_key[(workflow_id, index, after[0])] += 1
    return max(per_key.values(), default=0)


def _role(name: str) -> str | None:
    """The engine function a local function name is (None for task functions and the local cloud)."""
    return next((r for r in ENGINE_FUNCTIONS if name.endswith(f"-{r}")), None)


# An SQS message a function sends is three billed requests: SendMessage, and the event source
# mapping's ReceiveMessage and DeleteMessage (batch size 1). The mapping's empty polls are a fixed
# cost per hour, not per workflow.
SQS_REQUESTS_PER_MESSAGE = 3


def delta(before: dict[str, Any], after: dict[str, Any], count: int) -> dict[str, Any]:
    """What `count` workflows cost between two stats snapshots, per workflow."""
    functions: dict[str, dict[str, float]] = {}
    for name, stats in after["functions"].items():
        role = _role(name)
        if role is None:
            continue  # the task functions' own invocations are not Orchestra's cost
        previous = before["functions"].get(name, {})
        calls = stats.get("invocations", 0) - previous.get("invocations", 0)
        billed = stats.get("billed_ms", 0) - previous.get("billed_ms", 0)
        logged = stats.get("log_bytes", 0) - previous.get("log_bytes", 0)
        functions[role] = {
            "invocations": calls / count,
            "gb_seconds": billed / 1000 * stats["memory_size"] / 1024 / count,
            "log_bytes": logged / count,
        }
    ddb0, ddb1 = before["dynamodb"], after["dynamodb"]
    requests = {
        op: (n - ddb0["requests"].get(op, 0)) / count
        for op, n in ddb1["requests"].items()
        if n - ddb0["requests"].get(op, 0)
    }
    # Where every unit goes: per engine function and DynamoDB operation.
    breakdown: dict[str, dict[str, dict[str, float]]] = {}
    for caller, operations in ddb1.get("by_caller", {}).items():
        role = _role(caller)
        if role is None:
            continue
        for op, usage in operations.items():
            previous = ddb0.get("by_caller", {}).get(caller, {}).get(op, {})
            row = {k: (v - previous.get(k, 0)) / count for k, v in usage.items()}
            if any(row.values()):
                breakdown.setdefault(role, {})[op] = {k: round(v, 3) for k, v in row.items()}
    sent = 0
    for caller, calls in after.get("requests", {}).items():
        if _role(caller) is not None:
            sent += calls.get("sqs:SendMessage", 0) - before.get("requests", {}).get(caller, {}).get(
                "sqs:SendMessage", 0
            )
    return {
        "wru": (ddb1["write_request_units"] - ddb0["write_request_units"]) / count,
        "rru": (ddb1["read_request_units"] - ddb0["read_request_units"]) / count,
        "failed_conditional_writes": (ddb1["failed_conditional_writes"] - ddb0["failed_conditional_writes"])
        / count,
        "requests": requests,
        "breakdown": breakdown,
        "functions": functions,
        "sqs_requests": sent * SQS_REQUESTS_PER_MESSAGE / count,
    }


def costs(figures: dict[str, Any]) -> dict[str, float]:
    """USD per million workflows. `total_orchestration` is the issue's sum (DynamoDB, the engine's
    functions, SQS, the REST request); the engine's CloudWatch Logs ingestion is printed beside it."""
    invocations = sum(f["invocations"] for f in figures["functions"].values())
    gb_seconds = sum(f["gb_seconds"] for f in figures["functions"].values())
    log_bytes = sum(f.get("log_bytes", 0.0) for f in figures["functions"].values())
    parts = {
        "dynamodb": figures["wru"] * PRICES["dynamodb_write_request_unit"]
        + figures["rru"] * PRICES["dynamodb_read_request_unit"],
        "lambda": invocations * PRICES["lambda_request"] + gb_seconds * PRICES["lambda_gb_second"],
        "sqs": figures.get("sqs_requests", 0.0) * PRICES["sqs_request"],
        "api_gateway": PRICES["api_gateway_rest_request"],  # the one POST
    }
    result = {k: round(v * 1_000_000, 2) for k, v in parts.items()}
    result["total_orchestration"] = round(sum(parts.values()) * 1_000_000, 2)
    result["cloudwatch_logs"] = round(log_bytes / 1e9 * PRICES["cloudwatch_logs_gb"] * 1_000_000, 2)
    result["step_functions_standard"] = round(
        STEP_FUNCTIONS_TRANSITIONS * PRICES["step_functions_state_transition"] * 1_000_000, 2
    )
    return result


def per_function(figures: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per engine function, per workflow: GB-seconds, and the DynamoDB units its requests cost."""
    result = {}
    for role, f in sorted(figures["functions"].items()):
        ops = figures["breakdown"].get(role, {}).values()
        result[role] = {
            "gb_s": round(f["gb_seconds"], 4),
            "wru": round(sum(u["wru"] for u in ops), 2),
            "rru": round(sum(u["rru"] for u in ops), 2),
        }
    return result


def print_breakdown(figures: dict[str, Any]) -> None:
    """Per engine function: its invocations and GB-s, and each DynamoDB operation's units."""
    for role, f in sorted(figures["functions"].items()):
        print(
            f"    {role:12} {f['invocations']:5.2f} invocations  {f['gb_seconds']:.4f} GB-s  "
            f"{f['log_bytes'] / 1000:.1f} KB of logs"
        )
        for op, u in sorted(figures["breakdown"].get(role, {}).items()):
            print(
                f"      {op:13} {u['requests']:5.2f} requests  {u['wru']:5.2f} WRU "
                f"(index {u['index_wru']:.2f}, failed {u['failed']:.2f})  {u['rru']:5.2f} RRU"
            )


async def websocket_delays(cloud: Cloud, count: int) -> list[float]:
    """Seconds from a task's state change (its started_at / finished_at) to the first update showing it."""
    seen: dict[tuple[str, str, str], float] = {}

    async def listen(ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                data = json.loads(message.data)
                if data.get("type") == "workflow_update":
                    for item in data["data"]["tasks"]:
                        seen.setdefault((data["workflow_id"], item["taskId"], item["status"]), time.time())

    delays: list[float] = []
    async with cloud.http.ws_connect(cloud.websocket_url) as ws:
        task = asyncio.create_task(listen(ws))
        await asyncio.sleep(0.5)  # $connect has stored the connection before the first broadcast
        ids = [(await cloud.run_one())[0] for _ in range(count)]
        await asyncio.sleep(1.0)
        task.cancel()
    for workflow_id in ids:
        async with cloud.http.get(f"{cloud.api}/workflows/{workflow_id}", headers=cloud.headers) as response:
            body = await response.json()
        for t in body["tasks"]:
            for status, stamp in (("RUNNING", t["started_at"]), ("SUCCEEDED", t["finished_at"])):
                arrived = seen.get((workflow_id, t["task_id"], status))
                if stamp and arrived:
                    delays.append(arrived - parse_time(stamp))
    return delays


async def measure(cloud: Cloud, mode: str, scale: float) -> dict[str, Any]:
    n = max(5, int(20 * scale))
    print(f"\n== {mode} dispatch ==", flush=True)
    for _ in range(3):
        await cloud.run_one()

    # Cost: no WebSocket subscriber, workflows one after another.
    before = await cloud.stats()
    reference_ids = [(await cloud.run_one())[0] for _ in range(n)]
    await asyncio.sleep(1.5)  # the orchestrator's last images of the last workflow
    reference = delta(before, await cloud.stats(), n)
    fan_n = max(2, int(3 * scale))
    before = await cloud.stats()
    for _ in range(fan_n):
        await cloud.run_one(fan_out(20))
    await asyncio.sleep(1.5)
    fanout20 = delta(before, await cloud.stats(), fan_n)
    index_writes = index_key_writes(await asyncio.to_thread(cloud.stream_records), set(reference_ids))
    print(
        f"  reference workflow: {reference['wru']:.1f} WRU, {reference['rru']:.1f} RRU, "
        f"{reference['failed_conditional_writes']:.2f} failed conditions, requests {reference['requests']}"
    )
    print_breakdown(reference)
    print(f"  20-task fan-out: {fanout20['wru']:.1f} WRU, {fanout20['rru']:.1f} RRU")
    print_breakdown(fanout20)
    print(f"  most writes to one index key per workflow: {index_writes}")

    # Latency: POST to the final commit.
    latencies = [(await cloud.run_one())[1] for _ in range(n)]
    points = []
    for depth in (1, 2, 4, 8):
        for _ in range(max(2, int(3 * scale))):
            points.append((float(depth), (await cloud.run_one(chain(depth)))[1]))
    level = slope(points)
    print(
        f"  latency p50 {percentile(latencies, 50) * 1000:.0f} ms, "
        f"p95 {percentile(latencies, 95) * 1000:.0f} ms; per dependency level {level * 1000:.0f} ms"
    )
    return {
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 95) * 1000, 1),
        "level_ms": round(level * 1000, 1),
        "reference": reference,
        "fanout20": fanout20,
        "index_writes": index_writes,
    }


async def run_mode(stack: str, mode: str, scale: float) -> tuple[dict[str, Any], list[float]]:
    with local_cloud(stack, "--meter", "--dispatch", mode, label=f"({mode} dispatch) ") as (
        outputs,
        endpoints,
    ):
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            cloud = Cloud(http, outputs, endpoints)
            figures = await measure(cloud, mode, scale)
            delays = await websocket_delays(cloud, max(3, int(10 * scale))) if mode == "writer" else []
    return figures, delays


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the number of workflows")
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}
    delays: list[float] = []
    for mode in ("writer", "stream"):
        results[mode], mode_delays = asyncio.run(run_mode(args.stack, mode, args.scale))
        delays += mode_delays
    writer = results["writer"]
    summary = {
        "dispatch": {m: {k: r[k] for k in ("p50_ms", "p95_ms", "level_ms")} for m, r in results.items()},
        "writer_p50_vs_stream_p50": round(writer["p50_ms"] / results["stream"]["p50_ms"], 3),
        "ws_delay_ms": {
            "p50": round(percentile(delays, 50) * 1000, 1),
            "p95": round(percentile(delays, 95) * 1000, 1),
        },
        "wru_per_workflow": round(writer["reference"]["wru"], 2),
        "rru_per_workflow": round(writer["reference"]["rru"], 2),
        "wru_per_workflow_fanout20": round(writer["fanout20"]["wru"], 2),
        "failed_conditional_writes_per_workflow": round(writer["reference"]["failed_conditional_writes"], 3),
        "max_index_key_writes_per_workflow": writer["index_writes"],
        "invocations_per_workflow": {
            k: round(v["invocations"], 2) for k, v in writer["reference"]["functions"].items()
        },
        "per_function": per_function(writer["reference"]),
        "cost_per_million_usd": costs(writer["reference"]),
        "stream": {
            "wru_per_workflow": round(results["stream"]["reference"]["wru"], 2),
            "wru_per_workflow_fanout20": round(results["stream"]["fanout20"]["wru"], 2),
            "cost_per_million_usd": costs(results["stream"]["reference"]),
        },
    }
    print("\nBENCH " + json.dumps(summary, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
