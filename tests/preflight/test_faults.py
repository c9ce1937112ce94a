"""The synthesized stacks pass the preflight; each of the review's 14 faults, put back into them,
fails it naming the rule that knows AWS's answer.

Reads cdktf.out/stacks/ (the preflight session synthesizes first) and changes a copy of the JSON the
way the old code synthesized it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from preflight import Stack, check

ROOT = Path(__file__).resolve().parents[2]
STACKS = ("bootstrap", "dev", "staging", "prod")
Doc = dict[str, Any]


@pytest.fixture(scope="module")
def synthesized() -> dict[str, Doc]:
    documents = {}
    for name in STACKS:
        path = ROOT / "cdktf.out" / "stacks" / name / "cdk.tf.json"
        assert path.is_file(), f"{path} is missing: synthesize first (./noxw -s synth)"
        documents[name] = json.loads(path.read_text())
    return documents


def at(document: Doc, rtype: str, path: str) -> dict[str, Any]:
    """The resource of a type whose construct path ends with `path`."""
    found = [
        config
        for config in document["resource"].get(rtype, {}).values()
        if config["//"]["metadata"]["path"].endswith(path)
    ]
    assert len(found) == 1, f"expected one {rtype} at {path}, found {len(found)}"
    return found[0]


def address(document: Doc, rtype: str, path: str) -> str:
    config = at(document, rtype, path)
    return f"{rtype}.{config['//']['metadata']['uniqueId']}"


def functions(document: Doc) -> dict[str, dict[str, Any]]:
    return {
        c["function_name"].rsplit("-", 1)[-1]: c for c in document["resource"]["aws_lambda_function"].values()
    }


def function(document: Doc, function_id: str) -> dict[str, Any]:
    return next(
        c
        for c in document["resource"]["aws_lambda_function"].values()
        if c["function_name"].endswith(f"-{function_id}")
    )


def statements(config: dict[str, Any]) -> list[dict[str, Any]]:
    return list(json.loads(config["policy"])["Statement"])


def set_statements(config: dict[str, Any], found: list[dict[str, Any]]) -> None:
    config["policy"] = json.dumps({"Version": "2012-10-17", "Statement": found})


OLD_SHARED_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "httpMethod": "$context.httpMethod",
        "routeKey": "$context.routeKey",
        "resourcePath": "$context.resourcePath",
        "integrationError": "$context.integrationErrorMessage",
        "connectionId": "$context.connectionId",
        "eventType": "$context.eventType",
    }
)


def backups_deep_archive_at_90(docs: dict[str, Doc]) -> None:
    rule = at(docs["dev"], "aws_s3_bucket_lifecycle_configuration", "data/backups/lifecycle")["rule"][0]
    rule["transition"] = [
        {"days": 30, "storage_class": "GLACIER"},
        {"days": 90, "storage_class": "DEEP_ARCHIVE"},
    ]


def one_log_format_for_both_apis(docs: dict[str, Doc]) -> None:
    at(docs["dev"], "aws_apigatewayv2_stage", "api/websocket_stage")["access_log_settings"]["format"] = (
        OLD_SHARED_FORMAT
    )


def registry_in_the_environment_stack(docs: dict[str, Doc]) -> None:
    dev = docs["dev"]
    dev["resource"]["aws_ecr_repository"] = {
        "orchestration_images": {
            "//": {"metadata": {"path": "dev/orchestration/images"}},
            "name": "orchestra-dev-tasks",
        }
    }
    b3 = function(dev, "b3")
    b3["image_uri"] = (
        "${aws_ecr_repository.orchestration_images.repository_url}:" + b3["image_uri"].rsplit(":", 1)[1]
    )


def backend_names_the_alias(docs: dict[str, Doc]) -> None:
    docs["dev"]["terraform"]["backend"]["s3"]["kms_key_id"] = (
        "arn:aws:kms:eu-central-1:123456789012:alias/orchestra-tfstate"
    )


def reservations_on_a_new_account(docs: dict[str, Doc]) -> None:
    dev = docs["dev"]
    for function_id, reserved in (("worker", 20), ("orchestrator", 5), ("reaper", 1)):
        function(dev, function_id)["reserved_concurrent_executions"] = reserved
    dev["//"]["preflight"]["lambda_concurrency_quota"] = 10


def reservations_that_fit_only_one_by_one(docs: dict[str, Doc]) -> None:
    # staging (61) and prod (221) each fit a quota of 350 (at most 250 reserved), not together (282).
    for name in ("staging", "prod"):
        docs[name]["//"]["preflight"]["lambda_concurrency_quota"] = 350


def logging_role_trusts_only_our_account(docs: dict[str, Doc]) -> None:
    role = at(docs["bootstrap"], "aws_iam_role", "state/api_gateway_logging_role")
    trust = json.loads(role["assume_role_policy"])
    trust["Statement"][0]["Condition"] = {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    role["assume_role_policy"] = json.dumps(trust)


def constant_deployment_trigger(docs: dict[str, Doc]) -> None:
    dev = docs["dev"]
    deployment = at(dev, "aws_api_gateway_deployment", "api/deployment")
    deployment["triggers"] = {
        "redeployment": "c4f09fa3f730654c9242b992e3974b2d35154a8fac25b3681930f1fd16389db5"
    }
    deployment["depends_on"] = [
        address(dev, "aws_api_gateway_integration", "api/root_integration"),
        address(dev, "aws_api_gateway_integration", "api/proxy_integration"),
    ]


def tasks_wait_840_seconds(docs: dict[str, Doc]) -> None:
    for function_id in ("a", "b1", "b2", "b3", "c"):
        function(docs["dev"], function_id)["timeout"] = 840


def no_nat_with_execute_api_endpoint(docs: dict[str, Doc]) -> None:
    dev = docs["dev"]
    for name in ("private_0_default_route", "private_1_default_route"):
        dev["resource"]["aws_route"] = {
            k: v
            for k, v in dev["resource"]["aws_route"].items()
            if not v["//"]["metadata"]["path"].endswith(name)
        }
    vpc = next(iter(dev["resource"]["aws_vpc"]))
    dev["resource"]["aws_vpc_endpoint"]["network_execute_api_endpoint"] = {
        "//": {"metadata": {"path": "dev/network/execute_api_endpoint"}},
        "vpc_id": "${aws_vpc." + vpc + ".id}",
        "service_name": "com.amazonaws.eu-central-1.execute-api",
        "vpc_endpoint_type": "Interface",
        "private_dns_enabled": True,
    }


def artifacts_accept_the_aws_managed_key(docs: dict[str, Doc]) -> None:
    policy = at(docs["dev"], "aws_s3_bucket_policy", "data/artifacts/policy")
    set_statements(policy, [s for s in statements(policy) if s.get("Sid") != "DenyAwsManagedKey"])


def functions_before_their_policies(docs: dict[str, Doc]) -> None:
    for config in docs["dev"]["resource"]["aws_lambda_function"].values():
        config["depends_on"] = [d for d in config["depends_on"] if not d.startswith("aws_iam_role_policy.")]


def no_required_version(docs: dict[str, Doc]) -> None:
    del docs["dev"]["terraform"]["required_version"]


def bootstrap_state_in_cdktf_out(docs: dict[str, Doc]) -> None:
    docs["bootstrap"]["terraform"]["backend"] = {"local": {"path": "terraform.bootstrap.tfstate"}}


def long_name_prefix(docs: dict[str, Doc]) -> None:
    for config in docs["dev"]["resource"]["aws_s3_bucket"].values():
        config["bucket"] = config["bucket"].replace("orchestra-dev-", "orchestra-development-platform-")


def node_20(docs: dict[str, Doc]) -> None:
    function(docs["dev"], "a")["runtime"] = "nodejs20.x"


def worker_invokes_100_more_tasks(docs: dict[str, Doc]) -> None:
    """The worker's RunTasks statement as 100 more declared task functions would make it."""
    policy = next(
        c for c in docs["dev"]["resource"]["aws_iam_role_policy"].values() if "RunTasks" in c["policy"]
    )
    document = json.loads(policy["policy"])
    run = next(s for s in document["Statement"] if s["Sid"] == "RunTasks")
    run["Resource"] += [
        f"arn:aws:lambda:eu-central-1:123456789012:function:orchestra-dev-task-{i:03}" for i in range(100)
    ]
    policy["policy"] = json.dumps(document)


