"""Soak the engine under faults, in both dispatch modes at once (one local cloud each), and check
that nothing is stranded, doubled or lost.

    python scripts/soak.py [--workflows N] [--stack dev] [--deadline SECONDS]

N workflows per dispatch mode, with random transient and permanent task failures (the tasks'
`input.simulate`), while the local cloud injects faults (its control API, local only): crashes of
worker, orchestrator and task processes; stream batches delivered twice, old records replayed, a
batch dead-lettered on purpose (redriven with scripts/redrive.py); WebSocket clients that vanish
without $disconnect. The reaper's schedule is fired every few seconds instead of every minute.

Ends with `SOAK <json>` (workflows, terminal, stuck, doubled_results, lost_outputs,
wrong_final_status, seconds) and exits 1 unless stuck, doubled_results, lost_outputs and
wrong_final_status are all 0.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).parent))
from redrive import redrive
from run_local import local_clients, local_cloud, machine_token

TERMINAL = {"SUCCESS", "FAILED", "CANCELLED"}
TASKS = [
    ("A", "task-a", []),
    ("B1", "task-b1", ["A"]),
    ("B2", "task-b2", ["A"]),
    ("B3", "task-b3", ["A"]),
    ("C", "task-c", ["B1", "B2", "B3"]),
]
# Enough attempts that the injected crashes (at most 2 worker + 2 task crashes, each a failed attempt)
# and one transient failure never exhaust a task: only a permanent failure fails a workflow.
MAX_ATTEMPTS = 6


def definition() -> dict[str, Any]:
    return {
        "tasks": [
            {
                "id": t,
                "function": f,
                "depends_on": d,
                "retry": {"max_attempts": MAX_ATTEMPTS, "backoff": 0.5},
                "timeout_seconds": 10,
            }
            for t, f, d in TASKS
        ]
    }


def workload(rng: random.Random) -> tuple[dict[str, Any], str]:
    """A workflow's input and the final status it must reach."""
    simulate: dict[str, Any] = {}
    expected = "SUCCESS"
    for task, _, _ in TASKS:
        roll = rng.random()
        if roll < 0.04:
            simulate[task] = {"fail_attempts": 99}  # permanent
            expected = "FAILED"
        elif roll < 0.2:
            simulate[task] = {"fail_attempts": 1}  # transient: the retry succeeds
    return {"simulate": simulate, "data": [1, 2, 3]}, expected


