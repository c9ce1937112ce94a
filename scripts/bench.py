"""Benchmark the reference workflow on the local cloud and print figures (not pass/fail).

Starts `python -m localcloud up --meter` (DynamoDB requests counted by the local cloud's meter),
subscribes one WebSocket client to every workflow, then measures:

- end-to-end latency, p50/p95: POST /workflows until the client receives the SUCCESS update;
- overhead per dependency level: the slope of latency over chains of 1, 2, 4 and 8 tasks;
- throughput (workflows/s) with 1, 10 and 50 clients each starting a workflow when its last ended;
- DynamoDB requests and capacity, Lambda invocations and GB-seconds per workflow, and what they
  cost per million workflows at AWS list prices (`PRICES`);
- the delay from a task's state change (its started_at / finished_at) to its WebSocket update.

Task bodies do nothing worth timing (the sample tasks return at once). Figures depend on this
machine: the local cloud runs every function process, DynamoDB Local and the gateways on it.

    python scripts/bench.py [--stack dev] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]

# AWS list prices in USD (us-east-1, on-demand, x86), the one table the cost figures come from.
PRICES = {
    "lambda_request": 0.20 / 1_000_000,
    "lambda_gb_second": 0.0000166667,
    "dynamodb_write_request_unit": 0.625 / 1_000_000,  # on-demand, since the November 2024 price cut
    "dynamodb_read_request_unit": 0.125 / 1_000_000,
    "api_gateway_rest_request": 3.50 / 1_000_000,  # first 333 million a month
    "websocket_message": 1.00 / 1_000_000,  # per 32 KB message, first billion a month
    "sqs_request": 0.40 / 1_000_000,
    # DynamoDB Streams reads by Lambda triggers and EventBridge scheduled rules are free.
}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass
class Watch:
    """Every workflow_update the WebSocket client receives, with its arrival time."""

    updates: dict[str, list[tuple[float, dict[str, Any]]]] = field(default_factory=dict)
    done: dict[str, asyncio.Event] = field(default_factory=dict)
    finished_at: dict[str, float] = field(default_factory=dict)

    def expect(self, workflow_id: str) -> asyncio.Event:
        return self.done.setdefault(workflow_id, asyncio.Event())

    def receive(self, message: dict[str, Any]) -> None:
        arrived = time.time()
        if message.get("type") != "workflow_update":
            return
        workflow_id = message["workflow_id"]
        self.updates.setdefault(workflow_id, []).append((arrived, message["data"]))
        if message["data"]["status"] in ("SUCCESS", "FAILED", "CANCELLED"):
            self.finished_at.setdefault(workflow_id, arrived)
            self.expect(workflow_id).set()


async def machine_token(http: aiohttp.ClientSession, endpoints: dict[str, Any]) -> str | None:
    """A client-credentials access token of the stack's machine client (None without sign-in): the
    bench calls the APIs as CI would."""
    machine = endpoints.get("machine_client")
    if not machine:
        return None
    credentials = base64.b64encode(f"{machine['client_id']}:{machine['client_secret']}".encode()).decode()
    async with http.post(
        f"{endpoints['oauth2_domain']}/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {credentials}"},
    ) as response:
        response.raise_for_status()
        return str((await response.json())["access_token"])


class Bench:
    def __init__(
        self, http: aiohttp.ClientSession, outputs: dict[str, Any], control: str, token: str | None
    ) -> None:
        self.http = http
        self.api = str(outputs["api_url"]).rstrip("/")
        self.websocket_url = str(outputs["websocket_url"])
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        if token:  # browsers and this client alike send the token as a query parameter
            self.websocket_url += f"?token={token}"
        self.control = control
        self.watch = Watch()

    @asynccontextmanager
    async def listening(self) -> AsyncIterator[None]:
        async with self.http.ws_connect(self.websocket_url, max_msg_size=0) as ws:
            task = asyncio.create_task(self._listen(ws))
            await asyncio.sleep(0.5)  # $connect has stored the connection before the first broadcast
            try:
                yield
            finally:
                task.cancel()

    async def _listen(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                self.watch.receive(json.loads(message.data))

    async def post(self, body: dict[str, Any]) -> str:
        workflow_id = f"wf-bench-{uuid.uuid4().hex[:12]}"
        self.watch.expect(workflow_id)
        for attempt in range(10):
            async with self.http.post(
                f"{self.api}/workflows", json={"workflowId": workflow_id, **body}, headers=self.headers
            ) as response:
                if response.status != 429:  # the stage's throttling: back off and try again
                    response.raise_for_status()
                    return workflow_id
            await asyncio.sleep(0.1 * 2**attempt)
        raise RuntimeError("throttled ten times in a row")

    async def run_one(self, body: dict[str, Any] | None = None) -> tuple[str, float]:
        """POST one workflow, wait for its terminal update; (id, seconds from POST to update)."""
        started = time.time()
        workflow_id = await self.post(body or {})
        await asyncio.wait_for(self.watch.expect(workflow_id).wait(), 120)
        return workflow_id, self.watch.finished_at[workflow_id] - started

    async def throughput(self, clients: int, total: int) -> tuple[float, list[float]]:
        latencies: list[float] = []
        remaining = [total]

        async def client() -> None:
            while remaining[0] > 0:
                remaining[0] -= 1
                latencies.append((await self.run_one())[1])

        started = time.monotonic()
        await asyncio.gather(*(client() for _ in range(clients)))
        return total / (time.monotonic() - started), latencies

    async def stats(self) -> dict[str, Any]:
        async with self.http.get(f"{self.control}/stats") as response:
            return dict(await response.json())

    async def workflow(self, workflow_id: str) -> dict[str, Any]:
        async with self.http.get(f"{self.api}/workflows/{workflow_id}", headers=self.headers) as response:
            response.raise_for_status()
            return dict(await response.json())


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


def slope(points: list[tuple[float, float]]) -> float:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x in xs)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.0f} ms"


async def websocket_delays(bench: Bench, workflow_ids: list[str]) -> dict[str, list[float]]:
    """Seconds from a task's recorded state change to the first update that shows it."""
    delays: dict[str, list[float]] = {"RUNNING": [], "SUCCEEDED": []}
    for workflow_id in workflow_ids:
        tasks = {t["task_id"]: t for t in (await bench.workflow(workflow_id))["tasks"]}
        seen: dict[tuple[str, str], float] = {}
        for arrived, data in bench.watch.updates.get(workflow_id, []):
            for item in data["tasks"]:
                seen.setdefault((item["taskId"], item["status"]), arrived)
        for task_id, task in tasks.items():
            for status, stamp in (("RUNNING", task["started_at"]), ("SUCCEEDED", task["finished_at"])):
                if stamp and (task_id, status) in seen:
                    delays[status].append(seen[(task_id, status)] - parse_time(stamp))
    return delays