FAULTS: list[tuple[str, Callable[[dict[str, Doc]], None], str]] = [
    ("1 backups lifecycle", backups_deep_archive_at_90, "S3-LIFECYCLE-TRANSITION-DAYS"),
    ("2 WebSocket access log format", one_log_format_for_both_apis, "APIGW-WEBSOCKET-LOG-VARIABLES"),
    (
        "3 B3's repository in its own stack",
        registry_in_the_environment_stack,
        "LAMBDA-IMAGE-NOT-FROM-SAME-STACK",
    ),
    ("4 backend kms_key_id is the alias", backend_names_the_alias, "BACKEND-STATE-UPLOADS-MATCH-POLICY"),
    (
        "5 reservations over a new account's quota",
        reservations_on_a_new_account,
        "LAMBDA-UNRESERVED-CONCURRENCY",
    ),
    (
        "5 reservations of two environments in one account",
        reservations_that_fit_only_one_by_one,
        "LAMBDA-UNRESERVED-CONCURRENCY",
    ),
    (
        "6 CloudWatch role trust with SourceAccount",
        logging_role_trusts_only_our_account,
        "APIGW-ACCOUNT-ROLE-TRUST",
    ),
    ("7 constant deployment trigger", constant_deployment_trigger, "APIGW-DEPLOYMENT-REDEPLOY-TRIGGER"),
    (
        "7 deployment before the gateway responses",
        constant_deployment_trigger,
        "APIGW-DEPLOYMENT-AFTER-CONFIGURATION",
    ),
    ("8 tasks of 840 s through NAT", tasks_wait_840_seconds, "LAMBDA-VPC-SYNC-WAIT-UNDER-IDLE-TIMEOUT"),
    ("9 execute-api private DNS", no_nat_with_execute_api_endpoint, "VPC-EXECUTE-API-PRIVATE-DNS"),
    ("9 no NAT for the public WebSocket API", no_nat_with_execute_api_endpoint, "VPC-FUNCTION-PUBLIC-EGRESS"),
    ("10 artifacts accept aws/s3", artifacts_accept_the_aws_managed_key, "S3-POLICY-REFUSES-AWS-MANAGED-KEY"),
    ("11 functions before their policies", functions_before_their_policies, "LAMBDA-AFTER-ROLE-POLICIES"),
    ("12 no required_version", no_required_version, "BACKEND-LOCKFILE-NEEDS-TERRAFORM-1.10"),
    (
        "12 bootstrap state in cdktf.out",
        bootstrap_state_in_cdktf_out,
        "TERRAFORM-LOCAL-STATE-OUTSIDE-CDKTF-OUT",
    ),
    ("13 name_prefix too long", long_name_prefix, "S3-BUCKET-NAME"),
    ("14 nodejs20.x", node_20, "LAMBDA-RUNTIME-SUPPORTED"),
    ("issue 14: 100 more task functions", worker_invokes_100_more_tasks, "IAM-ROLE-INLINE-POLICY-SIZE"),
]


