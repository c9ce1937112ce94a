"""Lambda: each function in its own worker processes behind the Runtime API, and the Invoke API.

An execution environment is one process running the function's runtime (awslambdaric for Python,
runtime/bootstrap.js for Node.js) with exactly the declared environment, plus what Lambda itself
sets and the endpoint variables that point the AWS SDKs at the local services. Each environment
gets its own Runtime API port, so every request from a process is known to be that process's.
Environments start on demand (a cold start), handle one invocation at a time and are reused.

Behaviour follows Lambda's:
- concurrency: at most `reserved_concurrent_executions` environments; a synchronous invoke beyond
  it is throttled (429 TooManyRequestsException), asynchronous and event-source invokes wait. An
  unreserved function is capped at `local_concurrency` environments here, and waits beyond it.
- timeout: the process is killed and the invocation fails with `Sandbox.Timedout`
  ("Task timed out after N.NN seconds"); a process that exits mid-invocation fails it with
  `Runtime.ExitError`; an init failure fails it with the runtime's own error. A dead process is
  never reused: the next invocation starts a new one.
- asynchronous invokes: queued, retried on error (maximum_retry_attempts, 2 by default, after
  `async_retry_delays`), dropped after maximum_event_age, then sent to the on-failure destination
  (or on success to the on-success destination) in Lambda's invocation record format.
- payload limits: 6 MB synchronous request and response, 256 KB asynchronous request.

Logs: one file per environment (a CloudWatch log stream) under `<log_dir>/<function>/`, with
START/END/REPORT lines written by the local cloud.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ctypes
import datetime as dt
import json
import logging
import re
import signal
import sys
import time
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from localcloud import iam, runtimes
from localcloud.web import HOST, Listener, aws_error, bound_port, listen

log = logging.getLogger("localcloud.lambda")

SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
ASYNC_PAYLOAD_LIMIT = 256 * 1024
INIT_LIMIT_SECONDS = 10.0  # Lambda's init phase; a slower init is retried within the invoke's timeout
DEFAULT_ASYNC_RETRY_DELAYS = (60.0, 120.0)  # Lambda waits about 1 then 2 minutes between retries
LOG_TAIL_BYTES = 4096
# The local cloud's own credentials (and the tests'): they act for the account, unchecked. Each
# function's processes get credentials of their own instead (`iam.credentials`).
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "ASIALOCALCLOUD000000",
    "AWS_SECRET_ACCESS_KEY": "localcloud",
    "AWS_SESSION_TOKEN": "localcloud-session-token",
}
# Keys Lambda refuses in a function's environment (CreateFunction: "Reserved keys used").
RESERVED_KEYS = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)


class FunctionNotFound(LookupError):
    pass


class Throttled(Exception):
    """Reserved concurrency exhausted (Lambda: TooManyRequestsException)."""


@dataclass(frozen=True)
class AsyncConfig:
    maximum_retry_attempts: int = 2
    maximum_event_age_in_seconds: int = 21600
    on_failure: str | None = None
    on_success: str | None = None


@dataclass
class FunctionSpec:
    name: str
    arn: str
    code: runtimes.Code
    environment: dict[str, str]
    timeout: float = 3.0
    memory_size: int = 128
    reserved_concurrency: int | None = None
    async_config: AsyncConfig = field(default_factory=AsyncConfig)
    address: str = ""
    package_type: str = "Zip"
    log_format: str = "Text"  # logging_config: JSON or Text
    log_level: str | None = None  # logging_config.application_log_level (JSON only)
    credentials: dict[str, str] = field(default_factory=lambda: dict(CREDENTIALS))  # its role session's


@dataclass
class InvokeResult:
    payload: bytes
    function_error: str | None  # "Unhandled" when the invocation failed, as Lambda reports it
    request_id: str
    log_tail: bytes = b""
    duration_ms: float = 0.0

    @property
    def error_type(self) -> str | None:
        if not self.function_error:
            return None
        try:
            return str(json.loads(self.payload).get("errorType"))
        except (ValueError, AttributeError):
            return None


class _Invocation:
    def __init__(
        self, function: Function, payload: bytes, request_id: str, client_context: str | None
    ) -> None:
        loop = asyncio.get_running_loop()
        self.function = function
        self.payload = payload
        self.request_id = request_id
        self.client_context = client_context
        self.trace_id = (
            f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"
        )
        self.delivered: asyncio.Future[float] = loop.create_future()
        self.done: asyncio.Future[tuple[bytes, str | None]] = loop.create_future()
        self.deadline_ms = 0

    def finish(self, payload: bytes, error: str | None) -> None:
        if not self.done.done():
            self.done.set_result((payload, error))


_SIGNAL_WORDS = {signal.SIGKILL: "killed", signal.SIGTERM: "terminated", signal.SIGSEGV: "segmentation fault"}


def _exit_reason(code: int) -> str:
    """How Lambda words a runtime's end: `exit status 1`, `signal: killed`."""
    if code >= 0:
        return f"exit status {code}"
    number = signal.Signals(-code)
    return f"signal: {_SIGNAL_WORDS.get(number, number.name.removeprefix('SIG').lower())}"


