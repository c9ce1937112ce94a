"""Dispatching a READY task attempt to the worker: now (async invoke) or after its backoff (SQS delay)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from engine.flow import Dispatch

MAX_SQS_DELAY_SECONDS = 900


def worker_event(d: Dispatch) -> dict[str, Any]:
    return {"workflow_id": d.workflow_id, "task_id": d.task_id, "attempt": d.attempt}


class Dispatcher:
    def __init__(
        self,
        lambda_client: Any,
        sqs_client: Any,
        worker_function: str,
        queue_url: str,
        clock: Callable[[], float],
    ) -> None:
        self.lambda_client = lambda_client
        self.sqs_client = sqs_client
        self.worker_function = worker_function
        self.queue_url = queue_url
        self.clock = clock

    def dispatch(self, d: Dispatch) -> str:
        """Send one attempt on its way; duplicates are harmless (exactly one worker claims it)."""
        body = json.dumps(worker_event(d))
        # Whole seconds (SQS delays are), rounded up: never before the backoff ends.
        delay = math.ceil(d.not_before - self.clock()) if d.not_before is not None else 0
        if delay > 0:
            self.sqs_client.send_message(
                QueueUrl=self.queue_url, MessageBody=body, DelaySeconds=min(delay, MAX_SQS_DELAY_SECONDS)
            )
            return "queued"
        self.lambda_client.invoke(
            FunctionName=self.worker_function, InvocationType="Event", Payload=body.encode()
        )
        return "invoked"
