"""SQS: the stack's queues in moto's server, SQS event-source mappings, and SQS destinations.

Queues are created in dependency order (a dead-letter queue before the queue that redrives to it)
with their declared attributes; moto applies delays (`DelaySeconds`), visibility timeouts and
redrive to the dead-letter queue. KMS settings are accepted and not applied (no KMS locally).

An SQS mapping polls like Lambda: long polls by up to five concurrent pollers (or the mapping's
maximum concurrency), batches of up to `batch_size` messages (at most 10 per receive), filter
criteria applied to each message (rejected ones are deleted, as Lambda does), a synchronous
invoke, then the successful messages are deleted. With ReportBatchItemFailures only the listed
`messageId`s stay; on a function error every message stays, to come back after its visibility
timeout and, past `maxReceiveCount`, move to the dead-letter queue.

`Access` says what IAM checks for a function's SQS request (the gate asks it), over either of
SQS's protocols: the operation is the action (a batch operation is its single one:
SendMessageBatch is sqs:SendMessage), on the queue's ARN.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.parse
from collections import Counter
from concurrent.futures import Executor
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

from localcloud.iam import Denial, Principal, Unmapped
from localcloud.lambda_ import Function
from localcloud.mappings import MappingConfig, call_client
from localcloud.plan import Plan, PlanError
from localcloud.web import request_id

log = logging.getLogger("localcloud.sqs")

TYPES = ("aws_sqs_queue", "aws_sqs_queue_redrive_policy", "aws_sqs_queue_redrive_allow_policy")
_ATTRIBUTES = {
    "delay_seconds": "DelaySeconds",
    "max_message_size": "MaximumMessageSize",
    "message_retention_seconds": "MessageRetentionPeriod",
    "receive_wait_time_seconds": "ReceiveMessageWaitTimeSeconds",
    "visibility_timeout_seconds": "VisibilityTimeout",
    "redrive_policy": "RedrivePolicy",
    "redrive_allow_policy": "RedriveAllowPolicy",
    "fifo_queue": "FifoQueue",
    "content_based_deduplication": "ContentBasedDeduplication",
    "deduplication_scope": "DeduplicationScope",
    "fifo_throughput_limit": "FifoThroughputLimit",
}
RECEIVE_WAIT_SECONDS = 2  # long poll; short enough that stopping the local cloud is quick
DEFAULT_POLLERS = 5


class Queues:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.urls: dict[str, str] = {}  # ARN -> URL (the local one)

    def create(self, plan: Plan) -> None:
        for resource in plan.of_type("aws_sqs_queue"):
            config = plan.resolved(resource.address)
            name = str(plan.attribute(resource.address, "name"))
            attributes = {}
            for key, attribute in _ATTRIBUTES.items():
                value = config.get(key)
                if value is None or value == "":
                    continue
                if isinstance(value, bool):
                    if not value:
                        continue
                    value = "true"
                attributes[attribute] = value if isinstance(value, str) else json.dumps(value)
            url = self.client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            expected = plan.localize(str(plan.attribute(resource.address, "url")))
            if url != expected:
                raise PlanError(
                    f"{resource.address}: the local queue URL {url} is not the planned {expected}"
                )
            self.urls[str(plan.attribute(resource.address, "arn"))] = url
        for resource in plan.of_type("aws_sqs_queue_redrive_policy", "aws_sqs_queue_redrive_allow_policy"):
            config = plan.resolved(resource.address)
            key = (
                "redrive_policy"
                if resource.type == "aws_sqs_queue_redrive_policy"
                else "redrive_allow_policy"
            )
            url = plan.localize(str(config["queue_url"]))
            self.client.set_queue_attributes(QueueUrl=url, Attributes={_ATTRIBUTES[key]: config[key]})

    def url_for(self, arn: str) -> str:
        try:
            return self.urls[arn]
        except KeyError:
            raise PlanError(f"no SQS queue in the stack has the ARN {arn}") from None


_BATCH_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


class Access:
    """What IAM checks for an SQS request (JSON or query protocol), and SQS's answer to a denial."""

    def __init__(self, plan: Plan) -> None:
        self.region = plan.region
        self.account_id = plan.account_id

    @staticmethod
    def _json(request: web.Request) -> bool:
        return request.headers.get("X-Amz-Target", "").startswith("AmazonSQS.")

    def requests(self, request: web.Request, body: bytes) -> list[tuple[str, str]]:
        if self._json(request):
            operation = request.headers["X-Amz-Target"].partition(".")[2]
            try:
                params = json.loads(body) if body else {}
            except ValueError:
                return []  # SQS refuses it before anything is read
        else:
            params = {**request.query, **dict(urllib.parse.parse_qsl(body.decode(errors="replace")))}
            operation = params.get("Action", "")
        if not operation:
            raise Unmapped("an SQS request names no operation")
        url = params.get("QueueUrl") or (request.path if request.path.strip("/") else "")
        if url:
            account, _, name = urllib.parse.urlsplit(url).path.strip("/").partition("/")
            resource = f"arn:aws:sqs:{self.region}:{account}:{name}"
        elif params.get("QueueName"):
            account = params.get("QueueOwnerAWSAccountId") or self.account_id
            resource = f"arn:aws:sqs:{self.region}:{account}:{params['QueueName']}"
        else:
            resource = "*"  # ListQueues
        return [(f"sqs:{_BATCH_ACTIONS.get(operation, operation)}", resource)]

    def resource_denial(
        self, request: web.Request, principal: Principal, requests: list[tuple[str, str]]
    ) -> Denial | None:
        return None  # no resource policies on tables and queues in the stacks (queue policies: none)

    def message(self, denial: Denial) -> str:
        return denial.message(action=denial.action.lower())  # SQS spells it sqs:sendmessage

    def denied(self, request: web.Request, message: str) -> web.Response:
        rid = request_id()
        if self._json(request):
            body = {"__type": "com.amazon.coral.service#AccessDeniedException", "Message": message}
            # The SDKs take the query-compatible code from this header: AccessDenied.
            headers = {"x-amzn-query-error": "AccessDenied;Sender", "x-amzn-RequestId": rid}
            return web.Response(
                status=403, text=json.dumps(body), headers=headers, content_type="application/x-amz-json-1.0"
            )
        xml = (
            '<?xml version="1.0"?><ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">'
            f"<Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{escape(message)}</Message>"
            f"<Detail/></Error><RequestId>{rid}</RequestId></ErrorResponse>"
        )
        return web.Response(status=403, text=xml, content_type="text/xml", headers={"x-amzn-RequestId": rid})


