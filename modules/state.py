"""Bootstrap: the state bucket every stack keeps its state in, the account-wide API Gateway logging
role, and the registry of the container-image tasks; applied once per account and region."""

from __future__ import annotations

import json
from dataclasses import dataclass

from modules import naming
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
        self.key = self._account_key("key", f"{inputs.name_prefix}: Terraform state", inputs)
        self.alias = aws.kms_alias.KmsAlias(
            self, "alias", name=key_alias(inputs.name_prefix), target_key_id=self.key.key_id
        )
        logs_name = naming.state_access_logs_bucket(inputs.state_bucket)
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
            name=naming.api_gateway_logging_role(inputs.name_prefix),
            description="API Gateway writes access and execution logs to CloudWatch Logs",
            # AWS's documented trust policy: API Gateway sends no aws:SourceAccount when it assumes
            # this account-level role, so a condition on it would make UpdateAccount fail.
            assume_role_policy=assume_role_policy("apigateway.amazonaws.com"),
        )
        logging_policy = aws.iam_role_policy.IamRolePolicy(
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
        # UpdateAccount has API Gateway assume the role and write to CloudWatch Logs with it ("API
        # Gateway could not successfully write to CloudWatch Logs using the ARN specified"): after
        # the role's policy, not racing it.
        aws.api_gateway_account.ApiGatewayAccount(
            self,
            "api_gateway_account",
            cloudwatch_role_arn=self.api_gateway_logging_role.arn,
            depends_on=[logging_policy],
        )
        self.registry = self._registry(inputs)

    def _account_key(self, id: str, description: str, inputs: StateInputs) -> aws.kms_key.KmsKey:
        """A rotating key administered by the account and used through IAM (no service needs more)."""
        return aws.kms_key.KmsKey(
            self,
            id,
            description=description,
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

    def _registry(self, inputs: StateInputs) -> aws.ecr_repository.EcrRepository:
        """The ECR repository of the task images. It lives here, not in the environment stacks: an
        image must be pushed before the first apply that creates a function from it."""
        key = self._account_key(
            "registry_key", f"{inputs.name_prefix}: container images of the tasks", inputs
        )
        aws.kms_alias.KmsAlias(
            self, "registry_key_alias", name=f"alias/{inputs.name_prefix}-registry", target_key_id=key.key_id
        )
        repository = aws.ecr_repository.EcrRepository(
            self,
            "registry",
            name=naming.registry_repository(inputs.name_prefix),
            image_tag_mutability="IMMUTABLE",  # a tag names one image forever (content tags, digests)
            force_delete=False,
            image_scanning_configuration=aws.ecr_repository.EcrRepositoryImageScanningConfiguration(
                scan_on_push=True
            ),
            encryption_configuration=[
                aws.ecr_repository.EcrRepositoryEncryptionConfiguration(
                    encryption_type="KMS", kms_key=key.arn
                )
            ],
        )
        aws.ecr_repository_policy.EcrRepositoryPolicy(
            self,
            "registry_policy",
            repository=repository.name,
            # Lambda pulls with these actions; declared here so Lambda need not add them itself.
            policy=policy_document(
                [
                    {
                        "Sid": "LambdaOfThisAccountPulls",
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                        "Condition": {
                            "StringLike": {
                                "aws:sourceArn": (
                                    f"arn:aws:lambda:{inputs.region}:{inputs.account_id}:function:*"
                                )
                            }
                        },
                    }
                ]
            ),
        )
        aws.ecr_lifecycle_policy.EcrLifecyclePolicy(
            self,
            "registry_lifecycle",
            repository=repository.name,
            policy=json.dumps(
                {
                    "rules": [
                        {
                            "rulePriority": 1,
                            # Only untagged images: every environment pins a tag or digest of this
                            # repository, and Lambda fails a function whose image is deleted
                            # (CodeArtifactUserDeletedException, "Troubleshoot container image
                            # issues in Lambda"), so a count over tagged images could break prod.
                            "description": "Expire untagged images a week after their push",
                            "selection": {
                                "tagStatus": "untagged",
                                "countType": "sinceImagePushed",
                                "countUnit": "days",
                                "countNumber": 7,
                            },
                            "action": {"type": "expire"},
                        }
                    ]
                }
            ),
        )
        return repository


def key_alias(name_prefix: str) -> str:
    """The state key's alias (people find the key by it; the backends name the key by its ARN)."""
    return f"alias/{name_prefix}-tfstate"
