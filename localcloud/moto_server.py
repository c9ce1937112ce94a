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
import sys
from pathlib import Path

from localcloud.child import HOST, READY_PREFIX, ChildServer


class MotoServerError(RuntimeError):
    """moto's server could not be started."""


class MotoServer(ChildServer):
    name = "moto's server"
    error = MotoServerError

    def __init__(self, *, account_id: str, log_path: Path, startup_timeout: float = 30.0) -> None:
        super().__init__(startup_timeout=startup_timeout, output_lines=50)
        self.account_id = account_id
        self.log_path = log_path

    def start(self) -> MotoServer:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
        env["MOTO_ACCOUNT_ID"] = self.account_id
        with self.log_path.open("a") as log:
            self._launch(
                [sys.executable, "-m", "localcloud.moto_server"],
                env=env,
                cwd=Path(__file__).resolve().parents[1],
                stderr=log,
                failure_hint=f"; see {self.log_path}",
            )
        return self

    def __enter__(self) -> MotoServer:
        return self.start()


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
