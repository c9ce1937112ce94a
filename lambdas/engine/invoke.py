"""Running one claimed attempt: the task function's payload, the synchronous invoke, large outputs.

An attempt's deadline is its task timeout, enforced here: the invoke's read timeout is that timeout
plus Lambda's init phase (a task function never answers later: Lambda stops it at its own timeout,
which is at least the attempt's), and the SDK never retries the invoke (a retry would run the
attempt twice, and outlast the lease).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from engine.config import TaskFunction
from engine.flow import INIT_ALLOWANCE_SECONDS
from engine.schemas import TooDeep, load_json_bounded
from engine.service import Attempt, Outcome
from engine.store import dump_json

# Outputs above this many bytes (as JSON) go to the artifacts bucket; the result item keeps a pointer.
INLINE_OUTPUT_LIMIT = 64 * 1024


def read_timeout(timeout_seconds: int) -> int:
    return timeout_seconds + INIT_ALLOWANCE_SECONDS


class TaskRunner:
    def __init__(
        self,
        lambda_client_for: Callable[[int], Any],
        s3_client: Any,
        bucket: str,
        functions: Mapping[str, TaskFunction],
        kms_key_arn: str,
    ) -> None:
        self.lambda_client_for = lambda_client_for  # read timeout (s) -> a Lambda client without retries
        self.s3_client = s3_client
        self.bucket = bucket
        self.functions = functions
        self.kms_key_arn = kms_key_arn

    def payload(self, attempt: Attempt) -> dict[str, Any]:
        workflow_input = attempt.workflow_input if isinstance(attempt.workflow_input, dict) else {}
        task_input = attempt.task_input if isinstance(attempt.task_input, dict) else {}
        return {
            "workflow_id": attempt.workflow_id,
            "task_id": attempt.task_id,
            "attempt": attempt.attempt,
            "idempotency_key": attempt.idempotency_key,
            # The task definition's own input overrides the workflow's on the same key.
            "input": {**workflow_input, **task_input},
            "dependencies": {tid: self._output(out, ref) for tid, (out, ref) in attempt.dependencies.items()},
        }

    def run(self, attempt: Attempt) -> Outcome:
        """Invoke the task function synchronously; never raises for the task's own failure."""
        function = self.functions.get(attempt.function)
        if function is None:
            return Outcome(
                ok=False,
                error={"type": "UnknownFunction", "message": f"{attempt.function} is not configured"},
            )
        started = time.monotonic()
        try:
            payload = json.dumps(self.payload(attempt)).encode()
            client = self.lambda_client_for(read_timeout(attempt.timeout_seconds))
            response = client.invoke(
                FunctionName=function.function_name, InvocationType="RequestResponse", Payload=payload
            )
            body = response["Payload"].read()
        except (ClientError, BotoCoreError) as exc:
            return Outcome(
                ok=False, error={"type": type(exc).__name__, "message": str(exc)}, duration_ms=_ms(started)
            )
        duration = _ms(started)
        if response.get("FunctionError"):
            return Outcome(ok=False, error=_function_error(body), duration_ms=duration)
        try:
            output = load_json_bounded(body.decode()) if body else None
            text = dump_json(output)
        except TooDeep as too_deep:
            return Outcome(
                ok=False,
                error={"type": "InvalidOutput", "message": f"task output is {too_deep}"},
                duration_ms=duration,
            )
        except ValueError:
            return Outcome(
                ok=False,
                error={"type": "InvalidOutput", "message": "task returned non-JSON"},
                duration_ms=duration,
            )
        if len(text.encode()) <= INLINE_OUTPUT_LIMIT:
            return Outcome(ok=True, output=output, duration_ms=duration)
        key = f"outputs/{attempt.workflow_id}/{attempt.task_id}/{attempt.attempt}.json"
        self.s3_client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=text.encode(),
            ContentType="application/json",
            # Name the project key: "aws:kms" alone would use the AWS managed key aws/s3 (and the
            # bucket policy refuses that).
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=self.kms_key_arn,
        )
        return Outcome(ok=True, output_ref=f"s3://{self.bucket}/{key}", duration_ms=duration)

    def _output(self, output: Any, output_ref: str | None) -> Any:
        if not output_ref:
            return output
        bucket, _, key = output_ref.removeprefix("s3://").partition("/")
        body = self.s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return json.loads(body)


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 3)


def _function_error(body: bytes) -> dict[str, str]:
    """Lambda's error payload: {"errorType", "errorMessage", ...}."""
    try:
        data = json.loads(body)
    except ValueError:
        return {"type": "Unhandled", "message": body.decode(errors="replace")}
    if not isinstance(data, dict):
        return {"type": "Unhandled", "message": str(data)}
    return {"type": str(data.get("errorType", "Unhandled")), "message": str(data.get("errorMessage", ""))}
