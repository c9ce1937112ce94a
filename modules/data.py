"""Data: the project KMS key, the DynamoDB tables and the S3 buckets (artifacts, access logs, backups)."""

from __future__ import annotations

from dataclasses import dataclass

from modules import naming
from modules.cdk import Construct, aws
from modules.components import BucketInputs, LifecycleRule, SecureBucket, Statement, policy_document

# Key administration and use, delegated to IAM in this account. Listed, not "kms:*".
KEY_ACCOUNT_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
KEY_USE_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)


@dataclass(frozen=True)
class DataInputs:
    name_prefix: str
    account_id: str
    region: str
    deletion_protection: bool


@dataclass(frozen=True)
class Table:
    name: str
    arn: str


class Data(Construct):
    """Everything that holds state; the platform team reads its names and ARNs from remote state."""

    def __init__(self, scope: Construct, id: str, inputs: DataInputs) -> None:
        super().__init__(scope, id)
        self.key = aws.kms_key.KmsKey(
            self,
            "key",
            description=f"{inputs.name_prefix}: tables, buckets, logs, topics and queues",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=30,
            policy=policy_document(key_policy(inputs)),
        )
        aws.kms_alias.KmsAlias(
            self, "alias", name=f"alias/{inputs.name_prefix}", target_key_id=self.key.key_id
        )
        self.kms_key_arn: str = self.key.arn

        ddb = aws.dynamodb_table
        self.workflows = aws.dynamodb_table.DynamodbTable(
            self,
            "workflows",
            name=f"{inputs.name_prefix}-workflows",
            billing_mode="PAY_PER_REQUEST",
            # A workflow's state item (sk "#WF"), definition item ("#DEF") and result items
            # ("RES#<task>#<attempt>") share a partition: one Query reads the whole workflow, and its
            # stream records stay in order.
            hash_key="pk",
            range_key="sk",
            attribute=[
                ddb.DynamodbTableAttribute(name="pk", type="S"),
                ddb.DynamodbTableAttribute(name="sk", type="S"),
                ddb.DynamodbTableAttribute(name="list_pk", type="S"),
                ddb.DynamodbTableAttribute(name="status_pk", type="S"),
                ddb.DynamodbTableAttribute(name="created_at", type="S"),
            ],
            # Write-sharded (LIST#<nn>, <STATUS>#<nn>: 16 shards, a hash of the workflow id) and keys
            # only: a state item's index rows change only when it is created or changes status, never
            # on a task transition. Newest first: one Query per shard, merged (engine/store.py).
            global_secondary_index=[
                ddb.DynamodbTableGlobalSecondaryIndex(
                    name=name, hash_key=hash_key, range_key="created_at", projection_type="KEYS_ONLY"
                )
                for name, hash_key in (("by_created", "list_pk"), ("by_status", "status_pk"))
            ],
            stream_enabled=True,
            stream_view_type="NEW_AND_OLD_IMAGES",
            ttl=ddb.DynamodbTableTtl(attribute_name="expires_at", enabled=True),
            point_in_time_recovery=ddb.DynamodbTablePointInTimeRecovery(enabled=True),
            server_side_encryption=ddb.DynamodbTableServerSideEncryption(
                enabled=True, kms_key_arn=self.key.arn
            ),
            deletion_protection_enabled=inputs.deletion_protection,
        )
        self.workflows_table = Table(self.workflows.name, self.workflows.arn)
        self.workflows_stream_arn: str = self.workflows.stream_arn

        self.connections = aws.dynamodb_table.DynamodbTable(
            self,
            "connections",
            name=f"{inputs.name_prefix}-connections",
            billing_mode="PAY_PER_REQUEST",
            hash_key="connection_id",
            attribute=[
                ddb.DynamodbTableAttribute(name="connection_id", type="S"),
                ddb.DynamodbTableAttribute(name="topic", type="S"),
            ],
            global_secondary_index=[
                # The broadcaster reads who may receive from the index itself (engine.auth.may_receive).
                ddb.DynamodbTableGlobalSecondaryIndex(
                    name="by_topic",
                    hash_key="topic",
                    projection_type="INCLUDE",
                    non_key_attributes=["permissions"],
                ),
            ],
            ttl=ddb.DynamodbTableTtl(attribute_name="expires_at", enabled=True),
            point_in_time_recovery=ddb.DynamodbTablePointInTimeRecovery(enabled=True),
            server_side_encryption=ddb.DynamodbTableServerSideEncryption(
                enabled=True, kms_key_arn=self.key.arn
            ),
            deletion_protection_enabled=inputs.deletion_protection,
        )
        self.connections_table = Table(self.connections.name, self.connections.arn)

        def bucket(purpose: str) -> str:
            return naming.bucket(inputs.name_prefix, purpose, inputs.account_id, inputs.region)

        self.access_logs = SecureBucket(
            self,
            "access_logs",
            BucketInputs(
                name=bucket("access-logs"),
                kms_key_arn=None,
                access_log_bucket=None,
                lifecycle=(LifecycleRule("expire-logs", expire_days=365, noncurrent_expire_days=30),),
                extra_statements=(
                    log_delivery_statement(
                        bucket("access-logs"), inputs.account_id, f"{inputs.name_prefix}-"
                    ),
                ),
            ),
        )
        self.artifacts = SecureBucket(
            self,
            "artifacts",
            BucketInputs(
                name=bucket("artifacts"),
                kms_key_arn=self.key.arn,
                access_log_bucket=self.access_logs.name,
                lifecycle=(LifecycleRule("expire-artifacts", expire_days=90, noncurrent_expire_days=30),),
            ),
        )
        self.backups = SecureBucket(
            self,
            "backups",
            BucketInputs(
                name=bucket("backups"),
                kms_key_arn=self.key.arn,
                access_log_bucket=self.access_logs.name,
                lifecycle=(
                    # Glacier Flexible Retrieval after 30 days, Deep Archive after 120: S3 refuses a
                    # Deep Archive transition less than 90 days after the Glacier one.
                    LifecycleRule(
                        "archive-backups",
                        transitions=((30, "GLACIER"), (120, "DEEP_ARCHIVE")),
                        noncurrent_expire_days=365,
                    ),
                ),
            ),
        )


