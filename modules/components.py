"""Building blocks several modules share: a secure bucket, an encrypted log group, policy JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modules.cdk import Construct, aws

Statement = Mapping[str, Any]


def policy_document(statements: Sequence[Statement]) -> str:
    """An IAM policy document as JSON (cdktf tokens inside strings resolve at synthesis)."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=False)


def allow(sid: str, actions: Sequence[str], resources: Sequence[str], **extra: Any) -> Statement:
    """An Allow statement with explicit actions (never a wildcard) on explicit resources."""
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": list(resources), **extra}


def assume_role_policy(service: str, source_account: str | None = None) -> str:
    """Trust policy letting one AWS service assume a role, optionally only for our account (only for
    services that send aws:SourceAccount when they assume it; API Gateway's logging role does not)."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return policy_document([statement])


@dataclass(frozen=True)
class LifecycleRule:
    """One lifecycle rule; every bucket also aborts incomplete multipart uploads after 7 days."""

    id: str
    expire_days: int | None = None
    transitions: tuple[tuple[int, str], ...] = ()  # (days, storage class)
    noncurrent_expire_days: int | None = None


@dataclass(frozen=True)
class BucketInputs:
    name: str
    # None means SSE-S3: the only encryption S3 server access log delivery supports for its target.
    kms_key_arn: str | None
    access_log_bucket: str | None
    lifecycle: tuple[LifecycleRule, ...]
    versioned: bool = True
    extra_statements: tuple[Statement, ...] = field(default=())


class SecureBucket(Construct):
    """A private bucket: public access blocked, owner-enforced, encrypted, TLS-only, logged."""

    def __init__(self, scope: Construct, id: str, inputs: BucketInputs) -> None:
        super().__init__(scope, id)
        self.bucket = aws.s3_bucket.S3Bucket(self, "bucket", bucket=inputs.name)
        self.name: str = self.bucket.bucket
        self.arn: str = self.bucket.arn

        self.public_access_block = aws.s3_bucket_public_access_block.S3BucketPublicAccessBlock(
            self,
            "public_access_block",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        aws.s3_bucket_ownership_controls.S3BucketOwnershipControls(
            self,
            "ownership",
            bucket=self.bucket.id,
            rule=aws.s3_bucket_ownership_controls.S3BucketOwnershipControlsRule(
                object_ownership="BucketOwnerEnforced"
            ),
        )
        aws.s3_bucket_versioning.S3BucketVersioningA(
            self,
            "versioning",
            bucket=self.bucket.id,
            versioning_configuration=aws.s3_bucket_versioning.S3BucketVersioningVersioningConfiguration(
                status="Enabled" if inputs.versioned else "Suspended"
            ),
        )
        sse = aws.s3_bucket_server_side_encryption_configuration
        aws.s3_bucket_server_side_encryption_configuration.S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=self.bucket.id,
            rule=[
                sse.S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=sse.S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm="AES256" if inputs.kms_key_arn is None else "aws:kms",
                        kms_master_key_id=inputs.kms_key_arn,
                    ),
                    bucket_key_enabled=inputs.kms_key_arn is not None,
                )
            ],
        )
        if inputs.access_log_bucket is not None:
            aws.s3_bucket_logging.S3BucketLoggingA(
                self,
                "logging",
                bucket=self.bucket.id,
                target_bucket=inputs.access_log_bucket,
                target_prefix=f"s3/{inputs.name}/",
            )
        aws.s3_bucket_lifecycle_configuration.S3BucketLifecycleConfiguration(
            self,
            "lifecycle",
            bucket=self.bucket.id,
            rule=[_lifecycle_rule(rule) for rule in inputs.lifecycle],
        )
        self._statements = [*self._guard_statements(inputs), *inputs.extra_statements]
        self.policy = aws.s3_bucket_policy.S3BucketPolicy(
            self,
            "policy",
            bucket=self.bucket.id,
            policy=policy_document(self._statements),
            # S3 rejects a policy while the public access block is still being written.
            depends_on=[self.public_access_block],
        )

    def add_statement(self, statement: Statement) -> None:
        """Grant access that needs something created after the bucket (e.g. a distribution's ARN)."""
        self._statements.append(statement)
        self.policy.policy = policy_document(self._statements)

    def _guard_statements(self, inputs: BucketInputs) -> list[Statement]:
        objects = f"{self.arn}/*"
        guards: list[Statement] = [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [self.arn, objects],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ]
        # A negated condition matches when its key is missing, so each "refuse X" names its key as
        # present (Null: false): an upload without encryption headers gets the bucket's default
        # encryption, and the parts of a multipart upload (which carry none) pass.
        if inputs.kms_key_arn is None:
            # S3 log delivery sends no encryption header; refuse only an upload that asks for another.
            guards.append(
                {
                    "Sid": "DenyUploadsNotSseS3",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:PutObject",
                    "Resource": objects,
                    "Condition": {
                        "StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"},
                        "Null": {"s3:x-amz-server-side-encryption": "false"},
                    },
                }
            )
        else:
            guards += [
                {
                    "Sid": "DenyOtherEncryption",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:PutObject",
                    "Resource": objects,
                    "Condition": {
                        "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                        "Null": {"s3:x-amz-server-side-encryption": "false"},
                    },
                },
                {
                    # SSE-KMS without a key id would use the AWS managed key aws/s3.
                    "Sid": "DenyAwsManagedKey",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:PutObject",
                    "Resource": objects,
                    "Condition": {
                        "StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                        "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "true"},
                    },
                },
                {
                    # Named by its ARN: the condition compares the header as sent (never an alias).
                    "Sid": "DenyOtherKmsKey",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:PutObject",
                    "Resource": objects,
                    "Condition": {
                        "StringNotEquals": {
                            "s3:x-amz-server-side-encryption-aws-kms-key-id": inputs.kms_key_arn
                        },
                        "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
                    },
                },
            ]
        return guards


def _lifecycle_rule(
    rule: LifecycleRule,
) -> aws.s3_bucket_lifecycle_configuration.S3BucketLifecycleConfigurationRule:
    lifecycle = aws.s3_bucket_lifecycle_configuration
    return lifecycle.S3BucketLifecycleConfigurationRule(
        id=rule.id,
        status="Enabled",
        filter=[lifecycle.S3BucketLifecycleConfigurationRuleFilter()],  # the whole bucket
        abort_incomplete_multipart_upload=[
            lifecycle.S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                days_after_initiation=7
            )
        ],
        expiration=None
        if rule.expire_days is None
        else [lifecycle.S3BucketLifecycleConfigurationRuleExpiration(days=rule.expire_days)],
        transition=[
            lifecycle.S3BucketLifecycleConfigurationRuleTransition(days=days, storage_class=storage)
            for days, storage in rule.transitions
        ]
        or None,
        noncurrent_version_expiration=None
        if rule.noncurrent_expire_days is None
        else [
            lifecycle.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                noncurrent_days=rule.noncurrent_expire_days
            )
        ],
    )


@dataclass(frozen=True)
class LogGroupInputs:
    name: str
    retention_days: int
    kms_key_arn: str


class EncryptedLogGroup(Construct):
    """A CloudWatch log group with a retention period, encrypted with the project key."""

    def __init__(self, scope: Construct, id: str, inputs: LogGroupInputs) -> None:
        super().__init__(scope, id)
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "log_group",
            name=inputs.name,
            retention_in_days=inputs.retention_days,
            kms_key_id=inputs.kms_key_arn,
        )
        self.name: str = self.log_group.name
        self.arn: str = self.log_group.arn
