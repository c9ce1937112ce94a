"""The gate: an authorizing proxy between functions and an emulator (DynamoDB Local, moto's server).

Functions reach DynamoDB, SQS and S3 through a gate, never the emulator itself. For each request
signed by a function's credentials (or the deployer's) the gate asks the service's `Access` (in
`dynamodb.py`, `sqs.py`, `s3.py`) which IAM actions on which resources AWS checks for it, whether the
resource's own policy denies them (S3 bucket policies), and whether the caller's role
(`iam.Principal`) allows them, and either forwards the request unchanged or
answers as the service answers a denial. Requests signed by anyone else (the local cloud itself,
tests) are forwarded unchecked. The signing service in the credential scope says which `Access`
applies, so one gate serves both of moto's services.

The DynamoDB gate also carries the meter (`--meter`): it counts what functions ask of DynamoDB.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Protocol

import aiohttp
from aiohttp import web

from localcloud import iam
from localcloud.meter import Meter
from localcloud.web import Listener, listen

log = logging.getLogger("localcloud.gate")

# Hop-by-hop headers, and what the client library sets again for the upstream connection.
_REQUEST_DROP = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "expect"}
)
_RESPONSE_DROP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
_NO_AUTO_HEADERS = frozenset({"Content-Type", "User-Agent", "Accept", "Accept-Encoding"})
BODY_LIMIT = 6 * 1024 * 1024 * 1024  # S3's single PUT; nothing local comes near it


class Access(Protocol):
    """What one service checks: the IAM requests behind an HTTP request, and its denial."""

    def requests(self, request: web.Request, body: bytes) -> list[tuple[str, str]]:
        """(action, resource ARN) pairs AWS authorizes for this request; raises iam.Unmapped."""
        ...

    def resource_denial(
        self, request: web.Request, principal: iam.Principal, requests: list[tuple[str, str]]
    ) -> iam.Denial | None:
        """An explicit Deny of the resource's own policy (S3 bucket policies); None when it has none."""
        ...

    def message(self, denial: iam.Denial) -> str: ...

    def denied(self, request: web.Request, message: str) -> web.Response: ...


class Gate:
    def __init__(
        self,
        upstream: str,
        access: dict[str, Access],
        identities: iam.Identities,
        *,
        meter: Meter | None = None,
    ) -> None:
        self.upstream = upstream
        self.access = access  # by signing service
        self.identities = identities
        self.meter = meter
        # (caller, "<service>:<operation>") -> requests signed by a function (SQS's are billed per request)
        self.calls: Counter[tuple[str, str]] = Counter()
        self.listener: Listener | None = None
        self.session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        assert self.listener is not None
        return self.listener.url

    async def start(self) -> Listener:
        # Bodies pass through as they are: no decompression on either side.
        self.session = aiohttp.ClientSession(
            auto_decompress=False,
            connector=aiohttp.TCPConnector(limit=0),
            timeout=aiohttp.ClientTimeout(total=None),  # the caller's own timeouts apply, as without a gate
        )
        app = web.Application(client_max_size=BODY_LIMIT)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.listener = await listen(app, auto_decompress=False)
        return self.listener

    async def stop(self) -> None:
        if self.listener is not None:
            await self.listener.close()
        if self.session is not None:
            await self.session.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        denied = self._authorize(request, body)
        if denied is not None:
            return denied
        operation = request.headers.get("X-Amz-Target", "").rpartition(".")[2]
        self._count(request, operation)
        asked = None
        if self.meter is not None:
            body, asked = self.meter.request(operation, body, self._caller(request))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _REQUEST_DROP}
        assert self.session is not None
        async with self.session.request(
            request.method,
            self.upstream + request.raw_path,
            data=body,
            headers=headers,
            skip_auto_headers=_NO_AUTO_HEADERS,
            allow_redirects=False,
        ) as upstream:
            payload = await upstream.read()
            status = upstream.status
            out = upstream.headers.copy()
        length = out.get("Content-Length")
        for name in _RESPONSE_DROP:
            out.popall(name, None)
        if self.meter is not None and asked is not None:
            payload = self.meter.response(operation, status, payload, out, asked)
        response = web.Response(status=status, body=payload, headers=out)
        if request.method == "HEAD" and length is not None:
            # A HEAD answer has no body but says how long the body would be (HeadObject's size).
            response.headers["Content-Length"] = length
        return response

    def _count(self, request: web.Request, operation: str) -> None:
        signed = iam.signer(request.headers, request.query)
        principal = self.identities.by_key.get(signed[0]) if signed else None
        if signed is not None and principal is not None and operation:
            self.calls[(principal.function, f"{signed[1]}:{operation}")] += 1

    def calls_by_caller(self) -> dict[str, dict[str, int]]:
        result: dict[str, dict[str, int]] = {}
        for (caller, operation), n in sorted(self.calls.items()):
            result.setdefault(caller, {})[operation] = n
        return result

    def _caller(self, request: web.Request) -> str:
        """The function whose role signed the request ("-" for anyone else), for the meter."""
        signed = iam.signer(request.headers, request.query)
        principal = self.identities.by_key.get(signed[0]) if signed else None
        return principal.function if principal is not None else "-"

    def _authorize(self, request: web.Request, body: bytes) -> web.Response | None:
        """The service's denial of a function's request; None to forward it."""
        signed = iam.signer(request.headers, request.query)
        if signed is None:
            return None
        key, service = signed
        principal = self.identities.by_key.get(key)
        access = self.access.get(service)
        if principal is None or access is None:
            return None  # not a function's request, or one this emulator answers itself
        try:
            requests = access.requests(request, body)
        except iam.Unmapped as exc:
            log.error("%s: %s", principal.function, exc)
            return access.denied(request, str(exc))
        # An explicit Deny anywhere wins: the resource's policy first, then the caller's role.
        denial = access.resource_denial(request, principal, requests)
        if denial is not None:
            self.identities.count(principal, denial)
        else:
            denial = self.identities.authorize(principal, requests)
        return None if denial is None else access.denied(request, access.message(denial))
