"""Redrive the orchestrator's dead-letter queue: hand the stream batches it gave up on to it again.

A DynamoDB stream mapping's on-failure record holds where the batch was (shard, first and last
sequence number), not the records: they are read back from the stream (24 h retention), filtered
as the mapping filters (state items only), and the orchestrator is invoked with them in Lambda's
event format. A message is deleted once the orchestrator took its batch without an error; one
whose records the stream no longer has is deleted too (the sweep reconciles those workflows).

    python scripts/redrive.py --outputs FILE [--stack dev]      (an outputs file of cdktf deploy)

With the local cloud's outputs file its endpoints are used (the file beside it); otherwise the usual
AWS environment (credentials, region).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).parent))
from run_local import local_clients


def clients(outputs: Path) -> dict[str, Any]:
    services = ("sqs", "dynamodb", "dynamodbstreams", "lambda")
    sidecar = outputs.with_name(outputs.name.removesuffix(".json") + ".endpoints.json")
    if not sidecar.exists():
        return {s: boto3.client(s) for s in services}  # type: ignore[call-overload]
    return local_clients(json.loads(sidecar.read_text()), *services)


def lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A stream record as the event-source mapping hands it to the function."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if created is not None and hasattr(created, "timestamp"):
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def batch_records(aws: dict[str, Any], table: str, info: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of one dead-lettered batch, read back from the table's stream."""
    stream_arn = aws["dynamodb"].describe_table(TableName=table)["Table"]["LatestStreamArn"]
    streams = aws["dynamodbstreams"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn,
        ShardId=info["shardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=info["startSequenceNumber"],
    )["ShardIterator"]
    end = int(info["endSequenceNumber"])
    records: list[dict[str, Any]] = []
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        if not page["Records"]:
            break
        for record in page["Records"]:
            if int(record["dynamodb"]["SequenceNumber"]) > end:
                return records
            records.append(record)
        iterator = page.get("NextShardIterator")
    return records


def redrive(aws: dict[str, Any], outputs: dict[str, Any], region: str) -> dict[str, int]:
    queue = outputs["orchestrator_dlq_url"]
    table = outputs["workflows_table_name"]
    function = outputs["function_names"]["orchestrator"]
    done = {"batches": 0, "records": 0, "expired": 0, "failed": 0}
    while True:
        messages = (
            aws["sqs"]
            .receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            .get("Messages", [])
        )
        if not messages:
            return done
        for message in messages:
            info = json.loads(message["Body"]).get("DDBStreamBatchInfo")
            if info is None:
                continue  # not a stream batch record: left for whoever put it there
            try:
                records = batch_records(aws, table, info)
            except ClientError as exc:  # trimmed from the stream: the sweep reconciles those workflows
                if exc.response["Error"]["Code"] not in (
                    "TrimmedDataAccessException",
                    "ResourceNotFoundException",
                ):
                    raise
                records = []
                done["expired"] += 1
            state = [r for r in records if r["dynamodb"]["Keys"]["sk"]["S"] == "#WF"]  # the mapping's filter
            if state:
                event = {"Records": [lambda_record(r, info["streamArn"], region) for r in state]}
                answer = aws["lambda"].invoke(
                    FunctionName=function, Payload=json.dumps(event, default=str).encode()
                )
                body = json.loads(answer["Payload"].read() or b"{}")
                if answer.get("FunctionError") or body.get("batchItemFailures"):
                    done["failed"] += 1
                    continue  # stays in the queue (visible again later)
                done["records"] += len(state)
            aws["sqs"].delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            done["batches"] += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", type=Path, required=True)
    parser.add_argument("--stack", default="dev")
    args = parser.parse_args()
    document = json.loads(args.outputs.read_text())
    outputs = document.get(args.stack) or next(iter(document.values()))
    aws = clients(args.outputs)
    region = aws["sqs"].meta.region_name
    print(json.dumps(redrive(aws, outputs, region)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
