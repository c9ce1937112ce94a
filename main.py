"""The cdktf app: a bootstrap stack for remote state, and one stack per environment.

`python main.py` synthesizes every stack into cdktf.out/stacks/<name>/cdk.tf.json (what `cdktf
synth` runs, through cdktf.json); `python main.py dev` only the named ones (the local cloud needs
one). CDKTF_OUTDIR, set by the cdktf CLI, moves cdktf.out.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from environments import ENVIRONMENT_NAMES, Bootstrap, Settings, SettingsError, load, load_bootstrap
from modules.api import STAGE, Api, ApiInputs
from modules.cdk import App, Construct, LocalBackend, S3Backend, TerraformOutput, TerraformStack, aws
from modules.data import Data, DataInputs
from modules.monitoring import Monitoring, MonitoringInputs, QueueRef
from modules.network import Network, NetworkInputs
from modules.orchestration import FUNCTIONS, Orchestration, OrchestrationInputs
from modules.site import Site, SiteInputs
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
        TerraformOutput(
            self,
            "api_gateway_logging_role_arn",
            value=state.api_gateway_logging_role.arn,
            description="Role API Gateway uses (account-wide, per region) to write access and execution logs",
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

        orchestration = Orchestration(
            self,
            "orchestration",
            OrchestrationInputs(
                name_prefix=settings.name_prefix,
                environment=settings.name,
                account_id=settings.account_id,
                region=settings.region,
                data=data,
                memory_mb=settings.functions.memory_mb,
                task_timeout_seconds=settings.functions.timeout_seconds,
                worker_reserved_concurrency=settings.functions.worker_reserved_concurrency,
                orchestrator_reserved_concurrency=settings.functions.orchestrator_reserved_concurrency,
                log_retention_days=settings.log_retention_days,
                workflow_ttl_days=settings.workflow_ttl_days,
                subnet_ids=network.private_subnet_ids,
                security_group_ids=network.lambda_security_group_ids,
                in_vpc=True,
            ),
        )
        functions = orchestration.functions
        api = Api(
            self,
            "api",
            ApiInputs(
                name_prefix=settings.name_prefix,
                region=settings.region,
                api_function_name=functions["api"].function_name,
                api_function_invoke_arn=functions["api"].invoke_arn,
                websocket_function_name=functions["websocket"].function_name,
                websocket_function_invoke_arn=functions["websocket"].invoke_arn,
                throttle_rate_limit=settings.api.throttle_rate_limit,
                throttle_burst_limit=settings.api.throttle_burst_limit,
                log_retention_days=settings.log_retention_days,
                kms_key_arn=data.kms_key_arn,
            ),
        )
        site = Site(
            self,
            "site",
            SiteInputs(
                name_prefix=settings.name_prefix,
                account_id=settings.account_id,
                region=settings.region,
                kms_key_arn=data.kms_key_arn,
                access_log_bucket=data.access_logs.name,
                api_url=api.api_url,
                websocket_url=api.websocket_url,
            ),
        )
        orchestration.connect(
            websocket_api_endpoint=api.websocket_management_endpoint,
            websocket_execution_arn=api.websocket_execution_arn,
            websocket_stage=STAGE,
            cors_allow_origins=[site.url, *settings.api.cors_extra_origins],
        )
        api.allow_origin(site.url)
        monitoring = Monitoring(
            self,
            "monitoring",
            MonitoringInputs(
                name_prefix=settings.name_prefix,
                environment=settings.name,
                account_id=settings.account_id,
                region=settings.region,
                kms_key_arn=data.kms_key_arn,
                alarm_email=settings.alarm_email,
                function_names=orchestration.names,
                orchestrator_name=orchestration.names["orchestrator"],
                dead_letter_queues=[
                    QueueRef(
                        orchestration.queue_names["orchestrator_dlq"],
                        "Stream batches the orchestrator gave up on",
                    ),
                    QueueRef(
                        orchestration.queue_names["worker_dlq"],
                        "Worker dispatches and retries that were dropped",
                    ),
                ],
                table_names=[f"{settings.name_prefix}-workflows", f"{settings.name_prefix}-connections"],
                rest_api_name=f"{settings.name_prefix}-api",
                rest_stage=STAGE,
                metrics_namespace=f"Orchestra/{settings.name}",
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
        self.output("api_url", api.api_url, "REST API base URL (stage prod)")
        self.output("websocket_url", api.websocket_url, "WebSocket API URL (stage prod)")
        self.output("dashboard_url", site.url, "The dashboard (CloudFront)")
        self.output("dashboard_bucket", site.bucket.name, "Bucket the dashboard is served from")
        self.output(
            "function_names",
            {f.id: functions[f.id].function_name for f in FUNCTIONS},
            "Lambda function names by role (api, orchestrator, worker, ..., task-c)",
        )
        self.output(
            "orchestrator_dlq_url",
            orchestration.orchestrator_dlq.url,
            "Dead-letter queue of stream batches the orchestrator gave up on",
        )
        self.output(
            "worker_dlq_url",
            orchestration.retry_dlq.url,
            "Dead-letter queue of worker invocations and retries that were dropped",
        )
        self.output(
            "task_retries_queue_url",
            orchestration.retry_queue.url,
            "Queue holding task retries during their backoff",
        )
        self.output("alarm_topic_arn", monitoring.topic.arn, "SNS topic every alarm notifies")
        self.output("cloudwatch_dashboard_name", monitoring.dashboard_name, "CloudWatch dashboard")
        self.output(
            "task_image_repository_url",
            orchestration.repository.repository_url,
            "ECR repository the container-image task (B3) is pushed to",
        )

    def output(self, name: str, value: object, description: str) -> None:
        TerraformOutput(self, name, value=value, description=description)


def build_app(
    app: App, environments: Sequence[str] = ENVIRONMENT_NAMES, *, with_bootstrap: bool = True
) -> App:
    """Add the bootstrap stack and the named environment stacks to `app`."""
    bootstrap = load_bootstrap()
    if with_bootstrap:
        BootstrapStack(app, bootstrap)
    for name in environments:
        OrchestraStack(app, load(name), bootstrap)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    """`python main.py [STACK ...]`: synthesize the named stacks, or every stack."""
    argv = sys.argv[1:] if argv is None else argv
    stacks = ("bootstrap", *ENVIRONMENT_NAMES)
    unknown = [name for name in argv if name not in stacks]
    if unknown:
        print(f"error: no stack {', '.join(unknown)}; the stacks are {', '.join(stacks)}", file=sys.stderr)
        return 2
    chosen = argv or stacks
    try:
        app = build_app(
            App(),
            [name for name in ENVIRONMENT_NAMES if name in chosen],
            with_bootstrap="bootstrap" in chosen,
        )
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
