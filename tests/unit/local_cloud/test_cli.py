"""The command line: `up` starts, writes the outputs file, and stops on SIGTERM with no process left
behind (the JVM, moto's server and every function process included); `plan` checks; start-up
errors name the resource."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from local_cloud.stacks import StackBuilder, full_stack, ref

ROOT = Path(__file__).resolve().parents[3]


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def localcloud(*args: str, root: Path) -> list[str]:
    return [sys.executable, "-m", "localcloud", *args, "--root", str(root)]


def test_up_serves_until_sigterm_and_leaves_no_process(tmp_path: Path) -> None:
    full_stack(StackBuilder(tmp_path), tmp_path / "records")
    outputs = tmp_path / "outputs.json"
    process = subprocess.Popen(
        [*localcloud("up", "--stack", "test", root=tmp_path), "--outputs", str(outputs)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not outputs.exists():
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "the local cloud did not become ready within 60 s"
            time.sleep(0.2)
        document = json.loads(outputs.read_text())
        assert set(document["test"]) >= {"api_url", "websocket_url", "dashboard_url"}
        children = descendants(process.pid)
        assert len(children) >= 9  # the JVM, moto's server, one process per function
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "inert (accepted, not emulated): aws_cloudwatch_log_group, aws_kms_key" in output
    assert "Dashboard  http://127.0.0.1:" in output
    assert output.rstrip().endswith("stopped")
    left = {pid for pid in children if alive(pid)}
    assert not left, f"processes left behind: {left}"


def test_plan_lists_emulated_and_inert_types(tmp_path: Path) -> None:
    full_stack(StackBuilder(tmp_path), tmp_path / "records")
    done = subprocess.run(
        localcloud("plan", "--stack", "test", root=tmp_path), cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "inert:    aws_cloudwatch_log_group, aws_kms_key" in done.stdout
    assert "aws_iam_role, aws_iam_role_policy" in done.stdout  # read: the functions' roles are enforced


def test_an_unsupported_expression_stops_start_up_naming_the_resource(tmp_path: Path) -> None:
    stack = StackBuilder(tmp_path)
    stack.add("aws_sqs_queue", "q", name='${cidrsubnet("10.0.0.0/16", 8, 1)}')
    stack.output("url", ref("aws_sqs_queue", "q", "url"))
    stack.write()
    done = subprocess.run(
        localcloud("up", "--stack", "test", root=tmp_path), cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "localcloud: error: aws_sqs_queue.q: name: function cidrsubnet() is not supported" in done.stderr
