"""Small synthesized stacks for the local cloud's tests, in cdk.tf.json's shape (as cdktf writes it).

`StackBuilder` writes `cdktf.out/stacks/<name>/cdk.tf.json` under a temporary root, with function
code zipped into the stack's `assets/` folder the way cdktf's TerraformAsset places it.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

REGION = "eu-central-1"
ACCOUNT = "123456789012"

# A Python function driven by its event: echo, fail, sleep past its timeout, exit, record.
PY_ECHO = """
import json, os, time

def handler(event, context):
    if isinstance(event, dict):
        if event.get("sleep"):
            time.sleep(event["sleep"])
        if event.get("exit") is not None:
            os._exit(event["exit"])
        if event.get("fail"):
            raise RuntimeError(event["fail"])
        if os.environ.get("RECORD_FILE"):
            with open(os.environ["RECORD_FILE"], "a") as out:
                out.write(json.dumps(event) + "\\n")
        if "return" in event:
            return event["return"]
    return {
        "event": event,
        "environ": dict(os.environ),
        "function_name": context.function_name,
        "memory": context.memory_limit_in_mb,
        "arn": context.invoked_function_arn,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "pid": os.getpid(),
    }
"""

# A REST API handler: echoes the proxy event, or misbehaves on request.
PY_API = """
import base64, json

