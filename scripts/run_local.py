"""Start the local cloud for a script (bench, soak, fuzz) and stop it again, by PID."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def local_cloud(
    stack: str, *options: str, label: str = ""
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(outputs of the stack, the local endpoints) of a local cloud running with `options`."""
    with tempfile.TemporaryDirectory() as scratch:
        outputs = Path(scratch) / "outputs.json"
        log_path = Path(scratch) / "localcloud.log"
        command: Sequence[str] = [
            sys.executable,
            "-m",
            "localcloud",
            "up",
            "--stack",
            stack,
            "--outputs",
            str(outputs),
        ]
        with log_path.open("w") as log:
            process = subprocess.Popen([*command, *options], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            started = time.monotonic()
            while not outputs.exists():
                if process.poll() is not None or time.monotonic() - started > 180:
                    raise RuntimeError(f"the local cloud did not start:\n{log_path.read_text()}")
                time.sleep(0.2)
            print(f"local cloud {label}ready in {time.monotonic() - started:.1f} s", flush=True)
            endpoints = json.loads(outputs.with_name("outputs.endpoints.json").read_text())
            yield json.loads(outputs.read_text())[stack], endpoints
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
