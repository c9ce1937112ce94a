"""Lambda: functions in worker processes behind the Runtime API, driven through boto3's `lambda`
client exactly as the engine drives them (Invoke, RequestResponse and Event)."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from local_cloud.harness import Loop, eventually
from local_cloud.stacks import NODE_ECHO, PY_ECHO
from localcloud import runtimes
from localcloud.lambda_ import AsyncConfig, FunctionSpec, LambdaService

# A handler with Lambda's third (callback) parameter: up to nodejs22.x only.
NODE_CALLBACK = "exports.handler = (event, context, callback) => callback(null, { called_back: event.n });\n"

REGION, ACCOUNT = "eu-central-1", "123456789012"
FAILURES = f"arn:aws:sqs:{REGION}:{ACCOUNT}:failures"
SUCCESSES = f"arn:aws:sqs:{REGION}:{ACCOUNT}:successes"


def arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


class Harness:
    def __init__(self, aio: Loop, root: Path) -> None:
        self.aio = aio
        self.root = root
        self.destinations: list[tuple[str, dict[str, Any]]] = []

        async def send(target: str, record: dict[str, Any]) -> None:
            self.destinations.append((target, record))

        self.service = LambdaService(
            region=REGION,
            account_id=ACCOUNT,
            log_dir=root / "logs",
            cache_dir=root / "cache",
            endpoint_environment={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"},
            async_retry_delays=(0.1, 0.1),
            destination=send,
        )

    def add(
        self,
        name: str,
        files: dict[str, str],
        runtime: str = "python3.12",
        handler: str = "app.handler",
        **extra: Any,
    ) -> None:
        folder = self.root / "code" / name
        folder.mkdir(parents=True)
        for filename, text in files.items():
            (folder / filename).write_text(text)
        spec = FunctionSpec(
            name=name,
            arn=arn(name),
            code=runtimes.Code(folder, runtime, handler),
            environment=extra.pop("environment", {"GREETING": "hello"}),
            timeout=extra.pop("timeout", 1.0),
            **extra,
        )
        self.aio.call(lambda: self.service.add(spec))

    def client(self, **config: Any) -> Any:
        assert self.service.api is not None
        return boto3.client(
            "lambda",
            endpoint_url=self.service.api.url,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=30, **config),
        )


@pytest.fixture(scope="module")
def lam(aio: Loop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    harness = Harness(aio, tmp_path_factory.mktemp("lambda"))
    harness.add("py", {"app.py": PY_ECHO})
    harness.add("node", {"index.js": NODE_ECHO}, runtime="nodejs20.x", handler="index.handler")
    harness.add("reserved", {"app.py": PY_ECHO}, reserved_concurrency=1, timeout=5.0)
    harness.add("throttled", {"app.py": PY_ECHO}, reserved_concurrency=0)
    harness.add("broken", {"app.py": "import no_such_module\n"})
    harness.add(
        "nohandler",
        {"index.js": "exports.other = async () => 1;"},
        runtime="nodejs20.x",
        handler="index.handler",
    )
    harness.add("callback22", {"index.js": NODE_CALLBACK}, runtime="nodejs22.x", handler="index.handler")
    harness.add("callback24", {"index.js": NODE_CALLBACK}, runtime="nodejs24.x", handler="index.handler")
    harness.add("async", {"app.py": PY_ECHO}, async_config=AsyncConfig(2, 3600, FAILURES, SUCCESSES))
    harness.add("async0", {"app.py": PY_ECHO}, async_config=AsyncConfig(0, 3600, FAILURES, None))
    aio.run(harness.service.start())
    yield harness
    aio.run(harness.service.stop())


def invoke(lam: Harness, name: str, event: Any, **kwargs: Any) -> tuple[dict[str, Any], Any]:
    response = lam.client().invoke(FunctionName=name, Payload=json.dumps(event).encode(), **kwargs)
    body = response["Payload"].read()
    return response, json.loads(body) if body else None


class TestRequestResponse:
    @pytest.mark.parametrize("name", ["py", "node"])
    def test_returns_the_handlers_result(self, lam: Harness, name: str) -> None:
        response, body = invoke(lam, name, {"hello": "world"})
        assert response["StatusCode"] == 200
        assert "FunctionError" not in response
        assert response["ExecutedVersion"] == "$LATEST"
        assert body["event"] == {"hello": "world"}

    def test_python_sees_exactly_its_environment(self, lam: Harness) -> None:
        os.environ["LOCALCLOUD_TEST_LEAK"] = "must not reach functions"
        try:
            _, body = invoke(lam, "py", {})
        finally:
            del os.environ["LOCALCLOUD_TEST_LEAK"]
        env = body["environ"]
        assert env["GREETING"] == "hello"
        assert env["AWS_LAMBDA_FUNCTION_NAME"] == "py"
        assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == REGION
        assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
        assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9"
        assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/py"
        assert "LOCALCLOUD_TEST_LEAK" not in env
        assert body["function_name"] == "py"
        assert body["arn"] == arn("py")
        assert 0 < body["remaining_ms"] <= 1000

    def test_node_context_and_environment(self, lam: Harness) -> None:
        _, body = invoke(lam, "node", {"n": 1})
        assert body["name"] == "node"
        assert body["arn"] == arn("node")
        assert body["greeting"] == "hello"
        assert 0 < body["remaining"] <= 1000

    def test_python_runs_without_this_machines_site_packages(self, lam: Harness) -> None:
        # Only the runtime's own packages (awslambdaric, boto3) are importable, as on Lambda.
        _, body = invoke(lam, "py", {})
        paths = body["environ"].get("PYTHONPATH", "")
        assert "site-packages" not in paths

    @pytest.mark.parametrize(
        ("name", "error_type", "message_key"),
        [("py", "RuntimeError", "errorMessage"), ("node", "Failure", "errorMessage")],
    )
    def test_a_handler_error_is_a_function_error(
        self, lam: Harness, name: str, error_type: str, message_key: str
    ) -> None:
        response, body = invoke(lam, name, {"fail": "it broke"})
        assert response["StatusCode"] == 200
        assert response["FunctionError"] == "Unhandled"
        assert body["errorType"] == error_type
        assert body[message_key] == "it broke"

    def test_log_tail_has_the_invocations_report(self, lam: Harness) -> None:
        response, _ = invoke(lam, "py", {}, LogType="Tail")
        tail = base64.b64decode(response["LogResult"]).decode()
        assert "START RequestId:" in tail and "REPORT RequestId:" in tail and "Billed Duration:" in tail

    def test_get_function_configuration(self, lam: Harness) -> None:
        configuration = lam.client().get_function_configuration(FunctionName="node")
        assert configuration["FunctionArn"] == arn("node")
        assert configuration["Runtime"] == "nodejs20.x" and configuration["Handler"] == "index.handler"
        assert configuration["Timeout"] == 1
        assert configuration["Environment"]["Variables"] == {"GREETING": "hello"}

    def test_dry_run(self, lam: Harness) -> None:
        response = lam.client().invoke(FunctionName="py", InvocationType="DryRun")
        assert response["StatusCode"] == 204


class TestErrorsAsLambdaAnswers:
    @pytest.mark.parametrize(
        "name", ["missing", "py:v2", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:missing"]
    )
    def test_unknown_function(self, lam: Harness, name: str) -> None:
        client = lam.client()
        with pytest.raises(client.exceptions.ResourceNotFoundException, match="Function not found"):
            client.invoke(FunctionName=name)

    def test_a_name_arn_and_partial_arn_all_reach_the_function(self, lam: Harness) -> None:
        for name in ("py", arn("py"), f"{ACCOUNT}:function:py", "py:$LATEST"):
            response, _ = invoke(lam, name, {})
            assert response["StatusCode"] == 200

    def test_payload_that_is_not_json(self, lam: Harness) -> None:
        client = lam.client()
        with pytest.raises(
            client.exceptions.InvalidRequestContentException, match="Could not parse request body"
        ):
            client.invoke(FunctionName="py", Payload=b"{not json")

    def test_async_payload_above_256_kb(self, lam: Harness) -> None:
        client = lam.client()
        with pytest.raises(client.exceptions.RequestTooLargeException):
            client.invoke(
                FunctionName="py", InvocationType="Event", Payload=json.dumps({"x": "y" * 300_000}).encode()
            )

    def test_reserved_concurrency_zero_throttles_every_call(self, lam: Harness) -> None:
        client = lam.client()
        with pytest.raises(client.exceptions.TooManyRequestsException) as caught:
            client.invoke(FunctionName="throttled", Payload=b"{}")
        assert caught.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"

    def test_reserved_concurrency_is_a_limit(self, lam: Harness) -> None:
        client = lam.client()
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            slow = pool.submit(
                client.invoke, FunctionName="reserved", Payload=json.dumps({"sleep": 1.5}).encode()
            )
            eventually(
                lambda: (
                    lam.service.functions["reserved"].stats["invocations"] >= 1
                    and any(env.current for env in lam.service.functions["reserved"].environments)
                )
            )
            with pytest.raises(client.exceptions.TooManyRequestsException):
                client.invoke(FunctionName="reserved", Payload=b"{}")
            assert slow.result()["StatusCode"] == 200
        assert invoke(lam, "reserved", {})[0]["StatusCode"] == 200  # the slot is free again


class TestFaults:
    @pytest.mark.parametrize("name", ["py", "node"])
    def test_a_timeout_kills_the_process_and_the_next_call_gets_a_new_one(
        self, lam: Harness, name: str
    ) -> None:
        pid_before = (
            lam.service.functions[name].environments[0].pid
            if lam.service.functions[name].environments
            else None
        )
        response, body = invoke(lam, name, {"sleep": 3})
        assert response["FunctionError"] == "Unhandled"
        assert body["errorType"] == "Sandbox.Timedout"
        assert body["errorMessage"].endswith("Task timed out after 1.00 seconds")
        assert body["errorMessage"].startswith(f"RequestId: {response['ResponseMetadata']['RequestId']}")
        response, _ = invoke(lam, name, {})
        assert "FunctionError" not in response
        pids = [env.pid for env in lam.service.functions[name].environments]
        assert pid_before not in pids

    def test_a_process_that_exits_fails_the_invocation_and_is_replaced(self, lam: Harness) -> None:
        _, first = invoke(lam, "py", {})
        response, body = invoke(lam, "py", {"exit": 3})
        assert response["FunctionError"] == "Unhandled"
        assert body["errorType"] == "Runtime.ExitError"
        assert body["errorMessage"].endswith("Runtime exited with error: exit status 3")
        _, after = invoke(lam, "py", {})
        assert after["pid"] != first["pid"]

    def test_an_injected_crash_kills_the_process_mid_invocation(self, lam: Harness) -> None:
        lam.aio.call(lambda: lam.service.functions["node"].faults.append("crash"))
        _, body = invoke(lam, "node", {"sleep": 0.5})
        assert body["errorType"] == "Runtime.ExitError"
        assert body["errorMessage"].endswith("Runtime exited with error: signal: killed")
        assert invoke(lam, "node", {})[0]["StatusCode"] == 200

    @pytest.mark.parametrize(
        ("name", "error_type", "message"),
        [
            (
                "broken",
                "Runtime.ImportModuleError",
                "Unable to import module 'app': No module named 'no_such_module'",
            ),
            ("nohandler", "Runtime.HandlerNotFound", "index.handler is undefined or not exported"),
            (
                "callback24",
                "Runtime.CallbackHandlerDeprecated",
                "ERROR: AWS Lambda has removed support for callback-based function handlers starting with "
                "Node.js 24. You need to modify this function to use a supported handler signature to use "
                "Node.js 24 or later. For more information see "
                "https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.",
            ),
        ],
    )
    def test_an_init_error_fails_the_invocation_with_the_runtimes_error(
        self, lam: Harness, name: str, error_type: str, message: str
    ) -> None:
        response, body = invoke(lam, name, {})
        assert response["FunctionError"] == "Unhandled"
        assert body["errorType"] == error_type
        assert body["errorMessage"] == message


def test_a_callback_handler_still_runs_on_nodejs22(lam: Harness) -> None:
    response, body = invoke(lam, "callback22", {"n": 2})
    assert "FunctionError" not in response
    assert body == {"called_back": 2}


class TestAsynchronous:
    def test_event_invocations_are_accepted_and_run(self, lam: Harness) -> None:
        response = lam.client().invoke(FunctionName="async", InvocationType="Event", Payload=b'{"ok": 1}')
        assert response["StatusCode"] == 202
        record = eventually(
            lambda: next(
                r for t, r in lam.destinations if t == SUCCESSES and r["requestPayload"] == {"ok": 1}
            )
        )
        assert record["requestContext"]["condition"] == "Success"
        assert record["responsePayload"]["event"] == {"ok": 1}

    def test_failures_are_retried_twice_then_sent_to_the_on_failure_destination(self, lam: Harness) -> None:
        payload = {"fail": "always", "id": "retry-twice"}
        lam.client().invoke(
            FunctionName="async", InvocationType="Event", Payload=json.dumps(payload).encode()
        )
        record = eventually(
            lambda: next(r for t, r in lam.destinations if t == FAILURES and r["requestPayload"] == payload)
        )
        assert record["version"] == "1.0"
        assert record["requestContext"]["condition"] == "RetriesExhausted"
        assert record["requestContext"]["approximateInvokeCount"] == 3
        assert record["requestContext"]["functionArn"] == arn("async") + ":$LATEST"
        assert record["responseContext"] == {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        }
        assert record["responsePayload"]["errorMessage"] == "always"

    def test_maximum_retry_attempts_zero_means_one_attempt(self, lam: Harness) -> None:
        payload = {"fail": "once", "id": "no-retry"}
        lam.client().invoke(
            FunctionName="async0", InvocationType="Event", Payload=json.dumps(payload).encode()
        )
        record = eventually(lambda: next(r for t, r in lam.destinations if r["requestPayload"] == payload))
        assert record["requestContext"]["approximateInvokeCount"] == 1
