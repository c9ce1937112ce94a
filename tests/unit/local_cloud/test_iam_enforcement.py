"""Identity policies enforced on every call a function makes, answered as each AWS service answers.

The calls are made with boto3 clients signed as test-caller's role session, at the endpoints
test-caller's own processes use (`Running.as_function`); its role has one statement per rule
(`stacks.caller_policy`). Raw HTTP checks the wire format where boto3 would hide it, and a last
class makes the calls from inside the function's own process.
"""

from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from websockets.sync.client import ClientConnection, connect

from local_cloud.harness import Running, connection_id_of, eventually
from local_cloud.stacks import ACCOUNT, REGION, SITE_BUCKET
from localcloud import iam

CALLER = "test-caller"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/test-caller-role/{CALLER}"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/test-items"


def refused(call: Callable[[], Any]) -> dict[str, Any]:
    """The error response of a call that must fail."""
    with pytest.raises(ClientError) as caught:
        call()
    return dict(caught.value.response)


def implicit(action: str, resource: str) -> str:
    return (
        f"User: {SESSION} is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action"
    )


def signed_as(function: str, service: str) -> dict[str, str]:
    """Headers that say who signs, for raw requests (nothing checks signatures locally)."""
    scope = f"{iam.access_key(function)}/20260101/{REGION}/{service}/aws4_request"
    return {"Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=0"}


def key() -> dict[str, Any]:
    return {"pk": {"S": f"IAM#{uuid.uuid4().hex[:8]}"}, "sk": {"S": "#ITEM"}}


@pytest.fixture(scope="module")
def ddb(running: Running) -> Any:
    return running.as_function(CALLER, "dynamodb")


@pytest.fixture(scope="module")
def sqs(running: Running) -> Any:
    return running.as_function(CALLER, "sqs")


@pytest.fixture(scope="module")
def s3(running: Running) -> Any:
    return running.as_function(CALLER, "s3")


@pytest.fixture(scope="module")
def lambda_(running: Running) -> Any:
    return running.as_function(CALLER, "lambda")


@pytest.fixture(scope="module")
def api(running: Running) -> Any:
    return running.as_function(CALLER, "apigatewaymanagementapi")