class Destinations:
    """Sends Lambda's destination records (async invocations, stream mappings) to SQS queues."""

    def __init__(self, queues: Queues, executor: Executor) -> None:
        self.queues = queues
        self.executor = executor
        self.sent: Counter[str] = Counter()

    async def send(self, arn: str, record: dict[str, Any]) -> None:
        url = self.queues.url_for(arn)
        body = json.dumps(record)
        await call_client(self.executor, self.queues.client, "send_message", QueueUrl=url, MessageBody=body)
        self.sent[arn] += 1


def _message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """SQS API attribute values → Lambda's event format (camelCase keys, lists present)."""
    converted = {}
    for name, value in attributes.items():
        item: dict[str, Any] = {
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value.get("DataType"),
        }
        if "StringValue" in value:
            item["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            item["binaryValue"] = value["BinaryValue"]
        converted[name] = item
    return converted


class SqsMapping:
    def __init__(
        self,
        config: MappingConfig,
        function: Function,
        client: Any,
        queue_url: str,
        *,
        region: str,
        executor: Executor,
    ) -> None:
        self.config = config
        self.function = function
        self.client = client
        self.queue_url = queue_url
        self.region = region
        self.executor = executor
        self.stats: Counter[str] = Counter()

    async def _call(self, method: str, **kwargs: Any) -> Any:
        return await call_client(self.executor, self.client, method, **kwargs)

    async def run(self) -> None:
        if not self.config.enabled:
            return
        pollers = self.config.maximum_concurrency or DEFAULT_POLLERS
        await asyncio.gather(*(self._poll() for _ in range(pollers)))

    async def _poll(self) -> None:
        while True:
            page = await self._call(
                "receive_message",
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, self.config.batch_size),
                WaitTimeSeconds=RECEIVE_WAIT_SECONDS,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            messages = page.get("Messages", [])
            if messages:
                await self.process(messages)

    def record(self, message: dict[str, Any]) -> dict[str, Any]:
        record = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message.get("Body", ""),
            "attributes": message.get("Attributes", {}),
            "messageAttributes": _message_attributes(message.get("MessageAttributes", {})),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.config.source_arn,
            "awsRegion": self.region,
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record

    async def process(self, messages: list[dict[str, Any]]) -> None:
        records = [self.record(m) for m in messages]
        accepted = [r for r in records if self.config.criteria.accepts_sqs(r)]
        rejected = [r for r in records if r not in accepted]
        self.stats["messages"] += len(records)
        if rejected:
            self.stats["filtered_out"] += len(rejected)
            await self._delete(rejected)
        if not accepted:
            return
        result = await self.function.invoke(json.dumps({"Records": accepted}).encode(), throttle=False)
        self.stats["invocations"] += 1
        if result.function_error:
            self.stats["function_errors"] += 1
            return  # every message comes back after its visibility timeout
        failed = self._failed_ids(accepted, result.payload)
        if failed is None:
            self.stats["function_errors"] += 1
            return
        self.stats["partial_failures"] += bool(failed)
        await self._delete([r for r in accepted if r["messageId"] not in failed])

    def _failed_ids(self, records: list[dict[str, Any]], payload: bytes) -> set[str] | None:
        """The messages to keep; None when the response fails the whole batch."""
        if not self.config.report_batch_item_failures:
            return set()
        try:
            response = json.loads(payload) if payload.strip() else None
        except ValueError:
            return None
        if not isinstance(response, dict):
            return set()
        failures = response.get("batchItemFailures")
        if failures is None:
            return set()
        if not isinstance(failures, list):
            return None
        ids = {r["messageId"] for r in records}
        failed = set()
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not identifier or identifier not in ids:
                return None
            failed.add(identifier)
        return failed

    async def _delete(self, records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), 10):
            chunk = records[start : start + 10]
            await self._call(
                "delete_message_batch",
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)],
            )
            self.stats["deleted"] += len(chunk)