class Soak:
    def __init__(
        self, mode: str, outputs: dict[str, Any], endpoints: dict[str, Any], workflows: int, seed: int
    ) -> None:
        self.mode = mode
        self.outputs = outputs
        self.endpoints = endpoints
        self.api = str(outputs["api_url"]).rstrip("/")
        self.control = str(endpoints["control"])
        self.workflows = workflows
        self.rng = random.Random(seed)  # noqa: S311 - a workload, not a secret
        self.expected: dict[str, str] = {}
        self.http = requests.Session()
        self.token = machine_token(endpoints)
        if self.token:  # the APIs are signed in to (the stack's machine client)
            self.http.headers["Authorization"] = f"Bearer {self.token}"
        self.aws = local_clients(endpoints, "sqs", "dynamodb", "dynamodbstreams", "lambda")
        self.redriven = {"batches": 0, "records": 0}

    def fault(self, body: dict[str, Any]) -> Any:
        response = requests.post(f"{self.control}/faults", json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def arm(self) -> None:
        names = self.outputs["function_names"]
        for role, count in (("worker", 1), ("orchestrator", 1), ("task-b1", 1), ("task-b2", 1)):
            self.fault({"function": names[role], "fault": "crash", "count": count})
        self.fault({"fault": "stream", "duplicate": 0.2, "replay": 0.1, "dead_letter": 1})

    def start(self, _: int) -> None:
        body, expected = workload(self.rng)
        workflow_id = f"wf-soak-{self.mode}-{uuid.uuid4().hex[:10]}"
        for attempt in range(8):
            response = self.http.post(
                f"{self.api}/workflows",
                json={"workflowId": workflow_id, "definition": definition(), "input": body},
                timeout=35,
            )
            if response.status_code in (200, 201):
                self.expected[workflow_id] = expected
                return
            if response.status_code != 429 and response.status_code < 500:
                raise RuntimeError(f"{response.status_code} {response.text}")
            time.sleep(0.2 * 2**attempt)  # throttled, or the API's process crashed: a client retries
        raise RuntimeError(f"could not start {workflow_id}")

    def get(self, workflow_id: str) -> dict[str, Any]:
        for attempt in range(8):
            response = self.http.get(f"{self.api}/workflows/{workflow_id}", timeout=35)
            if response.status_code != 429:  # the stage's throttling (dev: 20 requests/s): a client waits
                break
            time.sleep(0.2 * 2**attempt)
        response.raise_for_status()
        return dict(response.json())

    def listeners(self, count: int) -> list[Any]:
        url = str(self.outputs["websocket_url"]) + (f"?token={self.token}" if self.token else "")
        clients = [connect(url, open_timeout=30) for _ in range(count)]

        def drain(ws: Any) -> None:
            try:
                for _ in ws:
                    pass
            except Exception:
                return

        for ws in clients:
            threading.Thread(target=drain, args=(ws,), daemon=True).start()
        return clients

    def run(self, deadline: float) -> dict[str, Any]:
        started = time.monotonic()
        clients = self.listeners(3)
        self.arm()
        with ThreadPoolExecutor(4) as pool:
            half = self.workflows // 2
            list(pool.map(self.start, range(half)))
            self.fault({"fault": "vanish", "count": 2})  # two WebSocket clients disappear
            self.arm()  # the second half under the same faults again
            list(pool.map(self.start, range(half, self.workflows)))
        finished: dict[str, dict[str, Any]] = {}
        last_sweep = 0.0
        while time.monotonic() - started < deadline:
            for workflow_id in list(self.expected):
                if workflow_id not in finished:
                    body = self.get(workflow_id)
                    if body["status"] in TERMINAL:
                        finished[workflow_id] = body
            if len(finished) == len(self.expected):
                break
            if time.monotonic() - last_sweep > 8:
                self.fault({"fault": "schedule"})  # the reaper's sweep, without waiting a minute
                got = redrive(self.aws, self.outputs, self.endpoints["region"])
                self.redriven["batches"] += got["batches"]
                self.redriven["records"] += got["records"]
                last_sweep = time.monotonic()
            time.sleep(2)
        for ws in clients:
            ws.close()
        return self.report(finished, time.monotonic() - started)

    def report(self, finished: dict[str, dict[str, Any]], seconds: float) -> dict[str, Any]:
        doubled = lost = wrong = 0
        for workflow_id, body in finished.items():
            if body["status"] != self.expected[workflow_id]:
                wrong += 1
                print(
                    f"  {self.mode}: {workflow_id} ended {body['status']}, "
                    f"expected {self.expected[workflow_id]}",
                    flush=True,
                )
            for task in body["tasks"]:
                succeeded = [a for a in task["attempts"] if a["status"] == "SUCCEEDED"]
                numbers = [a["attempt"] for a in task["attempts"]]
                if len(succeeded) > 1 or len(numbers) != len(set(numbers)):
                    doubled += 1
                if task["status"] == "SUCCEEDED" and task["output"] is None and task["output_ref"] is None:
                    lost += 1
            tasks = {t["task_id"]: t for t in body["tasks"]}
            if body["status"] == "SUCCESS" and tasks["C"]["output"]["sources"] != ["B1", "B2", "B3"]:
                lost += 1  # C must have received every B output
        stats = requests.get(f"{self.control}/stats", timeout=30).json()
        injected = {
            "crashes": {
                k.rsplit("-", 1)[-1]: v.get("crashes", 0)
                for k, v in stats["functions"].items()
                if v.get("crashes")
            },
            "stream": {
                k: v for m in stats["mappings"].values() for k, v in m.items() if k.startswith("faults_")
            },
            "redriven": self.redriven,
        }
        return {
            "workflows": len(self.expected),
            "terminal": len(finished),
            "stuck": len(self.expected) - len(finished),
            "doubled_results": doubled,
            "lost_outputs": lost,
            "wrong_final_status": wrong,
            "seconds": round(seconds, 1),
            "faults": injected,
        }


def soak_mode(
    stack: str, mode: str, workflows: int, deadline: float, results: dict[str, Any], ready: threading.Event
) -> None:
    options = ("--dispatch", mode, "--async-retry-delays", "2,4")
    try:
        with local_cloud(stack, *options, label=f"({mode} dispatch) ") as (outputs, endpoints):
            ready.set()
            soak = Soak(mode, outputs, endpoints, workflows, seed=1 if mode == "writer" else 2)
            results[mode] = soak.run(deadline)
    finally:
        ready.set()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=1000, help="workflows per dispatch mode")
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--deadline", type=float, default=0, help="seconds to wait for every workflow to end")
    args = parser.parse_args()
    # A stranded workflow is swept once it is older than the stack's horizon (60 s in dev) and its
    # lease ran out (a 10 s task: 40 s): give the last ones that long, and the work itself its time.
    deadline = args.deadline or 150 + args.workflows * 0.6
    started = time.monotonic()
    results: dict[str, Any] = {}
    threads = []
    for mode in ("writer", "stream"):
        ready = threading.Event()
        thread = threading.Thread(
            target=soak_mode, args=(args.stack, mode, args.workflows, deadline, results, ready)
        )
        thread.start()
        threads.append(thread)
        ready.wait(300)  # one start-up at a time: they share the code cache in build/localcloud
    for thread in threads:
        thread.join()
    if set(results) != {"writer", "stream"}:
        print("a soak did not run", file=sys.stderr)
        return 1
    keys = ("workflows", "terminal", "stuck", "doubled_results", "lost_outputs", "wrong_final_status")
    summary: dict[str, Any] = {k: sum(r[k] for r in results.values()) for k in keys}
    summary["seconds"] = round(time.monotonic() - started, 1)
    summary["dispatch"] = results
    print("SOAK " + json.dumps(summary, separators=(",", ":")), flush=True)
    bad = ("stuck", "doubled_results", "lost_outputs", "wrong_final_status")
    return 1 if any(summary[k] for k in bad) else 0


if __name__ == "__main__":
    sys.exit(main())