class TestDynamoDB:
    def test_calls_the_role_allows_pass(self, ddb: Any) -> None:
        item = key()
        ddb.put_item(TableName="test-items", Item={**item, "n": {"N": "1"}})
        ddb.update_item(
            TableName="test-items",
            Key=item,
            UpdateExpression="SET n = n + :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
        assert ddb.get_item(TableName="test-items", Key=item)["Item"]["n"] == {"N": "2"}

    def test_a_call_the_role_does_not_allow_is_answered_as_dynamodb_answers(self, ddb: Any) -> None:
        response = refused(lambda: ddb.scan(TableName="test-items"))
        assert response["Error"]["Code"] == "AccessDeniedException"
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert response["Error"]["Message"] == implicit("dynamodb:Scan", TABLE)

    def test_the_wire_format(self, running: Running) -> None:
        answer = requests.post(
            running.cloud.function_dynamodb,
            data=json.dumps({"TableName": "test-items"}),
            headers={
                **signed_as(CALLER, "dynamodb"),
                "X-Amz-Target": "DynamoDB_20120810.Scan",
                "Content-Type": "application/x-amz-json-1.0",
            },
            timeout=10,
        )
        assert answer.status_code == 400
        assert answer.headers["Content-Type"] == "application/x-amz-json-1.0"
        assert answer.json() == {
            "__type": "com.amazon.coral.service#AccessDeniedException",
            "Message": implicit("dynamodb:Scan", TABLE),
        }

    def test_an_explicit_deny_beats_the_wildcard_allow(self, running: Running, ddb: Any) -> None:
        item = key()
        ddb.put_item(TableName="test-items", Item=item)  # dynamodb:*Item allows it ...
        response = refused(lambda: ddb.delete_item(TableName="test-items", Key=item))  # ... and this
        assert response["Error"]["Message"] == (
            f"User: {SESSION} is not authorized to perform: dynamodb:DeleteItem on resource: {TABLE} "
            "with an explicit deny in an identity-based policy"
        )
        assert "Item" in running.client("dynamodb").get_item(TableName="test-items", Key=item)  # never sent

    def test_a_query_is_checked_on_the_index_it_reads(self, ddb: Any) -> None:
        ddb.query(
            TableName="test-items",
            IndexName="by_status",
            KeyConditionExpression="#s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "x"}},
        )
        on_table = refused(
            lambda: ddb.query(
                TableName="test-items",
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": {"S": "x"}},
            )
        )
        assert on_table["Error"]["Message"] == implicit("dynamodb:Query", TABLE)
        scan = refused(lambda: ddb.scan(TableName="test-items", IndexName="by_status"))
        assert scan["Error"]["Message"] == implicit("dynamodb:Scan", f"{TABLE}/index/by_status")

    def test_stream_reads_are_checked_on_the_stacks_stream_arn(self, running: Running) -> None:
        assert running.cloud.plan is not None
        local = running.client("dynamodb").describe_table(TableName="test-items")["Table"]["LatestStreamArn"]
        streams = running.as_function(CALLER, "dynamodbstreams")
        response = refused(lambda: streams.describe_stream(StreamArn=local))
        # DynamoDB Local names the stream its own way; the role is asked about the stack's ARN.
        stream = running.cloud.plan.attribute("aws_dynamodb_table.items", "stream_arn")
        assert response["Error"]["Message"] == implicit("dynamodb:DescribeStream", stream)

    def test_the_local_clouds_own_clients_are_not_checked(self, running: Running) -> None:
        running.client("dynamodb").scan(TableName="test-items", Limit=1)


class TestTransactionsAndBatches:
    def test_each_item_is_checked_as_its_own_operation(self, ddb: Any) -> None:
        put, update = key(), key()
        ddb.put_item(TableName="test-items", Item=update)
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "test-items", "Item": put}},
                {
                    "Update": {
                        "TableName": "test-items",
                        "Key": update,
                        "UpdateExpression": "SET v = :v",
                        "ExpressionAttributeValues": {":v": {"S": "1"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": "test-items",
                        "Key": put | {"sk": {"S": "#OTHER"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
        got = ddb.transact_get_items(TransactItems=[{"Get": {"TableName": "test-items", "Key": update}}])
        assert got["Responses"][0]["Item"]["v"] == {"S": "1"}

    def test_one_refused_item_refuses_the_transaction_and_nothing_is_written(
        self, running: Running, ddb: Any
    ) -> None:
        put = key()
        response = refused(
            lambda: ddb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": "test-items", "Item": put}},
                    {"Put": {"TableName": "test-elsewhere", "Item": key()}},
                ]
            )
        )
        assert response["Error"]["Code"] == "AccessDeniedException"
        assert response["Error"]["Message"] == implicit(
            "dynamodb:PutItem", TABLE.replace("test-items", "test-elsewhere")
        )
        assert "Item" not in running.client("dynamodb").get_item(TableName="test-items", Key=put)

    def test_a_delete_item_in_a_transaction_meets_the_explicit_deny(self, ddb: Any) -> None:
        response = refused(
            lambda: ddb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": "test-items", "Item": key()}},
                    {"Delete": {"TableName": "test-items", "Key": key()}},
                ]
            )
        )
        assert "dynamodb:DeleteItem" in response["Error"]["Message"]
        assert response["Error"]["Message"].endswith("with an explicit deny in an identity-based policy")

    def test_batch_operations_are_actions_of_their_own(self, ddb: Any) -> None:
        ddb.batch_get_item(RequestItems={"test-items": {"Keys": [key()]}})  # dynamodb:*Item
        response = refused(
            lambda: ddb.batch_write_item(RequestItems={"test-items": [{"PutRequest": {"Item": key()}}]})
        )
        # dynamodb:PutItem is allowed; BatchWriteItem is authorized as itself, and denied.
        assert response["Error"]["Message"] == (
            f"User: {SESSION} is not authorized to perform: dynamodb:BatchWriteItem on resource: {TABLE} "
            "with an explicit deny in an identity-based policy"
        )


class TestSqs:
    def test_a_queue_the_role_allows_takes_the_message(self, running: Running, sqs: Any) -> None:
        # arn:aws:sqs:*:*:test-retry: wildcards in the region and account components.
        assert sqs.send_message(QueueUrl=running.outputs["retry_queue_url"], MessageBody="{}")["MessageId"]

    @pytest.mark.parametrize("batch", [False, True])
    def test_another_queue_refuses_as_sqs_does(self, running: Running, sqs: Any, batch: bool) -> None:
        url = running.outputs["dlq_url"]
        if batch:  # SendMessageBatch is authorized as sqs:SendMessage
            response = refused(
                lambda: sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "x"}])
            )
        else:
            response = refused(lambda: sqs.send_message(QueueUrl=url, MessageBody="x"))
        assert response["Error"]["Code"] == "AccessDenied"
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
        # SQS spells the action in lower case.
        assert response["Error"]["Message"] == implicit(
            "sqs:sendmessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:test-dlq"
        )

    def test_the_json_protocols_wire_format(self, running: Running) -> None:
        answer = requests.post(
            running.cloud.function_moto,
            data=json.dumps({"QueueUrl": running.outputs["dlq_url"], "MessageBody": "x"}),
            headers={
                **signed_as(CALLER, "sqs"),
                "X-Amz-Target": "AmazonSQS.SendMessage",
                "Content-Type": "application/x-amz-json-1.0",
            },
            timeout=10,
        )
        assert answer.status_code == 403
        assert answer.headers["x-amzn-query-error"] == "AccessDenied;Sender"
        assert answer.json()["__type"] == "com.amazon.coral.service#AccessDeniedException"

    def test_the_query_protocols_wire_format(self, running: Running) -> None:
        answer = requests.post(
            running.cloud.function_moto,
            data={"Action": "SendMessage", "QueueUrl": running.outputs["dlq_url"], "MessageBody": "x"},
            headers=signed_as(CALLER, "sqs"),
            timeout=10,
        )
        assert answer.status_code == 403
        document = ET.fromstring(answer.text)  # noqa: S314 - the local cloud's own answer
        error = document.find("{http://queue.amazonaws.com/doc/2012-11-05/}Error")
        assert error is not None
        fields = {child.tag.rsplit("}", 1)[1]: child.text for child in error}
        assert fields["Type"] == "Sender" and fields["Code"] == "AccessDenied"
        assert fields["Message"] == implicit("sqs:sendmessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:test-dlq")


