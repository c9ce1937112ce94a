"""Reaper (EventBridge schedule, every minute): expired leases and READY tasks nobody claimed.

RUNNING tasks whose lease expired become a failed attempt (retried after backoff, or FAILED); READY
tasks whose dispatch was lost are dispatched again. Both go through the sparse `by_due` index.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from engine import runtime
from engine.dispatch import Dispatcher
from engine.observability import logger, metrics
from engine.service import Engine
from engine.store import Store


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = runtime.settings("reaper")
    clients = runtime.clients()
    engine = Engine(Store(clients.dynamodb, settings.table_name), settings, runtime.clock)
    dispatcher = Dispatcher(
        clients.lambda_, clients.sqs, settings.worker_function_name, settings.retry_queue_url, runtime.clock
    )
    recorded, lost = engine.reap()
    retried = len([r for r in recorded if r.retried])
    if retried:
        metrics.add_metric(name="TaskRetries", unit=MetricUnit.Count, value=retried)
    for dispatch in lost:
        dispatcher.dispatch(dispatch)
    # The rescheduled tasks are dispatched by the orchestrator when their image arrives.
    summary = {"expired": len(recorded), "retried": retried, "redispatched": len(lost)}
    logger.info("reaped", extra=summary)
    return summary
