"""Orchestrator: consumes the `workflows` table's stream (state items only).

For each state image: reconcile (the engine's decisions, from the image; normally nothing left to do
when writers dispatch, all of it in stream dispatch), dispatch what that made READY and any READY
task past its dispatch deadline (a lost dispatch), then broadcast. Dispatching comes first for the
whole batch; broadcasting after, and a broadcast error never fails a record. Records that fail are
reported in `batchItemFailures`; Lambda retries from the first of them.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from engine import runtime, views
from engine.connections import Broadcaster, Connections
from engine.dispatch import Dispatcher
from engine.model import WorkflowState, WorkflowStatus
from engine.observability import logger, metrics
from engine.service import Engine
from engine.store import Store, deserialize_item, is_state_item, state_from_item

processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


def _image(raw: dict[str, Any] | None) -> WorkflowState | None:
    if not raw:
        return None
    item = deserialize_item(raw)
    return state_from_item(item) if is_state_item(item) else None  # a malformed one fails the record


def _newest_versions(event: dict[str, Any]) -> tuple[dict[str, int], set[str]]:
    """The newest version of each workflow in the batch, and the workflows one of whose images left
    a decision to the orchestrator (`settled` false). Reads every image first: one that is not a
    state item the engine can read fails the whole invocation, so that Lambda bisects the batch down
    to it and gives only it up to the dead-letter queue (a record-level failure would retry, and then
    give up, every record after it too)."""
    newest: dict[str, int] = {}
    unsettled: set[str] = set()
    for record in event.get("Records", []):
        state = _image((record.get("dynamodb") or {}).get("NewImage"))
        if state is not None:
            newest[state.workflow_id] = max(newest.get(state.workflow_id, 0), state.version)
            if not state.settled:
                unsettled.add(state.workflow_id)
    return newest, unsettled


class RecordHandler:
    """Handles one batch; holds what the batch shares (clients, the images to broadcast afterwards)."""

    def __init__(self, event: dict[str, Any]) -> None:
        settings = runtime.settings("orchestrator")
        clients = runtime.clients()
        self.settings = settings
        self.engine = Engine(
            Store(clients.dynamodb, settings.table_name, ttl_days=settings.workflow_ttl_days),
            settings,
            runtime.clock,
        )
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
        self.newest, self.unsettled = _newest_versions(event)
        self.to_broadcast: list[WorkflowState] = []

    def __call__(self, record: DynamoDBRecord) -> None:
        raw = record.raw_event.get("dynamodb") or {}
        new = _image(raw.get("NewImage"))
        if new is None:
            return  # not a state item (the mapping filters them out; ignore them anyway) or a TTL removal
        logger.set_correlation_id(new.workflow_id)
        # A later image of this workflow is in the same batch: reconciling it alone (every decision
        # its state calls for) saves writes that would lose anyway. It may say "settled" while an
        # older image of the batch left a decision (a write computed before that image): then it is
        # reconciled in full all the same.
        if self.newest.get(new.workflow_id, 0) <= new.version:
            result = self.engine.reconcile(new, force=new.workflow_id in self.unsettled)
            if result.finished == WorkflowStatus.SUCCESS:
                metrics.add_metric(name="WorkflowsSucceeded", unit=MetricUnit.Count, value=1)
            elif result.finished == WorkflowStatus.FAILED:
                metrics.add_metric(name="WorkflowsFailed", unit=MetricUnit.Count, value=1)
            if result.applied:
                logger.info("reconciled", extra={"version": new.version, "finished": result.finished})
            for dispatch in result.dispatches:
                how = self.dispatcher.dispatch(dispatch)
                logger.info(
                    "dispatched", extra={"task_id": dispatch.task_id, "attempt": dispatch.attempt, "how": how}
                )
        # Every image is one committed write: clients see each of them, in stream order.
        self.to_broadcast.append(new)

    def broadcast(self) -> None:
        """After the batch's dispatches; best effort (a failure is logged, never retried by the stream)."""
        for state in self.to_broadcast:
            try:
                found = self.broadcaster.has_subscribers(state.workflow_id) and self.engine.definition(state)
                if not found:
                    continue
                message = views.workflow_update(state, found[1], self.settings.task_functions)
                delivered, gone = self.broadcaster.send(state.workflow_id, message)
                if gone:
                    logger.info("deleted gone connections", extra={"gone": gone, "delivered": delivered})
            except Exception:
                logger.exception("broadcast failed", extra={"workflow_id": state.workflow_id})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    if not event.get("Records"):
        return {"batchItemFailures": []}
    records = RecordHandler(event)
    response = process_partial_response(
        event=event, record_handler=records, processor=processor, context=context
    )
    records.broadcast()
    return response
