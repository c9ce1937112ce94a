"""Reaper (EventBridge schedule, every minute): the sweep that leaves nothing stranded.

Every unfinished workflow that has not moved within the horizon (SWEEP_HORIZON_SECONDS) is reconciled
with the engine's own decisions: RUNNING tasks whose lease expired become a failed attempt (or the
result their worker left), READY tasks past their dispatch deadline are dispatched again, and a
decision nobody took (a stream batch given up on) is taken. The status index's PENDING and RUNNING
shards are read in parallel.
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

SPARE_SECONDS = 15


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = runtime.settings("reaper")
    clients = runtime.clients()
    store = Store(clients.dynamodb, settings.table_name, ttl_days=settings.workflow_ttl_days)
    engine = Engine(store, settings, runtime.clock)
    dispatcher = Dispatcher(
        clients.lambda_, clients.sqs, settings.worker_function_name, settings.retry_queue_url, runtime.clock
    )
    # Leave time to dispatch and answer; what is left over is swept by the next run.
    deadline = runtime.clock() + max(1.0, context.get_remaining_time_in_millis() / 1000 - SPARE_SECONDS)
    swept = engine.sweep(settings.sweep_horizon_seconds, deadline)
    if swept.retried:
        metrics.add_metric(name="TaskRetries", unit=MetricUnit.Count, value=swept.retried)
    for dispatch in swept.dispatches:
        dispatcher.dispatch(dispatch)
    summary = {
        "examined": swept.examined,
        "expired": swept.expired,
        "retried": swept.retried,
        "redispatched": swept.redispatched,
        "reconciled": swept.reconciled,
    }
    logger.info("swept", extra=summary)
    return summary
