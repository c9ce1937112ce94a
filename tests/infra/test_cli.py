"""The cdktf CLI as users run it: pinned, running the synth session, and the `cdk-cli` session's checks
(the stack comparison, the network guard) catching what they are there to catch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
COMPARE = ROOT / "scripts" / "compare_stacks.py"
GUARD = ROOT / "scripts" / "no_network.cjs"


class TestPinnedCli:
    def test_the_cli_tools_are_pinned_exactly_and_locked(self) -> None:
        manifest = json.loads((ROOT / "package.json").read_text())
        lock = json.loads((ROOT / "package-lock.json").read_text())["packages"]
        pins = {**manifest["devDependencies"], **manifest.get("optionalDependencies", {})}
        assert {"cdktf-cli", "cdktn-cli"} <= set(pins)
        for name, version in pins.items():
            assert version[0].isdigit(), f"{name}@{version} is a range"
            assert lock[f"node_modules/{name}"]["version"] == version

    def test_cdktf_synth_runs_the_synth_session(self) -> None:
        config = json.loads((ROOT / "cdktf.json").read_text())
        assert config["app"].split()[:3] == ["./noxw", "-s", "synth"]
        assert config["sendCrashReports"] == "false"


def test_the_outputs_file_is_flat(stacks: dict[str, Any]) -> None:
    """`cdktf deploy --outputs-file` nests an output under its construct path ("//" outputs). Every
    output is its stack's own, with its Terraform name as id, so the file is {stack: {output: value}}:
    what the local cloud writes and tests/deployed reads."""
    for name, stack in stacks.items():
        assert stack["//"]["outputs"][name] == {output: output for output in stack["output"]}


def write_synth(
    outdir: Path, stacks: dict[str, dict[str, Any]], assets: dict[str, bytes] | None = None
) -> Path:
    """A cdktf.out/ in the shape a synth writes it: manifest.json and stacks/<name>/cdk.tf.json."""
    manifest = {"version": "0.21.0", "stacks": {}}
    for name, stack in stacks.items():
        folder = outdir / "stacks" / name
        folder.mkdir(parents=True)
        (folder / "cdk.tf.json").write_text(json.dumps(stack, indent=2))
        for relative, content in (assets or {}).items():
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / relative).write_bytes(content)
        manifest["stacks"][name] = {"synthesizedStackPath": f"stacks/{name}/cdk.tf.json"}
    (outdir / "manifest.json").write_text(json.dumps(manifest))
    return outdir


def stack(
    version: str = "0.21.0", provider: dict[str, str] | None = None, **resources: Any
) -> dict[str, Any]:
    return {
        "//": {"metadata": {"version": version, "stackName": "dev"}},
        "terraform": {
            "backend": {"s3": {"bucket": "state", "key": "dev/terraform.tfstate"}},
            "required_providers": {"aws": provider or {"source": "aws", "version": "6.25.0"}},
        },
        "resource": {"aws_sqs_queue": {"q": {"name": "q", **resources}}},
        "output": {"queue": {"value": "${aws_sqs_queue.q.url}"}},
    }


def compare(*args: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(COMPARE), *map(str, args)], capture_output=True, text=True, check=False
    )


class TestCompareStacks:
    def test_identical_synths_pass(self, tmp_path: Path) -> None:
        first = write_synth(tmp_path / "a", {"dev": stack()}, {"assets/f/1/a.zip": b"zip"})
        second = write_synth(tmp_path / "b", {"dev": stack()}, {"assets/f/1/a.zip": b"zip"})
        result = compare(first, second)
        assert result.returncode == 0, result.stderr
        assert "dev: cdk.tf.json identical" in result.stdout

    def test_a_changed_resource_fails_naming_it(self, tmp_path: Path) -> None:
        first = write_synth(tmp_path / "a", {"dev": stack()})
        second = write_synth(tmp_path / "b", {"dev": stack(delay_seconds=5)})
        for args in ((first, second), ("--toolkits", first, second)):
            result = compare(*args)
            assert result.returncode == 1
            assert "resource.aws_sqs_queue.q" in result.stderr

    def test_a_changed_asset_fails(self, tmp_path: Path) -> None:
        first = write_synth(tmp_path / "a", {"dev": stack()}, {"assets/f/1/a.zip": b"one"})
        second = write_synth(tmp_path / "b", {"dev": stack()}, {"assets/f/1/a.zip": b"two"})
        result = compare("--toolkits", first, second)
        assert result.returncode == 1
        assert "asset files differ" in result.stderr

    def test_a_missing_stack_fails(self, tmp_path: Path) -> None:
        first = write_synth(tmp_path / "a", {"dev": stack(), "prod": stack()})
        second = write_synth(tmp_path / "b", {"dev": stack()})
        assert compare(first, second).returncode == 1

    def test_toolkits_mode_ignores_only_the_metadata_and_the_provider_version(self, tmp_path: Path) -> None:
        cdktf = write_synth(tmp_path / "a", {"dev": stack()})
        cdktn = write_synth(
            tmp_path / "b", {"dev": stack("0.24.0", {"source": "hashicorp/aws", "version": "6.69.1"})}
        )
        assert compare(cdktf, cdktn).returncode == 1  # not byte-identical
        result = compare("--toolkits", cdktf, cdktn)
        assert result.returncode == 0, result.stderr
        assert "aws 6.25.0 / 6.69.1" in result.stdout
        other = write_synth(
            tmp_path / "c", {"dev": stack("0.24.0", {"source": "acme/aws", "version": "1.0"})}
        )
        assert "source" in compare("--toolkits", cdktf, other).stderr
        renamed = stack("0.24.0")
        renamed["//"]["metadata"]["stackName"] = "prod"
        assert (
            "//.metadata.stackName"
            in compare("--toolkits", cdktf, write_synth(tmp_path / "d", {"dev": renamed})).stderr
        )


class TestNetworkGuard:
    def run_node(self, script: str, log: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["node", f"--require={GUARD}", "-e", script],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env={"PATH": str(Path(shutil.which("node") or "node").parent), "NO_NETWORK_LOG": str(log)},
        )

    def test_connections_off_this_machine_are_refused_and_recorded(self, tmp_path: Path) -> None:
        log = tmp_path / "network.log"
        script = """
        const https = require("https"), net = require("net");
        https.get("https://checkpoint-api.hashicorp.com/v1/telemetry/cdktf", () => console.log("reached"))
          .on("error", (e) => console.log("https:", e.code));
        net.connect(443, "192.0.2.1").on("error", (e) => console.log("net:", e.code));
        """
        result = self.run_node(script, log)
        assert "reached" not in result.stdout
        assert "https: ENETUNREACH" in result.stdout and "net: ENETUNREACH" in result.stdout
        recorded = log.read_text()
        assert "checkpoint-api.hashicorp.com" in recorded and "192.0.2.1" in recorded

    def test_loopback_stays_open(self, tmp_path: Path) -> None:
        log = tmp_path / "network.log"
        script = """
        const http = require("http");
        const server = http.createServer((_, response) => response.end("ok")).listen(0, "127.0.0.1", () => {
          http.get(`http://127.0.0.1:${server.address().port}/`, (response) => {
            console.log("status", response.statusCode); server.close();
          });
        });
        """
        result = self.run_node(script, log)
        assert "status 200" in result.stdout, result.stderr
        assert not log.exists()
