"""The cdktf app: a bootstrap stack for remote state, and one stack per environment.

`python main.py` synthesizes every stack into cdktf.out/stacks/<name>/cdk.tf.json.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from environments import ENVIRONMENT_NAMES, Bootstrap, Settings, SettingsError, load, load_bootstrap
from modules.cdk import App, Construct, LocalBackend, S3Backend, TerraformOutput, TerraformStack, aws
from modules.data import Data, DataInputs
from modules.network import Network, NetworkInputs
from modules.state import RemoteState, StateInputs, key_alias


class BootstrapStack(TerraformStack):
    """Creates the state bucket; keeps its own state locally (it cannot live in a bucket it creates)."""

    def __init__(self, scope: Construct, bootstrap: Bootstrap) -> None:
        super().__init__(scope, "bootstrap")
        LocalBackend(self, path="terraform.bootstrap.tfstate")
        aws.provider.AwsProvider(
            self,
            "aws",
            region=bootstrap.region,
            allowed_account_ids=[bootstrap.account_id],
            default_tags=[aws.provider.AwsProviderDefaultTags(tags=bootstrap.tags)],
        )
        state = RemoteState(
            self,
            "state",
            StateInputs(
                name_prefix=bootstrap.name_prefix,
                account_id=bootstrap.account_id,
                region=bootstrap.region,
                state_bucket=bootstrap.state_bucket,
            ),
        )
        TerraformOutput(
            self,
            "state_bucket",
            value=state.bucket.name,
            description="S3 bucket holding every environment's Terraform state",
        )
        TerraformOutput(
            self,
            "state_kms_key_arn",
            value=state.key.arn,
            description="KMS key the state objects are encrypted with",
        )


class OrchestraStack(TerraformStack):
    """One environment of Orchestra, composed from the modules."""

    def __init__(self, scope: Construct, settings: Settings, bootstrap: Bootstrap) -> None:
        super().__init__(scope, settings.name)
        backend = S3Backend(
            self,
            bucket=bootstrap.state_bucket,
            key=bootstrap.state_key(settings.name),
            region=bootstrap.region,
            encrypt=True,
            kms_key_id=f"arn:aws:kms:{bootstrap.region}:{bootstrap.account_id}:"
            f"{key_alias(bootstrap.name_prefix)}",
        )
        # S3 native locking; cdktf 0.21's S3Backend has no use_lockfile parameter yet.
        backend.add_override("use_lockfile", True)
        aws.provider.AwsProvider(
            self,
            "aws",
            region=settings.region,
            allowed_account_ids=[settings.account_id],
            default_tags=[aws.provider.AwsProviderDefaultTags(tags=settings.tags)],
        )

        data = Data(
            self,
            "data",
            DataInputs(
                name_prefix=settings.name_prefix,
                account_id=settings.account_id,
                region=settings.region,
                deletion_protection=settings.deletion_protection,
            ),
        )
        network = Network(
            self,
            "network",
            NetworkInputs(
                name_prefix=settings.name_prefix,
                account_id=settings.account_id,
                region=settings.region,
                network=settings.network,
                log_retention_days=settings.log_retention_days,
                kms_key_arn=data.kms_key_arn,
            ),
        )

        self.output("vpc_id", network.vpc_id, "VPC the functions run in")
        self.output("public_subnet_ids", network.public_subnet_ids, "Public subnets (NAT gateways)")
        self.output("private_subnet_ids", network.private_subnet_ids, "Private subnets (Lambda functions)")
        self.output(
            "isolated_subnet_ids", network.isolated_subnet_ids, "Isolated subnets (no internet route)"
        )
        self.output(
            "lambda_security_group_ids",
            network.lambda_security_group_ids,
            "Security groups of the Lambda functions",
        )
        self.output(
            "workflows_table_name", data.workflows_table.name, "DynamoDB table of workflows and tasks"
        )
        self.output("workflows_table_arn", data.workflows_table.arn, "ARN of the workflows table")
        self.output("workflows_stream_arn", data.workflows_stream_arn, "Stream of the workflows table")
        self.output("connections_table_name", data.connections_table.name, "WebSocket connections table")
        self.output("connections_table_arn", data.connections_table.arn, "ARN of the connections table")
        self.output("artifacts_bucket", data.artifacts.name, "Task outputs larger than 64 KB")
        self.output("access_logs_bucket", data.access_logs.name, "S3 server access logs")
        self.output("backups_bucket", data.backups.name, "Backups (Glacier after 30 days)")
        self.output("kms_key_arn", data.kms_key_arn, "Project KMS key")

    def output(self, name: str, value: object, description: str) -> None:
        TerraformOutput(self, name, value=value, description=description)


def build_app(app: App, environments: Sequence[str] = ENVIRONMENT_NAMES) -> App:
    """Add the bootstrap stack and the named environment stacks to `app`."""
    bootstrap = load_bootstrap()
    BootstrapStack(app, bootstrap)
    for name in environments:
        OrchestraStack(app, load(name), bootstrap)
    return app


def main() -> int:
    try:
        app = build_app(App())
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
