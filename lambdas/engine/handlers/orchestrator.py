"""Orchestrator: consumes the `workflows` table's stream (workflow items only).

For each workflow image: reconcile (the engine derives its decisions from the image and writes
them conditionally), dispatch the tasks this image made READY, broadcast the image. Records that
fail are reported in `batchItemFailures`; Lambda retries from the first of them.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from engine import flow, runtime, views
from engine.connections import Broadcaster, Connections
from engine.dispatch import Dispatcher
from engine.model import Workflow, WorkflowStatus
from engine.observability import logger, metrics
from engine.service import Engine
from engine.store import Store, deserialize_item, is_workflow_item, workflow_from_item

processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


def _image(raw: dict[str, Any] | None) -> Workflow | None:
    if not raw:
        return None
    item = deserialize_item(raw)
    return workflow_from_item(item) if is_workflow_item(item) else None


def _newest_versions(event: dict[str, Any]) -> dict[str, int]:
    newest: dict[str, int] = {}
    for record in event.get("Records", []):
        new = (record.get("dynamodb") or {}).get("NewImage") or {}
        if new.get("sk", {}).get("S") == "#WF" and "version" in new:
            wf_id = new["workflow_id"]["S"]
            newest[wf_id] = max(newest.get(wf_id, 0), int(new["version"]["N"]))
    return newest


class RecordHandler:
    """Handles one batch; holds what the batch shares (clients, the broadcaster's subscriber cache)."""

    def __init__(self, event: dict[str, Any]) -> None:
        settings = runtime.settings("orchestrator")
        clients = runtime.clients()
        self.settings = settings
        self.engine = Engine(Store(clients.dynamodb, settings.table_name), settings, runtime.clock)
        self.dispatcher = Dispatcher(
            clients.lambda_,
            clients.sqs,
            settings.worker_function_name,
            settings.retry_queue_url,
            runtime.clock,
        )
        self.broadcaster = Broadcaster(
            Connections(clients.dynamodb, settings.connections_table),
            lambda: clients.management_api(settings.websocket_api_endpoint),
        )
        self.newest = _newest_versions(event)

    def __call__(self, record: DynamoDBRecord) -> None:
        raw = record.raw_event.get("dynamodb") or {}
        new, old = _image(raw.get("NewImage")), _image(raw.get("OldImage"))
        if new is None:
            return  # a task item (the mapping filters them out; ignore them anyway) or a TTL removal
        logger.set_correlation_id(new.workflow_id)
        # A later image of this workflow is in the same batch: it carries every decision this one
        # would take, so reconciling it alone saves writes that would lose anyway.
        superseded = self.newest.get(new.workflow_id, 0) > new.version
        if not superseded:
            result = self.engine.reconcile(new)
            if result.finished == WorkflowStatus.SUCCESS:
                metrics.add_metric(name="WorkflowsSucceeded", unit=MetricUnit.Count, value=1)
            elif result.finished == WorkflowStatus.FAILED:
                metrics.add_metric(name="WorkflowsFailed", unit=MetricUnit.Count, value=1)
            if result.applied:
                logger.info("reconciled", extra={"version": new.version, "finished": result.finished})
        for dispatch in flow.dispatches(old, new):
            how = self.dispatcher.dispatch(dispatch)
            logger.info(
                "dispatched", extra={"task_id": dispatch.task_id, "attempt": dispatch.attempt, "how": how}
            )
        # Every image is one transition: clients see each of them, in stream order.
        delivered, gone = self.broadcaster.send(
            new.workflow_id, views.workflow_update(new, self.settings.task_functions)
        )
        if gone:
            logger.info("deleted gone connections", extra={"gone": gone, "delivered": delivered})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=RecordHandler(event), processor=processor, context=context
    )