class TestS3:
    def test_objects_the_role_allows_go_both_ways(self, s3: Any) -> None:
        body = b"x" * 5000
        s3.put_object(Bucket=SITE_BUCKET, Key="uploads/a.bin", Body=body)
        assert s3.get_object(Bucket=SITE_BUCKET, Key="uploads/a.bin")["Body"].read() == body
        assert s3.head_object(Bucket=SITE_BUCKET, Key="uploads/a.bin")["ContentLength"] == len(body)

    def test_another_object_refuses_as_s3_does(self, s3: Any) -> None:
        response = refused(lambda: s3.get_object(Bucket=SITE_BUCKET, Key="index.html"))
        assert response["Error"]["Code"] == "AccessDenied"
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
        # S3 quotes the resource.
        assert response["Error"]["Message"] == implicit(
            "s3:GetObject", f'"arn:aws:s3:::{SITE_BUCKET}/index.html"'
        )

    def test_a_refused_head_has_only_its_status(self, s3: Any) -> None:
        response = refused(lambda: s3.head_object(Bucket=SITE_BUCKET, Key="index.html"))
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 403

    def test_a_copy_needs_to_read_its_source(self, running: Running, s3: Any) -> None:
        response = refused(
            lambda: s3.copy_object(
                Bucket=SITE_BUCKET,
                Key="uploads/copy.html",
                CopySource={"Bucket": SITE_BUCKET, "Key": "index.html"},
            )
        )
        assert response["Error"]["Message"] == implicit(
            "s3:GetObject", f'"arn:aws:s3:::{SITE_BUCKET}/index.html"'
        )
        listed = running.client("s3").list_objects_v2(Bucket=SITE_BUCKET, Prefix="uploads/copy")
        assert listed["KeyCount"] == 0

    def test_listing_is_listbucket_on_the_bucket(self, s3: Any) -> None:
        response = refused(lambda: s3.list_objects_v2(Bucket=SITE_BUCKET, Prefix="uploads/"))
        assert response["Error"]["Message"] == implicit("s3:ListBucket", f'"arn:aws:s3:::{SITE_BUCKET}"')


