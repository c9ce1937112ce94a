"""Least privilege across every stack: explicit actions, resources scoped wherever AWS allows it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tests.infra.conftest import Stack, resources

# Actions AWS accepts only on "*": scoping them is impossible, so "*" is no loss of privilege.
UNSCOPABLE = {
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
}
POLICY_ATTRIBUTES = {
    "aws_iam_role_policy": "policy",
    "aws_s3_bucket_policy": "policy",
    "aws_kms_key": "policy",
    "aws_sns_topic_policy": "policy",
    "aws_vpc_endpoint": "policy",
    "aws_iam_role": "assume_role_policy",
}


def statements(stack: Stack) -> Iterator[tuple[str, dict[str, Any]]]:
    for type_, attribute in POLICY_ATTRIBUTES.items():
        for name, body in resources(stack, type_).items():
            if attribute in body:
                for statement in json.loads(body[attribute])["Statement"]:
                    yield f"{type_}.{name}", statement


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_no_statement_grants_a_wildcard_action(stacks: dict[str, Stack]) -> None:
    for stack in stacks.values():
        for where, statement in statements(stack):
            if statement["Effect"] == "Allow":
                assert all("*" not in action for action in as_list(statement["Action"])), where


def test_allow_on_every_resource_only_for_actions_that_cannot_be_scoped(stacks: dict[str, Stack]) -> None:
    for stack in stacks.values():
        for where, statement in statements(stack):
            if where.startswith(("aws_kms_key.", "aws_iam_role.")) or statement["Effect"] != "Allow":
                continue  # in a key policy "*" means the key itself; trust policies have no resource
            if "*" in as_list(statement["Resource"]):
                assert set(as_list(statement["Action"])) <= UNSCOPABLE, where


def test_every_function_role_has_one_inline_policy_and_no_managed_ones(stacks: dict[str, Stack]) -> None:
    for stack in stacks.values():
        assert resources(stack, "aws_iam_role_policy_attachment") == {}
        roles = {f"${{aws_iam_role.{name}.id}}" for name in resources(stack, "aws_iam_role")}
        attached = [p["role"] for p in resources(stack, "aws_iam_role_policy").values()]
        assert sorted(attached) == sorted(roles)


def test_service_principals_are_pinned_to_this_account_or_resource(stacks: dict[str, Stack]) -> None:
    for stack in stacks.values():
        for where, statement in statements(stack):
            principal = statement.get("Principal")
            if statement["Effect"] == "Allow" and isinstance(principal, dict) and "Service" in principal:
                if where.startswith("aws_iam_role.") and principal["Service"] == "apigateway.amazonaws.com":
                    # The account-level logging role: API Gateway sends no aws:SourceAccount when it
                    # assumes it, so AWS's documented trust policy has no condition.
                    assert "Condition" not in statement
                    continue
                assert "Condition" in statement, (
                    f"{where}: {statement.get('Sid')} trusts a service without a condition"
                )
