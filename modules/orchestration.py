"""Orchestration: the Lambda functions and their roles, the stream mapping, queues, the reaper schedule.

Function code comes from `./noxw -s package` (build/lambda/manifest.json, build/images.json); each
function gets its own role with only the actions it uses on only the ARNs it touches, its own
KMS-encrypted log group, and exactly the environment variables docs/architecture.md gives it.

The engine's functions are fixed (ENGINE_FUNCTIONS); the task functions come from the environment's
catalog (workflows/catalog.py): one Lambda function per packaged task, and the worker may invoke
exactly the catalog's functions, packaged or existing. The catalog itself is bundled into the engine's
code package (CATALOG_FILE), never into environment variables (Lambda allows 4 KB of those).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modules import naming
from modules.cdk import AssetType, Construct, TerraformAsset, TerraformResource, aws
from modules.components import (
    EncryptedLogGroup,
    LogGroupInputs,
    Statement,
    allow,
    assume_role_policy,
    policy_document,
)
from modules.data import Data
from preflight.facts import MAX_SYNC_TASK_TIMEOUT
from workflows.catalog import CATALOG_FILE, Catalog, CatalogFunction

ROOT = Path(__file__).resolve().parents[1]
LAMBDA_MANIFEST = ROOT / "build" / "lambda" / "manifest.json"
# The engine's zip with each environment's catalog.json added, named by content (workflows/catalog.py).
BUNDLES = ROOT / "build" / "bundles"
IMAGES_MANIFEST = ROOT / "build" / "images.json"
# The orchestrator only needs state items: their images carry every task's status.
WORKFLOW_ITEMS_ONLY = {"dynamodb": {"Keys": {"sk": {"S": ["#WF"]}}}}
# The worker waits for a task function, whose timeout is at most MAX_SYNC_TASK_TIMEOUT (the settings
# refuse more: NAT drops idle connections after 350 s), then records the result; it goes on with a
# dependent it made READY only while its remaining time covers that one's whole lease.
WORKER_TIMEOUT = MAX_SYNC_TASK_TIMEOUT + 60
STREAM_READ = (
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
)
QUEUE_CONSUME = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
)
KEY_USE = ("kms:Decrypt", "kms:GenerateDataKey")


class BuildMissingError(RuntimeError):
    """Synthesis needs the packaged functions; say how to make them."""


@dataclass(frozen=True)
class Function:
    """One function: where its code comes from and how Lambda runs it."""

    id: str
    description: str
    artifact: str  # an entry of build/lambda/manifest.json, or of build/images.json for images
    handler: str
    runtime: str | None  # None for container images
    timeout: int | None  # None: the environment's task timeout
    task_type: str | None = None  # node / python / container, for tasks (the dashboard shows it)
    memory_mb: int | None = None  # None: the environment's functions.memory_mb
    # False for a function that touches nothing in the VPC and must reach a public endpoint (the
    # WebSocket authorizer fetches the user pool's signing keys from Cognito).
    in_vpc: bool = True

    @property
    def is_image(self) -> bool:
        return self.runtime is None


ENGINE = "engine"
ENGINE_FUNCTIONS = (
    Function(
        "api",
        "REST API: create, list, inspect, cancel and retry workflows",
        ENGINE,
        "engine.handlers.api.handler",
        "python3.12",
        timeout=29,
    ),
    Function(
        "orchestrator",
        "Consumes the workflows stream: reconciles every state image, repairs lost dispatches, broadcasts",
        ENGINE,
        "engine.handlers.orchestrator.handler",
        "python3.12",
        timeout=60,
    ),
    Function(
        "worker",
        "Claims a READY task attempt, runs its function, records the result once",
        ENGINE,
        "engine.handlers.worker.handler",
        "python3.12",
        timeout=WORKER_TIMEOUT,
    ),
    Function(
        "reaper",
        "The sweep: reconciles unfinished workflows that stopped moving (leases, lost dispatches)",
        ENGINE,
        "engine.handlers.reaper.handler",
        "python3.12",
        timeout=60,
    ),
    Function(
        "websocket",
        "WebSocket API: connect, disconnect, subscribe",
        ENGINE,
        "engine.handlers.websocket.handler",
        "python3.12",
        timeout=10,
    ),
    Function(
        "authorizer",
        "WebSocket $connect authorizer: verifies the access token in the token query parameter",
        ENGINE,
        "engine.handlers.authorizer.handler",
        "python3.12",
        timeout=10,
        in_vpc=False,
    ),
)


def task_function(task: CatalogFunction) -> Function:
    """The Lambda function of a packaged task (its declaration: lambdas/tasks/<folder>/task.toml)."""
    packaged = task.packaged
    assert packaged is not None, f"{task.id} is an existing function: the stack does not create it"
    return Function(
        task.id,
        packaged.description,
        packaged.artifact,
        packaged.handler,
        packaged.runtime,
        timeout=task.timeout_seconds,
        task_type=packaged.type,
        memory_mb=packaged.memory_mb,
    )


@dataclass(frozen=True)
class OrchestrationInputs:
    name_prefix: str
    environment: str
    account_id: str
    region: str
    data: Data
    catalog: Catalog  # the task functions and definitions of this environment
    memory_mb: int
    task_timeout_seconds: int
    reserved_concurrency: Mapping[str, int]  # function id → reservation; absent: unreserved
    registry: str  # the ECR repository URL of the task images (bootstrap stack)
    image_digests: Mapping[str, str]  # task id → sha256 digest pinning its image; else its content tag
    log_retention_days: int
    workflow_ttl_days: int
    subnet_ids: Sequence[str]
    security_group_ids: Sequence[str]
    in_vpc: bool
    dispatch_mode: str = "writer"
    sweep_horizon_seconds: int = 120
    worker_parallel_tasks: int = 8
    tags: Mapping[str, str] = field(default_factory=dict)


class Orchestration(Construct):
    """Every function of the system, wired to the tables, queues and each other."""

    def __init__(self, scope: Construct, id: str, inputs: OrchestrationInputs) -> None:
        super().__init__(scope, id)
        self.inputs = inputs
        data = inputs.data
        prefix = inputs.name_prefix
        catalog = inputs.catalog
        # Every function this stack creates: the engine's, then one per packaged task.
        self.declared = ENGINE_FUNCTIONS + tuple(task_function(t) for t in catalog.packaged)
        self.names = {f.id: naming.function(prefix, f.id) for f in self.declared}
        self.arns = {
            f.id: f"arn:aws:lambda:{inputs.region}:{inputs.account_id}:function:{prefix}-{f.id}"
            for f in self.declared
        }

        self.queue_names: dict[str, str] = {}  # literal names (alarm ids are built from them)
        self.retry_dlq = self._queue(
            "worker_dlq", naming.queue(prefix, "worker-dlq"), "dead letters of the worker"
        )
        self.orchestrator_dlq = self._queue(
            "orchestrator_dlq",
            naming.queue(prefix, "orchestrator-dlq"),
            "stream batches the orchestrator could not process",
        )
        self.retry_queue = self._queue(
            "retry_queue",
            naming.queue(prefix, "task-retries"),
            "task attempts waiting for their backoff",
            # A message stays invisible while the worker runs it (up to its timeout).
            visibility_timeout_seconds=WORKER_TIMEOUT + 30,
            redrive_policy=json.dumps({"deadLetterTargetArn": self.retry_dlq.arn, "maxReceiveCount": 5}),
        )

        table = data.workflows_table.arn
        connections = data.connections_table.arn
        dispatch = {
            "DISPATCH_MODE": inputs.dispatch_mode,
            "WORKER_FUNCTION_NAME": self.names["worker"],
            "RETRY_QUEUE_URL": self.retry_queue.url,
            "WORKFLOW_TTL_DAYS": str(inputs.workflow_ttl_days),
        }
        common = {
            "POWERTOOLS_SERVICE_NAME": "orchestra",
            "POWERTOOLS_METRICS_NAMESPACE": f"Orchestra/{inputs.environment}",
            "LOG_LEVEL": "INFO",
        }
        self.environment: dict[str, dict[str, str]] = {
            "api": {
                **common,
                **dispatch,
                "TABLE_NAME": data.workflows_table.name,
                "ARTIFACTS_BUCKET": data.artifacts.name,
                "CATALOG_FILE": CATALOG_FILE,
            },
            "orchestrator": {
                **common,
                **dispatch,
                "TABLE_NAME": data.workflows_table.name,
                "CONNECTIONS_TABLE": data.connections_table.name,
                "CATALOG_FILE": CATALOG_FILE,
            },
            "worker": {
                **common,
                **dispatch,
                "TABLE_NAME": data.workflows_table.name,
                "ARTIFACTS_BUCKET": data.artifacts.name,
                # Large outputs name this key (the bucket policy refuses any other, and aws/s3).
                "ARTIFACTS_KMS_KEY_ARN": data.kms_key_arn,
                "CATALOG_FILE": CATALOG_FILE,
                "WORKER_PARALLEL_TASKS": str(inputs.worker_parallel_tasks),
            },
            "reaper": {
                **common,
                **dispatch,
                "TABLE_NAME": data.workflows_table.name,
                "SWEEP_HORIZON_SECONDS": str(inputs.sweep_horizon_seconds),
            },
            "websocket": {
                **common,
                "CONNECTIONS_TABLE": data.connections_table.name,
                "CONNECTION_TTL_SECONDS": "7200",
            },
            "authorizer": {**common},
        }
        self.permissions: dict[str, list[Statement]] = {
            "api": [
                allow(
                    "ReadWorkflows",
                    ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"],
                    [table, f"{table}/index/by_created", f"{table}/index/by_status"],
                ),
                allow("WriteWorkflows", ["dynamodb:PutItem", "dynamodb:UpdateItem"], [table]),
                allow("DispatchToWorker", ["lambda:InvokeFunction"], [self.arns["worker"]]),
                allow("DelayRetries", ["sqs:SendMessage"], [self.retry_queue.arn]),
            ],
            "orchestrator": [
                allow("ReadStream", STREAM_READ, [data.workflows_stream_arn]),
                allow("ReconcileWorkflows", ["dynamodb:GetItem", "dynamodb:UpdateItem"], [table]),
                allow("FindSubscribers", ["dynamodb:Query"], [f"{connections}/index/by_topic"]),
                allow("ForgetGoneConnections", ["dynamodb:DeleteItem"], [connections]),
                allow("DispatchToWorker", ["lambda:InvokeFunction"], [self.arns["worker"]]),
                allow("DelayRetries", ["sqs:SendMessage"], [self.retry_queue.arn]),
                allow("DeadLetterStreamBatches", ["sqs:SendMessage"], [self.orchestrator_dlq.arn]),
            ],
            "worker": [
                allow(
                    "ClaimAndRecord",
                    [
                        "dynamodb:BatchGetItem",
                        "dynamodb:GetItem",
                        "dynamodb:PutItem",
                        "dynamodb:Query",
                        "dynamodb:UpdateItem",
                    ],
                    [table],
                ),
                # Exactly the catalog's functions: those the stack creates and the existing ones by
                # ARN (qualified as declared: an unqualified ARN grants no version or alias).
                allow(
                    "RunTasks", ["lambda:InvokeFunction"], sorted(f.arn for f in catalog.functions.values())
                ),
                allow("DispatchToWorker", ["lambda:InvokeFunction"], [self.arns["worker"]]),
                allow("DelayRetries", ["sqs:SendMessage"], [self.retry_queue.arn]),
                allow("LargeOutputs", ["s3:GetObject", "s3:PutObject"], [f"{data.artifacts.arn}/outputs/*"]),
                allow("ConsumeRetries", QUEUE_CONSUME, [self.retry_queue.arn]),
                allow("DeadLetterFailedInvokes", ["sqs:SendMessage"], [self.retry_dlq.arn]),
            ],
            "reaper": [
                allow("FindUnfinishedWorkflows", ["dynamodb:Query"], [f"{table}/index/by_status"]),
                allow(
                    "Reconcile",
                    ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                    [table],
                ),
                allow("Redispatch", ["lambda:InvokeFunction"], [self.arns["worker"]]),
                allow("DelayRetries", ["sqs:SendMessage"], [self.retry_queue.arn]),
            ],
            "websocket": [
                allow(
                    "TrackConnections",
                    ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                    [connections],
                ),
            ],
        }

        artifacts = _load_manifest(LAMBDA_MANIFEST, "package")
        images = _load_manifest(IMAGES_MANIFEST, "package")
        # The engine runs with this environment's catalog: its zip plus catalog.json.
        engine = ROOT / _entry(artifacts, ENGINE)["file"]
        self.engine_bundle = catalog.bundle(engine, BUNDLES)
        artifacts = {
            **artifacts,
            ENGINE: {
                "file": str(self.engine_bundle.relative_to(ROOT)),
                "sha256": base64.b64encode(hashlib.sha256(self.engine_bundle.read_bytes()).digest()).decode(),
            },
        }
        self.functions: dict[str, aws.lambda_function.LambdaFunction] = {}
        self.roles: dict[str, aws.iam_role.IamRole] = {}
        self.log_groups: dict[str, EncryptedLogGroup] = {}
        assets: dict[str, TerraformAsset] = {}
        for function in self.declared:
            if not function.is_image and function.artifact not in assets:
                assets[function.artifact] = TerraformAsset(
                    self,
                    f"{function.artifact}_code",
                    path=str(ROOT / _entry(artifacts, function.artifact)["file"]),
                    type=AssetType.FILE,
                )
            self._function(function, artifacts, images, assets)

    def use_identity(
        self, *, issuer: str | None, scopes: Sequence[str], client_ids: Sequence[str] = ()
    ) -> None:
        """Tell the functions that check identities who issues the tokens and to which app clients
        (before `connect`). issuer None: no sign-in (auth.mode = "none"), every caller may do
        everything."""
        mode = "none" if issuer is None else "cognito"
        for function in ("api", "websocket", "authorizer"):
            self.environment[function]["AUTH_MODE"] = mode
        if issuer is not None:
            self.environment["authorizer"]["USER_POOL_ISSUER"] = issuer
            self.environment["authorizer"]["AUTHORIZER_SCOPES"] = " ".join(scopes)
            for function in ("api", "authorizer"):
                self.environment[function]["AUTH_CLIENT_IDS"] = " ".join(client_ids)

    def connect(
        self,
        *,
        websocket_api_endpoint: str,
        websocket_execution_arn: str,
        websocket_stage: str,
        cors_allow_origins: Sequence[str],
    ) -> None:
        """Add what exists only once the APIs and the site do; then the policies, and the triggers
        that Lambda validates against those policies when they are created."""
        self.environment["orchestrator"]["WEBSOCKET_API_ENDPOINT"] = websocket_api_endpoint
        self.environment["api"]["CORS_ALLOW_ORIGINS"] = ",".join(cors_allow_origins)
        self.permissions["orchestrator"].append(
            allow(
                "PushToWebSocketClients",
                ["execute-api:ManageConnections"],
                [
                    f"{websocket_execution_arn}/{websocket_stage}/POST/@connections/*",
                    f"{websocket_execution_arn}/{websocket_stage}/DELETE/@connections/*",
                ],
            )
        )
        policies = {}
        for function in self.declared:
            lambda_function = self.functions[function.id]
            if function.id in self.environment:
                lambda_function.put_environment(variables=dict(sorted(self.environment[function.id].items())))
            policies[function.id] = aws.iam_role_policy.IamRolePolicy(
                self,
                f"{function.id}_policy",
                name="least-privilege",
                role=self.roles[function.id].id,
                policy=policy_document(self._statements(function)),
            )
            # Created after its policy (a VPC function's role must already allow the network
            # interface actions) and destroyed before it.
            # (cdktf appends an overridden depends_on to the one the constructor set.)
            lambda_function.add_override("depends_on", [_address(policies[function.id])])
        self._triggers(policies)

    # --- pieces -------------------------------------------------------------------------------------

    def _queue(self, id: str, name: str, purpose: str, **extra: Any) -> aws.sqs_queue.SqsQueue:
        self.queue_names[id] = name
        return aws.sqs_queue.SqsQueue(
            self,
            id,
            name=name,
            kms_master_key_id=self.inputs.data.kms_key_arn,
            kms_data_key_reuse_period_seconds=300,
            message_retention_seconds=14 * 24 * 3600,
            tags={"Purpose": purpose},
            **extra,
        )

    def _function(
        self,
        function: Function,
        artifacts: dict[str, Any],
        images: dict[str, Any],
        assets: Mapping[str, TerraformAsset],
    ) -> None:
        inputs = self.inputs
        name = self.names[function.id]
        log_group = EncryptedLogGroup(
            self,
            f"{function.id}_logs",
            LogGroupInputs(
                name=f"/aws/lambda/{name}",
                retention_days=inputs.log_retention_days,
                kms_key_arn=inputs.data.kms_key_arn,
            ),
        )
        role = aws.iam_role.IamRole(
            self,
            f"{function.id}_role",
            name=naming.role(inputs.name_prefix, function.id),
            description=f"Runs the {name} function",
            assume_role_policy=assume_role_policy("lambda.amazonaws.com", inputs.account_id),
        )
        code: dict[str, Any]
        if function.is_image:
            # An immutable reference to an image pushed before the apply: a digest pinned in the
            # settings, else the content tag of the build context (build/images.json).
            tag = _entry(images, function.artifact)["tag"]
            image = image_uri(inputs.registry, tag, inputs.image_digests.get(function.id))
            code = {"package_type": "Image", "image_uri": image}
        else:
            code = {
                "package_type": "Zip",
                "runtime": function.runtime,
                "handler": function.handler,
                "filename": assets[function.artifact].path,
                "source_code_hash": _entry(artifacts, function.artifact)["sha256"],
            }
        reserved = inputs.reserved_concurrency.get(function.id)
        self.functions[function.id] = aws.lambda_function.LambdaFunction(
            self,
            f"{function.id}_function",
            function_name=name,
            description=function.description,
            role=role.arn,
            memory_size=function.memory_mb or inputs.memory_mb,
            timeout=function.timeout or inputs.task_timeout_seconds,
            reserved_concurrent_executions=reserved,
            # Task functions are told apart by this tag, whatever their ids (checkov-skips.toml).
            tags={"Purpose": "task"} if function.task_type else None,
            kms_key_arn=inputs.data.kms_key_arn,
            tracing_config=aws.lambda_function.LambdaFunctionTracingConfig(mode="Active"),
            logging_config=aws.lambda_function.LambdaFunctionLoggingConfig(
                log_format="JSON", log_group=log_group.name
            ),
            vpc_config=aws.lambda_function.LambdaFunctionVpcConfig(
                subnet_ids=list(inputs.subnet_ids), security_group_ids=list(inputs.security_group_ids)
            )
            if function.in_vpc
            else None,
            environment=aws.lambda_function.LambdaFunctionEnvironment(
                variables=dict(sorted(self.environment.get(function.id, {}).items()))
            ),
            # The log group exists before the function, so Lambda never creates an unencrypted one;
            # connect() adds the role's policy (Lambda checks the role when it creates the function).
            depends_on=[log_group.log_group],
            **code,
        )
        self.roles[function.id] = role
        self.log_groups[function.id] = log_group

    def _statements(self, function: Function) -> list[Statement]:
        inputs = self.inputs
        log_group = self.log_groups[function.id].arn
        statements = [
            allow("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group}:*"]),
            # X-Ray accepts no resource-level scoping for these two actions.
            allow("SendTraces", ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], ["*"]),
            allow("UseProjectKey", KEY_USE, [inputs.data.kms_key_arn]),
            *self.permissions.get(function.id, []),
        ]
        if inputs.in_vpc and function.in_vpc:
            statements += vpc_statements(
                inputs.region, inputs.account_id, inputs.subnet_ids, inputs.security_group_ids
            )
        return statements

    def _triggers(self, policies: Mapping[str, aws.iam_role_policy.IamRolePolicy]) -> None:
        esm = aws.lambda_event_source_mapping
        self.stream_mapping = esm.LambdaEventSourceMapping(
            self,
            "orchestrator_stream",
            function_name=self.functions["orchestrator"].arn,
            event_source_arn=self.inputs.data.workflows_stream_arn,
            starting_position="TRIM_HORIZON",
            batch_size=25,
            maximum_batching_window_in_seconds=0,
            parallelization_factor=2,
            maximum_retry_attempts=5,
            maximum_record_age_in_seconds=3600,
            bisect_batch_on_function_error=True,
            function_response_types=["ReportBatchItemFailures"],
            enabled=True,
            filter_criteria=esm.LambdaEventSourceMappingFilterCriteria(
                filter=[
                    esm.LambdaEventSourceMappingFilterCriteriaFilter(pattern=json.dumps(WORKFLOW_ITEMS_ONLY))
                ]
            ),
            destination_config=esm.LambdaEventSourceMappingDestinationConfig(
                on_failure=esm.LambdaEventSourceMappingDestinationConfigOnFailure(
                    destination_arn=self.orchestrator_dlq.arn
                )
            ),
            depends_on=[policies["orchestrator"]],
        )
        esm.LambdaEventSourceMapping(
            self,
            "worker_retries",
            function_name=self.functions["worker"].arn,
            event_source_arn=self.retry_queue.arn,
            batch_size=1,
            enabled=True,
            function_response_types=["ReportBatchItemFailures"],
            depends_on=[policies["worker"]],
        )
        invoke = aws.lambda_function_event_invoke_config
        invoke.LambdaFunctionEventInvokeConfig(
            self,
            "worker_async",
            function_name=self.functions["worker"].function_name,
            maximum_retry_attempts=2,
            maximum_event_age_in_seconds=3600,
            destination_config=invoke.LambdaFunctionEventInvokeConfigDestinationConfig(
                on_failure=invoke.LambdaFunctionEventInvokeConfigDestinationConfigOnFailure(
                    destination=self.retry_dlq.arn
                )
            ),
            depends_on=[policies["worker"]],
        )

        rule = aws.cloudwatch_event_rule.CloudwatchEventRule(
            self,
            "reaper_schedule",
            name=f"{self.inputs.name_prefix}-reaper",
            description="Every minute: reconcile unfinished workflows that stopped moving (the sweep)",
            schedule_expression="rate(1 minute)",
        )
        aws.cloudwatch_event_target.CloudwatchEventTarget(
            self,
            "reaper_target",
            rule=rule.name,
            arn=self.functions["reaper"].arn,
            retry_policy=aws.cloudwatch_event_target.CloudwatchEventTargetRetryPolicy(
                maximum_retry_attempts=0, maximum_event_age_in_seconds=60
            ),
        )  # the next minute reaps anyway
        aws.lambda_permission.LambdaPermission(
            self,
            "reaper_invoked_by_schedule",
            statement_id="AllowSchedule",
            action="lambda:InvokeFunction",
            function_name=self.functions["reaper"].function_name,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
        )


def vpc_statements(
    region: str, account: str, subnet_ids: Sequence[str], security_group_ids: Sequence[str]
) -> list[Statement]:
    """What Lambda needs to place a function's network interfaces, scoped where EC2 allows it."""
    interfaces = f"arn:aws:ec2:{region}:{account}:network-interface/*"
    return [
        # Describe* accepts no resource scoping.
        allow("DescribeNetworkInterfaces", ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"], ["*"]),
        allow(
            "ManageOwnNetworkInterfaces",
            [
                "ec2:AssignPrivateIpAddresses",
                "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:UnassignPrivateIpAddresses",
            ],
            [
                interfaces,
                *(f"arn:aws:ec2:{region}:{account}:subnet/{subnet}" for subnet in subnet_ids),
                *(f"arn:aws:ec2:{region}:{account}:security-group/{group}" for group in security_group_ids),
            ],
        ),
    ]


def image_uri(registry: str, tag: str, digest: str | None) -> str:
    """An immutable reference to an image pushed before the apply: a digest pinned in the settings,
    else the content tag of the build context (build/images.json)."""
    return f"{registry}@{digest}" if digest else f"{registry}:{tag}"


def _address(resource: TerraformResource) -> str:
    """A resource's address as depends_on lists it (type.name, no interpolation)."""
    return f"{resource.terraform_resource_type}.{resource.friendly_unique_id}"


def _load_manifest(path: Path, session: str) -> dict[str, Any]:
    if not path.exists():
        raise BuildMissingError(f"{path.relative_to(ROOT)} is missing: run `./noxw -s {session}` first")
    manifest: dict[str, Any] = json.loads(path.read_text())
    return manifest


def _entry(manifest: Mapping[str, Any], name: str) -> dict[str, Any]:
    if name not in manifest:
        raise BuildMissingError(f"{name} is not in the build manifest: run `./noxw -s package` again")
    entry: dict[str, Any] = manifest[name]
    if "file" in entry and not (ROOT / entry["file"]).exists():
        raise BuildMissingError(f"{entry['file']} is missing: run `./noxw -s package` again")
    return entry
