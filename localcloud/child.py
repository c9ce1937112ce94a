"""A server in a child process that announces `READY 127.0.0.1:<port>` once bound and exits when
its standard input closes: started, waited for and stopped by PID, never outliving its parent.

DynamoDB Local (through its Java launcher) and moto's server both work this way.
"""

from __future__ import annotations

import subprocess
import threading
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, TextIO

HOST = "127.0.0.1"
READY_PREFIX = "READY "


class ChildServer:
    """Subclasses say what to run (`command`) and what their errors are called (`error`)."""

    name = "server"
    error: type[RuntimeError] = RuntimeError

    def __init__(self, *, startup_timeout: float, output_lines: int = 200) -> None:
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self._process: subprocess.Popen[str] | None = None
        self._output: deque[str] = deque(maxlen=output_lines)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise self.error(f"{self.name} is not running")
        return f"http://{HOST}:{self.port}"

    def _launch(
        self,
        command: list[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        stderr: int | TextIO = subprocess.STDOUT,
        failure_hint: str = "",
    ) -> None:
        if self._process is not None:
            raise self.error(f"{self.name} is already running")
        ready = threading.Event()
        # stdin stays an open pipe: the child exits when it closes, so it never outlives us.
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env, cwd=cwd
        )
        assert self._process.stdout is not None
        threading.Thread(
            target=self._drain, args=(self._process.stdout, ready), name=f"{self.name}-output", daemon=True
        ).start()
        # The reader sets the event on the READY line, or when the output closes (the child died).
        if not ready.wait(self.startup_timeout) or self.port is None:
            output = "\n".join(self._output)
            self.stop()
            raise self.error(
                f"{self.name} did not start within {self.startup_timeout}s{failure_hint}:\n{output}"
            )

    def _drain(self, stream: IO[str], ready: threading.Event) -> None:
        for line in stream:
            line = line.rstrip("\n")
            self._output.append(line)
            if line.startswith(READY_PREFIX) and not ready.is_set():
                self.port = int(line.rsplit(":", 1)[1])
                ready.set()
        ready.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the child by its PID (terminate, then kill) and reap it."""
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

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
