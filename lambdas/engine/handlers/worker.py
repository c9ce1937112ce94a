"""Worker: claims one READY task attempt, runs its function synchronously, records the result once.

Triggered by an async invoke (`{"workflow_id", "task_id", "attempt"}`) or by SQS messages from the
retry queue carrying the same body. A duplicate dispatch loses the claim and does nothing.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine import runtime
from engine.invoke import TaskRunner
from engine.observability import logger, metrics
from engine.service import Engine
from engine.store import Store

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class WorkerEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    workflow_id: str = Field(min_length=1)
    task_id: str = Field(min_length=1)
    attempt: int = Field(ge=1)


def run_attempt(request: WorkerEvent) -> str:
    """Claim, invoke, record. Returns what happened (for logs and tests)."""
    settings = runtime.settings("worker")
    clients = runtime.clients()
    engine = Engine(Store(clients.dynamodb, settings.table_name), settings, runtime.clock)
    logger.set_correlation_id(request.workflow_id)
    log = {"task_id": request.task_id, "attempt": request.attempt}
    claim = engine.claim(request.workflow_id, request.task_id, request.attempt)
    if claim is None:
        logger.info("not claimed: duplicate, late or cancelled dispatch", extra=log)
        return "not_claimed"
    runner = TaskRunner(
        clients.lambda_,
        clients.s3,
        settings.artifacts_bucket,
        settings.task_functions,
        settings.artifacts_kms_key_arn,
    )
    outcome = runner.run(claim)
    recorded = engine.record(claim, outcome)
    metrics.add_metric(name="TaskDuration", unit=MetricUnit.Milliseconds, value=outcome.duration_ms)
    if recorded.retried:
        metrics.add_metric(name="TaskRetries", unit=MetricUnit.Count, value=1)
    if recorded.status is None:
        logger.warning("result discarded: the attempt was cancelled or its lease taken over", extra=log)
        return "discarded"
    logger.info("recorded", extra={**log, "status": recorded.status, "error": outcome.error})
    return str(recorded.status)


def _sqs_record(record: SQSRecord) -> None:
    run_attempt(WorkerEvent.model_validate(json.loads(record.body)))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse | dict[str, str]:
    if "Records" in event:
        return process_partial_response(
            event=event, record_handler=_sqs_record, processor=processor, context=context
        )
    try:
        request = WorkerEvent.model_validate(event)
    except ValidationError as exc:
        # Retrying a malformed event cannot help: log it and finish (async invoke would retry a raise).
        logger.error("malformed worker event", extra={"errors": exc.errors(include_url=False)})
        return {"result": "invalid_event"}
    return {"result": run_attempt(request)}
