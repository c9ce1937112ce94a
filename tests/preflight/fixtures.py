"""One passing and one failing stack per preflight rule: the smallest JSON that shows the fact."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from preflight import Stack

REGION, ACCOUNT = "eu-central-1", "123456789012"
KEY_ARN = (
    f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-44cd-96ef-1234567890ab"  # a v4 UUID, as KMS makes
)
Doc = dict[str, Any]


def ref(address: str, attribute: str) -> str:
    return "${" + f"{address}.{attribute}" + "}"


def stack(*resources: tuple[str, str, dict[str, Any]], name: str = "dev", **top: Any) -> Stack:
    document: Doc = {
        "provider": {"aws": [{"region": REGION, "allowed_account_ids": [ACCOUNT]}]},
        "resource": {},
        **top,
    }
    for rtype, rname, config in resources:
        document["resource"].setdefault(rtype, {})[rname] = config
    return Stack(name, document)


def res(rtype: str, rname: str, **config: Any) -> tuple[str, str, dict[str, Any]]:
    return rtype, rname, config


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def trust(service: str, **condition: Any) -> str:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if condition:
        statement["Condition"] = condition
    return policy(statement)


def lifecycle(**rule: Any) -> tuple[str, str, dict[str, Any]]:
    return res(
        "aws_s3_bucket_lifecycle_configuration", "l", bucket="b", rule=[{"id": "r", "filter": [{}], **rule}]
    )


def transitions(*pairs: tuple[int, str]) -> list[dict[str, Any]]:
    return [{"days": d, "storage_class": c} for d, c in pairs]


BUCKET = res("aws_s3_bucket", "b", bucket="orchestra-dev-artifacts")
KEY = res("aws_kms_key", "k", policy=policy())
DENY_OTHER_ENCRYPTION = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:PutObject",
    "Resource": "arn:aws:s3:::b/*",
    "Condition": {
        "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
        "Null": {"s3:x-amz-server-side-encryption": "false"},
    },
}
DENY_AWS_MANAGED = {
    "Sid": "DenyAwsManagedKey",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:PutObject",
    "Resource": "arn:aws:s3:::b/*",
    "Condition": {
        "StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
        "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "true"},
    },
}


def deny_other_key(key: str) -> dict[str, Any]:
    return {
        "Sid": "DenyOtherKmsKey",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::b/*",
        "Condition": {
            "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key},
            "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
        },
    }


def bucket_policy(*statements: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    return res("aws_s3_bucket_policy", "p", bucket=ref("aws_s3_bucket.b", "id"), policy=policy(*statements))


def pinned(key: str = ref("aws_kms_key.k", "arn")) -> tuple[str, str, dict[str, Any]]:
    return bucket_policy(DENY_OTHER_ENCRYPTION, DENY_AWS_MANAGED, deny_other_key(key))


def s3_backend(**config: Any) -> Doc:
    return {
        "backend": {"s3": {"bucket": "orchestra-dev-artifacts", "key": "dev/terraform.tfstate", **config}}
    }


def bootstrap() -> Stack:
    """A state bucket that pins its key by ARN, as the bootstrap stack's does."""
    return stack(BUCKET, KEY, pinned(), name="bootstrap")


def function(name: str = "f", **config: Any) -> tuple[str, str, dict[str, Any]]:
    return res(
        "aws_lambda_function",
        name,
        **{"function_name": f"orchestra-dev-{name}", "runtime": "python3.12", "timeout": 30, **config},
    )


ROLE = res("aws_iam_role", "r", name="orchestra-dev-f-role", assume_role_policy=trust("lambda.amazonaws.com"))
ROLE_POLICY = res(
    "aws_iam_role_policy",
    "rp",
    role=ref("aws_iam_role.r", "id"),
    policy=policy(
        {
            "Effect": "Allow",
            "Action": [
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DeleteNetworkInterface",
            ],
            "Resource": "*",
        }
    ),
)


def with_role(**config: Any) -> tuple[str, str, dict[str, Any]]:
    return function(role=ref("aws_iam_role.r", "arn"), depends_on=["aws_iam_role_policy.rp"], **config)


def rest(deployment: dict[str, Any]) -> Stack:
    api = ref("aws_api_gateway_rest_api.a", "id")
    return stack(
        res("aws_api_gateway_rest_api", "a", name="api"),
        res("aws_api_gateway_method", "m", rest_api_id=api, http_method="ANY"),
        res("aws_api_gateway_integration", "i", rest_api_id=api, type="AWS_PROXY"),
        res("aws_api_gateway_gateway_response", "g", rest_api_id=api, response_type="DEFAULT_4XX"),
        res("aws_api_gateway_deployment", "d", rest_api_id=api, **deployment),
    )


