"""What every emulated endpoint shares: listening on 127.0.0.1, AWS-style JSON errors, request ids."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

HOST = "127.0.0.1"


@dataclass
class Listener:
    runner: web.AppRunner
    site: web.BaseSite
    port: int

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    async def close(self) -> None:
        await self.runner.cleanup()


async def listen(
    app: web.Application,
    port: int | socket.socket = 0,
    *,
    shutdown_timeout: float = 1.0,
    auto_decompress: bool = True,
) -> Listener:
    """Serve `app` on 127.0.0.1: on a port (0: the kernel picks a free one, with no race), or on a
    socket already bound there. auto_decompress=False leaves request bodies as they were sent."""
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=None,
        shutdown_timeout=shutdown_timeout,
        auto_decompress=auto_decompress,
    )
    await runner.setup()
    site: web.BaseSite
    if isinstance(port, socket.socket):
        site = web.SockSite(runner, port)
        await site.start()
        return Listener(runner, site, int(port.getsockname()[1]))
    tcp = web.TCPSite(runner, HOST, port, reuse_address=False)
    await tcp.start()
    return Listener(runner, tcp, bound_port(tcp))


def bound_port(site: web.TCPSite) -> int:
    """The port the kernel gave a site started on port 0."""
    server = site._server
    assert isinstance(server, asyncio.Server) and server.sockets
    return int(server.sockets[0].getsockname()[1])


def request_id() -> str:
    return str(uuid.uuid4())


def aws_error(
    status: int,
    code: str,
    message: str | None,
    *,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    message_key: str = "message",
) -> web.Response:
    """An error as AWS's REST-JSON services send it: the code in `x-amzn-ErrorType` (what botocore
    reads), a JSON body with the message, a request id."""
    payload = {message_key: message, **(body or {})}
    return web.Response(
        status=status,
        text=json.dumps(payload),
        content_type="application/json",
        headers={"x-amzn-ErrorType": code, "x-amzn-RequestId": request_id(), **(headers or {})},
    )


class TokenBucket:
    """API Gateway's throttling: `rate` requests per second on average, bursts up to `burst`."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = max(0, burst)
        self.tokens = float(self.burst)
        self._clock = clock
        self._last = self._clock()

    def take(self) -> bool:
        now = self._clock()
        self.tokens = min(self.burst, self.tokens + (now - self._last) * self.rate)
        self._last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False
