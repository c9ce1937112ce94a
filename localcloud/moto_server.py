"""moto's server (SQS and S3) on 127.0.0.1, in a child process started and stopped by PID.

moto is fine for SQS and S3 here: nothing in Orchestra depends on their conditional writes or
streams (DynamoDB stays on DynamoDB Local for exactly that reason). The server is moto's
ThreadedMotoServer, run in a process of its own so that its threads do not compete with the
local cloud's event loop for one interpreter lock, and so that `MOTO_ACCOUNT_ID` (the stack's
account, used in queue URLs and ARNs) is set for it alone. Like the DynamoDB Local launcher it
prints `READY 127.0.0.1:<port>` once bound (port 0: the kernel picks) and exits when its standard
input closes, so it never outlives its parent.

    python -m localcloud.moto_server     # the child's entry point
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path
from typing import IO

HOST = "127.0.0.1"
READY_PREFIX = "READY "


class MotoServerError(RuntimeError):
    """moto's server could not be started."""


class MotoServer:
    def __init__(self, *, account_id: str, log_path: Path, startup_timeout: float = 30.0) -> None:
        self.account_id = account_id
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self._process: subprocess.Popen[str] | None = None
        self._output: deque[str] = deque(maxlen=50)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise MotoServerError("moto's server is not running")
        return f"http://{HOST}:{self.port}"

    def start(self) -> MotoServer:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
        env["MOTO_ACCOUNT_ID"] = self.account_id
        log = self.log_path.open("a")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "localcloud.moto_server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
            cwd=Path(__file__).resolve().parents[1],
        )
        log.close()
        ready = threading.Event()
        assert self._process.stdout is not None
        threading.Thread(
            target=self._drain, args=(self._process.stdout, ready), name="moto-output", daemon=True
        ).start()
        if not ready.wait(self.startup_timeout) or self.port is None:
            self.stop()
            raise MotoServerError(
                f"moto's server did not start within {self.startup_timeout}s; see {self.log_path}"
            )
        return self

    def _drain(self, stream: IO[str], ready: threading.Event) -> None:
        for line in stream:
            self._output.append(line.rstrip("\n"))
            if line.startswith(READY_PREFIX) and not ready.is_set():
                self.port = int(line.rsplit(":", 1)[1])
                ready.set()
        ready.set()

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        self.port = None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()


def _serve() -> None:  # pragma: no cover - runs in the child process
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(f"{READY_PREFIX}{host}:{port}", flush=True)
    sys.stdin.read()  # returns at end of file: the parent is gone or asked us to stop
    server.stop()


if __name__ == "__main__":  # pragma: no cover
    _serve()