DEPLOYED = ["aws_api_gateway_method.m", "aws_api_gateway_integration.i", "aws_api_gateway_gateway_response.g"]
HASH = "${sha1(jsonencode([" + ", ".join(DEPLOYED) + "]))}"


def ws_stage(log_format: str) -> Stack:
    return stack(
        res("aws_apigatewayv2_api", "ws", protocol_type="WEBSOCKET"),
        res(
            "aws_apigatewayv2_stage",
            "s",
            api_id=ref("aws_apigatewayv2_api.ws", "id"),
            access_log_settings={"destination_arn": "x", "format": log_format},
        ),
        res("aws_api_gateway_account", "acct", cloudwatch_role_arn="arn:aws:iam::1:role/x"),
    )


def rest_stage(log_format: str) -> Stack:
    return stack(
        res("aws_api_gateway_stage", "s", access_log_settings={"destination_arn": "x", "format": log_format}),
        res("aws_api_gateway_account", "acct", cloudwatch_role_arn="arn:aws:iam::1:role/x"),
    )


def account_role(**condition: Any) -> Stack:
    return stack(
        res(
            "aws_iam_role",
            "logs",
            name="apigw",
            assume_role_policy=trust("apigateway.amazonaws.com", **condition),
        ),
        res("aws_api_gateway_account", "acct", cloudwatch_role_arn=ref("aws_iam_role.logs", "arn")),
    )


def worker(task_timeout: int, external_timeout: int = 60) -> Stack:
    """The worker in a VPC, its catalog in its code package (as workflows/catalog.py bundles it): a
    task function of the stack and an existing one by ARN."""
    catalog = {
        "functions": {
            "task-a": {
                "function_name": "orchestra-dev-task-a",
                "type": "node",
                "timeout_seconds": task_timeout,
            },
            "geo": {
                "function_name": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:geocode",
                "type": "external",
                "timeout_seconds": external_timeout,
            },
        }
    }
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("catalog.json", json.dumps(catalog))
    directory = Path(tempfile.mkdtemp(prefix="preflight-worker-"))
    (directory / "assets").mkdir()
    (directory / "assets" / "engine.zip").write_bytes(package.getvalue())
    built = stack(
        function(
            "worker",
            vpc_config={"subnet_ids": ["s"]},
            filename="assets/engine.zip",
            environment={"variables": {"CATALOG_FILE": "catalog.json"}},
        ),
        function("task-a", timeout=task_timeout),
    )
    return Stack(built.name, built.document, directory)


def environment_of(size: int) -> Stack:
    """A function whose variables measure about `size` bytes, one of them known only after apply."""
    variables = {"QUEUE_URL": ref("aws_sqs_queue.q", "url"), "BLOB": ""}
    measured = len(json.dumps({**variables, "QUEUE_URL": "x" * 256}, separators=(",", ":")))
    variables["BLOB"] = "x" * (size - measured)
    return stack(res("aws_sqs_queue", "q", name="q"), function(environment={"variables": variables}))