def key_policy(inputs: DataInputs) -> list[Statement]:
    """Who may use the project key: IAM in this account, and the services that encrypt with it."""
    account = inputs.account_id
    log_groups = f"arn:aws:logs:{inputs.region}:{account}:log-group:*"
    return [
        {
            "Sid": "AccountAdministersAndDelegatesToIam",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
            "Action": sorted(KEY_ACCOUNT_ACTIONS),
            "Resource": "*",  # in a key policy "*" means this key
        },
        {
            "Sid": "CloudWatchLogsEncryptsThisAccountsLogGroups",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{inputs.region}.amazonaws.com"},
            "Action": sorted(KEY_USE_ACTIONS),
            "Resource": "*",
            "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
        },
        {
            # Alarms publish to the KMS-encrypted SNS topic.
            "Sid": "CloudWatchAlarmsPublishToEncryptedTopic",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
        },
        {
            # SNS and SQS use the key on behalf of principals of this account (the functions' roles).
            "Sid": "QueuesAndTopicsOfThisAccount",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:CallerAccount": account},
                "ForAnyValue:StringEquals": {
                    "kms:ViaService": [
                        f"sns.{inputs.region}.amazonaws.com",
                        f"sqs.{inputs.region}.amazonaws.com",
                    ]
                },
            },
        },
        {
            # CloudFront (origin access control) reads the dashboard objects encrypted with this key.
            "Sid": "CloudFrontReadsDashboardObjects",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": ["kms:Decrypt"],
            "Resource": "*",
            "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:cloudfront::{account}:distribution/*"}},
        },
    ]


def log_delivery_statement(bucket_name: str, account_id: str, source_bucket_prefix: str) -> Statement:
    """Let S3 server access logging of this project's buckets write into the log bucket."""
    return {
        "Sid": "S3ServerAccessLogDelivery",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket_name}/s3/*",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": account_id},
            "ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{source_bucket_prefix}*"},
        },
    }