class TestLambdaInvoke:
    def test_the_function_the_role_allows_runs(self, lambda_: Any) -> None:
        assert lambda_.invoke(FunctionName="test-echo", Payload=b'{"return": 7}')["Payload"].read() == b"7"

    @pytest.mark.parametrize("name", ["test-node", "test-nowhere"])
    def test_another_function_refuses_as_lambda_does(self, lambda_: Any, name: str) -> None:
        # IAM decides first: a function that does not exist is refused, not reported missing.
        response = refused(lambda: lambda_.invoke(FunctionName=name, Payload=b"{}"))
        assert response["Error"]["Code"] == "AccessDeniedException"
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        assert response["Error"]["Message"] == implicit("lambda:InvokeFunction", arn)

    def test_reading_a_functions_configuration_is_an_action_of_its_own(self, lambda_: Any) -> None:
        response = refused(lambda: lambda_.get_function_configuration(FunctionName="test-echo"))
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:test-echo"
        assert response["Error"]["Message"] == implicit("lambda:GetFunctionConfiguration", arn)

    def test_a_qualified_call_is_checked_on_the_qualified_arn(self, lambda_: Any) -> None:
        response = refused(
            lambda: lambda_.invoke(FunctionName="test-echo", Qualifier="$LATEST", Payload=b"{}")
        )
        assert "function:test-echo:$LATEST because" in response["Error"]["Message"]


class TestConnections:
    @pytest.fixture
    def client(self, running: Running) -> Iterator[ClientConnection]:
        with connect(running.outputs["websocket_url"], open_timeout=20) as ws:
            yield ws

    def test_posting_is_allowed(self, running: Running, client: ClientConnection, api: Any) -> None:
        api.post_to_connection(ConnectionId=connection_id_of(running, client), Data=b'{"n": 1}')
        assert json.loads(client.recv(timeout=20)) == {"n": 1}

    @pytest.mark.parametrize(
        ("operation", "method"), [("delete_connection", "DELETE"), ("get_connection", "GET")]
    )
    def test_other_methods_refuse_as_api_gateway_does(
        self, running: Running, client: ClientConnection, api: Any, operation: str, method: str
    ) -> None:
        connection_id = connection_id_of(running, client)
        response = refused(lambda: getattr(api, operation)(ConnectionId=connection_id))
        assert response["Error"]["Code"] == "AccessDeniedException"
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
        api_id = running.cloud.websocket_apis[0].id
        # The account masked but for its last four digits; no reason given for an implicit deny.
        assert response["Error"]["Message"] == (
            f"User: {SESSION} is not authorized to perform: execute-api:ManageConnections on resource: "
            f"arn:aws:execute-api:{REGION}:********{ACCOUNT[-4:]}:{api_id}/prod/{method}/@connections/"
            + connection_id.replace("=", "%3D")
        )
        client.send("still here")  # the connection was not touched
        assert json.loads(client.recv(timeout=20)) == {"route": "$default"}

    def test_a_gone_connection_is_gone_once_allowed(self, running: Running, api: Any) -> None:
        with connect(running.outputs["websocket_url"], open_timeout=20) as ws:
            connection_id = connection_id_of(running, ws)
        eventually(lambda: connection_id not in running.cloud.websocket_apis[0].connections)
        with pytest.raises(api.exceptions.GoneException):
            api.post_to_connection(ConnectionId=connection_id, Data=b"x")


class TestFromTheFunctionsOwnProcess:
    def call(self, running: Running, service: str, method: str, **params: Any) -> dict[str, Any]:
        event = {"service": service, "method": method, "params": params}
        response = running.client("lambda").invoke(FunctionName=CALLER, Payload=json.dumps(event).encode())
        assert "FunctionError" not in response
        return dict(json.loads(response["Payload"].read()))

    def test_its_calls_are_made_as_its_role_session(self, running: Running) -> None:
        allowed = self.call(running, "dynamodb", "get_item", TableName="test-items", Key=key())
        assert allowed == {"code": None, "key": iam.access_key(CALLER)}
        denied = self.call(running, "dynamodb", "scan", TableName="test-items")
        assert denied == {
            "code": "AccessDeniedException",
            "status": 400,
            "message": implicit("dynamodb:Scan", TABLE),
        }
        invoked = self.call(running, "lambda", "invoke", FunctionName="test-node")
        assert invoked["code"] == "AccessDeniedException" and invoked["status"] == 403

    def test_refusals_are_counted_on_the_control_api(self, running: Running) -> None:
        self.call(running, "sqs", "send_message", QueueUrl=running.outputs["dlq_url"], MessageBody="x")
        stats = requests.get(f"{running.cloud.endpoints.lambda_}/_localcloud/stats", timeout=10).json()
        assert stats["iam_denials"][f"{CALLER} sqs:SendMessage"] >= 1
