"""CloudFront: each distribution served on its own 127.0.0.1 port from its S3 origin (moto).

As CloudFront does with an S3 origin: the first ordered cache behavior whose path pattern matches
(else the default one) decides origin, allowed methods, compression and response headers policy;
`/` is the default root object; requests to the bucket are signed when the origin has origin
access control (the bucket refuses anonymous reads, as S3 does); the object's own headers
(Content-Type, Cache-Control, ETag, Last-Modified, ...) pass through; conditional requests reach
the origin (304); an origin error (403 from S3 with origin access control, 404 here) is answered
by the distribution's custom error response (the SPA fallback: /index.html with 200); the
response headers policy adds its security and custom headers; `compress` gzips what CloudFront
would. No caching: every request reaches the origin, so a new upload shows at once. Viewer
protocol policies are moot on plain HTTP; CloudFront Functions and Lambda@Edge cannot run here
and stop start-up.
"""

from __future__ import annotations

import re
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from localcloud.lambda_ import CREDENTIALS
from localcloud.plan import Plan, PlanError, Resource
from localcloud.web import Listener, listen

TYPES = (
    "aws_cloudfront_distribution",
    "aws_cloudfront_response_headers_policy",
    "aws_cloudfront_origin_access_control",
)
_PASS_THROUGH = (
    "Content-Type",
    "Content-Length",
    "ETag",
    "Last-Modified",
    "Cache-Control",
    "Content-Encoding",
    "Content-Disposition",
    "Content-Language",
    "Expires",
    "Accept-Ranges",
    "x-amz-server-side-encryption",
    "x-amz-version-id",
)
_FORWARDED = ("If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "Range")
_COMPRESSIBLE = re.compile(
    r"^(text/|application/(javascript|json|xml|x-javascript|wasm|manifest\+json)|image/svg\+xml|font/)"
)


def _block(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        return value[0] if value else {}
    return value or {}


def _blocks(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@dataclass
class HeadersPolicy:
    """The response headers a policy sets: (header, value, override)."""

    headers: list[tuple[str, str, bool]] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> HeadersPolicy:
        policy = cls()
        security = _block(config.get("security_headers_config"))
        csp = _block(security.get("content_security_policy"))
        if csp:
            policy.headers.append(
                ("Content-Security-Policy", csp["content_security_policy"], bool(csp.get("override")))
            )
        cto = _block(security.get("content_type_options"))
        if cto:
            policy.headers.append(("X-Content-Type-Options", "nosniff", bool(cto.get("override"))))
        frame = _block(security.get("frame_options"))
        if frame:
            policy.headers.append(("X-Frame-Options", frame["frame_option"], bool(frame.get("override"))))
        referrer = _block(security.get("referrer_policy"))
        if referrer:
            policy.headers.append(
                ("Referrer-Policy", referrer["referrer_policy"], bool(referrer.get("override")))
            )
        hsts = _block(security.get("strict_transport_security"))
        if hsts:
            value = f"max-age={int(hsts['access_control_max_age_sec'])}"
            if hsts.get("include_subdomains"):
                value += "; includeSubDomains"
            if hsts.get("preload"):
                value += "; preload"
            policy.headers.append(("Strict-Transport-Security", value, bool(hsts.get("override"))))
        xss = _block(security.get("xss_protection"))
        if xss:
            value = "1" if xss.get("protection") else "0"
            if xss.get("protection") and xss.get("mode_block"):
                value += "; mode=block"
            if xss.get("protection") and xss.get("report_uri"):
                value += f"; report={xss['report_uri']}"
            policy.headers.append(("X-XSS-Protection", value, bool(xss.get("override"))))
        for item in _blocks(_block(config.get("custom_headers_config")).get("items")):
            policy.headers.append((item["header"], str(item["value"]), bool(item.get("override"))))
        for item in _blocks(_block(config.get("remove_headers_config")).get("items")):
            policy.remove.append(item["header"])
        return policy

    def apply(self, headers: dict[str, str]) -> None:
        lower = {k.lower(): k for k in headers}
        for name, value, override in self.headers:
            existing = lower.get(name.lower())
            if existing is None:
                headers[name] = value
            elif override:
                headers[existing] = value
        for name in self.remove:
            for key in [k for k in headers if k.lower() == name.lower()]:
                del headers[key]


@dataclass
class ErrorResponse:
    response_code: int | None
    page_path: str | None


@dataclass
class Origin:
    bucket: str
    path: str
    signer: S3SigV4Auth | None  # origin access control: CloudFront signs its requests to the bucket


@dataclass
class Behavior:
    pattern: re.Pattern[str] | None  # None: the default behavior
    origin: Origin
    methods: set[str]
    compress: bool
    policy: HeadersPolicy


def _path_pattern(pattern: str) -> re.Pattern[str]:
    """CloudFront path patterns: case-sensitive, `*` any characters (slashes too), `?` one."""
    text = pattern if pattern.startswith("/") else "/" + pattern
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text))


class Distribution:
    def __init__(self, plan: Plan, resource: Resource, origin_endpoint: str) -> None:
        self.address = resource.address
        config = plan.resolved(resource.address)
        self.domain = str(plan.attribute(resource.address, "domain_name"))
        self.aliases = [str(a) for a in config.get("aliases") or []]
        self.root_object = str(config.get("default_root_object") or "")
        self.origin_endpoint = origin_endpoint
        origins = {str(o["origin_id"]): self._origin(plan, o) for o in _blocks(config.get("origin"))}
        self.behaviors = [
            self._behavior(plan, b, origins, _path_pattern(str(b["path_pattern"])))
            for b in _blocks(config.get("ordered_cache_behavior"))
        ]
        self.behaviors.append(
            self._behavior(plan, _block(config.get("default_cache_behavior")), origins, None)
        )
        self.errors = {
            int(e["error_code"]): ErrorResponse(
                int(e["response_code"]) if e.get("response_code") else None,
                e.get("response_page_path") or None,
            )
            for e in _blocks(config.get("custom_error_response"))
        }
        self.listener: Listener | None = None
        self.session: aiohttp.ClientSession | None = None

    def _origin(self, plan: Plan, origin: dict[str, Any]) -> Origin:
        match = re.fullmatch(r"(.+)\.s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com", str(origin["domain_name"]))
        if not match:
            raise PlanError(
                f"{self.address}: origin {origin['domain_name']} is not an S3 bucket; "
                "only S3 origins run locally"
            )
        signer = None
        if origin.get("origin_access_control_id") or _block(origin.get("s3_origin_config")).get(
            "origin_access_identity"
        ):
            credentials = Credentials(CREDENTIALS["AWS_ACCESS_KEY_ID"], CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
            signer = S3SigV4Auth(credentials, "s3", plan.region)
        return Origin(match.group(1), str(origin.get("origin_path") or "").rstrip("/"), signer)

    def _behavior(
        self,
        plan: Plan,
        behavior: dict[str, Any],
        origins: dict[str, Origin],
        pattern: re.Pattern[str] | None,
    ) -> Behavior:
        for key in ("function_association", "lambda_function_association"):
            if behavior.get(key):
                raise PlanError(f"{self.address}: {key} (code at the edge) cannot run in the local cloud")
        origin = origins.get(str(behavior.get("target_origin_id")))
        if origin is None:
            raise PlanError(f"{self.address}: a cache behavior targets no declared origin")
        policy = HeadersPolicy()
        policy_id = behavior.get("response_headers_policy_id")
        if policy_id:
            found = plan.find_by("aws_cloudfront_response_headers_policy", "id", policy_id)
            if found is None:
                raise PlanError(
                    f"{self.address}: response headers policy {policy_id} is not declared in the stack"
                )
            # Header values name the stack's endpoints (a CSP's connect-src): the local ones here.
            policy = HeadersPolicy.from_config(plan.localize(plan.resolved(found.address)))
        return Behavior(
            pattern,
            origin,
            {m.upper() for m in behavior.get("allowed_methods") or ["GET", "HEAD"]},
            bool(behavior.get("compress")),
            policy,
        )

    def behavior_for(self, path: str) -> Behavior:
        for behavior in self.behaviors:
            if behavior.pattern is None or behavior.pattern.fullmatch(path):
                return behavior
        raise AssertionError("the default behavior matches every path")  # pragma: no cover

    async def start(self, port: int | socket.socket = 0) -> Listener:
        self.session = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self.handle)
        self.listener = await listen(app, port)
        return self.listener

    async def stop(self) -> None:
        if self.listener is not None:
            await self.listener.close()
        if self.session is not None:
            await self.session.close()

    async def _fetch(
        self, path: str, request: web.Request, *, conditional: bool = True
    ) -> tuple[Behavior, int, dict[str, str], bytes]:
        """Fetch `path` from the origin of the behavior that matches it. An error page is fetched
        unconditionally: the viewer's validators belong to the URL it asked for, not to the page."""
        assert self.session is not None
        behavior = self.behavior_for(path)
        origin = behavior.origin
        forwarded = _FORWARDED if conditional else ()
        headers = {h: request.headers[h] for h in forwarded if h in request.headers}
        url = f"{self.origin_endpoint}/{origin.bucket}{origin.path}{path}"
        if origin.signer is not None:
            signed = AWSRequest(method="GET", url=url, headers=headers)
            origin.signer.add_auth(signed)
            headers = dict(signed.headers.items())
        async with self.session.get(url, headers=headers) as response:
            body = await response.read()
            kept = {h: response.headers[h] for h in _PASS_THROUGH if h in response.headers}
            kept.update({k: v for k, v in response.headers.items() if k.lower().startswith("x-amz-meta-")})
            return behavior, response.status, kept, body

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if request.method not in self.behavior_for(path).methods:
            return self._respond(
                request,
                self.behavior_for(path),
                403,
                {"Content-Type": "text/html"},
                b"<h1>403 ERROR</h1>The request could not be satisfied.",
            )
        if path == "/" and self.root_object:
            path = "/" + self.root_object
        behavior, status, headers, body = await self._fetch(path, request)
        if status >= 400 and status in self.errors:
            error = self.errors[status]
            if error.page_path:
                behavior, page_status, headers, body = await self._fetch(
                    error.page_path, request, conditional=False
                )
                if page_status >= 400:
                    status = page_status
                elif error.response_code:
                    status = error.response_code
            elif error.response_code:
                status = error.response_code
        return self._respond(request, behavior, status, headers, body)

    def _respond(
        self, request: web.Request, behavior: Behavior, status: int, headers: dict[str, str], body: bytes
    ) -> web.StreamResponse:
        headers = dict(headers)
        headers.pop("Content-Length", None)
        behavior.policy.apply(headers)
        headers.update(
            {
                "Server": "AmazonS3",
                "X-Cache": "Error from cloudfront" if status >= 400 else "Miss from cloudfront",
                "Via": f"1.1 {self.domain} (CloudFront)",
                "X-Amz-Cf-Pop": "LOCAL",
                "X-Amz-Cf-Id": uuid.uuid4().hex,
            }
        )
        response = web.Response(status=status, body=body, headers=headers)  # aiohttp sends no body for HEAD
        content_type = headers.get("Content-Type", "")
        if (
            behavior.compress
            and status == 200
            and "Content-Encoding" not in headers
            and 1000 <= len(body) <= 10_000_000
            and _COMPRESSIBLE.match(content_type)
        ):
            response.enable_compression()
        return response