def _error_payload(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


_libc = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # PR_SET_PDEATHSIG: if the local cloud dies without cleaning up, its function processes go too.
    if _libc is not None:
        _libc.prctl(1, signal.SIGKILL)


class Environment:
    """One execution environment: a runtime process and its Runtime API state."""

    def __init__(self, function: Function, number: int) -> None:
        self.function = function
        self.number = number
        self.id = uuid.uuid4().hex
        self.process: asyncio.subprocess.Process | None = None
        self.listener: Listener | None = None
        self.inbox: asyncio.Queue[_Invocation] = asyncio.Queue(maxsize=1)
        self.current: _Invocation | None = None
        self.init_error: bytes | None = None
        self.initialized = asyncio.get_running_loop().create_future()
        self.exited = False
        self.doomed = False
        self.crashing = False  # fault injection: about to be killed mid-invocation
        self.reason = ""
        self.waiter: asyncio.Task[Any] | None = None
        self.spawned_at = time.monotonic()
        self.init_ms: float | None = None
        day = dt.datetime.now(dt.UTC).strftime("%Y/%m/%d")
        self.log_stream = f"{day}/[$LATEST]{self.id}"
        self.log_path = (
            function.service.log_dir / function.spec.name / f"{self.log_stream.replace('/', '-')}.log"
        )

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def write_log(self, line: str) -> None:
        with self.log_path.open("a") as out:
            out.write(line + "\n")

    def log_offset(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def max_memory_mb(self) -> int:
        """Peak resident memory of the process (what REPORT calls Max Memory Used)."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return 0
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        return int(match.group(1)) // 1024 if match else 0

    async def start(self) -> None:
        service = self.function.service
        self.listener = await service.runtime_api.open(self)
        spec = self.function.spec
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        code = spec.code
        if runtimes.family(code.runtime) == "python":
            command = runtimes.python_command(code, service.python_runtime_dir())
        else:
            command = runtimes.node_command(code)
        env = service.process_environment(spec, self.listener.port, self.log_stream)
        with self.log_path.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                *command,
                cwd=str(code.task_root),
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        service.spawn(self._watch(), f"watch {spec.name} {self.pid}")

    async def _watch(self) -> None:
        assert self.process is not None
        code = await self.process.wait()
        self.exited = True
        self.reason = _exit_reason(code)
        if not self.initialized.done():
            self.initialized.set_result(False)
        if self.waiter is not None:
            self.waiter.cancel()  # a GET next still parked for this process: nobody will read it
        self.fail_pending()
        self.function.forget(self)
        if self.listener is not None:
            await self.function.service.runtime_api.close(self)

    def fail_pending(self) -> None:
        """Fail what this dead process held or had queued, as Lambda reports it."""
        pending = [self.current] if self.current else []
        self.current = None
        while not self.inbox.empty():
            pending.append(self.inbox.get_nowait())
        for invocation in pending:
            if self.init_error is not None:
                invocation.finish(self.init_error, "Unhandled")
                continue
            message = f"RequestId: {invocation.request_id} Error: Runtime exited with error: {self.reason}"
            self.write_log(message + "\nRuntime.ExitError")
            invocation.finish(_error_payload("Runtime.ExitError", message), "Unhandled")
            self.function.stats["crashes"] += 1

    @property
    def usable(self) -> bool:
        return not (self.exited or self.doomed)

    def kill(self) -> None:
        self.doomed = True  # never hand it another invocation, even before its exit is seen
        self.function.forget(self)  # and its concurrency slot is free now, as on Lambda
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), 2.0)
        except TimeoutError:
            self.kill()
            await self.process.wait()


class Function:
    def __init__(self, service: LambdaService, spec: FunctionSpec) -> None:
        self.service = service
        self.spec = spec
        self.environments: list[Environment] = []
        self.idle: deque[Environment] = deque()
        self.available = asyncio.Condition()
        self.stats: Counter[str] = Counter()
        self.faults: deque[str] = deque()
        self._numbers = 0

    @property
    def limit(self) -> int:
        if self.spec.reserved_concurrency is not None:
            return self.spec.reserved_concurrency
        return self.service.local_concurrency

    def forget(self, env: Environment) -> None:
        if env in self.environments:
            self.environments.remove(env)
        if env in self.idle:
            self.idle.remove(env)
        self.service.spawn(self._notify(), "notify")

    async def _notify(self) -> None:
        async with self.available:
            self.available.notify()

    async def acquire(self, *, throttle: bool) -> Environment:
        """An idle environment, a new one, or (at the limit) a wait or a throttle."""
        async with self.available:
            while True:
                while self.idle:
                    env = self.idle.pop()  # the most recently used is the warmest
                    if env.usable:
                        return env
                if len(self.environments) < self.limit:
                    self._numbers += 1
                    env = Environment(self, self._numbers)
                    self.environments.append(env)
                    break
                if throttle and self.spec.reserved_concurrency is not None:
                    self.stats["throttles"] += 1
                    raise Throttled(self.spec.name)
                await self.available.wait()
        self.stats["cold_starts"] += 1
        try:
            await env.start()
        except BaseException:
            env.kill()  # a process may already run; it must not outlive this failed start
            self.forget(env)
            raise
        return env

    async def release(self, env: Environment) -> None:
        async with self.available:
            if env.usable and env in self.environments:
                self.idle.append(env)
            self.available.notify()

    async def invoke(
        self,
        payload: bytes,
        *,
        throttle: bool = True,
        request_id: str | None = None,
        client_context: str | None = None,
        log_tail: bool = False,
    ) -> InvokeResult:
        """One synchronous invocation, with Lambda's timeout, crash and init-error handling. A caller
        that stops waiting (cancelled) does not stop the invocation: it runs to its end, as on Lambda."""
        request_id = request_id or str(uuid.uuid4())
        env = await self.acquire(throttle=throttle)
        task = self.service.spawn(
            self._run(env, payload, request_id, client_context, log_tail), f"invoke {self.spec.name}"
        )
        return await asyncio.shield(task)

    async def _run(
        self, env: Environment, payload: bytes, request_id: str, client_context: str | None, log_tail: bool
    ) -> InvokeResult:
        invocation = _Invocation(self, payload, request_id, client_context)
        offset = env.log_offset()
        self.stats["invocations"] += 1
        started = time.monotonic()
        try:
            await env.inbox.put(invocation)
            if env.exited:  # it died between being chosen and being given the event
                env.fail_pending()
            payload_out, error = await self._await(env, invocation)
        finally:
            await self.release(env)
        duration_ms = (time.monotonic() - started) * 1000
        if error:
            self.stats["errors"] += 1
        self.service.record_duration(self, duration_ms)
        tail = b""
        if log_tail:
            with contextlib.suppress(OSError), env.log_path.open("rb") as logs:
                logs.seek(max(offset, env.log_offset() - LOG_TAIL_BYTES))
                tail = logs.read()[-LOG_TAIL_BYTES:]
        return InvokeResult(payload_out, error, request_id, tail, duration_ms)

    async def _await(self, env: Environment, invocation: _Invocation) -> tuple[bytes, str | None]:
        loop = asyncio.get_running_loop()
        timeout = self.spec.timeout
        # Until the runtime takes the event, allow for the init phase (Lambda's 10 s, or the timeout
        # when init is repeated within the invoke); from then on, the function's timeout.
        limit = loop.time() + INIT_LIMIT_SECONDS + timeout
        while not invocation.done.done():
            if invocation.delivered.done():
                limit = invocation.delivered.result() + timeout
            remaining = limit - loop.time()
            if remaining <= 0:
                break
            waiting: set[asyncio.Future[Any]] = {invocation.done}
            if not invocation.delivered.done():
                waiting.add(invocation.delivered)
            await asyncio.wait(waiting, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        if invocation.done.done():
            return invocation.done.result()
        # Timed out: Lambda stops the environment; the next invocation starts a fresh one.
        message = f"RequestId: {invocation.request_id} Error: Task timed out after {timeout:.2f} seconds"
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        env.write_log(f"{stamp} {invocation.request_id} Task timed out after {timeout:.2f} seconds")
        env.write_log(
            f"REPORT RequestId: {invocation.request_id}\tDuration: {timeout * 1000:.2f} ms\t"
            f"Billed Duration: {int(timeout * 1000)} ms\tMemory Size: {self.spec.memory_size} MB\t"
            f"Max Memory Used: {env.max_memory_mb()} MB\tStatus: timeout"
        )
        self.service.record_billed(self, timeout * 1000)
        self.stats["timeouts"] += 1
        env.current = None  # the exit watcher must not report this one as a crash
        invocation.finish(_error_payload("Sandbox.Timedout", message), "Unhandled")
        env.kill()
        return invocation.done.result()

    def deliver(self, env: Environment, invocation: _Invocation) -> None:
        """The runtime took the event (GET next): the timeout clock starts now."""
        loop = asyncio.get_running_loop()
        env.current = invocation
        invocation.deadline_ms = int((time.time() + self.spec.timeout) * 1000)
        if not invocation.delivered.done():
            invocation.delivered.set_result(loop.time())
        env.write_log(f"START RequestId: {invocation.request_id} Version: $LATEST")
        if self.faults:
            fault = self.faults.popleft()
            if fault == "crash":
                # Fault injection (local only): the process dies while it handles this event;
                # whatever it answers meanwhile is not taken, so the invocation fails as a crash.
                env.crashing = True
                loop.call_later(0.05, env.kill)

    def complete(self, env: Environment, payload: bytes, error: str | None) -> None:
        invocation = env.current
        if invocation is None:
            return
        env.current = None
        duration = (asyncio.get_running_loop().time() - invocation.delivered.result()) * 1000
        init = f"\tInit Duration: {env.init_ms:.2f} ms" if env.init_ms is not None else ""
        env.init_ms = None
        env.write_log(f"END RequestId: {invocation.request_id}")
        env.write_log(
            f"REPORT RequestId: {invocation.request_id}\tDuration: {duration:.2f} ms\t"
            f"Billed Duration: {max(1, int(duration + 0.999))} ms\tMemory Size: {self.spec.memory_size} MB\t"
            f"Max Memory Used: {env.max_memory_mb()} MB{init}"
        )
        self.service.record_billed(self, duration)
        invocation.finish(payload, error)

    # -- asynchronous invocation ------------------------------------------------------------

    def invoke_async(self, payload: bytes) -> str:
        request_id = str(uuid.uuid4())
        self.stats["async_events"] += 1
        self.service.spawn(self._run_async(payload, request_id, time.time()), f"async {self.spec.name}")
        return request_id

    async def _run_async(self, payload: bytes, request_id: str, received: float) -> None:
        config = self.spec.async_config
        attempts = 0
        while True:
            result = await self.invoke(payload, throttle=False, request_id=request_id)
            attempts += 1
            if not result.function_error:
                if config.on_success:
                    await self.service.send_destination(
                        config.on_success, self._record(payload, result, "Success", attempts)
                    )
                return
            condition = None
            if attempts > config.maximum_retry_attempts:
                condition = "RetriesExhausted"
            else:
                delay = self.service.async_retry_delays[
                    min(attempts, len(self.service.async_retry_delays)) - 1
                ]
                if time.time() + delay - received > config.maximum_event_age_in_seconds:
                    condition = "EventAgeExceeded"
            if condition:
                self.stats["async_dropped"] += 1
                log.info("%s: async event %s dropped (%s)", self.spec.name, request_id, condition)
                if config.on_failure:
                    await self.service.send_destination(
                        config.on_failure, self._record(payload, result, condition, attempts)
                    )
                return
            self.stats["async_retries"] += 1
            await asyncio.sleep(delay)

    def _record(self, payload: bytes, result: InvokeResult, condition: str, attempts: int) -> dict[str, Any]:
        """Lambda's invocation record for asynchronous destinations."""

        def parsed(data: bytes) -> Any:
            try:
                return json.loads(data) if data else None
            except ValueError:
                return data.decode(errors="replace")

        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if result.function_error:
            response["functionError"] = result.function_error
        return {
            "version": "1.0",
            "timestamp": _timestamp(),
            "requestContext": {
                "requestId": result.request_id,
                "functionArn": f"{self.spec.arn}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "requestPayload": parsed(payload),
            "responseContext": response,
            "responsePayload": parsed(result.payload),
        }


def _timestamp() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RuntimeAPI:
    """The Lambda Runtime API: one aiohttp application, one listening port per environment."""

    def __init__(self) -> None:
        self.app = web.Application(client_max_size=SYNC_PAYLOAD_LIMIT + 1024 * 1024)
        prefix = "/2018-06-01/runtime"
        self.app.router.add_get(f"{prefix}/invocation/next", self.next)
        self.app.router.add_post(f"{prefix}/invocation/{{request_id}}/response", self.response)
        self.app.router.add_post(f"{prefix}/invocation/{{request_id}}/error", self.error)
        self.app.router.add_post(f"{prefix}/init/error", self.init_error)
        self.runner = web.AppRunner(self.app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
        self.by_port: dict[int, Environment] = {}
        self.sites: dict[str, web.TCPSite] = {}

    async def start(self) -> None:
        await self.runner.setup()

    async def open(self, env: Environment) -> Listener:
        site = web.TCPSite(self.runner, HOST, 0)
        await site.start()
        port = bound_port(site)
        self.by_port[port] = env
        self.sites[env.id] = site
        return Listener(self.runner, site, port)

    async def close(self, env: Environment) -> None:
        site = self.sites.pop(env.id, None)
        if env.listener is not None:
            self.by_port.pop(env.listener.port, None)
        if site is not None:
            await site.stop()

    async def stop(self) -> None:
        await self.runner.cleanup()

    def _env(self, request: web.Request) -> Environment:
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        env = self.by_port.get(sockname[1]) if sockname else None
        if env is None:
            raise web.HTTPForbidden(text="unknown execution environment")
        return env

    @staticmethod
    def _rapid_error(status: int, error_type: str, message: str) -> web.Response:
        return web.json_response({"errorMessage": message, "errorType": error_type}, status=status)

    async def next(self, request: web.Request) -> web.StreamResponse:
        env = self._env(request)
        if not env.initialized.done():
            env.init_ms = (time.monotonic() - env.spawned_at) * 1000
            env.initialized.set_result(True)
        env.waiter = asyncio.current_task()
        try:
            invocation = await env.inbox.get()
        finally:
            env.waiter = None
        function = env.function
        function.deliver(env, invocation)
        headers = {
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": function.spec.arn,
            "Lambda-Runtime-Trace-Id": invocation.trace_id,
        }
        if invocation.client_context:
            headers["Lambda-Runtime-Client-Context"] = invocation.client_context
        return web.Response(body=invocation.payload, headers=headers, content_type="application/json")

    async def _finish(self, request: web.Request, error: bool) -> web.Response:
        env = self._env(request)
        request_id = request.match_info["request_id"]
        if env.current is None or env.current.request_id != request_id:
            return self._rapid_error(400, "InvalidRequestID", "Invalid request ID")
        body = await request.read()
        if env.crashing:
            return web.json_response({"status": "OK"}, status=202)
        if not error and len(body) > SYNC_PAYLOAD_LIMIT:
            message = (
                f"Response payload size exceeded maximum allowed payload size ({SYNC_PAYLOAD_LIMIT} bytes)."
            )
            env.function.complete(env, _error_payload("Function.ResponseSizeTooLarge", message), "Unhandled")
            return self._rapid_error(413, "RequestEntityTooLarge", message)
        env.function.complete(env, body, "Unhandled" if error else None)
        return web.json_response({"status": "OK"}, status=202)

    async def response(self, request: web.Request) -> web.Response:
        return await self._finish(request, error=False)

    async def error(self, request: web.Request) -> web.Response:
        return await self._finish(request, error=True)

    async def init_error(self, request: web.Request) -> web.Response:
        env = self._env(request)
        body = await request.read()
        env.init_error = body or _error_payload("Runtime.Unknown", "init failed")
        env.function.stats["init_errors"] += 1
        if not env.initialized.done():
            env.initialized.set_result(False)
        return web.json_response({"status": "OK"}, status=202)


Destination = Callable[[str, dict[str, Any]], Awaitable[None]]


class LambdaService:
    def __init__(
        self,
        *,
        region: str,
        account_id: str,
        log_dir: Path,
        cache_dir: Path,
        endpoint_environment: dict[str, str],
        local_concurrency: int = 10,
        async_retry_delays: tuple[float, ...] = DEFAULT_ASYNC_RETRY_DELAYS,
        destination: Destination | None = None,
    ) -> None:
        self.region = region
        self.account_id = account_id
        self.log_dir = log_dir
        self.cache_dir = cache_dir
        self.endpoint_environment = endpoint_environment
        self.local_concurrency = local_concurrency
        self.async_retry_delays = async_retry_delays
        self._destination = destination
        self.functions: dict[str, Function] = {}
        self.runtime_api = RuntimeAPI()
        self.api: Listener | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._python_runtime: Path | None = None
        self.billed: Counter[str] = Counter()  # function -> billed milliseconds
        self.report: Callable[[], dict[str, Any]] | None = None  # the whole cloud's stats, if set
        # Set by the cloud: close every WebSocket connection, holding new ones for N seconds.
        self.drop_websockets: Callable[[float], Awaitable[int]] | None = None
        # Set by the cloud (fault injection, the soak): the rest of the control API's faults.
        self.cloud_fault: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]] | None = None
        # Local only: an access token of a declared user that expired a minute ago (tests of 401).
        self.expired_token: Callable[[str], str | None] | None = None
        self.identities: iam.Identities | None = None  # functions' roles, checked on the Invoke API

    # -- set-up -------------------------------------------------------------------------------

    def add(self, spec: FunctionSpec) -> Function:
        reserved = RESERVED_KEYS.intersection(spec.environment)
        if reserved:
            raise ValueError(
                f"{spec.name}: Lambda reserves the environment keys {', '.join(sorted(reserved))}"
            )
        function = Function(self, spec)
        self.functions[spec.name] = function
        return function

    def python_runtime_dir(self) -> Path:
        if self._python_runtime is None:
            self._python_runtime = runtimes.python_runtime_dir(self.cache_dir)
        return self._python_runtime

    def process_environment(self, spec: FunctionSpec, runtime_port: int, log_stream: str) -> dict[str, str]:
        code = spec.code
        env = {
            "PATH": runtimes.environ_path(),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(code.task_root),
            "LAMBDA_RUNTIME_DIR": str(
                self.python_runtime_dir() if code.runtime.startswith("python") else code.task_root
            ),
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{code.runtime}",
            "AWS_LAMBDA_RUNTIME_API": f"{HOST}:{runtime_port}",
            "_HANDLER": code.handler,
            **spec.credentials,
            # No AWS configuration from this machine's home folder (profiles, endpoints, regions).
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            **self.endpoint_environment,
        }
        if code.runtime.startswith("nodejs"):
            env["NODE_PATH"] = str(code.task_root)
        if spec.log_format == "JSON":  # what Lambda sets for logging_config.log_format = JSON
            env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
            if spec.log_level:
                env["AWS_LAMBDA_LOG_LEVEL"] = spec.log_level
        env.update(spec.environment)
        return env

    async def start(self, port: int = 0) -> None:
        await self.runtime_api.start()
        self.api = await listen(invoke_api(self), port)

    async def stop(self) -> None:
        environments = [env for f in self.functions.values() for env in list(f.environments)]
        await asyncio.gather(*(env.stop() for env in environments), return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.api is not None:
            await self.api.close()
        await self.runtime_api.stop()

    def spawn(self, coroutine: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coroutine)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    async def warm(self) -> None:
        """Start one environment per function now (its init), so first requests are not cold."""

        async def one(function: Function) -> None:
            if function.limit < 1:
                return
            env = await function.acquire(throttle=False)
            await asyncio.wait({env.initialized}, timeout=INIT_LIMIT_SECONDS + function.spec.timeout)
            await function.release(env)

        await asyncio.gather(*(one(f) for f in self.functions.values()), return_exceptions=True)

    # -- look-ups -----------------------------------------------------------------------------

    def get(self, name: str) -> Function:
        """By name, ARN or partial ARN (`123456789012:function:name`), with optional `:$LATEST`."""
        match = _FUNCTION_NAME.fullmatch(name)
        function = self.functions.get(match.group(3)) if match else None
        if function is None or (match and match.group(4) not in (None, "$LATEST")):
            arn = (
                name
                if name.startswith("arn:")
                else f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}"
            )
            raise FunctionNotFound(f"Function not found: {arn}")
        return function

    async def send_destination(self, arn: str, record: dict[str, Any]) -> None:
        if self._destination is None:
            log.warning("no destination sender for %s", arn)
            return
        await self._destination(arn, record)

    def record_duration(self, function: Function, duration_ms: float) -> None:
        function.stats["duration_ms"] += int(duration_ms)

    def record_billed(self, function: Function, duration_ms: float) -> None:
        self.billed[function.spec.name] += max(1, int(duration_ms + 0.999))

    def log_bytes(self, name: str) -> int:
        """What a function has written to its log streams (CloudWatch Logs bills ingestion by size)."""
        folder = self.log_dir / name
        return sum(f.stat().st_size for f in folder.glob("*.log")) if folder.is_dir() else 0

    def stats(self) -> dict[str, Any]:
        return {
            name: {
                **dict(f.stats),
                "billed_ms": self.billed[name],
                "memory_size": f.spec.memory_size,
                "log_bytes": self.log_bytes(name),
                "environments": [env.pid for env in f.environments],
            }
            for name, f in sorted(self.functions.items())
        }


# --- the Invoke API --------------------------------------------------------------------------

# A function name as the Invoke API takes it: name, partial ARN or ARN, with optional qualifier.
_FUNCTION_NAME = re.compile(
    r"(?:arn:aws[a-z-]*:lambda:([a-z0-9-]+):)?(?:(\d{12}):)?(?:function:)?([A-Za-z0-9_-]+)"
    r"(?::(\$LATEST|[A-Za-z0-9_-]+))?"
)


def _function_arn(service: LambdaService, name: str, qualifier: str | None = None) -> str:
    """The ARN IAM authorizes a call on: qualified when the call names a version or alias (a policy
    on the unqualified ARN does not cover it, as on AWS)."""
    match = _FUNCTION_NAME.fullmatch(name)
    if match is None:
        return name
    region, account, function, named = match.groups()
    arn = f"arn:aws:lambda:{region or service.region}:{account or service.account_id}:function:{function}"
    qualifier = qualifier or named
    return f"{arn}:{qualifier}" if qualifier else arn


def _refused(service: LambdaService, request: web.Request, action: str, resource: str) -> web.Response | None:
    """Lambda's answer when the calling function's role does not allow the call; None when it does,
    or when the caller is not a function (the local cloud, tests)."""
    identities = service.identities
    principal = identities.principal(request.headers, request.query) if identities else None
    if identities is None or principal is None:
        return None
    denial = identities.authorize(principal, [(action, resource)])
    if denial is None:
        return None
    return aws_error(403, "AccessDeniedException", denial.message(), message_key="Message")


def invoke_api(service: LambdaService) -> web.Application:
    """POST /2015-03-31/functions/{FunctionName}/invocations, as boto3's `lambda` client calls it, and
    GetFunctionConfiguration;
    plus the local cloud's own /_localcloud/ endpoints (stats, fault injection: local only)."""
    app = web.Application(client_max_size=SYNC_PAYLOAD_LIMIT + 1024 * 1024)

    async def invoke(request: web.Request) -> web.Response:
        if "Authorization" not in request.headers:
            return aws_error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        name = request.match_info["name"]
        qualifier = request.query.get("Qualifier")
        # IAM decides before anything about the function is looked at (a missing one included).
        refused = _refused(service, request, "lambda:InvokeFunction", _function_arn(service, name, qualifier))
        if refused is not None:
            return refused
        try:
            function = service.get(f"{name}:{qualifier}" if qualifier else name)
        except FunctionNotFound as exc:
            return aws_error(
                404, "ResourceNotFoundException", str(exc), body={"Type": "User"}, message_key="Message"
            )
        kind = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        payload = await request.read()
        limit = ASYNC_PAYLOAD_LIMIT if kind == "Event" else SYNC_PAYLOAD_LIMIT
        if len(payload) > limit:
            operation = "InvokeAsync" if kind == "Event" else "InvokeFunction"
            return aws_error(
                413,
                "RequestTooLargeException",
                f"Request must be smaller than {limit} bytes for the {operation} operation",
                body={"Type": "User"},
            )
        if not payload.strip():
            payload = b"{}"
        try:
            json.loads(payload)
        except ValueError as exc:
            return aws_error(
                400,
                "InvalidRequestContentException",
                f"Could not parse request body into json: {exc}",
                body={"Type": "User"},
            )
        if kind == "DryRun":
            return web.Response(status=204, headers={"x-amzn-RequestId": str(uuid.uuid4())})
        if kind == "Event":
            request_id = function.invoke_async(payload)
            return web.Response(status=202, headers={"x-amzn-RequestId": request_id})
        if kind != "RequestResponse":
            return aws_error(
                400,
                "InvalidParameterValueException",
                f"1 validation error detected: Value '{kind}' at 'invocationType' failed to satisfy "
                "constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]",
                body={"Type": "User"},
            )
        client_context = request.headers.get("X-Amz-Client-Context")
        if client_context:
            with contextlib.suppress(ValueError):
                client_context = base64.b64decode(client_context).decode()
        tail = request.headers.get("X-Amz-Log-Type") == "Tail"
        try:
            result = await function.invoke(payload, client_context=client_context, log_tail=tail)
        except Throttled:
            return aws_error(
                429,
                "TooManyRequestsException",
                "Rate Exceeded.",
                body={"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "Type": "User"},
            )
        headers = {"x-amzn-RequestId": result.request_id, "X-Amz-Executed-Version": "$LATEST"}
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        if tail:
            headers["X-Amz-Log-Result"] = base64.b64encode(result.log_tail).decode()
        return web.Response(status=200, body=result.payload, headers=headers, content_type="application/json")

    async def configuration(request: web.Request) -> web.Response:
        """GetFunctionConfiguration: what clients and tests read back (timeout, memory, ...)."""
        if "Authorization" not in request.headers:
            return aws_error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        name = request.match_info["name"]
        refused = _refused(service, request, "lambda:GetFunctionConfiguration", _function_arn(service, name))
        if refused is not None:
            return refused
        try:
            function = service.get(name)
        except FunctionNotFound as exc:
            return aws_error(
                404, "ResourceNotFoundException", str(exc), body={"Type": "User"}, message_key="Message"
            )
        spec = function.spec
        body: dict[str, Any] = {
            "FunctionName": spec.name,
            "FunctionArn": spec.arn,
            "Timeout": int(spec.timeout),
            "MemorySize": spec.memory_size,
            "Version": "$LATEST",
            "Environment": {"Variables": spec.environment},
            "PackageType": spec.package_type,
            "Architectures": ["x86_64"],
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "LoggingConfig": {"LogFormat": spec.log_format, "LogGroup": f"/aws/lambda/{spec.name}"},
        }
        if spec.package_type == "Zip":
            body.update(Runtime=spec.code.runtime, Handler=spec.code.handler)
        return web.json_response(body, headers={"x-amzn-RequestId": str(uuid.uuid4())})

    async def stats(request: web.Request) -> web.Response:
        report = service.report() if service.report is not None else {"functions": service.stats()}
        return web.json_response(report)

    async def fault(request: web.Request) -> web.Response:
        # Local-cloud-only fault injection (tests of §4): arm `count` crashes of a function's
        # process in the middle of its next invocations.
        body = await request.json()
        if body.get("fault") != "crash":
            if service.cloud_fault is None:
                return web.json_response({"error": "no such fault here"}, status=404)
            try:
                return web.json_response(await service.cloud_fault(body))
            except (LookupError, ValueError) as exc:
                return web.json_response({"error": str(exc)}, status=400)
        try:
            function = service.get(str(body.get("function")))
        except FunctionNotFound as exc:
            return web.json_response({"error": str(exc)}, status=404)
        function.faults.extend(["crash"] * int(body.get("count", 1)))
        return web.json_response({"function": function.spec.name, "armed": list(function.faults)})

    async def websocket_disconnect(request: web.Request) -> web.Response:
        # Local-cloud-only: the gateway drops every WebSocket connection (clients must reconnect);
        # {"hold_seconds": N} keeps new handshakes waiting that long.
        body = await request.json() if request.can_read_body else {}
        hold = body.get("hold_seconds", 0) if isinstance(body, dict) else None
        if isinstance(hold, bool) or not isinstance(hold, int | float) or not 0 <= hold <= 3600:
            return web.json_response({"error": "hold_seconds must be a number from 0 to 3600"}, status=400)
        if service.drop_websockets is None:
            return web.json_response({"error": "no WebSocket API runs here"}, status=404)
        return web.json_response({"closed": await service.drop_websockets(float(hold)), "hold_seconds": hold})

    async def expired_token(request: web.Request) -> web.Response:
        # Local-cloud-only: a correctly signed access token whose exp has passed.
        body = await request.json() if request.can_read_body else {}
        user = body.get("user") if isinstance(body, dict) else None
        token = service.expired_token(str(user)) if service.expired_token is not None else None
        if token is None:
            return web.json_response({"error": f"no local user {user!r} in a user pool here"}, status=404)
        return web.json_response({"access_token": token})

    async def unknown(request: web.Request) -> web.Response:
        return aws_error(404, "UnknownOperationException", None, message_key="Message")

    app.router.add_post("/2015-03-31/functions/{name}/invocations", invoke)
    app.router.add_get("/2015-03-31/functions/{name}/configuration", configuration)
    app.router.add_get("/_localcloud/stats", stats)
    app.router.add_post("/_localcloud/faults", fault)
    app.router.add_post("/_localcloud/websocket/disconnect", websocket_disconnect)
    app.router.add_post("/_localcloud/cognito/expired-token", expired_token)
    app.router.add_route("*", "/{tail:.*}", unknown)
    return app