def per_workflow(before: dict[str, Any], after: dict[str, Any], count: int, messages: int) -> None:
    invocations = 0.0
    gb_seconds = 0.0
    print("\nLambda invocations per workflow")
    for name, stats in sorted(after["functions"].items()):
        calls = stats.get("invocations", 0) - before["functions"][name].get("invocations", 0)
        billed = stats.get("billed_ms", 0) - before["functions"][name].get("billed_ms", 0)
        if calls:
            print(f"  {name:32} {calls / count:6.2f}   {billed / count:8.1f} ms billed")
        invocations += calls / count
        gb_seconds += billed / 1000 * stats["memory_size"] / 1024 / count
    reads = (after["dynamodb"]["read_request_units"] - before["dynamodb"]["read_request_units"]) / count
    writes = (after["dynamodb"]["write_request_units"] - before["dynamodb"]["write_request_units"]) / count
    print("\nDynamoDB requests per workflow (functions' calls, through the meter)")
    for operation, n in sorted(after["dynamodb"]["requests"].items()):
        delta = n - before["dynamodb"]["requests"].get(operation, 0)
        if delta:
            print(f"  {operation:32} {delta / count:6.2f}")
    print(f"  read request units {reads:.2f}, write request units {writes:.2f}")
    ws_messages = messages / count
    costs = {
        "Lambda requests": invocations * PRICES["lambda_request"],
        "Lambda duration": gb_seconds * PRICES["lambda_gb_second"],
        "DynamoDB writes": writes * PRICES["dynamodb_write_request_unit"],
        "DynamoDB reads": reads * PRICES["dynamodb_read_request_unit"],
        "API Gateway REST (1 POST)": PRICES["api_gateway_rest_request"],
        f"WebSocket messages ({ws_messages:.1f}, one subscriber)": ws_messages * PRICES["websocket_message"],
    }
    print(
        "\nAWS cost per million workflows "
        f"(list prices; {invocations:.1f} invocations, {gb_seconds:.3f} GB-s each)"
    )
    for item, dollars in costs.items():
        print(f"  {item:44} ${dollars * 1_000_000:9.2f}")
    print(f"  {'total':44} ${sum(costs.values()) * 1_000_000:9.2f}")