def handler(event, context):
    path = event.get("path")
    if path == "/malformed":
        return {"statusCode": 200, "unexpected": True}
    if path == "/error":
        raise ValueError("api failure")
    if path == "/binary":
        return {"statusCode": 200, "headers": {"Content-Type": "application/octet-stream"},
                "body": base64.b64encode(b"\\x00\\x01\\x02").decode(), "isBase64Encoded": True}
    return {
        "statusCode": 201 if event["httpMethod"] == "POST" else 200,
        "headers": {"Content-Type": "application/json", "X-Single": "one"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": json.dumps(event),
    }
"""

# A WebSocket handler: records every event; "echo" replies through the @connections API.
PY_WEBSOCKET = """
import json, os
import boto3

def handler(event, context):
    with open(os.environ["RECORD_FILE"], "a") as out:
        out.write(json.dumps(event) + "\\n")
    ctx = event["requestContext"]
    if ctx["routeKey"] == "$connect" and (event.get("queryStringParameters") or {}).get("deny"):
        return {"statusCode": 403}
    if ctx["routeKey"] == "echo":
        client = boto3.client("apigatewaymanagementapi", endpoint_url=os.environ["MANAGEMENT_ENDPOINT"])
        client.post_to_connection(ConnectionId=ctx["connectionId"], Data=("echo:" + event["body"]).encode())
    if ctx["routeKey"] == "boom":
        raise RuntimeError("websocket failure")
    return {"statusCode": 200, "body": json.dumps({"route": ctx["routeKey"]})}
"""

# A function that makes one AWS SDK call its event describes, with its own credentials, and says
# how AWS answered: what a handler sees when its role refuses.
PY_CALLER = """
import base64, os
import boto3
from botocore.exceptions import ClientError

def handler(event, context):
    client = boto3.client(event["service"])
    try:
        getattr(client, event["method"])(**event.get("params", {}))
    except ClientError as error:
        return {"code": error.response["Error"]["Code"], "message": error.response["Error"]["Message"],
                "status": error.response["ResponseMetadata"]["HTTPStatusCode"]}
    return {"code": None, "key": os.environ["AWS_ACCESS_KEY_ID"]}
"""

NODE_ECHO = """
exports.handler = async (event, context) => {
  if (event.fail) { const e = new Error(event.fail); e.name = 'Failure'; throw e; }
  if (event.sleep) await new Promise((r) => setTimeout(r, event.sleep * 1000));
  if (event.exit !== undefined) process.exit(event.exit);
  console.log('event', JSON.stringify(event));
  return { event, name: context.functionName, arn: context.invokedFunctionArn, greeting: process.env.GREETING,
           remaining: context.getRemainingTimeInMillis(), node: process.version };
};
"""


LAMBDA_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def ref(rtype: str, name: str, attribute: str) -> str:
    return "${" + f"{rtype}.{name}.{attribute}" + "}"


class StackBuilder:
    def __init__(
        self, root: Path, name: str = "test", *, region: str = REGION, account: str = ACCOUNT
    ) -> None:
        self.root = root
        self.name = name
        self.stack_dir = root / "cdktf.out" / "stacks" / name
        self.stack_dir.mkdir(parents=True, exist_ok=True)
        self.document: dict[str, Any] = {
            "//": {"metadata": {"stackName": name, "version": "0.21.0"}},
            "provider": {"aws": [{"region": region, "allowed_account_ids": [account]}]},
            "terraform": {"required_providers": {"aws": {"source": "aws", "version": "6.25.0"}}},
            "resource": {},
            "output": {},
        }

    def add(self, rtype: str, rname: str, /, **config: Any) -> str:
        config["//"] = {"metadata": {"path": f"{self.name}/{rname}", "uniqueId": rname}}
        self.document["resource"].setdefault(rtype, {})[rname] = config
        return f"{rtype}.{rname}"

    def output(self, name: str, value: Any) -> None:
        self.document["output"][name] = {"value": value}

    def asset(self, name: str, files: dict[str, str]) -> str:
        """Zip files into assets/<name>/<name>.zip; returns the path relative to the stack folder."""
        relative = Path("assets") / name / f"{name}.zip"
        path = self.stack_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w") as zf:
            for filename, text in files.items():
                zf.writestr(filename, text)
        return str(relative)

    def function(
        self,
        name: str,
        files: dict[str, str],
        *,
        runtime: str = "python3.12",
        handler: str = "app.handler",
        environment: dict[str, str] | None = None,
        role: str = "role",
        **extra: Any,
    ) -> str:
        config: dict[str, Any] = {
            "function_name": f"{self.name}-{name}",
            "role": ref("aws_iam_role", role, "arn"),
            "runtime": runtime,
            "handler": handler,
            "filename": self.asset(name, files),
            "timeout": 3,
            "memory_size": 128,
            **extra,
        }
        if environment:
            config["environment"] = {"variables": environment}
        if role not in self.document["resource"].get("aws_iam_role", {}):
            role_name = f"{self.name}-{role.replace('_', '-')}"
            self.add("aws_iam_role", role, name=role_name, assume_role_policy=LAMBDA_TRUST)
        return self.add("aws_lambda_function", name, **config)

    def policy(self, name: str, role: str, *statements: dict[str, Any]) -> str:
        """An inline policy (aws_iam_role_policy) of a role, as cdktf writes one: JSON text."""
        document = {"Version": "2012-10-17", "Statement": list(statements)}
        role_id = ref("aws_iam_role", role, "id")
        return self.add("aws_iam_role_policy", name, name=name, role=role_id, policy=json.dumps(document))

    def write(self) -> Path:
        # As AWS needs it (the preflight's LAMBDA-AFTER-ROLE-POLICIES): each function after the
        # policies of its role.
        resources = self.document["resource"]
        for function in resources.get("aws_lambda_function", {}).values():
            role = str(function.get("role", "")).removeprefix("${aws_iam_role.").partition(".")[0]
            policies = [
                f"aws_iam_role_policy.{name}"
                for name, policy in resources.get("aws_iam_role_policy", {}).items()
                if policy.get("role") == ref("aws_iam_role", role, "id")
            ]
            function["depends_on"] = sorted({*function.get("depends_on", []), *policies})
        path = self.stack_dir / "cdk.tf.json"
        path.write_text(json.dumps(self.document, indent=2))
        return path


# A stream consumer: records each batch; a record whose new image has poison = true fails the
# invocation (a function error); `partial` fails just that record (a batch item failure).
PY_CONSUMER = """
import json, os

def handler(event, context):
    records = event.get("Records", [])
    with open(os.environ["RECORD_FILE"], "a") as out:
        out.write(json.dumps(event) + "\\n")
    failures = []
    for record in records:
        image = (record.get("dynamodb") or {}).get("NewImage") or {}
        if image.get("poison", {}).get("BOOL"):
            raise RuntimeError("poison record")
        if image.get("partial", {}).get("BOOL"):
            failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
        body = record.get("body")
        if body and json.loads(body).get("fail"):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
"""

SITE_BUCKET = "test-site-123456789012"
SITE_FILES = {
    "index.html": (
        "<!doctype html><title>Orchestra</title><script src='/assets/app-abc123.js'></script>",
        "text/html",
    ),
    "assets/app-abc123.js": ("console.log('orchestra');" + " " * 2000, "application/javascript"),
}


def full_stack(stack: StackBuilder, records: Path) -> StackBuilder:
    """A stack shaped like Orchestra's: tables, queues, functions, both APIs, the site, a schedule."""
    records.mkdir(parents=True, exist_ok=True)
    stack.add("aws_kms_key", "key", description="inert")
    stack.add(
        "aws_cloudwatch_log_group",
        "logs",
        name="/aws/lambda/test",
        kms_key_id=ref("aws_kms_key", "key", "arn"),
    )
    stack.add(
        "aws_dynamodb_table",
        "items",
        name="test-items",
        billing_mode="PAY_PER_REQUEST",
        hash_key="pk",
        range_key="sk",
        attribute=[{"name": "pk", "type": "S"}, {"name": "sk", "type": "S"}, {"name": "status", "type": "S"}],
        global_secondary_index=[{"name": "by_status", "hash_key": "status", "projection_type": "KEYS_ONLY"}],
        stream_enabled=True,
        stream_view_type="NEW_AND_OLD_IMAGES",
        ttl={"attribute_name": "expires_at", "enabled": True},
        server_side_encryption={"enabled": True, "kms_key_arn": ref("aws_kms_key", "key", "arn")},
    )
    stack.add("aws_sqs_queue", "dlq", name="test-dlq", kms_master_key_id=ref("aws_kms_key", "key", "arn"))
    stack.add(
        "aws_sqs_queue",
        "retry",
        name="test-retry",
        visibility_timeout_seconds=2,
        redrive_policy="${jsonencode({"
        + '"deadLetterTargetArn" = aws_sqs_queue.dlq.arn, "maxReceiveCount" = 2})}',
    )
    stack.add("aws_s3_bucket", "site", bucket=SITE_BUCKET)
    stack.add(
        "aws_s3_bucket_policy",
        "site",
        bucket=ref("aws_s3_bucket", "site", "id"),
        policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "CloudFrontReads",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudfront.amazonaws.com"},
                        "Action": "s3:GetObject",
                        "Resource": ref("aws_s3_bucket", "site", "arn") + "/*",
                        "Condition": {
                            "StringEquals": {
                                "aws:SourceArn": ref("aws_cloudfront_distribution", "site", "arn")
                            }
                        },
                    },
                    {
                        "Sid": "DenyAwsManagedKey",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:PutObject",
                        "Resource": ref("aws_s3_bucket", "site", "arn") + "/uploads/*",
                        "Condition": {
                            "StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                            "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "true"},
                        },
                    },
                    {
                        "Sid": "DenyOtherKmsKey",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:PutObject",
                        "Resource": ref("aws_s3_bucket", "site", "arn") + "/uploads/*",
                        "Condition": {
                            "StringNotEquals": {
                                "s3:x-amz-server-side-encryption-aws-kms-key-id": ref(
                                    "aws_kms_key", "key", "arn"
                                )
                            },
                            "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
                        },
                    },
                ],
            }
        ),
    )
    ws_endpoint = (
        "https://" + ref("aws_apigatewayv2_api", "ws", "id") + f".execute-api.{REGION}.amazonaws.com/prod"
    )
    common = {
        "TABLE_NAME": ref("aws_dynamodb_table", "items", "name"),
        "QUEUE_URL": ref("aws_sqs_queue", "retry", "url"),
    }
    stack.function("echo", {"app.py": PY_ECHO}, environment={**common, "MANAGEMENT_ENDPOINT": ws_endpoint})
    stack.function(
        "node",
        {"index.js": NODE_ECHO},
        runtime="nodejs24.x",
        handler="index.handler",
        environment={"GREETING": "hej"},
    )
    stack.function(
        "api",
        {"app.py": PY_API},
        environment={"CORS": "https://" + ref("aws_cloudfront_distribution", "site", "domain_name")},
    )
    stack.function(
        "ws",
        {"app.py": PY_WEBSOCKET},
        environment={"RECORD_FILE": str(records / "ws.jsonl"), "MANAGEMENT_ENDPOINT": ws_endpoint},
    )
    stack.function(
        "consumer", {"app.py": PY_CONSUMER}, environment={"RECORD_FILE": str(records / "stream.jsonl")}
    )
    # Its timeout stays within the retry queue's visibility timeout, as Lambda requires.
    stack.function(
        "worker", {"app.py": PY_CONSUMER}, environment={"RECORD_FILE": str(records / "sqs.jsonl")}, timeout=2
    )
    stack.function(
        "tick",
        {"app.py": PY_ECHO},
        environment={"RECORD_FILE": str(records / "tick.jsonl")},
        logging_config={"log_format": "JSON", "application_log_level": "WARN"},
    )
    stack.function("caller", {"app.py": PY_CALLER}, role="caller_role")
    shared_role_policy(stack)
    caller_policy(stack)
    stack.add(
        "aws_lambda_event_source_mapping",
        "stream",
        function_name=ref("aws_lambda_function", "consumer", "arn"),
        event_source_arn=ref("aws_dynamodb_table", "items", "stream_arn"),
        starting_position="TRIM_HORIZON",
        batch_size=10,
        maximum_retry_attempts=1,
        maximum_record_age_in_seconds=3600,
        bisect_batch_on_function_error=True,
        parallelization_factor=2,
        function_response_types=["ReportBatchItemFailures"],
        filter_criteria={"filter": [{"pattern": '{"dynamodb":{"Keys":{"sk":{"S":["#ITEM"]}}}}'}]},
        destination_config={"on_failure": {"destination_arn": ref("aws_sqs_queue", "dlq", "arn")}},
    )
    stack.add(
        "aws_lambda_event_source_mapping",
        "queue",
        function_name=ref("aws_lambda_function", "worker", "function_name"),
        event_source_arn=ref("aws_sqs_queue", "retry", "arn"),
        batch_size=1,
        function_response_types=["ReportBatchItemFailures"],
    )
    # REST API: ANY on / and /{proxy+}, Lambda proxy, stage prod with throttling.
    api_id = ref("aws_api_gateway_rest_api", "rest", "id")
    stack.add("aws_api_gateway_rest_api", "rest", name="test-rest")
    stack.add(
        "aws_api_gateway_resource",
        "proxy",
        rest_api_id=api_id,
        parent_id=ref("aws_api_gateway_rest_api", "rest", "root_resource_id"),
        path_part="{proxy+}",
    )
    for name, resource in (
        ("root", ref("aws_api_gateway_rest_api", "rest", "root_resource_id")),
        ("proxy", ref("aws_api_gateway_resource", "proxy", "id")),
    ):
        stack.add(
            "aws_api_gateway_method",
            name,
            rest_api_id=api_id,
            resource_id=resource,
            http_method="ANY",
            authorization="NONE",
        )
        stack.add(
            "aws_api_gateway_integration",
            name,
            rest_api_id=api_id,
            resource_id=resource,
            http_method=ref("aws_api_gateway_method", name, "http_method"),
            type="AWS_PROXY",
            integration_http_method="POST",
            uri=ref("aws_lambda_function", "api", "invoke_arn"),
        )
    deployed = [
        "aws_api_gateway_resource.proxy",
        *(
            f"aws_api_gateway_{kind}.{name}"
            for kind in ("method", "integration")
            for name in ("root", "proxy")
        ),
    ]
    stack.add(
        "aws_api_gateway_deployment",
        "deployment",
        rest_api_id=api_id,
        triggers={"redeployment": "${sha1(jsonencode([" + ", ".join(deployed) + "]))}"},
        depends_on=deployed,
    )
    stack.add(
        "aws_api_gateway_stage",
        "prod",
        rest_api_id=api_id,
        stage_name="prod",
        deployment_id=ref("aws_api_gateway_deployment", "deployment", "id"),
    )
    stack.add(
        "aws_api_gateway_method_settings",
        "all",
        rest_api_id=api_id,
        stage_name=ref("aws_api_gateway_stage", "prod", "stage_name"),
        method_path="*/*",
        settings={"throttling_rate_limit": 50, "throttling_burst_limit": 100},
    )
    stack.add(
        "aws_lambda_permission",
        "rest",
        function_name=ref("aws_lambda_function", "api", "function_name"),
        action="lambda:InvokeFunction",
        principal="apigateway.amazonaws.com",
        source_arn=ref("aws_api_gateway_rest_api", "rest", "execution_arn") + "/*/*",
    )
    # WebSocket API: $connect, $disconnect, $default (with a route response), echo, boom.
    ws_id = ref("aws_apigatewayv2_api", "ws", "id")
    stack.add(
        "aws_apigatewayv2_api",
        "ws",
        name="test-ws",
        protocol_type="WEBSOCKET",
        route_selection_expression="$request.body.action",
    )
    stack.add(
        "aws_apigatewayv2_integration",
        "ws",
        api_id=ws_id,
        integration_type="AWS_PROXY",
        integration_uri=ref("aws_lambda_function", "ws", "invoke_arn"),
    )
    for key, name in (
        ("$connect", "connect"),
        ("$disconnect", "disconnect"),
        ("$default", "default"),
        ("echo", "echo"),
        ("boom", "boom"),
    ):
        extra = {"route_response_selection_expression": "$default"} if name == "default" else {}
        stack.add(
            "aws_apigatewayv2_route",
            name,
            api_id=ws_id,
            route_key=key,
            target="integrations/" + ref("aws_apigatewayv2_integration", "ws", "id"),
            **extra,
        )
    stack.add(
        "aws_apigatewayv2_route_response",
        "default",
        api_id=ws_id,
        route_id=ref("aws_apigatewayv2_route", "default", "id"),
        route_response_key="$default",
    )
    stack.add(
        "aws_apigatewayv2_stage",
        "ws",
        api_id=ws_id,
        name="prod",
        auto_deploy=True,
        default_route_settings={"throttling_rate_limit": 100, "throttling_burst_limit": 50},
    )
    stack.add(
        "aws_lambda_permission",
        "ws",
        function_name=ref("aws_lambda_function", "ws", "function_name"),
        action="lambda:InvokeFunction",
        principal="apigateway.amazonaws.com",
        source_arn=ref("aws_apigatewayv2_api", "ws", "execution_arn") + "/*/*",
    )
    # The site: objects, a generated config.js, CloudFront with the SPA fallback.
    for key, (text, content_type) in SITE_FILES.items():
        source = stack.stack_dir / "assets" / "dist" / key
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(text)
        cache = "no-cache" if key == "index.html" else "public, max-age=31536000, immutable"
        stack.add(
            "aws_s3_object",
            key.replace("/", "_").replace(".", "_"),
            bucket=ref("aws_s3_bucket", "site", "id"),
            key=key,
            source=f"assets/dist/{key}",
            content_type=content_type,
            cache_control=cache,
            etag=f'${{filemd5("assets/dist/{key}")}}',
        )
    stack.add(
        "aws_s3_object",
        "config",
        bucket=ref("aws_s3_bucket", "site", "id"),
        key="config.js",
        content_type="application/javascript",
        cache_control="no-cache",
        content="window.API_BASE = '"
        + ref("aws_api_gateway_stage", "prod", "invoke_url")
        + "'; window.WEBSOCKET_URL = '"
        + ref("aws_apigatewayv2_stage", "ws", "invoke_url")
        + "';",
    )
    stack.add(
        "aws_cloudfront_origin_access_control",
        "site",
        name="test-site",
        origin_access_control_origin_type="s3",
        signing_behavior="always",
        signing_protocol="sigv4",
    )
    stack.add(
        "aws_cloudfront_response_headers_policy",
        "security",
        name="test-security",
        security_headers_config={
            "content_security_policy": {
                "content_security_policy": f"default-src 'self'; connect-src 'self' https://*.execute-api.{REGION}"
                f".amazonaws.com wss://*.execute-api.{REGION}.amazonaws.com",
                "override": True,
            },
            "content_type_options": {"override": True},
            "frame_options": {"frame_option": "DENY", "override": True},
            "strict_transport_security": {
                "access_control_max_age_sec": 31536000,
                "include_subdomains": True,
                "override": True,
            },
        },
    )
    stack.add(
        "aws_cloudfront_distribution",
        "site",
        enabled=True,
        default_root_object="index.html",
        origin=[
            {
                "domain_name": ref("aws_s3_bucket", "site", "bucket_regional_domain_name"),
                "origin_id": "s3",
                "origin_access_control_id": ref("aws_cloudfront_origin_access_control", "site", "id"),
            }
        ],
        default_cache_behavior={
            "target_origin_id": "s3",
            "viewer_protocol_policy": "redirect-to-https",
            "allowed_methods": ["GET", "HEAD", "OPTIONS"],
            "cached_methods": ["GET", "HEAD"],
            "compress": True,
            "response_headers_policy_id": ref("aws_cloudfront_response_headers_policy", "security", "id"),
        },
        ordered_cache_behavior=[
            {
                "path_pattern": "/config.js",
                "target_origin_id": "s3",
                "viewer_protocol_policy": "redirect-to-https",
                "allowed_methods": ["GET", "HEAD"],
                "cached_methods": ["GET", "HEAD"],
                "compress": False,
            }
        ],
        custom_error_response=[
            {"error_code": 403, "response_code": 200, "response_page_path": "/index.html"},
            {"error_code": 404, "response_code": 200, "response_page_path": "/index.html"},
        ],
    )
    # A schedule with its permission.
    stack.add("aws_cloudwatch_event_rule", "tick", name="test-tick", schedule_expression="rate(1 minute)")
    stack.add(
        "aws_cloudwatch_event_target",
        "tick",
        rule=ref("aws_cloudwatch_event_rule", "tick", "name"),
        arn=ref("aws_lambda_function", "tick", "arn"),
    )
    stack.add(
        "aws_lambda_permission",
        "tick",
        function_name=ref("aws_lambda_function", "tick", "function_name"),
        action="lambda:InvokeFunction",
        principal="events.amazonaws.com",
        source_arn=ref("aws_cloudwatch_event_rule", "tick", "arn"),
    )
    stack.output("api_url", ref("aws_api_gateway_stage", "prod", "invoke_url"))
    stack.output("websocket_url", ref("aws_apigatewayv2_stage", "ws", "invoke_url"))
    stack.output("dashboard_url", "https://" + ref("aws_cloudfront_distribution", "site", "domain_name"))
    stack.output("table_name", ref("aws_dynamodb_table", "items", "name"))
    stack.output("dlq_url", ref("aws_sqs_queue", "dlq", "url"))
    stack.output("retry_queue_url", ref("aws_sqs_queue", "retry", "url"))
    stack.write()
    return stack


