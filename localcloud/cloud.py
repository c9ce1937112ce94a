"""The local cloud: a synthesized stack brought up on this machine, and taken down again.

Start-up, in order: read and check the plan (every expression, every reference) and the functions'
roles and policies; start DynamoDB Local and moto's server side by side, each behind a gate that
checks functions' requests against their roles; build every gateway from the stack and bind its
port (so the local URLs are known); map the AWS URLs of the emulated endpoints to the local ones;
create the tables, queues, buckets and objects; prepare every function; start the event-source
mappings (once Lambda's checks of their roles pass) and the schedules; write the outputs file.
Anything the stack needs that cannot be built stops start-up with the resource's name, and what
was already started is stopped again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from localcloud import (
    apigateway,
    cognito,
    dynamodb,
    functions,
    iam,
    runtimes,
    s3,
    scheduler,
    site,
    sqs,
    websocket,
)
from localcloud import mappings as esm
from localcloud.dynamodb_local import DynamoDBLocal
from localcloud.gate import Gate
from localcloud.lambda_ import CREDENTIALS, DEFAULT_ASYNC_RETRY_DELAYS, LambdaService
from localcloud.meter import Meter
from localcloud.moto_server import MotoServer
from localcloud.permissions import Permissions
from localcloud.plan import Plan, PlanError
from localcloud.streams import StreamMapping
from localcloud.web import HOST
from preflight import Stack as PreflightStack
from preflight import check as preflight_check

log = logging.getLogger("localcloud")

# Types the local cloud builds or reads; every other type in the stack is inert here.
EMULATED = frozenset(
    dynamodb.TYPES
    + sqs.TYPES
    + s3.TYPES
    + functions.TYPES
    + apigateway.TYPES
    + websocket.TYPES
    + site.TYPES
    + scheduler.TYPES
    + iam.TYPES
    + cognito.TYPES
)
CLOSED_PORT_URL = "http://127.0.0.1:9"  # services not emulated: refused at once, never AWS


@dataclass
class Options:
    root: Path
    stack: str = "dev"
    outputs: Path | None = None  # default: <root>/build/outputs.local.json
    port_base: int = 0  # 0: the kernel picks free ports
    local_concurrency: int = 10
    async_retry_delays: tuple[float, ...] = DEFAULT_ASYNC_RETRY_DELAYS
    warm: bool = True
    meter: bool = False  # count DynamoDB requests and capacity (the bench)
    # Run the engine in this dispatch mode whatever the stack says (DISPATCH_MODE of every function
    # that has it): lets the bench, the soak and the tests compare both modes on one stack.
    dispatch: str | None = None

    @property
    def outputs_path(self) -> Path:
        return self.outputs or self.root / "build" / "outputs.local.json"

    @property
    def work_dir(self) -> Path:
        return self.root / "build" / "localcloud" / self.stack


def endpoints_path(outputs: Path) -> Path:
    """Where the local cloud describes its service endpoints, next to the outputs file."""
    return outputs.with_name(outputs.name.removesuffix(".json") + ".endpoints.json")


@dataclass
class Endpoints:
    dynamodb: str = ""
    sqs: str = ""
    s3: str = ""
    lambda_: str = ""
    urls: dict[str, str] = field(default_factory=dict)  # dashboard, api, websocket

    def client(self, service: str, region: str, **config: Any) -> Any:
        url = {  # one client factory for the local cloud's own calls and the tests
            "dynamodb": self.dynamodb,
            "dynamodbstreams": self.dynamodb,
            "sqs": self.sqs,
            "s3": self.s3,
            "lambda": self.lambda_,
        }[service]
        factory: Any = boto3.client  # the service name is a plain str here, not a stub literal
        return factory(
            service,
            endpoint_url=url,
            region_name=region,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=CREDENTIALS["AWS_SESSION_TOKEN"],
            config=Config(**config) if config else None,
        )


class LocalCloud:
    def __init__(self, options: Options, progress: Callable[[str], None] | None = None) -> None:
        # Function processes run in their own folders: every path they are given must be absolute.
        options.root = options.root.resolve()
        self.options = options
        self._progress = progress or (lambda message: log.info("%s", message))
        self._started = time.monotonic()
        self.plan: Plan | None = None
        self.endpoints = Endpoints()
        self.outputs: dict[str, Any] = {}
        self.inert: list[str] = []
        self.notes: list[str] = []
        self.executor = ThreadPoolExecutor(max_workers=48, thread_name_prefix="localcloud-aws")
        self.dynamodb_local: DynamoDBLocal | None = None
        self.moto: MotoServer | None = None
        self.identities: iam.Identities | None = None
        self.meter: Meter | None = None
        self.gates: list[Gate] = []
        self.function_dynamodb = ""  # where functions reach DynamoDB: its gate
        self.function_moto = ""  # and SQS and S3
        self.lambdas: LambdaService | None = None
        self.rest_apis: list[apigateway.RestApi] = []
        self.websocket_apis: list[websocket.WebSocketApi] = []
        self.distributions: list[site.Distribution] = []
        self.user_pools: list[cognito.UserPool] = []
        self.mappings: list[Any] = []
        self.scheduler: scheduler.Scheduler | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._ports = iter(range(options.port_base, options.port_base + 1000)) if options.port_base else None

    def progress(self, message: str) -> None:
        self._progress(f"[{time.monotonic() - self._started:5.1f}s] {message}")

    def _port(self) -> int:
        return next(self._ports) if self._ports is not None else 0

    def _bind(self, sockets: dict[str, socket.socket], address: str) -> str:
        """Bind a listening socket on 127.0.0.1 for a gateway; its local base URL."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((HOST, self._port()))
            sock.listen(128)
        except OSError as exc:
            sock.close()
            raise PlanError(f"{address}: cannot listen on {HOST}: {exc}") from exc
        sockets[address] = sock
        return f"http://{HOST}:{sock.getsockname()[1]}"

    async def _blocking(self, function: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    # -- start --------------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        options = self.options
        plan = Plan.load(options.root, options.stack)
        self.plan = plan
        # The local cloud must not accept what AWS rejects: the preflight's rules, AWS's answers.
        violations = preflight_check(
            [PreflightStack(options.stack, plan.document, plan.stack_dir)], whole_app=False
        )
        if violations:
            raise PlanError(
                f"stack {options.stack}: AWS would not accept it or it would break on AWS "
                "(python -m preflight):\n" + "\n".join(v.line() for v in violations)
            )
        types = plan.types()
        self.inert = sorted(types - EMULATED)
        self.progress(
            f"stack {options.stack}: {len(plan.resources)} resources, {len(types)} types; "
            f"account {plan.account_id}, region {plan.region}"
        )
        identities = iam.Identities(plan)  # a role or policy that cannot be evaluated stops us here
        self.identities = identities
        bucket_policies = s3.BucketPolicies(plan)  # so does a bucket policy condition
        work = options.work_dir
        work.mkdir(parents=True, exist_ok=True)

        # The two emulators start side by side: the JVM takes the longest.
        self.dynamodb_local = DynamoDBLocal(options=("-inMemory", "-disableTelemetry", "-sharedDb"))
        self.moto = MotoServer(account_id=plan.account_id, log_path=work / "logs" / "moto.log")
        ddb_started = self._blocking(self.dynamodb_local.start)
        moto_started = self._blocking(self.moto.start)
        await asyncio.gather(ddb_started, moto_started)
        self.progress(
            f"DynamoDB Local on {self.dynamodb_local.endpoint_url}, "
            f"moto (SQS, S3) on {self.moto.endpoint_url}"
        )
        self.endpoints.dynamodb = self.dynamodb_local.endpoint_url
        self.endpoints.sqs = self.endpoints.s3 = self.moto.endpoint_url
        # Functions' requests go through the gates (and the meter); the local cloud's own do not.
        self.meter = Meter() if options.meter else None
        self.gates = [
            Gate(self.endpoints.dynamodb, {"dynamodb": dynamodb.Access(plan)}, identities, meter=self.meter),
            Gate(
                self.moto.endpoint_url,
                {"sqs": sqs.Access(plan), "s3": s3.Access(bucket_policies)},
                identities,
            ),
        ]
        await asyncio.gather(*(gate.start() for gate in self.gates))
        self.function_dynamodb, self.function_moto = (gate.url for gate in self.gates)

        # Gateways first: their ports make the local URLs that functions and config.js carry.
        permissions = Permissions(plan)
        versions = runtimes.local_versions()
        management = {}
        self.lambdas = LambdaService(
            region=plan.region,
            account_id=plan.account_id,
            log_dir=work / "logs",
            cache_dir=options.root / "build" / "localcloud" / "code",
            endpoint_environment={},  # filled in below, before any function starts
            local_concurrency=options.local_concurrency,
            async_retry_delays=options.async_retry_delays,
        )
        self.lambdas.identities = identities
        # Every gateway's socket is bound first, so that each local URL is known before any
        # gateway reads a value naming another (the site's CSP names the APIs; the APIs' CORS
        # headers name the site).
        sockets: dict[str, socket.socket] = {}
        http_apis: list[str] = []
        ws_apis: list[str] = []
        self.user_pools = cognito.pools(plan)
        for pool in self.user_pools:
            # One port stands for the pool's two hosts: the cognito-idp API and issuer, and its domain.
            pool.local_url = self._bind(sockets, pool.address)
            plan.map_endpoint(f"https://cognito-idp.{plan.region}.amazonaws.com", pool.local_url)
            for domain in plan.of_type("aws_cognito_user_pool_domain"):
                if plan.attribute(domain.address, "user_pool_id") == pool.id:
                    prefix = plan.attribute(domain.address, "domain")
                    plan.map_endpoint(
                        f"https://{prefix}.auth.{plan.region}.amazoncognito.com", pool.local_url
                    )
        for resource in plan.of_type("aws_cloudfront_distribution"):
            url = self._bind(sockets, resource.address)
            hosts = [plan.attribute(resource.address, "domain_name"), *(resource.config.get("aliases") or [])]
            for host in hosts:
                plan.map_endpoint(f"https://{host}", url)
                plan.map_endpoint(f"http://{host}", url)
        region_host = f"execute-api.{plan.region}.amazonaws.com"
        for resource in plan.of_type("aws_api_gateway_rest_api"):
            url = self._bind(sockets, resource.address)
            plan.map_endpoint(f"https://{plan.attribute(resource.address, 'id')}.{region_host}", url)
            http_apis.append(url)
        for resource in plan.of_type("aws_apigatewayv2_api"):
            if str(resource.config.get("protocol_type", "")).upper() != "WEBSOCKET":
                raise PlanError(
                    f"{resource.address}: HTTP APIs (API Gateway v2) are not supported by the local cloud"
                )
            url = self._bind(sockets, resource.address)
            host = f"{plan.attribute(resource.address, 'id')}.{region_host}"
            plan.map_endpoint(f"wss://{host}", url.replace("http://", "ws://"))
            plan.map_endpoint(f"https://{host}", url)
            http_apis.append(url)
            ws_apis.append(url.replace("http://", "ws://"))
        # Wildcards over every API of the region (a CSP's connect-src) cover every local API.
        if http_apis:
            plan.map_endpoint(f"https://*.{region_host}", " ".join(http_apis))
        if ws_apis:
            plan.map_endpoint(f"wss://*.{region_host}", " ".join(ws_apis))
        for resource in plan.of_type("aws_cloudfront_distribution"):
            distribution = site.Distribution(plan, resource, self.moto.endpoint_url)
            self.distributions.append(distribution)
            await distribution.start(sockets[resource.address])
        for pool in self.user_pools:
            await pool.start(sockets[pool.address])
        for resource in plan.of_type("aws_api_gateway_rest_api"):
            api = apigateway.RestApi(plan, resource, self.lambdas, permissions, self.user_pools)
            self.rest_apis.append(api)
            await api.start(sockets[resource.address])
        for resource in plan.of_type("aws_apigatewayv2_api"):
            ws_api = websocket.WebSocketApi(plan, resource, self.lambdas, permissions)
            self.websocket_apis.append(ws_api)
            listener = await ws_api.start(sockets[resource.address])
            for stage in ws_api.stages:
                management[ws_api.id] = f"{listener.url}/{stage}"
        await self.lambdas.start(self._port())
        assert self.lambdas.api is not None
        self.endpoints.lambda_ = self.lambdas.api.url
        plan.map_endpoint(f"https://sqs.{plan.region}.amazonaws.com", self.moto.endpoint_url)
        self.lambdas.endpoint_environment.update(self._function_endpoints(management))
        self.lambdas.report = self.stats
        self.lambdas.drop_websockets = self.drop_websocket_connections
        self.lambdas.cloud_fault = self.fault
        if self.user_pools:
            self.lambdas.expired_token = self.user_pools[0].expired_token
        self.progress(
            f"gateways: {len(self.rest_apis)} REST, {len(self.websocket_apis)} WebSocket, "
            f"{len(self.distributions)} site(s), {len(self.user_pools)} user pool(s); "
            f"Lambda API on {self.endpoints.lambda_}"
        )

        # Data: tables, queues, buckets and the objects the stack uploads.
        ddb_client = self.endpoints.client("dynamodb", plan.region)
        tables = dynamodb.Tables(ddb_client, self.endpoints.client("dynamodbstreams", plan.region))
        queues = sqs.Queues(self.endpoints.client("sqs", plan.region))
        buckets = s3.Buckets(self.endpoints.client("s3", plan.region))
        await asyncio.gather(
            self._blocking(tables.create, plan),
            self._blocking(queues.create, plan),
            self._blocking(buckets.create, plan, bucket_policies, identities.deployer),
        )
        destinations = sqs.Destinations(queues, self.executor)
        self.lambdas._destination = destinations.send
        self.progress(
            f"data: {len(tables.by_address)} table(s), {len(queues.urls)} queue(s), "
            f"{len(plan.of_type('aws_s3_bucket'))} bucket(s), {buckets.objects} object(s)"
        )

        # Functions.
        images = functions.read_images(options.root)
        cache = self.lambdas.cache_dir
        specs = await self._blocking(
            lambda: [
                functions.function_spec(
                    plan,
                    r,
                    root=options.root,
                    cache=cache,
                    images=images,
                    principal=identities.by_function[str(plan.attribute(r.address, "function_name"))],
                )
                for r in plan.of_type("aws_lambda_function")
            ]
        )
        runtime_notes = set()
        by_note: dict[str, list[str]] = {}
        if options.dispatch:
            overridden = [s.name for s in specs if "DISPATCH_MODE" in s.environment]
            for spec in specs:
                if "DISPATCH_MODE" in spec.environment:
                    spec.environment["DISPATCH_MODE"] = options.dispatch
            runtime_notes.add(f"DISPATCH_MODE={options.dispatch} (--dispatch) for {', '.join(overridden)}")
        for spec in specs:
            self.lambdas.add(spec)
            for note in spec.code.notes:
                by_note.setdefault(note, []).append(spec.name)
            try:
                note = runtimes.runtime_note(spec.code.runtime, versions)
            except runtimes.RuntimeSetupError as exc:
                raise PlanError(f"{spec.address}: {exc}") from exc
            if note:
                runtime_notes.add(note)
        self.notes = sorted(runtime_notes) + [
            f"{', '.join(names)}: {note}" for note, names in by_note.items()
        ]
        await self._blocking(self.lambdas.python_runtime_dir)
        self.progress(f"functions: {', '.join(s.name for s in specs)}")

        # Event sources and schedules.
        streams_client = tables.streams_client
        sqs_client = queues.client
        for resource in plan.of_type("aws_lambda_event_source_mapping"):
            config = esm.read_mapping(plan, resource)
            try:
                function = self.lambdas.get(config.function_name)
            except LookupError:
                raise PlanError(
                    f"{resource.address}: function {config.function_name} is not in the stack"
                ) from None
            esm.check_execution_role(config, identities.by_function[config.function_name])
            if config.source == "dynamodb":
                table = tables.for_stream(config.source_arn)
                mapping: Any = StreamMapping(
                    config,
                    function,
                    streams_client,
                    table.local_stream_arn,
                    region=plan.region,
                    send=destinations.send,
                    executor=self.executor,
                    partition_key=table.hash_key,
                )
            else:
                mapping = sqs.SqsMapping(
                    config,
                    function,
                    sqs_client,
                    queues.url_for(config.source_arn),
                    region=plan.region,
                    executor=self.executor,
                )
            self.mappings.append(mapping)
        self.scheduler = scheduler.Scheduler(plan, self.lambdas, permissions)
        for mapping in self.mappings:
            self._tasks.append(asyncio.create_task(mapping.run(), name=mapping.config.address))
        self._tasks.append(asyncio.create_task(self.scheduler.run(), name="scheduler"))
        self.progress(
            f"event sources: {len(self.mappings)} mapping(s); schedules: "
            + (", ".join(f"{r.name} ({r.period or 'cron'}s)" for r in self.scheduler.rules) or "none")
        )

        if options.warm:
            await self.lambdas.warm()
            self.progress("functions warm: one environment each")

        self.outputs = plan.outputs()
        self.endpoints.urls = {
            key: str(self.outputs[key])
            for key in ("dashboard_url", "api_url", "websocket_url")
            if key in self.outputs
        }
        self._write_outputs()
        self.progress(f"ready; outputs in {options.outputs_path}")

    def _function_endpoints(self, management: dict[str, str]) -> dict[str, str]:
        env = {
            "AWS_ENDPOINT_URL": CLOSED_PORT_URL,
            "AWS_ENDPOINT_URL_DYNAMODB": self.function_dynamodb,
            "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": self.function_dynamodb,
            "AWS_ENDPOINT_URL_LAMBDA": self.endpoints.lambda_,
            "AWS_ENDPOINT_URL_SQS": self.function_moto,
            "AWS_ENDPOINT_URL_S3": self.function_moto,
        }
        if len(management) == 1:
            env["AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI"] = next(iter(management.values()))
        return env

    def _write_outputs(self) -> None:
        path = self.options.outputs_path
        path.parent.mkdir(parents=True, exist_ok=True)
        assert self.plan is not None
        described = {
            "stack": self.options.stack,
            "pid": os.getpid(),
            "region": self.plan.region,
            "account_id": self.plan.account_id,
            "dynamodb": self.endpoints.dynamodb,
            "sqs": self.endpoints.sqs,
            "s3": self.endpoints.s3,
            "lambda": self.endpoints.lambda_,
            "credentials": CREDENTIALS,
            # Where functions reach S3, SQS and DynamoDB: through the gates that evaluate policies;
            # requests signed with deployer_credentials are checked as Terraform's would be.
            "gated": {
                "dynamodb": self.function_dynamodb,
                "sqs": self.function_moto,
                "s3": self.function_moto,
            },
            "deployer_credentials": iam.DEPLOYER_CREDENTIALS,
            "control": f"{self.endpoints.lambda_}/_localcloud",
            **self.identity(),
        }
        sidecar = endpoints_path(path)
        # The endpoints file holds the local users' passwords and the machine client's secret: its
        # owner alone may read it (created so, never widened by the umask).
        for target, document, mode in (
            (sidecar, described, 0o600),
            (path, {self.options.stack: self.outputs}, 0o644),
        ):
            partial = target.with_name(target.name + ".partial")
            partial.unlink(missing_ok=True)
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            with os.fdopen(descriptor, "w") as out:
                out.write(json.dumps(document, indent=2) + "\n")
            partial.replace(target)  # whoever waits for the file never reads half of it

    def identity(self) -> dict[str, Any]:
        """How tests and people sign in here: the pool, its clients and the local users (with
        the passwords made at start-up). Local only: nothing like it exists on AWS."""
        if not self.user_pools:
            return {}
        pool = self.user_pools[0]
        password_client = next(
            (c for c in pool.clients.values() if "ALLOW_USER_PASSWORD_AUTH" in c.auth_flows), None
        )
        machine = next((c for c in pool.clients.values() if "client_credentials" in c.flows), None)
        return {
            "cognito_idp": pool.local_url,
            "user_pool_id": pool.id,
            "user_pool_client_id": password_client.id if password_client else None,
            "oauth2_domain": pool.local_url,
            "machine_client": {"client_id": machine.id, "client_secret": machine.secret} if machine else None,
            "users": {u.key: {"username": u.username, "password": u.password} for u in pool.users.values()},
        }

    # -- run and stop -------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        return {
            "functions": self.lambdas.stats() if self.lambdas else {},
            "mappings": {m.config.address: dict(m.stats) for m in self.mappings},
            "schedules_fired": self.scheduler.fired if self.scheduler else 0,
            "dynamodb": self.meter.stats() if self.meter else None,
            # Requests functions signed, per service operation (SQS bills every request).
            "requests": self._calls_by_caller(),
            "iam_denials": dict(self.identities.denials) if self.identities else {},
        }

    def _calls_by_caller(self) -> dict[str, dict[str, int]]:
        merged: dict[str, dict[str, int]] = {}
        for gate in self.gates:
            for caller, calls in gate.calls_by_caller().items():
                merged.setdefault(caller, {}).update(calls)
        return merged

    async def drop_websocket_connections(self, hold_seconds: float) -> int:
        """The control API's websocket/disconnect: every WebSocket API drops its connections."""
        dropped = await asyncio.gather(*(api.drop_connections(hold_seconds) for api in self.websocket_apis))
        return sum(dropped)

    async def fault(self, body: dict[str, Any]) -> dict[str, Any]:
        """The control API's faults beyond a function crash (local only, for the soak):
        {"fault": "stream", "duplicate": p, "replay": p, "dead_letter": n} on every stream mapping;
        {"fault": "vanish", "count": n}: n WebSocket clients disappear without $disconnect;
        {"fault": "schedule"}: every schedule fires now (the sweep without waiting a minute)."""
        kind = body.get("fault")
        if kind == "stream":
            streams = [m for m in self.mappings if isinstance(m, StreamMapping)]
            for mapping in streams:
                mapping.faults.duplicate = float(body.get("duplicate", mapping.faults.duplicate))
                mapping.faults.replay = float(body.get("replay", mapping.faults.replay))
                mapping.faults.dead_letter = int(body.get("dead_letter", mapping.faults.dead_letter))
            return {"mappings": [m.config.address for m in streams]}
        if kind == "vanish":
            gone = await asyncio.gather(
                *(api.vanish(int(body.get("count", 1))) for api in self.websocket_apis)
            )
            return {"vanished": sum(gone)}
        if kind == "schedule":
            if self.scheduler is None:
                raise LookupError("no schedules")
            return {"fired": await self.scheduler.fire_all()}
        raise ValueError("fault must be crash, stream, vanish or schedule")

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        gateways: list[Any] = [*self.websocket_apis, *self.rest_apis, *self.distributions, *self.user_pools]
        for gateway in gateways:
            with contextlib.suppress(Exception):
                await gateway.stop()
        if self.lambdas is not None:
            await self.lambdas.stop()
        for gate in self.gates:
            await gate.stop()
        stops: list[Callable[[], None]] = []
        if self.moto is not None:
            stops.append(self.moto.stop)
        if self.dynamodb_local is not None:
            stops.append(self.dynamodb_local.stop)
        await asyncio.gather(*(asyncio.get_running_loop().run_in_executor(None, stop) for stop in stops))
        self.executor.shutdown(wait=False, cancel_futures=True)
        path = self.options.outputs_path
        with contextlib.suppress(OSError):
            endpoints_path(path).unlink()
