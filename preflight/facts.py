"""AWS's limits that both the settings loader and the rules check, each with where it comes from.

Kept free of cdktf and of the rest of the project, so `environments/` can import it cheaply.
"""

from __future__ import annotations

import datetime as dt

# "Troubleshoot NAT gateways" (Amazon VPC User Guide): a NAT gateway drops a connection idle for
# 350 s; interface endpoints (AWS PrivateLink) have the same 350 s idle timeout. The worker waits
# for a task's synchronous Invoke on one idle connection, so the task must answer well before that.
IDLE_TIMEOUT_SECONDS = 350
# A task function's configured timeout when its caller waits through NAT or an endpoint: 50 s under
# the idle timeout leaves room for the invoke's own latency and the worker's bookkeeping.
MAX_SYNC_TASK_TIMEOUT = 300

# "Lambda function scaling" / "Configuring reserved concurrency" (AWS Lambda Developer Guide):
# Lambda keeps at least 100 concurrent executions of the account's quota unreserved.
MIN_UNRESERVED_CONCURRENCY = 100
DEFAULT_CONCURRENCY_QUOTA = 1000  # "Lambda quotas": the default, often 10 on new accounts

# "Lambda runtimes" (AWS Lambda Developer Guide), table of supported and deprecated runtimes:
# the date each runtime's support ends (deprecation). Creating or updating functions on a deprecated
# runtime is blocked some weeks later; from this date the runtime gets no security patches.
RUNTIME_DEPRECATION = {
    "nodejs16.x": dt.date(2024, 6, 12),
    "nodejs18.x": dt.date(2025, 9, 1),
    "nodejs20.x": dt.date(2026, 4, 30),
    "nodejs22.x": dt.date(2027, 4, 30),
    "nodejs24.x": dt.date(2028, 4, 30),
    "python3.8": dt.date(2024, 10, 14),
    "python3.9": dt.date(2025, 12, 15),
    "python3.12": dt.date(2028, 10, 31),
    "python3.13": dt.date(2029, 6, 30),
}

# "PutRetentionPolicy" (Amazon CloudWatch Logs API Reference): the retention periods a log group may have.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

# Name limits per resource kind: (maximum length, allowed characters, source title).
NAME_LIMITS = {
    "s3_bucket": (63, r"[a-z0-9.-]", "General purpose bucket naming rules (Amazon S3 User Guide)"),
    "iam_role": (64, r"[\w+=,.@-]", "CreateRole (AWS IAM API Reference)"),
    "lambda_function": (64, r"[A-Za-z0-9_-]", "CreateFunction (AWS Lambda API Reference)"),
    "sqs_queue": (80, r"[A-Za-z0-9_-]", "CreateQueue (Amazon SQS API Reference)"),
    "dynamodb_table": (255, r"[A-Za-z0-9_.-]", "CreateTable (Amazon DynamoDB API Reference)"),
    "event_rule": (64, r"[A-Za-z0-9_.-]", "PutRule (Amazon EventBridge API Reference)"),
    "sns_topic": (256, r"[A-Za-z0-9_-]", "CreateTopic (Amazon SNS API Reference)"),
    "cloudfront_origin_access_control": (
        64,
        r".",
        "CreateOriginAccessControl (Amazon CloudFront API Reference)",
    ),
    "cloudfront_response_headers_policy": (
        128,
        r".",
        "CreateResponseHeadersPolicy (Amazon CloudFront API Reference)",
    ),
    "cloudwatch_alarm": (255, r".", "PutMetricAlarm (Amazon CloudWatch API Reference)"),
    "ecr_repository": (256, r"[a-z0-9._/-]", "CreateRepository (Amazon ECR API Reference)"),
}