def allow(actions: str | list[str], resources: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def shared_role_policy(stack: StackBuilder) -> None:
    """What the fixture's functions need of their shared role: the stream and queue mappings read
    their sources and dead-letter, the WebSocket function answers through @connections."""
    stack.policy(
        "role_policy",
        "role",
        allow(
            [f"dynamodb:{a}" for a in ("DescribeStream", "GetRecords", "GetShardIterator", "ListStreams")],
            ref("aws_dynamodb_table", "items", "stream_arn"),
        ),
        allow("sqs:SendMessage", ref("aws_sqs_queue", "dlq", "arn")),
        allow(
            ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            ref("aws_sqs_queue", "retry", "arn"),
        ),
        allow(
            "execute-api:ManageConnections",
            ref("aws_apigatewayv2_api", "ws", "execution_arn") + "/prod/POST/@connections/*",
        ),
    )


def caller_policy(stack: StackBuilder) -> None:
    """test-caller's role: one rule of IAM per statement, for the enforcement tests."""
    table = ref("aws_dynamodb_table", "items", "arn")
    stack.policy(
        "caller_policy",
        "caller_role",
        allow("dynamodb:*Item", table, Sid="ItemsByWildcard"),
        {"Sid": "NoDeletes", "Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*"},
        allow("DYNAMODB:query", table + "/index/by_stat?s", Sid="IndexOnlyAnyCase"),
        # *Item covers BatchGetItem and BatchWriteItem too; batch writes are denied on their own.
        {"Sid": "NoBatchWrites", "Effect": "Deny", "Action": "dynamodb:BatchWrite*", "Resource": "*"},
        allow("sqs:SendMessage", "arn:aws:sqs:*:*:test-retry", Sid="RetryQueueAnyRegion"),
        allow(["s3:GetObject", "s3:PutObject"], f"arn:aws:s3:::{SITE_BUCKET}/uploads/*", Sid="Uploads"),
        allow(
            "execute-api:ManageConnections",
            ref("aws_apigatewayv2_api", "ws", "execution_arn") + "/prod/POST/@connections/*",
            Sid="PostOnly",
        ),
        allow("lambda:InvokeFunction", ref("aws_lambda_function", "echo", "arn"), Sid="EchoOnly"),
    )
