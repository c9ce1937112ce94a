"""The local cloud refuses, at start-up and with AWS's answer, what AWS would refuse to create (the
preflight's rules) and what S3 would deny the stack's own uploads (its bucket policies)."""

from __future__ import annotations

import json

import pytest

from local_cloud.harness import Loop
from local_cloud.stacks import StackBuilder, ref
from localcloud import iam, s3
from localcloud.cloud import LocalCloud, Options
from localcloud.plan import Plan, PlanError


def start(stack: StackBuilder, aio: Loop) -> None:
    stack.write()
    cloud = LocalCloud(Options(root=stack.root, stack=stack.name, warm=False), progress=lambda m: None)
    aio.run(cloud.start(), timeout=120)
    aio.run(cloud.stop(), timeout=60)


class TestWhatAwsWouldNotCreate:
    def test_a_lifecycle_s3_refuses_stops_start_up_with_its_error(
        self, stack: StackBuilder, aio: Loop
    ) -> None:
        stack.add("aws_s3_bucket", "backups", bucket="test-backups")
        stack.add(
            "aws_s3_bucket_lifecycle_configuration",
            "archive",
            bucket=ref("aws_s3_bucket", "backups", "id"),
            rule=[
                {
                    "id": "archive",
                    "filter": [{}],
                    "transition": [
                        {"days": 30, "storage_class": "GLACIER"},
                        {"days": 90, "storage_class": "DEEP_ARCHIVE"},
                    ],
                }
            ],
        )
        with pytest.raises(PlanError) as caught:
            start(stack, aio)
        message = str(caught.value)
        assert "S3-LIFECYCLE-TRANSITION-DAYS test:aws_s3_bucket_lifecycle_configuration.archive: " in message
        assert (
            "AWS refuses: InvalidArgument: 'Days' in the Transition action for StorageClass 'DEEP_ARCHIVE'"
            in message
        )

    def test_a_retired_runtime_stops_start_up(self, stack: StackBuilder, aio: Loop) -> None:
        stack.function(
            "old",
            {"index.js": "exports.handler = async () => 1;"},
            runtime="nodejs20.x",
            handler="index.handler",
        )
        with pytest.raises(PlanError, match=r"LAMBDA-RUNTIME-SUPPORTED .*InvalidParameterValueException"):
            start(stack, aio)


def guarded_bucket(stack: StackBuilder, **obj: str) -> None:
    stack.add("aws_kms_key", "key", description="inert")
    stack.add("aws_s3_bucket", "b", bucket="test-guarded")
    statement = {
        "Sid": "DenyAwsManagedKey",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": ref("aws_s3_bucket", "b", "arn") + "/*",
        "Condition": {
            "StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
            "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "true"},
        },
    }
    stack.add(
        "aws_s3_bucket_policy",
        "p",
        bucket=ref("aws_s3_bucket", "b", "id"),
        policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )
    stack.add(
        "aws_s3_object", "o", bucket=ref("aws_s3_bucket", "b", "bucket"), key="o.json", content="{}", **obj
    )


class TestTheStacksOwnUploads:
    def test_an_upload_the_bucket_policy_denies_fails_as_terraforms_would(self, stack: StackBuilder) -> None:
        guarded_bucket(stack, server_side_encryption="aws:kms")
        stack.write()
        plan = Plan.load(stack.root, stack.name)

        class Client:
            def create_bucket(self, **_: object) -> None: ...

            def put_object(self, **_: object) -> None:
                raise AssertionError("a denied upload must not reach S3")

        with pytest.raises(
            PlanError, match=r"aws_s3_object\.o: AccessDenied: User: .*assumed-role/deployer/"
        ):
            s3.Buckets(Client()).create(plan, s3.BucketPolicies(plan), iam.Identities(plan).deployer)

    def test_with_the_key_named_it_is_uploaded_with_its_encryption(self, stack: StackBuilder) -> None:
        guarded_bucket(stack, server_side_encryption="aws:kms", kms_key_id=ref("aws_kms_key", "key", "arn"))
        stack.write()
        plan = Plan.load(stack.root, stack.name)
        sent: list[dict[str, object]] = []

        class Client:
            def create_bucket(self, **_: object) -> None: ...

            def put_object(self, **request: object) -> None:
                sent.append(request)

        s3.Buckets(Client()).create(plan, s3.BucketPolicies(plan), iam.Identities(plan).deployer)
        assert sent[0]["ServerSideEncryption"] == "aws:kms"
        assert str(sent[0]["SSEKMSKeyId"]).startswith("arn:aws:kms:eu-central-1:123456789012:key/")
