"""The data module: the KMS key, the tables and the buckets, and their security invariants."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.conftest import Stack, named, only, policy, ref, resources

BUCKETS = ("access_logs", "artifacts", "backups")


def bucket_part(stack: Stack, type_: str, bucket: str) -> dict[str, Any]:
    """The resource of `type_` that configures the data module's bucket `bucket`."""
    part = {
        "aws_s3_bucket": "bucket",
        "aws_s3_bucket_policy": "policy",
        "aws_s3_bucket_public_access_block": "public_access_block",
        "aws_s3_bucket_server_side_encryption_configuration": "encryption",
        "aws_s3_bucket_lifecycle_configuration": "lifecycle",
        "aws_s3_bucket_logging": "logging",
        "aws_s3_bucket_versioning": "versioning",
    }[type_]
    return named(stack, type_, f"data/{bucket}/{part}")[1]


class TestKey:
    def test_rotates(self, env_stack: Stack) -> None:
        key = only(env_stack, "aws_kms_key")
        assert key["enable_key_rotation"] is True
        assert key["deletion_window_in_days"] == 30

    def test_policy_names_actions_explicitly(self, env_stack: Stack) -> None:
        for statement in policy(only(env_stack, "aws_kms_key"))["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all("*" not in action for action in actions), statement["Sid"]

    def test_policy_lets_the_services_that_use_it_do_so(self, env_stack: Stack) -> None:
        statements = {s["Sid"]: s for s in policy(only(env_stack, "aws_kms_key"))["Statement"]}
        assert statements["CloudWatchLogsEncryptsThisAccountsLogGroups"]["Principal"] == {
            "Service": "logs.eu-central-1.amazonaws.com"
        }
        assert statements["CloudWatchAlarmsPublishToEncryptedTopic"]["Principal"] == {
            "Service": "cloudwatch.amazonaws.com"
        }
        via = statements["QueuesAndTopicsOfThisAccount"]["Condition"]["ForAnyValue:StringEquals"][
            "kms:ViaService"
        ]
        assert sorted(via) == ["sns.eu-central-1.amazonaws.com", "sqs.eu-central-1.amazonaws.com"]
        for statement in statements.values():
            if "Service" in statement["Principal"]:
                assert "Condition" in statement, f"{statement['Sid']} must be scoped to this account"


class TestWorkflowsTable:
    @pytest.fixture
    def table(self, env_stack: Stack) -> dict[str, Any]:
        return named(env_stack, "aws_dynamodb_table", "data/workflows")[1]

    def test_keys_serve_a_workflow_item_plus_one_item_per_task(self, table: dict[str, Any]) -> None:
        assert (table["hash_key"], table["range_key"]) == ("pk", "sk")
        assert table["billing_mode"] == "PAY_PER_REQUEST"

    def test_indexes(self, table: dict[str, Any]) -> None:
        indexes = {i["name"]: (i["hash_key"], i.get("range_key")) for i in table["global_secondary_index"]}
        assert indexes == {"by_created": ("list_pk", "created_at"), "by_status": ("status_pk", "created_at")}
        # keys only: a state item's index rows are rewritten only when its keys change (created, a
        # status change), never for a task transition
        assert {i["projection_type"] for i in table["global_secondary_index"]} == {"KEYS_ONLY"}
        declared = {a["name"]: a["type"] for a in table["attribute"]}
        assert declared == {"pk": "S", "sk": "S", "list_pk": "S", "status_pk": "S", "created_at": "S"}

    def test_stream_ttl_recovery_and_encryption(self, table: dict[str, Any]) -> None:
        assert table["stream_enabled"] is True and table["stream_view_type"] == "NEW_AND_OLD_IMAGES"
        assert table["ttl"] == {"attribute_name": "expires_at", "enabled": True}
        assert table["point_in_time_recovery"] == {"enabled": True}
        assert table["server_side_encryption"]["enabled"] is True
        assert table["server_side_encryption"]["kms_key_arn"].startswith("${aws_kms_key.")


class TestConnectionsTable:
    def test_keyed_by_connection_with_a_topic_index(self, env_stack: Stack) -> None:
        table = named(env_stack, "aws_dynamodb_table", "data/connections")[1]
        assert table["hash_key"] == "connection_id" and "range_key" not in table
        assert [(i["name"], i["hash_key"]) for i in table["global_secondary_index"]] == [
            ("by_topic", "topic")
        ]
        assert table["ttl"] == {"attribute_name": "expires_at", "enabled": True}
        assert table["point_in_time_recovery"] == {"enabled": True}
        assert table["server_side_encryption"]["kms_key_arn"].startswith("${aws_kms_key.")


class TestDeletionProtection:
    @pytest.mark.parametrize(
        ("environment", "protected"), [("dev", False), ("staging", False), ("prod", True)]
    )
    def test_only_prod_tables_are_protected(
        self, stacks: dict[str, Stack], environment: str, protected: bool
    ) -> None:
        tables = resources(stacks[environment], "aws_dynamodb_table").values()
        assert [t["deletion_protection_enabled"] for t in tables] == [protected, protected]


class TestEveryBucket:
    """Invariants every bucket in every stack keeps, the bootstrap stack's included."""

    def test_public_access_blocked(self, stacks: dict[str, Stack]) -> None:
        for stack in stacks.values():
            buckets = resources(stack, "aws_s3_bucket")
            blocks = {b["bucket"]: b for b in resources(stack, "aws_s3_bucket_public_access_block").values()}
            assert set(blocks) == {ref("aws_s3_bucket", name, "id") for name in buckets}
            for block in blocks.values():
                assert all(
                    block[flag] is True
                    for flag in (
                        "block_public_acls",
                        "block_public_policy",
                        "ignore_public_acls",
                        "restrict_public_buckets",
                    )
                )

    def test_encrypted_versioned_owner_enforced_with_lifecycle(self, stacks: dict[str, Stack]) -> None:
        for stack in stacks.values():
            ids = {ref("aws_s3_bucket", name, "id") for name in resources(stack, "aws_s3_bucket")}
            for type_ in (
                "aws_s3_bucket_server_side_encryption_configuration",
                "aws_s3_bucket_versioning",
                "aws_s3_bucket_ownership_controls",
                "aws_s3_bucket_lifecycle_configuration",
            ):
                assert {r["bucket"] for r in resources(stack, type_).values()} == ids, type_
            for versioning in resources(stack, "aws_s3_bucket_versioning").values():
                assert versioning["versioning_configuration"]["status"] == "Enabled"
            for lifecycle in resources(stack, "aws_s3_bucket_lifecycle_configuration").values():
                for rule in lifecycle["rule"]:
                    assert rule["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 7}]

    def test_tls_only_policy(self, stacks: dict[str, Stack]) -> None:
        for stack in stacks.values():
            policies = resources(stack, "aws_s3_bucket_policy").values()
            assert len(policies) == len(resources(stack, "aws_s3_bucket"))
            for body in policies:
                deny = next(s for s in policy(body)["Statement"] if s["Sid"] == "DenyInsecureTransport")
                assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
                assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}

    def test_kms_buckets_deny_other_encryption_the_aws_managed_key_and_other_keys(
        self, stacks: dict[str, Stack]
    ) -> None:
        for stack in stacks.values():
            for body in resources(stack, "aws_s3_bucket_server_side_encryption_configuration").values():
                default = body["rule"][0]["apply_server_side_encryption_by_default"]
                bucket = body["bucket"].removesuffix(".id}").removeprefix("${aws_s3_bucket.")
                policy_body = next(
                    p
                    for p in resources(stack, "aws_s3_bucket_policy").values()
                    if p["bucket"] == body["bucket"]
                )
                sids = {s["Sid"]: s for s in policy(policy_body)["Statement"]}
                sse, key_id = (
                    "s3:x-amz-server-side-encryption",
                    "s3:x-amz-server-side-encryption-aws-kms-key-id",
                )
                if default["sse_algorithm"] == "aws:kms":
                    key = default["kms_master_key_id"]
                    assert key.startswith("${aws_kms_key.") and key.endswith(".arn}")
                    # Each refusal names its header as present: a negated condition on a missing key
                    # would match, and refuse uploads that rely on the default (and multipart parts).
                    assert sids["DenyOtherEncryption"]["Condition"] == {
                        "StringNotEquals": {sse: "aws:kms"},
                        "Null": {sse: "false"},
                    }
                    assert sids["DenyAwsManagedKey"]["Condition"] == {
                        "StringEquals": {sse: "aws:kms"},
                        "Null": {key_id: "true"},
                    }
                    assert sids["DenyOtherKmsKey"]["Condition"] == {
                        "StringNotEquals": {key_id: key},
                        "Null": {key_id: "false"},
                    }
                else:
                    # Only an access-log bucket may use SSE-S3: log delivery cannot write to SSE-KMS,
                    # and sends no encryption header (so the refusal needs the header present).
                    assert "access_logs" in bucket
                    assert sids["DenyUploadsNotSseS3"]["Condition"] == {
                        "StringNotEquals": {sse: "AES256"},
                        "Null": {sse: "false"},
                    }

    def test_every_bucket_but_the_log_buckets_logs_to_a_log_bucket(self, stacks: dict[str, Stack]) -> None:
        for stack in stacks.values():
            buckets = resources(stack, "aws_s3_bucket")
            logged = {lg["bucket"]: lg for lg in resources(stack, "aws_s3_bucket_logging").values()}
            for name in buckets:
                if "access_logs" in name:
                    assert ref("aws_s3_bucket", name, "id") not in logged
                else:
                    target = logged[ref("aws_s3_bucket", name, "id")]["target_bucket"]
                    assert "access_logs" in target


class TestDataBuckets:
    def test_artifacts_expire_after_90_days(self, env_stack: Stack) -> None:
        (rule,) = bucket_part(env_stack, "aws_s3_bucket_lifecycle_configuration", "artifacts")["rule"]
        assert rule["expiration"] == [{"days": 90}]

    def test_backups_archive_then_expire_old_versions(self, env_stack: Stack) -> None:
        (rule,) = bucket_part(env_stack, "aws_s3_bucket_lifecycle_configuration", "backups")["rule"]
        # S3 refuses Deep Archive less than 90 days after Glacier (InvalidArgument).
        assert rule["transition"] == [
            {"days": 30, "storage_class": "GLACIER"},
            {"days": 120, "storage_class": "DEEP_ARCHIVE"},
        ]
        assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": 365}]
        assert "expiration" not in rule

    def test_log_bucket_accepts_only_this_projects_log_delivery(self, env_stack: Stack) -> None:
        statements = {
            s["Sid"]: s
            for s in policy(bucket_part(env_stack, "aws_s3_bucket_policy", "access_logs"))["Statement"]
        }
        delivery = statements["S3ServerAccessLogDelivery"]
        assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
        assert delivery["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}


class TestUnitTestTablesMatchTheStack:
    """tests/unit creates the tables by hand (no synthesis there): they must be the stack's tables."""

    @staticmethod
    def canonical_stack(table: dict[str, Any]) -> dict[str, Any]:
        def projection(index: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
            return index["projection_type"], tuple(index.get("non_key_attributes", ()))

        return {
            "keys": (table["hash_key"], table.get("range_key")),
            "attributes": {a["name"]: a["type"] for a in table["attribute"]},
            "indexes": {
                i["name"]: (i["hash_key"], i.get("range_key"), projection(i))
                for i in table.get("global_secondary_index", [])
            },
            "stream": table.get("stream_view_type"),
        }

    @staticmethod
    def canonical_request(request: dict[str, Any]) -> dict[str, Any]:
        def keys(schema: list[dict[str, str]]) -> tuple[str, str | None]:
            by_type = {k["KeyType"]: k["AttributeName"] for k in schema}
            return by_type["HASH"], by_type.get("RANGE")

        return {
            "keys": keys(request["KeySchema"]),
            "attributes": {a["AttributeName"]: a["AttributeType"] for a in request["AttributeDefinitions"]},
            "indexes": {
                i["IndexName"]: (
                    *keys(i["KeySchema"]),
                    (i["Projection"]["ProjectionType"], tuple(i["Projection"].get("NonKeyAttributes", ()))),
                )
                for i in request.get("GlobalSecondaryIndexes", [])
            },
            "stream": request.get("StreamSpecification", {}).get("StreamViewType"),
        }

    def test_same_keys_indexes_projections_and_stream(self, stacks: dict[str, Stack]) -> None:
        from tests.unit.tables import connections_table, workflows_table

        for table, request in (("workflows", workflows_table("x")), ("connections", connections_table("x"))):
            _, body = named(stacks["dev"], "aws_dynamodb_table", f"data/{table}")
            assert self.canonical_request(request) == self.canonical_stack(body), table
