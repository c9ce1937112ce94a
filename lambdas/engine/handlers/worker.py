"""Worker: claims one READY task attempt, runs its function synchronously, records the result once.

Triggered by an async invoke (`{"workflow_id", "task_id", "attempt"}`) or by SQS messages from the
retry queue carrying the same body. A duplicate dispatch loses the claim and does nothing.

With writer dispatch the worker also dispatches what its result made READY, and keeps up to
`WORKER_PARALLEL_TASKS` of those tasks for itself (claimed in the same write), each only when its
remaining time covers that task's whole lease: a chain runs in one invocation without a hop per
level, and a fan-out's tasks run in it at once (threads), each result recorded as it arrives.
A crash ends every attempt it held by its lease, as one attempt's worker crash always did.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine import runtime
from engine.dispatch import Dispatcher
from engine.flow import LEASE_MARGIN_SECONDS
from engine.invoke import TaskRunner
from engine.observability import logger, metrics
from engine.service import Attempt, Engine, Outcome, Recorded
from engine.store import Store

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
_context: list[LambdaContext] = []  # the invocation's, for the attempts of an SQS batch
# Recording a result the worker holds is retried on transient errors until its lease is about to end
# (after that the sweep records the result item the worker wrote).
RECORD_RETRY_SECONDS = LEASE_MARGIN_SECONDS - 5


class WorkerEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    workflow_id: str = Field(min_length=1)
    task_id: str = Field(min_length=1)
    attempt: int = Field(ge=1)


def _engine() -> Engine:
    settings = runtime.settings("worker")
    store = Store(runtime.clients().dynamodb, settings.table_name, ttl_days=settings.workflow_ttl_days)
    return Engine(store, settings, runtime.clock)


def _record(engine: Engine, attempt: Attempt, outcome: Outcome, **kwargs: Any) -> Recorded:
    """The result is held here until it is recorded: transient failures are retried, bounded."""
    deadline = time.monotonic() + RECORD_RETRY_SECONDS
    pause = 0.2
    while True:
        try:
            return engine.record(attempt, outcome, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            if time.monotonic() + pause > deadline:
                raise
            logger.warning("recording the result failed; trying again", extra={"error": str(exc)})
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def run_attempt(request: WorkerEvent, context: LambdaContext | None = None) -> str:
    """Claim, invoke, record (and, with writer dispatch, go on with the dependents kept, up to
    `worker_parallel_tasks` at once). Returns what happened to the first attempt (for logs and tests)."""
    settings = runtime.settings("worker")
    clients = runtime.clients()
    engine = _engine()
    logger.set_correlation_id(request.workflow_id)
    log = {"task_id": request.task_id, "attempt": request.attempt}
    attempt = engine.claim(request.workflow_id, request.task_id, request.attempt)
    if attempt is None:
        logger.info("not claimed: duplicate, late or cancelled dispatch", extra=log)
        return "not_claimed"
    runner = TaskRunner(
        clients.task_client,
        clients.s3,
        settings.artifacts_bucket,
        settings.task_functions,
        settings.artifacts_kms_key_arn,
    )
    dispatcher = Dispatcher(
        clients.lambda_, clients.sqs, settings.worker_function_name, settings.retry_queue_url, runtime.clock
    )

    def can_keep(timeout: int) -> bool:
        # Keep a dependent only if this invocation outlives its whole lease.
        if context is None:
            return False
        return bool(context.get_remaining_time_in_millis() > (timeout + LEASE_MARGIN_SECONDS + 10) * 1000)

    parallel = settings.worker_parallel_tasks if settings.dispatch_mode == "writer" else 1
    first: str | None = None
    known: dict[str, tuple[Any, str | None]] = {}
    failure: Exception | None = None
    # The task invocations run in threads (boto3 clients are thread-safe); claims and results are
    # written from this thread only, one conditional write each, as each result arrives.
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="task") as pool:
        running: dict[Future[Outcome], Attempt] = {pool.submit(runner.run, attempt): attempt}
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                error = future.exception()
                if error is not None and not isinstance(error, Exception):
                    raise error  # the process is ending: what runs ends by its leases, as in any crash
            for future in done:
                current = running.pop(future)
                try:
                    outcome = future.result()
                    room = parallel - len(running)
                    recorded = _record(engine, current, outcome, can_keep=can_keep, known=known, room=room)
                except Exception as exc:
                    # This attempt ends by its lease (the sweep re-runs it); its siblings go on.
                    logger.exception(
                        "attempt not recorded", extra={"task_id": current.task_id, "attempt": current.attempt}
                    )
                    failure = failure or exc
                    continue
                status = _report(current, outcome, recorded, dispatcher, known)
                first = first or status
                for kept in recorded.claimed:
                    running[pool.submit(runner.run, kept)] = kept
    if failure is not None:
        raise failure  # the invocation fails as it did before (an async invoke's retry finds no claim)
    return first or "not_claimed"


def _report(
    current: Attempt,
    outcome: Outcome,
    recorded: Recorded,
    dispatcher: Dispatcher,
    known: dict[str, tuple[Any, str | None]],
) -> str:
    """Dispatch what the result made READY and was not kept; metrics and the log line."""
    if recorded.status is not None and outcome.ok:
        known[current.task_id] = (outcome.output, outcome.output_ref)
    metrics.add_metric(name="TaskDuration", unit=MetricUnit.Milliseconds, value=outcome.duration_ms)
    if recorded.retried:
        metrics.add_metric(name="TaskRetries", unit=MetricUnit.Count, value=1)
    if recorded.finished:
        name = "WorkflowsSucceeded" if recorded.finished == "SUCCESS" else "WorkflowsFailed"
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    for dispatch in recorded.dispatches:
        dispatcher.dispatch(dispatch)
    status = "discarded" if recorded.status is None else str(recorded.status)
    extra = {"task_id": current.task_id, "attempt": current.attempt, "status": status}
    if recorded.status is None:
        logger.warning("result discarded: the attempt was cancelled or its lease taken over", extra=extra)
    else:
        logger.info(
            "recorded",
            extra={**extra, "error": outcome.error, "kept": [a.task_id for a in recorded.claimed]},
        )
    return status


def _sqs_record(record: SQSRecord) -> None:
    run_attempt(WorkerEvent.model_validate(json.loads(record.body)), _context[-1] if _context else None)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse | dict[str, str]:
    if "Records" in event:
        _context[:] = [context]
        return process_partial_response(
            event=event, record_handler=_sqs_record, processor=processor, context=context
        )
    try:
        request = WorkerEvent.model_validate(event)
    except ValidationError as exc:
        # Retrying a malformed event cannot help: log it and finish (async invoke would retry a raise).
        logger.error("malformed worker event", extra={"errors": exc.errors(include_url=False)})
        return {"result": "invalid_event"}
    return {"result": run_attempt(request, context)}