async def measure(bench: Bench, scale: float) -> None:
    n = max(3, int(20 * scale))
    print("warming up ...", flush=True)
    for _ in range(3):
        await bench.run_one()

    before = await bench.stats()
    messages_before = sum(len(v) for v in bench.watch.updates.values())
    ids, latencies = [], []
    for _ in range(n):
        workflow_id, latency = await bench.run_one()
        ids.append(workflow_id)
        latencies.append(latency)
    after = await bench.stats()
    messages = sum(len(v) for v in bench.watch.updates.values()) - messages_before
    print(f"\nReference workflow A -> (B1, B2, B3) -> C, {n} in a row")
    print(f"  end-to-end latency p50 {ms(percentile(latencies, 50))}   p95 {ms(percentile(latencies, 95))}")

    points = []
    for depth in (1, 2, 4, 8):
        for _ in range(max(2, int(3 * scale))):
            points.append((float(depth), (await bench.run_one(chain(depth)))[1]))
    print("\nChains of 1, 2, 4, 8 tasks")
    for depth in (1, 2, 4, 8):
        values = [latency for d, latency in points if d == depth]
        print(f"  depth {depth}: median {ms(statistics.median(values))}")
    print(f"  overhead per dependency level (slope) {ms(slope(points))}")

    print("\nThroughput")
    for clients, total in (
        (1, max(5, int(10 * scale))),
        (10, max(20, int(40 * scale))),
        (50, max(50, int(100 * scale))),
    ):
        rate, lat = await bench.throughput(clients, total)
        print(
            f"  concurrency {clients:2}: {rate:6.2f} workflows/s   "
            f"latency p50 {ms(percentile(lat, 50))}  p95 {ms(percentile(lat, 95))}  ({total} workflows)",
            flush=True,
        )

    delays = await websocket_delays(bench, ids)
    print("\nTask state change -> WebSocket update (reference workflows in a row)")
    for status, values in delays.items():
        shown = f"{len(values)} of {5 * n} changes broadcast"
        if values:
            print(
                f"  {status:10} p50 {ms(percentile(values, 50))}   "
                f"p95 {ms(percentile(values, 95))}   ({shown})"
            )
        else:
            print(f"  {status:10} ({shown}: the next image of the workflow came in the same stream batch)")

    per_workflow(before, after, n, messages)


async def run(outputs: dict[str, Any], endpoints: dict[str, Any], scale: float) -> None:
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=100)) as http:
        bench = Bench(http, outputs, endpoints["control"], await machine_token(http, endpoints))
        async with bench.listening():
            await measure(bench, scale)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the number of workflows")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        outputs = Path(scratch) / "outputs.json"
        log = (Path(scratch) / "localcloud.log").open("w")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "localcloud",
                "up",
                "--stack",
                args.stack,
                "--outputs",
                str(outputs),
                "--meter",
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            started = time.monotonic()
            while not outputs.exists():
                if process.poll() is not None or time.monotonic() - started > 120:
                    log.flush()
                    print((Path(scratch) / "localcloud.log").read_text(), file=sys.stderr)
                    return 1
                time.sleep(0.2)
            print(f"local cloud ready in {time.monotonic() - started:.1f} s")
            endpoints = json.loads(outputs.with_name("outputs.endpoints.json").read_text())
            asyncio.run(run(json.loads(outputs.read_text())[args.stack], endpoints, args.scale))
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
            log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
