"""Event-source mappings: their settings from the stack, and what every poller shares.

`MappingConfig` reads an aws_lambda_event_source_mapping with AWS's defaults and limits, and
rejects what the local cloud cannot honour (naming the resource). `check_execution_role` is what
Lambda checks of the function's role when the mapping is created. The pollers themselves live
with their sources: `streams.py` (DynamoDB Streams) and `sqs.py` (SQS).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from localcloud.filters import Criteria, FilterError
from localcloud.iam import Principal
from localcloud.plan import Plan, PlanError, Resource

TYPES = ("aws_lambda_event_source_mapping",)


@dataclass
class MappingConfig:
    address: str
    uuid: str
    function_name: str
    source_arn: str
    batch_size: int
    starting_position: str
    maximum_retry_attempts: int  # -1: until the record expires
    maximum_record_age_in_seconds: int  # -1: until the record expires
    bisect_batch_on_function_error: bool
    report_batch_item_failures: bool
    criteria: Criteria
    on_failure: str | None
    maximum_batching_window_in_seconds: float
    enabled: bool
    maximum_concurrency: int | None
    parallelization_factor: int = 1

    @property
    def source(self) -> str:
        """The event source's service: dynamodb or sqs."""
        return self.source_arn.split(":")[2] if self.source_arn.count(":") >= 2 else ""


def _block(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        return value[0] if value else {}
    return value or {}


def read_mapping(plan: Plan, resource: Resource) -> MappingConfig:
    config = plan.resolved(resource.address)
    where = resource.address
    source_arn = str(config.get("event_source_arn") or "")
    service = source_arn.split(":")[2] if source_arn.count(":") >= 2 else ""
    if service not in ("dynamodb", "sqs"):
        raise PlanError(
            f"{where}: event source {source_arn or '(none)'} is not a DynamoDB stream or SQS queue"
        )
    stream = service == "dynamodb"
    default_batch, max_batch = (100, 10000) if stream else (10, 10000)
    batch_size = int(config.get("batch_size") or default_batch)
    if not 1 <= batch_size <= max_batch:
        raise PlanError(f"{where}: batch_size {batch_size} is outside 1..{max_batch}")
    position = str(config.get("starting_position") or "")
    if stream and position not in ("TRIM_HORIZON", "LATEST"):
        raise PlanError(f"{where}: starting_position must be TRIM_HORIZON or LATEST for a DynamoDB stream")
    retries = int(
        config.get("maximum_retry_attempts", -1) if config.get("maximum_retry_attempts") is not None else -1
    )
    if not -1 <= retries <= 10000:
        raise PlanError(f"{where}: maximum_retry_attempts {retries} is outside -1..10000")
    age = int(config.get("maximum_record_age_in_seconds") or -1)
    if age != -1 and not 60 <= age <= 604800:
        raise PlanError(f"{where}: maximum_record_age_in_seconds {age} must be -1 or 60..604800")
    factor = int(config.get("parallelization_factor") or 1)
    if not 1 <= factor <= 10 or (factor > 1 and not stream):
        raise PlanError(f"{where}: parallelization_factor {factor} must be 1..10 (streams only)")
    if config.get("tumbling_window_in_seconds"):
        raise PlanError(f"{where}: tumbling windows are not supported by the local cloud")
    response_types = list(config.get("function_response_types") or [])
    unknown = set(response_types) - {"ReportBatchItemFailures"}
    if unknown:
        raise PlanError(f"{where}: function_response_types {sorted(unknown)} are unknown")
    on_failure = _block(_block(config.get("destination_config")).get("on_failure")).get("destination_arn")
    if on_failure and not str(on_failure).startswith("arn:aws:sqs:"):
        raise PlanError(f"{where}: on-failure destination {on_failure}: only SQS queues are emulated")
    if on_failure and not stream:
        raise PlanError(
            f"{where}: SQS mappings have no on-failure destination (use the queue's redrive policy)"
        )
    try:
        criteria = Criteria.from_config(config.get("filter_criteria"), where)
    except FilterError as exc:
        raise PlanError(str(exc)) from exc
    scaling = _block(config.get("scaling_config"))
    function = str(config.get("function_name") or "")
    target = plan.function_for_arn(function) if function.startswith("arn:") else None
    if target is not None:
        function = str(plan.attribute(target.address, "function_name"))
    return MappingConfig(
        address=where,
        uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{plan.stack}/{where}")),
        function_name=function,
        source_arn=source_arn,
        batch_size=batch_size,
        starting_position=position or "TRIM_HORIZON",
        maximum_retry_attempts=retries,
        maximum_record_age_in_seconds=age,
        bisect_batch_on_function_error=bool(config.get("bisect_batch_on_function_error")),
        report_batch_item_failures="ReportBatchItemFailures" in response_types,
        criteria=criteria,
        on_failure=str(on_failure) if on_failure else None,
        maximum_batching_window_in_seconds=float(config.get("maximum_batching_window_in_seconds") or 0),
        enabled=config.get("enabled", True) is not False,
        maximum_concurrency=int(scaling["maximum_concurrency"])
        if scaling.get("maximum_concurrency")
        else None,
    )


def check_execution_role(config: MappingConfig, principal: Principal) -> None:
    """Lambda reads a mapping's source and sends to its on-failure destination with the function's
    execution role, and CreateEventSourceMapping refuses (InvalidParameterValueException) a role
    that cannot: the stack does not deploy. Start-up stops the same way, with Lambda's message.
    Policies cannot change while the local cloud runs, so this check at creation is the only one
    the pollers need."""

    def refuse(message: str) -> PlanError:
        return PlanError(f"{config.address}: InvalidParameterValueException: {message}")

    if config.source == "dynamodb":
        reads = ("GetRecords", "GetShardIterator", "DescribeStream", "ListStreams")
        if any(principal.check(f"dynamodb:{action}", config.source_arn) for action in reads):
            raise refuse(
                f"Cannot access stream {config.source_arn}. Please ensure the role can perform the "
                "GetRecords, GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM."
            )
    else:
        for action in ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes"):
            if principal.check(f"sqs:{action}", config.source_arn):
                raise refuse(f"The provided execution role does not have permissions to call {action} on SQS")
    if config.on_failure and principal.check("sqs:SendMessage", config.on_failure):
        raise refuse("The provided execution role does not have permissions to call SendMessage on SQS")


def iso(timestamp: float, *, millis: bool = True) -> str:
    moment = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    return moment.isoformat(timespec="milliseconds" if millis else "seconds").replace("+00:00", "Z")


async def call_client(executor: Executor, client: Any, method: str, **kwargs: Any) -> Any:
    """One boto3 call on the pollers' executor: boto3 blocks, the event loop must not."""
    return await asyncio.get_running_loop().run_in_executor(
        executor, lambda: getattr(client, method)(**kwargs)
    )
