"""DynamoDB Streams event-source mappings: poll DynamoDB Local's Streams API, invoke the function.

As Lambda does, per shard and in order: poll about four times a second while idle, drop records
the filter criteria reject, batch up to `batch_size` records (waiting up to the batching window),
invoke synchronously and wait. On failure:
- a function error (unhandled error, timeout, crash) splits the batch in two when
  `bisect_batch_on_function_error` is set (a split does not use up a retry), else retries it;
- a partial batch response (`batchItemFailures`, with ReportBatchItemFailures) retries from the
  lowest failed sequence number; an unreadable one fails the whole batch;
- after `maximum_retry_attempts` retries, or when records are older than
  `maximum_record_age_in_seconds`, the records are skipped and their description goes to the
  on-failure destination in Lambda's record format (DDBStreamBatchInfo; the records themselves are
  not included), then the shard moves on.
Child shards are read after their parent is finished. With a parallelization factor above 1, a
shard's records are split by partition key over that many lanes, each processed in order.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import json
import logging
import random
import time
import uuid
import zlib
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from localcloud.lambda_ import SYNC_PAYLOAD_LIMIT, Function, InvokeResult
from localcloud.mappings import MappingConfig, call_client, iso

log = logging.getLogger("localcloud.streams")

IDLE_POLL_SECONDS = 0.25  # Lambda polls a shard about 4 times per second
RETRY_PAUSE_SECONDS = 0.2
SHARD_SCAN_SECONDS = 2.0

Send = Callable[[str, dict[str, Any]], Awaitable[None]]


def _attribute_value(value: Any) -> Any:
    """boto3 decodes binary attributes to bytes; Lambda's event carries them base64-encoded."""
    if isinstance(value, dict):
        return {k: _attribute_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_attribute_value(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    return value


def lambda_record(raw: dict[str, Any], *, region: str, stream_arn: str) -> dict[str, Any]:
    """A GetRecords record in the format Lambda hands to functions."""
    data = dict(raw["dynamodb"])
    created = data.get("ApproximateCreationDateTime")
    if isinstance(created, dt.datetime):
        data["ApproximateCreationDateTime"] = int(created.timestamp())
    for key in ("Keys", "NewImage", "OldImage"):
        if key in data:
            data[key] = _attribute_value(data[key])
    record: dict[str, Any] = {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": raw.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": region,  # DynamoDB Local says "ddblocal"
        "dynamodb": data,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in raw:
        record["userIdentity"] = raw["userIdentity"]
    return record


@dataclass
class _Lane:
    records: deque[dict[str, Any]] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    closing: bool = False


@dataclass
class _Pending:
    records: list[dict[str, Any]]
    retries: int = 0
    invocations: int = 0
    last: InvokeResult | None = None


@dataclass
class Outcome:
    """What happened to a batch, for stats and tests."""

    invocations: int = 0
    retries: int = 0
    bisections: int = 0
    discarded: list[tuple[str, list[str]]] = field(default_factory=list)  # (condition, sequence numbers)


class StreamMapping:
    def __init__(
        self,
        config: MappingConfig,
        function: Function,
        streams_client: Any,
        local_stream_arn: str,
        *,
        region: str,
        send: Send,
        executor: Executor,
        partition_key: str | None = None,
    ) -> None:
        self.config = config
        self.partition_key = partition_key
        self.function = function
        self.client = streams_client
        self.local_stream_arn = local_stream_arn
        self.region = region
        self.send = send
        self.executor = executor
        self.stats: Counter[str] = Counter()
        self.faults = StreamFaults()
        self._delivered: deque[dict[str, Any]] = deque(maxlen=500)  # for replays
        self._shards: dict[str, asyncio.Task[None]] = {}
        self._finished: set[str] = set()

    async def _call(self, method: str, **kwargs: Any) -> Any:
        return await call_client(self.executor, self.client, method, **kwargs)

    async def run(self) -> None:
        if not self.config.enabled:
            return
        try:
            while True:
                shards = await self._describe()
                known = {s["ShardId"] for s in shards}
                for shard_id, task in list(self._shards.items()):
                    if task.done() and not task.cancelled() and task.exception() is not None:
                        # A bug, not a stream condition: say so loudly, and read the shard again
                        # from the starting position (at least once beats a silently stuck shard).
                        log.error(
                            "%s: shard %s failed", self.config.address, shard_id, exc_info=task.exception()
                        )
                        del self._shards[shard_id]
                for shard in shards:
                    shard_id, parent = shard["ShardId"], shard.get("ParentShardId")
                    if shard_id in self._shards:
                        continue
                    if parent and parent in known and parent not in self._finished:
                        continue  # a child waits for its parent, so records stay in order
                    self._shards[shard_id] = asyncio.create_task(
                        self._shard(shard_id), name=f"shard {shard_id}"
                    )
                await asyncio.sleep(SHARD_SCAN_SECONDS)
        finally:
            for task in self._shards.values():
                task.cancel()
            await asyncio.gather(*self._shards.values(), return_exceptions=True)

    async def _describe(self) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamArn": self.local_stream_arn}
        while True:
            description = (await self._call("describe_stream", **kwargs))["StreamDescription"]
            shards.extend(description.get("Shards", []))
            last = description.get("LastEvaluatedShardId")
            if not last:
                return shards
            kwargs["ExclusiveStartShardId"] = last

    async def _shard(self, shard_id: str) -> None:
        """Read one shard in order; records go to `parallelization_factor` lanes by partition key,
        so each key's records stay in order while different keys' batches run side by side."""
        last: str | None = None  # the last sequence number read: where to resume with a new iterator
        iterator: str | None = await self._iterator(shard_id, last)
        lanes = [_Lane() for _ in range(self.config.parallelization_factor)]
        workers = [asyncio.create_task(self._lane(lane, shard_id)) for lane in lanes]
        try:
            while iterator is not None:
                try:
                    page = await self._call("get_records", ShardIterator=iterator, Limit=1000)
                except (ClientError, BotoCoreError) as exc:
                    # Iterators expire (and DynamoDB Local calls one made on an empty shard
                    # trimmed): start again after the last record read, as Lambda's poller does.
                    code = (
                        exc.response["Error"]["Code"] if isinstance(exc, ClientError) else type(exc).__name__
                    )
                    if code not in ("ExpiredIteratorException", "TrimmedDataAccessException"):
                        log.warning(
                            "%s: reading shard %s failed (%s); retrying", self.config.address, shard_id, exc
                        )
                        await asyncio.sleep(1.0)
                    iterator = await self._iterator(shard_id, last)
                    continue
                iterator = page.get("NextShardIterator")
                for raw in page.get("Records", []):
                    last = raw["dynamodb"]["SequenceNumber"]
                    record = lambda_record(raw, region=self.region, stream_arn=self.config.source_arn)
                    self.stats["records"] += 1
                    if not self.config.criteria.accepts(record):
                        self.stats["filtered_out"] += 1
                        continue
                    lane = lanes[self._lane_of(record, len(lanes))]
                    lane.records.append(record)
                    lane.wake.set()
                # Read no further ahead than a few batches: Lambda holds the rest in the stream.
                while any(len(lane.records) > 4 * self.config.batch_size for lane in lanes):
                    await asyncio.sleep(0.05)
                if not page.get("Records"):
                    await asyncio.sleep(IDLE_POLL_SECONDS)
            for lane in lanes:  # the shard is closed: finish what was read, then children may start
                lane.closing = True
                lane.wake.set()
            await asyncio.gather(*workers)
        finally:
            for worker in workers:
                worker.cancel()
        self._finished.add(shard_id)

    async def _iterator(self, shard_id: str, after: str | None) -> str | None:
        kwargs: dict[str, Any] = {"StreamArn": self.local_stream_arn, "ShardId": shard_id}
        if after is None:
            kwargs["ShardIteratorType"] = self.config.starting_position
        else:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after)
        response = await self._call("get_shard_iterator", **kwargs)
        return str(response["ShardIterator"]) if response.get("ShardIterator") else None

    def _lane_of(self, record: dict[str, Any], lanes: int) -> int:
        if lanes == 1:
            return 0
        keys = record["dynamodb"].get("Keys", {})
        key = keys.get(self.partition_key) if self.partition_key else keys
        return zlib.crc32(json.dumps(key, sort_keys=True).encode()) % lanes

    async def _lane(self, lane: _Lane, shard_id: str) -> None:
        window = self.config.maximum_batching_window_in_seconds
        while True:
            if not lane.records:
                if lane.closing:
                    return
                lane.wake.clear()
                await lane.wake.wait()
                continue
            if window and len(lane.records) < self.config.batch_size and not lane.closing:
                # The batching window: wait for a full batch, at most `window` seconds.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._filled(lane), timeout=window)
            count = min(self.config.batch_size, len(lane.records))
            batch = [lane.records.popleft() for _ in range(count)]
            await self.process(batch, shard_id)

    async def _filled(self, lane: _Lane) -> None:
        while len(lane.records) < self.config.batch_size and not lane.closing:
            lane.wake.clear()
            await lane.wake.wait()

    # -- one batch, with Lambda's retry, bisect and discard rules ---------------------------------

    async def process(self, batch: list[dict[str, Any]], shard_id: str) -> Outcome:
        outcome = Outcome()
        config = self.config
        faults = self.faults
        if faults.dead_letter > 0 and batch:
            # Fault injection (local only): this batch goes to the on-failure destination as if its
            # retries were exhausted, and the function never sees it.
            faults.dead_letter -= 1
            self.stats["faults_dead_lettered"] += 1
            await self._discard(batch, "RetryAttemptsExhausted", _Pending(batch), shard_id, outcome)
            return outcome
        if faults.replay > 0 and self._delivered and faults.rng.random() < faults.replay:
            # Fault injection: records delivered before come again, ahead of the new ones.
            old = faults.rng.sample(
                list(self._delivered), min(len(self._delivered), 1 + faults.rng.randrange(3))
            )
            self.stats["faults_replayed"] += len(old)
            await self.function.invoke(json.dumps({"Records": old}).encode(), throttle=False)
        self._delivered.extend(batch)
        if faults.duplicate > 0 and faults.rng.random() < faults.duplicate:
            self.stats["faults_duplicated"] += 1  # the batch is delivered twice (the first time here)
            await self.function.invoke(json.dumps({"Records": batch}).encode(), throttle=False)
        pending: deque[_Pending] = deque(_Pending(part) for part in _fit(batch))
        while pending:
            item = pending.popleft()
            expired = self._expired(item.records)
            if expired:
                await self._discard(item.records[:expired], "RecordAgeExceeded", item, shard_id, outcome)
                item.records = item.records[expired:]
                if not item.records:
                    continue
            result = await self.function.invoke(
                json.dumps({"Records": item.records}).encode(), throttle=False
            )
            item.invocations += 1
            item.last = result
            outcome.invocations += 1
            self.stats["invocations"] += 1
            failed_from = self._failed_from(item.records, result)
            if failed_from is None:
                self.stats["batches_ok"] += 1
                continue
            if result.function_error:
                self.stats["function_errors"] += 1
                if config.bisect_batch_on_function_error and len(item.records) > 1:
                    half = len(item.records) // 2
                    outcome.bisections += 1
                    self.stats["bisections"] += 1
                    pending.appendleft(_Pending(item.records[half:], item.retries))
                    pending.appendleft(_Pending(item.records[:half], item.retries))
                    continue
            else:
                self.stats["partial_failures"] += 1
            remaining = item.records[failed_from:]
            if config.maximum_retry_attempts != -1 and item.retries >= config.maximum_retry_attempts:
                await self._discard(remaining, "RetryAttemptsExhausted", item, shard_id, outcome)
                continue
            outcome.retries += 1
            self.stats["retries"] += 1
            pending.appendleft(
                _Pending(remaining, item.retries + 1, item.invocations if failed_from == 0 else 0, item.last)
            )
            await asyncio.sleep(RETRY_PAUSE_SECONDS)
        return outcome

    def _failed_from(self, records: list[dict[str, Any]], result: InvokeResult) -> int | None:
        """None when the batch succeeded, else the index to retry from."""
        if result.function_error:
            return 0
        if not self.config.report_batch_item_failures:
            return None
        try:
            response = json.loads(result.payload) if result.payload.strip() else None
        except ValueError:
            return 0
        if response is None or response == {}:
            return None
        failures = response.get("batchItemFailures") if isinstance(response, dict) else None
        if failures is None and isinstance(response, dict):
            return None  # a response without the field counts as complete success
        if not isinstance(failures, list):
            return 0
        if not failures:
            return None
        sequence = [r["dynamodb"]["SequenceNumber"] for r in records]
        positions = []
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not identifier or identifier not in sequence:
                return 0  # Lambda treats an unreadable response as a failure of the whole batch
            positions.append(sequence.index(identifier))
        return min(positions)

    def _expired(self, records: list[dict[str, Any]]) -> int:
        """How many leading records are older than the maximum record age."""
        age = self.config.maximum_record_age_in_seconds
        if age == -1:
            return 0
        now = time.time()
        count = 0
        for record in records:
            if now - float(record["dynamodb"].get("ApproximateCreationDateTime", now)) > age:
                count += 1
            else:
                break
        return count

    async def _discard(
        self, records: list[dict[str, Any]], condition: str, item: _Pending, shard_id: str, outcome: Outcome
    ) -> None:
        sequence = [r["dynamodb"]["SequenceNumber"] for r in records]
        outcome.discarded.append((condition, sequence))
        self.stats["discarded_records"] += len(records)
        log.warning(
            "%s: %d record(s) of shard %s discarded (%s)",
            self.config.address,
            len(records),
            shard_id,
            condition,
        )
        if not self.config.on_failure:
            return
        created = [float(r["dynamodb"].get("ApproximateCreationDateTime", 0)) for r in records]
        document: dict[str, Any] = {
            "requestContext": {
                "requestId": item.last.request_id if item.last else str(uuid.uuid4()),
                "functionArn": self.function.spec.arn,
                "condition": condition,
                "approximateInvokeCount": item.invocations,
            },
            "version": "1.0",
            "timestamp": iso(time.time()),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": sequence[0],
                "endSequenceNumber": sequence[-1],
                "approximateArrivalOfFirstRecord": iso(min(created), millis=False),
                "approximateArrivalOfLastRecord": iso(max(created), millis=False),
                "batchSize": len(records),
                "streamArn": self.config.source_arn,
            },
        }
        if item.last is not None:  # records discarded before any invocation have no response
            response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
            if item.last.function_error:
                response["functionError"] = item.last.function_error
            document["responseContext"] = response
        await self.send(self.config.on_failure, document)
        self.stats["sent_to_destination"] += 1


@dataclass
class StreamFaults:
    """Fault injection for the soak (the control API's `faults`, local only): probabilities that a
    batch is delivered twice, that old records are delivered again, and a count of batches to send
    to the on-failure destination without processing them."""

    duplicate: float = 0.0
    replay: float = 0.0
    dead_letter: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(7))  # noqa: S311 - not security


def _fit(batch: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Lambda never sends more than its 6 MB invocation payload: split batches that would."""
    if len(batch) <= 1 or len(json.dumps({"Records": batch})) <= SYNC_PAYLOAD_LIMIT:
        return [batch]
    half = len(batch) // 2
    return _fit(batch[:half]) + _fit(batch[half:])