def write_stack(directory: Path, name: str, document: Doc) -> None:
    """A stack directory as synthesis writes it: the JSON, and its assets (the code packages)."""
    (directory / name).mkdir()
    (directory / name / "cdk.tf.json").write_text(json.dumps(document))
    assets = ROOT / "cdktf.out" / "stacks" / name / "assets"
    if assets.is_dir():
        (directory / name / "assets").symlink_to(assets)


def stacks_of(documents: dict[str, Doc]) -> list[Stack]:
    # With their directories: a rule may read an asset (the worker's catalog is in its code package).
    return [
        Stack(name, document, ROOT / "cdktf.out" / "stacks" / name) for name, document in documents.items()
    ]


def test_the_synthesized_stacks_pass(synthesized: dict[str, Doc]) -> None:
    assert [v.line() for v in check(stacks_of(synthesized))] == []


def test_environment_stacks_declare_the_quota_their_reservations_are_checked_against(
    synthesized: dict[str, Doc],
) -> None:
    for name in ("dev", "staging", "prod"):
        assert synthesized[name]["//"]["preflight"] == {"lambda_concurrency_quota": 1000}


@pytest.mark.parametrize(("fault", "reintroduce", "rule"), FAULTS, ids=[f[0] for f in FAULTS])
def test_a_fault_put_back_fails_naming_its_rule(
    synthesized: dict[str, Doc], fault: str, reintroduce: Callable[[dict[str, Doc]], None], rule: str
) -> None:
    documents = copy.deepcopy(synthesized)
    reintroduce(documents)
    lines = [v.line() for v in check(stacks_of(documents))]
    assert any(line.startswith(f"{rule} ") for line in lines), f"{fault}: {rule} not in {lines}"


def test_the_cli_prints_one_line_per_violation_and_fails(
    synthesized: dict[str, Doc], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from preflight.__main__ import main

    documents = copy.deepcopy(synthesized)
    node_20(documents)
    write_stack(tmp_path, "dev", documents["dev"])
    assert main([str(tmp_path / "dev")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(
        "LAMBDA-RUNTIME-SUPPORTED dev:aws_lambda_function.orchestration_task-a_function_"
    )
    assert out[-1].endswith("1 stacks (dev): 1 violation(s)")


def test_the_cli_runs_the_whole_app_rules_when_the_bootstrap_stack_is_among_its_stacks(
    synthesized: dict[str, Doc], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from preflight.__main__ import main

    documents = copy.deepcopy(synthesized)
    del documents["bootstrap"]["resource"]["aws_api_gateway_account"]  # no account logging role
    for name in ("bootstrap", "dev"):
        write_stack(tmp_path, name, documents[name])
    assert main([str(tmp_path / "dev")]) == 0  # one stack alone: the account's settings are unknown
    capsys.readouterr()
    assert main([str(tmp_path / "bootstrap"), str(tmp_path / "dev")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("APIGW-LOGGING-NEEDS-ACCOUNT-ROLE dev:aws_api_gateway_stage.")
