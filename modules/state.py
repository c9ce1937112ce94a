"""Remote state: the versioned, KMS-encrypted bucket every environment stack keeps its state in."""

from __future__ import annotations

from dataclasses import dataclass

from modules.cdk import Construct, aws
from modules.components import (
    BucketInputs,
    LifecycleRule,
    SecureBucket,
    allow,
    assume_role_policy,
    policy_document,
)
from modules.data import KEY_ACCOUNT_ACTIONS, log_delivery_statement


@dataclass(frozen=True)
class StateInputs:
    name_prefix: str
    account_id: str
    region: str
    state_bucket: str


class RemoteState(Construct):
    """The state bucket, its key (alias `alias/<prefix>-tfstate`) and the bucket its access logs go to."""

    def __init__(self, scope: Construct, id: str, inputs: StateInputs) -> None:
        super().__init__(scope, id)
        self.key = aws.kms_key.KmsKey(
            self,
            "key",
            description=f"{inputs.name_prefix}: Terraform state",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=policy_document(
                [
                    {
                        "Sid": "AccountAdministersAndDelegatesToIam",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{inputs.account_id}:root"},
                        "Action": sorted(KEY_ACCOUNT_ACTIONS),
                        "Resource": "*",
                    }
                ]
            ),
        )
        self.alias = aws.kms_alias.KmsAlias(
            self, "alias", name=key_alias(inputs.name_prefix), target_key_id=self.key.key_id
        )
        logs_name = f"{inputs.state_bucket}-access-logs"
        self.access_logs = SecureBucket(
            self,
            "access_logs",
            BucketInputs(
                name=logs_name,
                kms_key_arn=None,
                access_log_bucket=None,
                lifecycle=(LifecycleRule("expire-logs", expire_days=365, noncurrent_expire_days=30),),
                extra_statements=(log_delivery_statement(logs_name, inputs.account_id, inputs.state_bucket),),
            ),
        )
        self.bucket = SecureBucket(
            self,
            "tfstate",
            BucketInputs(
                name=inputs.state_bucket,
                kms_key_arn=self.key.arn,
                access_log_bucket=self.access_logs.name,
                # Old state versions are how a bad apply is undone; keep them a year.
                lifecycle=(LifecycleRule("expire-old-state-versions", noncurrent_expire_days=365),),
            ),
        )
        # API Gateway writes access and execution logs through one role set per account and region,
        # so it belongs here, applied once, rather than in every environment stack.
        self.api_gateway_logging_role = aws.iam_role.IamRole(
            self,
            "api_gateway_logging_role",
            name=f"{inputs.name_prefix}-apigateway-cloudwatch",
            description="API Gateway writes access and execution logs to CloudWatch Logs",
            assume_role_policy=assume_role_policy("apigateway.amazonaws.com", inputs.account_id),
        )
        aws.iam_role_policy.IamRolePolicy(
            self,
            "api_gateway_logging_policy",
            name="write-logs",
            role=self.api_gateway_logging_role.id,
            policy=policy_document(
                [
                    allow(
                        "WriteApiGatewayLogs",
                        [
                            "logs:CreateLogGroup",
                            "logs:CreateLogStream",
                            "logs:DescribeLogGroups",
                            "logs:DescribeLogStreams",
                            "logs:FilterLogEvents",
                            "logs:GetLogEvents",
                            "logs:PutLogEvents",
                        ],
                        [f"arn:aws:logs:{inputs.region}:{inputs.account_id}:log-group:*"],
                    )
                ]
            ),
        )
        aws.api_gateway_account.ApiGatewayAccount(
            self, "api_gateway_account", cloudwatch_role_arn=self.api_gateway_logging_role.arn
        )


def key_alias(name_prefix: str) -> str:
    """The alias environment stacks name in their S3 backend's `kms_key_id`."""
    return f"alias/{name_prefix}-tfstate"
