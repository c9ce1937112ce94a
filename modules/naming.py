"""How every AWS name of an environment derives from its name_prefix: one place, used by the modules
that create the resources and by the settings loader, which refuses a prefix whose longest derived
name would not fit AWS's limit (preflight/facts.py NAME_LIMITS). Imports no cdktf: loading settings
stays cheap."""

from __future__ import annotations

from collections.abc import Iterator

# The engine's own function ids (modules/orchestration.py ENGINE_FUNCTIONS; tests/infra checks the two
# agree). Task functions are declared in lambdas/tasks/*/task.toml (workflows/tasks.py), whose names
# workflows/catalog.py checks against the same limits.
ENGINE_FUNCTION_IDS = (
    "api",
    "orchestrator",
    "worker",
    "reaper",
    "websocket",
    "authorizer",
)
BUCKET_PURPOSES = ("access-logs", "artifacts", "backups", "dashboard")
QUEUES = ("worker-dlq", "orchestrator-dlq", "task-retries")
TABLES = ("workflows", "connections")
# The longest alarm name suffix of modules/monitoring.py.
LONGEST_ALARM = "orchestrator-iterator-age"


def bucket(prefix: str, purpose: str, account_id: str, region: str) -> str:
    """Bucket names are global: the account and region make them unique."""
    return f"{prefix}-{purpose}-{account_id}-{region}"


def function(prefix: str, function_id: str) -> str:
    return f"{prefix}-{function_id}"


def role(prefix: str, function_id: str) -> str:
    return f"{function(prefix, function_id)}-role"


def queue(prefix: str, purpose: str) -> str:
    return f"{prefix}-{purpose}"


def registry_repository(bootstrap_prefix: str) -> str:
    """The ECR repository of the task images (bootstrap stack, one per account and region)."""
    return f"{bootstrap_prefix}-tasks"


def state_access_logs_bucket(state_bucket: str) -> str:
    """The bucket the state bucket's server access logs go to (bootstrap stack)."""
    return f"{state_bucket}-access-logs"


def api_gateway_logging_role(bootstrap_prefix: str) -> str:
    """The account's API Gateway CloudWatch role (bootstrap stack)."""
    return f"{bootstrap_prefix}-apigateway-cloudwatch"


def derived(prefix: str, account_id: str, region: str) -> Iterator[tuple[str, str]]:
    """(kind, name) of every name an environment derives from its prefix (kinds of NAME_LIMITS)."""
    for purpose in BUCKET_PURPOSES:
        yield "s3_bucket", bucket(prefix, purpose, account_id, region)
    for function_id in ENGINE_FUNCTION_IDS:
        yield "lambda_function", function(prefix, function_id)
        yield "iam_role", role(prefix, function_id)
    yield "iam_role", f"{prefix}-vpc-flow-logs"
    for purpose in QUEUES:
        yield "sqs_queue", queue(prefix, purpose)
    for table in TABLES:
        yield "dynamodb_table", f"{prefix}-{table}"
    yield "event_rule", f"{prefix}-reaper"
    yield "sns_topic", f"{prefix}-alarms"
    yield "cloudfront_origin_access_control", f"{prefix}-dashboard"
    yield "cloudfront_response_headers_policy", f"{prefix}-dashboard-security"
    yield "cloudwatch_alarm", f"{prefix}-{LONGEST_ALARM}"