def invoking(sid_length: int, tasks: int = 131) -> Stack:
    """A role allowed to invoke `tasks` functions, in two inline policies, one ARN known after apply:
    with 131 tasks and a Sid of 69 characters, exactly 10,240 characters without white space."""
    arns = [f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orchestra-dev-task-{i:03}" for i in range(tasks)]
    run = {"Sid": "S" * sid_length, "Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": arns}
    logs = {
        "Effect": "Allow",
        "Action": ["logs:PutLogEvents"],
        "Resource": [ref("aws_cloudwatch_log_group.g", "arn")],
    }
    role = ref("aws_iam_role.r", "id")
    return stack(
        ROLE,
        res("aws_iam_role_policy", "run", role=role, policy=policy(run)),
        res("aws_iam_role_policy", "logs", role=role, policy=policy(logs)),
    )


def mapping(visibility: int, timeout: int) -> Stack:
    return stack(
        res("aws_sqs_queue", "q", name="q", visibility_timeout_seconds=visibility),
        function("w", timeout=timeout),
        res(
            "aws_lambda_event_source_mapping",
            "m",
            event_source_arn=ref("aws_sqs_queue.q", "arn"),
            function_name=ref("aws_lambda_function.w", "arn"),
        ),
    )


def stream(**mapping_config: Any) -> Stack:
    return stack(
        res(
            "aws_dynamodb_table",
            "t",
            stream_enabled=True,
            hash_key="pk",
            attribute=[{"name": "pk", "type": "S"}],
        ),
        function("o"),
        res(
            "aws_lambda_event_source_mapping",
            "m",
            event_source_arn=ref("aws_dynamodb_table.t", "stream_arn"),
            function_name=ref("aws_lambda_function.o", "arn"),
            **mapping_config,
        ),
    )


def key_for(service_statements: list[dict[str, Any]], *users: tuple[str, str, dict[str, Any]]) -> Stack:
    return stack(res("aws_kms_key", "k", policy=policy(*service_statements)), *users)


def service_use(service: str, *actions: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": {"Service": service}, "Action": list(actions), "Resource": "*"}


def site(key_statements: list[dict[str, Any]], bucket_statements: list[dict[str, Any]], domain: str) -> Stack:
    return stack(
        res("aws_kms_key", "k", policy=policy(*key_statements)),
        res("aws_s3_bucket", "site", bucket="site"),
        res(
            "aws_s3_bucket_server_side_encryption_configuration",
            "sse",
            bucket=ref("aws_s3_bucket.site", "id"),
            rule=[
                {
                    "apply_server_side_encryption_by_default": {
                        "kms_master_key_id": ref("aws_kms_key.k", "arn")
                    }
                }
            ],
        ),
        res(
            "aws_s3_bucket_policy",
            "p",
            bucket=ref("aws_s3_bucket.site", "id"),
            policy=policy(*bucket_statements),
        ),
        res(
            "aws_cloudfront_distribution",
            "d",
            origin=[{"domain_name": ref("aws_s3_bucket.site", domain), "origin_access_control_id": "oac"}],
        ),
    )


CLOUDFRONT_READS = {
    "Effect": "Allow",
    "Principal": {"Service": "cloudfront.amazonaws.com"},
    "Action": "s3:GetObject",
    "Resource": "arn:aws:s3:::site/*",
}


def egress(nat: bool, endpoint_dns: bool = False) -> Stack:
    routes = (
        [
            res(
                "aws_route",
                "default",
                route_table_id=ref("aws_route_table.t", "id"),
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id="${aws_nat_gateway.n.id}",
            )
        ]
        if nat
        else []
    )
    endpoint = (
        [
            res(
                "aws_vpc_endpoint",
                "api",
                service_name=f"com.amazonaws.{REGION}.execute-api",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
            )
        ]
        if endpoint_dns
        else []
    )
    return stack(
        res("aws_route_table", "t"),
        res("aws_subnet", "s"),
        res(
            "aws_route_table_association",
            "a",
            subnet_id=ref("aws_subnet.s", "id"),
            route_table_id=ref("aws_route_table.t", "id"),
        ),
        *routes,
        *endpoint,
        function(
            "orchestrator",
            vpc_config={"subnet_ids": [ref("aws_subnet.s", "id")]},
            environment={
                "variables": {
                    "WEBSOCKET_API_ENDPOINT": "https://${aws_apigatewayv2_api.ws.id}.execute-api.eu-central-1.amazonaws.com/prod"
                }
            },
        ),
    )


def many_reserved(quota: int, name: str = "dev", worker: int = 20) -> Stack:
    return stack(
        function("worker", reserved_concurrent_executions=worker),
        function("orchestrator", reserved_concurrent_executions=5),
        function("reaper", reserved_concurrent_executions=1),
        name=name,
        **{"//": {"preflight": {"lambda_concurrency_quota": quota}}},
    )


ROOT_ADMINISTERS = {
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": ["kms:Decrypt", "kms:Encrypt", "kms:PutKeyPolicy"],
    "Resource": "*",
}


def sqs_mapping(**config: Any) -> Stack:
    return stack(
        res("aws_sqs_queue", "q", visibility_timeout_seconds=60),
        function("worker"),
        res(
            "aws_lambda_event_source_mapping",
            "m",
            event_source_arn=ref("aws_sqs_queue.q", "arn"),
            function_name=ref("aws_lambda_function.worker", "arn"),
            **config,
        ),
    )


Fixture = tuple[Callable[[], list[Stack]], Callable[[], list[Stack]]]


def cognito_client(**config: Any) -> tuple[str, str, dict[str, Any]]:
    return res("aws_cognito_user_pool_client", "c", name="c", user_pool_id="p", **config)


def cognito_pool(**config: Any) -> tuple[str, str, dict[str, Any]]:
    return res("aws_cognito_user_pool", "p", name="p", **config)


def websocket_route(route_key: str, authorization_type: str) -> Stack:
    api = res("aws_apigatewayv2_api", "ws", name="ws", protocol_type="WEBSOCKET")
    route = res(
        "aws_apigatewayv2_route",
        "r",
        api_id=ref("aws_apigatewayv2_api.ws", "id"),
        route_key=route_key,
        authorization_type=authorization_type,
    )
    return stack(api, route)


def web_acl(provider: str | None) -> Stack:
    acl = res(
        "aws_wafv2_web_acl",
        "cf",
        name="cf",
        scope="CLOUDFRONT",
        **({"provider": provider} if provider else {}),
    )
    document = stack(acl).document
    document["provider"]["aws"].append(
        {"alias": "us_east_1", "region": "us-east-1", "allowed_account_ids": [ACCOUNT]}
    )
    return Stack("dev", document)


def waf_logging(log_group: str) -> Stack:
    return stack(
        res("aws_cloudwatch_log_group", "l", name=log_group),
        res("aws_wafv2_web_acl", "a", name="a", scope="REGIONAL"),
        res(
            "aws_wafv2_web_acl_logging_configuration",
            "w",
            resource_arn=ref("aws_wafv2_web_acl.a", "arn"),
            log_destination_configs=[ref("aws_cloudwatch_log_group.l", "arn")],
        ),
    )


FIXTURES: dict[str, Fixture] = {
    "S3-BUCKET-NAME": (
        lambda: [
            stack(res("aws_s3_bucket", "b", bucket="orchestra-dev-artifacts-123456789012-eu-central-1"))
        ],
        lambda: [
            stack(
                res(
                    "aws_s3_bucket",
                    "b",
                    bucket="orchestra-development-team-access-logs-123456789012-ap-southeast-1",
                )
            )
        ],
    ),
    "S3-LIFECYCLE-TRANSITION-DAYS": (
        lambda: [stack(lifecycle(transition=transitions((30, "GLACIER"), (120, "DEEP_ARCHIVE"))))],
        lambda: [stack(lifecycle(transition=transitions((30, "GLACIER"), (90, "DEEP_ARCHIVE"))))],
    ),
    "S3-LIFECYCLE-EXPIRATION-AFTER-TRANSITION": (
        lambda: [stack(lifecycle(transition=transitions((30, "GLACIER")), expiration=[{"days": 365}]))],
        lambda: [stack(lifecycle(transition=transitions((30, "GLACIER")), expiration=[{"days": 30}]))],
    ),
    "S3-LIFECYCLE-ABORT-MPU-NO-TAGS": (
        lambda: [stack(lifecycle(abort_incomplete_multipart_upload=[{"days_after_initiation": 7}]))],
        lambda: [
            stack(
                res(
                    "aws_s3_bucket_lifecycle_configuration",
                    "l",
                    rule=[
                        {
                            "id": "r",
                            "filter": [{"tag": [{"key": "k", "value": "v"}]}],
                            "abort_incomplete_multipart_upload": [{"days_after_initiation": 7}],
                        }
                    ],
                )
            )
        ],
    ),
    "S3-POLICY-KMS-KEY-IS-KEY-ARN": (
        lambda: [stack(BUCKET, KEY, pinned())],
        lambda: [stack(BUCKET, KEY, pinned(f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/orchestra"))],
    ),
    "S3-POLICY-REFUSES-AWS-MANAGED-KEY": (
        lambda: [stack(BUCKET, KEY, pinned())],
        lambda: [
            stack(
                BUCKET, KEY, bucket_policy(DENY_OTHER_ENCRYPTION, deny_other_key(ref("aws_kms_key.k", "arn")))
            )
        ],
    ),
    "S3-UPLOAD-MATCHES-BUCKET-POLICY": (
        lambda: [
            stack(
                BUCKET,
                KEY,
                pinned(),
                res(
                    "aws_s3_object",
                    "o",
                    bucket=ref("aws_s3_bucket.b", "bucket"),
                    server_side_encryption="aws:kms",
                    kms_key_id=ref("aws_kms_key.k", "arn"),
                ),
            )
        ],
        lambda: [
            stack(
                BUCKET,
                KEY,
                pinned(),
                res(
                    "aws_s3_object",
                    "o",
                    bucket=ref("aws_s3_bucket.b", "bucket"),
                    server_side_encryption="aws:kms",
                ),
            )
        ],
    ),
    "BACKEND-STATE-UPLOADS-MATCH-POLICY": (
        lambda: [bootstrap(), stack(terraform=s3_backend(encrypt=True, kms_key_id=KEY_ARN))],
        lambda: [
            bootstrap(),
            stack(
                terraform=s3_backend(
                    encrypt=True, kms_key_id=f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/orchestra-tfstate"
                )
            ),
        ],
    ),
    "BACKEND-KMS-KEY-ID-FORMAT": (
        lambda: [stack(terraform=s3_backend(kms_key_id=KEY_ARN))],
        lambda: [stack(terraform=s3_backend(kms_key_id="orchestra-tfstate"))],
    ),
    "BACKEND-LOCKFILE-NEEDS-TERRAFORM-1.10": (
        lambda: [stack(terraform={**s3_backend(use_lockfile=True), "required_version": ">= 1.10"})],
        lambda: [stack(terraform=s3_backend(use_lockfile=True))],
    ),
    "TERRAFORM-LOCAL-STATE-OUTSIDE-CDKTF-OUT": (
        lambda: [
            stack(
                name="bootstrap",
                terraform={"backend": {"local": {"path": "../../../terraform.bootstrap.tfstate"}}},
            )
        ],
        lambda: [
            stack(name="bootstrap", terraform={"backend": {"local": {"path": "terraform.bootstrap.tfstate"}}})
        ],
    ),
    "APIGW-WEBSOCKET-LOG-VARIABLES": (
        lambda: [
            ws_stage('{"id":"$context.requestId","route":"$context.routeKey","event":"$context.eventType"}')
        ],
        lambda: [
            ws_stage(
                '{"id":"$context.requestId","method":"$context.httpMethod","path":"$context.resourcePath"}'
            )
        ],
    ),
    "APIGW-REST-LOG-VARIABLES": (
        lambda: [rest_stage('{"id":"$context.requestId","method":"$context.httpMethod"}')],
        lambda: [rest_stage('{"id":"$context.requestId","connection":"$context.connectionId"}')],
    ),
    "APIGW-ACCESS-LOG-REQUEST-ID": (
        lambda: [rest_stage('{"id":"$context.extendedRequestId"}')],
        lambda: [rest_stage('{"status":"$context.status"}')],
    ),
    "APIGW-DEPLOYMENT-AFTER-CONFIGURATION": (
        lambda: [rest({"depends_on": DEPLOYED, "triggers": {"redeployment": HASH}})],
        lambda: [rest({"depends_on": DEPLOYED[:2], "triggers": {"redeployment": "c4f09fa3f730654c"}})],
    ),
    "APIGW-DEPLOYMENT-REDEPLOY-TRIGGER": (
        lambda: [rest({"depends_on": DEPLOYED, "triggers": {"redeployment": HASH}})],
        lambda: [rest({"depends_on": DEPLOYED, "triggers": {"redeployment": "c4f09fa3f730654c"}})],
    ),
    "APIGW-ACCOUNT-ROLE-TRUST": (
        lambda: [account_role()],
        lambda: [account_role(StringEquals={"aws:SourceAccount": ACCOUNT})],
    ),
    "APIGW-LOGGING-NEEDS-ACCOUNT-ROLE": (
        lambda: [
            stack(res("aws_api_gateway_account", "acct", cloudwatch_role_arn="r"), name="bootstrap"),
            rest_stage('{"id":"$context.requestId"}'),
        ],
        lambda: [
            stack(
                res(
                    "aws_api_gateway_stage",
                    "s",
                    access_log_settings={"format": '{"id":"$context.requestId"}'},
                )
            )
        ],
    ),
    "LAMBDA-RUNTIME-SUPPORTED": (
        lambda: [stack(function(runtime="nodejs22.x"))],
        lambda: [stack(function(runtime="nodejs20.x"))],
    ),
    "LAMBDA-TIMEOUT-AND-MEMORY": (
        lambda: [stack(function(timeout=900, memory_size=10240))],
        lambda: [stack(function(timeout=901, memory_size=64))],
    ),
    "LAMBDA-UNRESERVED-CONCURRENCY": (
        lambda: [many_reserved(1000)],
        lambda: [many_reserved(50)],
    ),
    "LAMBDA-VPC-SYNC-WAIT-UNDER-IDLE-TIMEOUT": (lambda: [worker(300)], lambda: [worker(840)]),
    "LAMBDA-ENVIRONMENT-4KB": (lambda: [environment_of(4096)], lambda: [environment_of(4097)]),
    "IAM-ROLE-INLINE-POLICY-SIZE": (lambda: [invoking(69)], lambda: [invoking(70)]),
    "LAMBDA-IMAGE-NOT-FROM-SAME-STACK": (
        lambda: [
            stack(
                function(
                    package_type="Image",
                    image_uri=f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/orchestra-tasks:src-1",
                )
            )
        ],
        lambda: [
            stack(
                res("aws_ecr_repository", "images", name="orchestra-dev-tasks"),
                function(
                    package_type="Image",
                    image_uri=ref("aws_ecr_repository.images", "repository_url") + ":src-1",
                ),
            )
        ],
    ),
    "LAMBDA-IMAGE-URI": (
        lambda: [stack(function(image_uri=f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/t@sha256:{'a' * 64}"))],
        lambda: [
            stack(function(image_uri=f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/orchestra-tasks:src-1"))
        ],
    ),
    "LAMBDA-AFTER-ROLE-POLICIES": (
        lambda: [stack(ROLE, ROLE_POLICY, with_role())],
        lambda: [stack(ROLE, ROLE_POLICY, function(role=ref("aws_iam_role.r", "arn")))],
    ),
    "LAMBDA-VPC-ROLE-PERMISSIONS": (
        lambda: [stack(ROLE, ROLE_POLICY, with_role(vpc_config={"subnet_ids": ["s"]}))],
        lambda: [
            stack(
                ROLE,
                res("aws_iam_role_policy", "rp", role=ref("aws_iam_role.r", "id"), policy=policy()),
                with_role(vpc_config={"subnet_ids": ["s"]}),
            )
        ],
    ),
    "LAMBDA-TRUSTS-LAMBDA": (
        lambda: [stack(ROLE, ROLE_POLICY, with_role())],
        lambda: [
            stack(
                res("aws_iam_role", "r", name="x", assume_role_policy=trust("ec2.amazonaws.com")),
                ROLE_POLICY,
                with_role(),
            )
        ],
    ),
    "LAMBDA-SQS-VISIBILITY-TIMEOUT": (lambda: [mapping(390, 360)], lambda: [mapping(30, 60)]),
    "LAMBDA-STREAM-MAPPING": (
        lambda: [stream(starting_position="TRIM_HORIZON", batch_size=25, parallelization_factor=2)],
        lambda: [stream(starting_position="TRIM_HORIZON", parallelization_factor=11)],
    ),
    "LAMBDA-ASYNC-CONFIG-RANGES": (
        lambda: [
            stack(
                res(
                    "aws_lambda_function_event_invoke_config",
                    "c",
                    maximum_retry_attempts=2,
                    maximum_event_age_in_seconds=3600,
                )
            )
        ],
        lambda: [stack(res("aws_lambda_function_event_invoke_config", "c", maximum_retry_attempts=3))],
    ),
    "LAMBDA-FUNCTION-NAME": (
        lambda: [stack(function("worker"))],
        lambda: [stack(res("aws_lambda_function", "f", function_name="x" * 65))],
    ),
    "IAM-ROLE-NAME": (
        lambda: [stack(res("aws_iam_role", "r", name="orchestra-dev-orchestrator-role"))],
        lambda: [
            stack(
                res(
                    "aws_iam_role",
                    "r",
                    name="orchestra-development-environment-of-the-platform-team-orchestrator-role",
                )
            )
        ],
    ),
    "KMS-KEY-POLICY-CLOUDWATCH-LOGS": (
        lambda: [
            key_for(
                [service_use(f"logs.{REGION}.amazonaws.com", "kms:GenerateDataKey", "kms:Decrypt")],
                res("aws_cloudwatch_log_group", "g", name="/x", kms_key_id=ref("aws_kms_key.k", "arn")),
            )
        ],
        lambda: [
            key_for(
                [], res("aws_cloudwatch_log_group", "g", name="/x", kms_key_id=ref("aws_kms_key.k", "arn"))
            )
        ],
    ),
    "KMS-KEY-POLICY-CLOUDFRONT-OAC": (
        lambda: [
            site(
                [service_use("cloudfront.amazonaws.com", "kms:Decrypt")],
                [CLOUDFRONT_READS],
                "bucket_regional_domain_name",
            )
        ],
        lambda: [site([], [CLOUDFRONT_READS], "bucket_regional_domain_name")],
    ),
    "KMS-KEY-POLICY-SNS-FROM-CLOUDWATCH": (
        lambda: [
            key_for(
                [service_use("cloudwatch.amazonaws.com", "kms:Decrypt", "kms:GenerateDataKey")],
                res("aws_sns_topic", "t", kms_master_key_id=ref("aws_kms_key.k", "arn")),
                res("aws_cloudwatch_metric_alarm", "a", alarm_actions=[ref("aws_sns_topic.t", "arn")]),
            )
        ],
        lambda: [
            key_for(
                [],
                res("aws_sns_topic", "t", kms_master_key_id=ref("aws_kms_key.k", "arn")),
                res("aws_cloudwatch_metric_alarm", "a", alarm_actions=[ref("aws_sns_topic.t", "arn")]),
            )
        ],
    ),
    "KMS-KEY-SETTINGS": (
        lambda: [
            stack(
                res("aws_kms_key", "k", deletion_window_in_days=30, rotation_period_in_days=365),
                res("aws_kms_alias", "a", name="alias/orchestra-dev"),
            )
        ],
        lambda: [
            stack(
                res("aws_kms_key", "k", deletion_window_in_days=5),
                res("aws_kms_alias", "a", name="alias/aws/orchestra"),
            )
        ],
    ),
    "DYNAMODB-ATTRIBUTES-ARE-KEYS": (
        lambda: [
            stack(res("aws_dynamodb_table", "t", hash_key="pk", attribute=[{"name": "pk", "type": "S"}]))
        ],
        lambda: [
            stack(
                res(
                    "aws_dynamodb_table",
                    "t",
                    hash_key="pk",
                    attribute=[{"name": "pk", "type": "S"}, {"name": "status", "type": "S"}],
                )
            )
        ],
    ),
    "DYNAMODB-INDEX-PROJECTIONS": (
        lambda: [
            stack(
                res(
                    "aws_dynamodb_table",
                    "t",
                    global_secondary_index=[
                        {"name": "i", "projection_type": "INCLUDE", "non_key_attributes": ["a"]}
                    ],
                )
            )
        ],
        lambda: [
            stack(
                res(
                    "aws_dynamodb_table",
                    "t",
                    global_secondary_index=[
                        {"name": "i", "projection_type": "KEYS_ONLY", "non_key_attributes": ["a"]}
                    ],
                )
            )
        ],
    ),
    "SQS-QUEUE-ATTRIBUTES": (
        lambda: [
            stack(
                res(
                    "aws_sqs_queue", "q", name="orchestra-dev-task-retries", message_retention_seconds=1209600
                )
            )
        ],
        lambda: [stack(res("aws_sqs_queue", "q", name="q", message_retention_seconds=14 * 24 * 3600 + 1))],
    ),
    "EVENTS-SCHEDULE-EXPRESSION": (
        lambda: [stack(res("aws_cloudwatch_event_rule", "r", schedule_expression="rate(1 minute)"))],
        lambda: [stack(res("aws_cloudwatch_event_rule", "r", schedule_expression="rate(1 minutes)"))],
    ),
    "EVENTS-LAMBDA-TARGET-PERMISSION": (
        lambda: [
            stack(
                function("reaper"),
                res("aws_cloudwatch_event_target", "t", arn=ref("aws_lambda_function.reaper", "arn")),
                res(
                    "aws_lambda_permission",
                    "p",
                    principal="events.amazonaws.com",
                    function_name=ref("aws_lambda_function.reaper", "function_name"),
                ),
            )
        ],
        lambda: [
            stack(
                function("reaper"),
                res("aws_cloudwatch_event_target", "t", arn=ref("aws_lambda_function.reaper", "arn")),
            )
        ],
    ),
    "VPC-EXECUTE-API-PRIVATE-DNS": (
        lambda: [egress(nat=True)],
        lambda: [egress(nat=True, endpoint_dns=True)],
    ),
    "VPC-FUNCTION-PUBLIC-EGRESS": (lambda: [egress(nat=True)], lambda: [egress(nat=False)]),
    "VPC-ENDPOINT-PRIVATE-DNS-NEEDS-VPC-DNS": (
        lambda: [
            stack(
                res("aws_vpc", "v", enable_dns_support=True, enable_dns_hostnames=True),
                res("aws_vpc_endpoint", "e", vpc_id=ref("aws_vpc.v", "id"), private_dns_enabled=True),
            )
        ],
        lambda: [
            stack(
                res("aws_vpc", "v"),
                res("aws_vpc_endpoint", "e", vpc_id=ref("aws_vpc.v", "id"), private_dns_enabled=True),
            )
        ],
    ),
    "VPC-SECURITY-GROUP-RULE-ONE-TARGET": (
        lambda: [stack(res("aws_vpc_security_group_egress_rule", "r", cidr_ipv4="0.0.0.0/0"))],
        lambda: [
            stack(
                res("aws_vpc_security_group_egress_rule", "r", cidr_ipv4="0.0.0.0/0", prefix_list_id="pl-1")
            )
        ],
    ),
    "LOGS-RETENTION-DAYS": (
        lambda: [stack(res("aws_cloudwatch_log_group", "g", retention_in_days=14))],
        lambda: [stack(res("aws_cloudwatch_log_group", "g", retention_in_days=10))],
    ),
    "CLOUDFRONT-OAC-S3-ORIGIN": (
        lambda: [
            site(
                [service_use("cloudfront.amazonaws.com", "kms:Decrypt")],
                [CLOUDFRONT_READS],
                "bucket_regional_domain_name",
            )
        ],
        lambda: [
            site([service_use("cloudfront.amazonaws.com", "kms:Decrypt")], [], "bucket_regional_domain_name")
        ],
    ),
    "KMS-KEY-POLICY-LOCKOUT": (
        lambda: [stack(res("aws_kms_key", "k", policy=policy(ROOT_ADMINISTERS)))],
        lambda: [
            stack(
                res(
                    "aws_kms_key",
                    "k",
                    policy=policy({**ROOT_ADMINISTERS, "Action": ["kms:Decrypt", "kms:Encrypt"]}),
                )
            )
        ],
    ),
    "DYNAMODB-STREAM-VIEW-TYPE": (
        lambda: [
            stack(res("aws_dynamodb_table", "t", stream_enabled=True, stream_view_type="NEW_AND_OLD_IMAGES"))
        ],
        lambda: [stack(res("aws_dynamodb_table", "t", stream_enabled=True))],
    ),
    "EVENTS-TARGET-RETRY-POLICY": (
        lambda: [
            stack(
                res(
                    "aws_cloudwatch_event_target",
                    "t",
                    retry_policy={"maximum_event_age_in_seconds": 60, "maximum_retry_attempts": 0},
                )
            )
        ],
        lambda: [
            stack(
                res(
                    "aws_cloudwatch_event_target",
                    "t",
                    retry_policy={"maximum_event_age_in_seconds": 30, "maximum_retry_attempts": 0},
                )
            )
        ],
    ),
    "LAMBDA-SQS-BATCH-WINDOW": (
        lambda: [sqs_mapping(batch_size=100, maximum_batching_window_in_seconds=1)],
        lambda: [sqs_mapping(batch_size=100)],
    ),
    "ECR-REPOSITORY-NAME": (
        lambda: [stack(res("aws_ecr_repository", "r", name="orchestra-tasks"))],
        lambda: [stack(res("aws_ecr_repository", "r", name="Orchestra_Tasks"))],
    ),
    "COGNITO-DOMAIN-PREFIX": (
        lambda: [
            stack(
                res(
                    "aws_cognito_user_pool_domain", "d", domain="orchestra-dev-123456789012", user_pool_id="p"
                )
            )
        ],
        lambda: [
            stack(res("aws_cognito_user_pool_domain", "d", domain="orchestra-aws-dev", user_pool_id="p"))
        ],
    ),
    "COGNITO-CALLBACK-URLS": (
        lambda: [
            stack(
                cognito_client(
                    callback_urls=["https://d1.cloudfront.net/", "http://localhost:5173/"],
                    default_redirect_uri="https://d1.cloudfront.net/",
                )
            )
        ],
        lambda: [
            stack(cognito_client(callback_urls=["http://d1.example.com/"], default_redirect_uri="https://x/"))
        ],
    ),
    "COGNITO-CLIENT-CREDENTIALS": (
        lambda: [
            stack(
                cognito_client(
                    generate_secret=True,
                    allowed_oauth_flows=["client_credentials"],
                    allowed_oauth_scopes=["orchestra/read"],
                )
            )
        ],
        lambda: [
            stack(
                cognito_client(
                    generate_secret=False,
                    allowed_oauth_flows=["client_credentials", "code"],
                    allowed_oauth_scopes=["openid"],
                )
            )
        ],
    ),
    "COGNITO-THREAT-PROTECTION-PLUS": (
        lambda: [
            stack(
                cognito_pool(user_pool_tier="PLUS", user_pool_add_ons={"advanced_security_mode": "ENFORCED"})
            )
        ],
        lambda: [
            stack(
                cognito_pool(
                    user_pool_tier="ESSENTIALS", user_pool_add_ons={"advanced_security_mode": "AUDIT"}
                )
            )
        ],
    ),
    "COGNITO-MFA-NEEDS-A-FACTOR": (
        lambda: [
            stack(
                cognito_pool(mfa_configuration="OPTIONAL", software_token_mfa_configuration={"enabled": True})
            )
        ],
        lambda: [stack(cognito_pool(mfa_configuration="ON"))],
    ),
    "APIGW-WEBSOCKET-AUTHORIZER-CONNECT-ONLY": (
        lambda: [websocket_route("$connect", "CUSTOM")],
        lambda: [websocket_route("subscribe", "CUSTOM")],
    ),
    "WAF-CLOUDFRONT-SCOPE-IN-US-EAST-1": (
        lambda: [web_acl("aws.us_east_1")],
        lambda: [web_acl(None)],
    ),
    "WAF-LOG-GROUP-PREFIX": (
        lambda: [waf_logging("aws-waf-logs-orchestra-api")],
        lambda: [waf_logging("/aws/waf/orchestra-api")],
    ),
}
