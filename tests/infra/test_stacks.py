"""The app: stacks, remote state backends, provider default tags, and the outputs contract."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from environments import ENVIRONMENT_NAMES, REQUIRED_TAGS, load_bootstrap
from tests.infra.conftest import Stack, policy, resources

ROOT = Path(__file__).parents[2]
OUTPUTS = (
    "vpc_id",
    "public_subnet_ids",
    "private_subnet_ids",
    "isolated_subnet_ids",
    "lambda_security_group_ids",
    "workflows_table_name",
    "workflows_table_arn",
    "workflows_stream_arn",
    "connections_table_name",
    "connections_table_arn",
    "artifacts_bucket",
    "access_logs_bucket",
    "backups_bucket",
    "kms_key_arn",
    "api_url",
    "websocket_url",
    "dashboard_url",
    "dashboard_bucket",
    "function_names",
    "orchestrator_dlq_url",
    "worker_dlq_url",
    "task_retries_queue_url",
    "alarm_topic_arn",
    "cloudwatch_dashboard_name",
    "task_image_repository_url",
)


def test_one_stack_per_environment_plus_bootstrap(stacks: dict[str, Stack]) -> None:
    assert sorted(stacks) == sorted(["bootstrap", *ENVIRONMENT_NAMES])


class TestBackends:
    @pytest.mark.parametrize("environment", ENVIRONMENT_NAMES)
    def test_s3_backend_with_native_locking_and_a_key_per_environment(
        self, stacks: dict[str, Stack], environment: str
    ) -> None:
        backend = stacks[environment]["terraform"]["backend"]
        assert list(backend) == ["s3"]
        assert backend["s3"] == {
            "bucket": "orchestra-tfstate-123456789012-eu-central-1",
            "key": f"{environment}/terraform.tfstate",
            "region": "eu-central-1",
            "encrypt": True,
            # The state key by its ARN (bootstrap.toml): the state bucket's policy compares the key id
            # Terraform sends on both the state and the .tflock PutObject with that ARN.
            "kms_key_id": "arn:aws:kms:eu-central-1:123456789012:key/00000000-0000-4000-8000-000000000000",
            "use_lockfile": True,
        }

    @pytest.mark.parametrize("stack", ["bootstrap", *ENVIRONMENT_NAMES])
    def test_every_stack_requires_terraform_with_native_s3_locking(
        self, stacks: dict[str, Stack], stack: str
    ) -> None:
        assert stacks[stack]["terraform"]["required_version"] == ">= 1.10"

    def test_bootstrap_keeps_its_first_state_outside_cdktf_out(self, stacks: dict[str, Stack]) -> None:
        # Relative to cdktf.out/stacks/bootstrap: the repository root, not the regenerated folder.
        assert stacks["bootstrap"]["terraform"]["backend"] == {
            "local": {"path": "../../../terraform.bootstrap.tfstate"}
        }

    def test_bootstrap_state_moves_into_its_bucket(self) -> None:
        import json

        import main
        from modules.cdk import Testing

        bootstrap = load_bootstrap().model_copy(update={"bootstrap_state": "s3"})
        stack = json.loads(Testing.synth(main.BootstrapStack(Testing.app(), bootstrap)))
        assert stack["terraform"]["backend"] == {"s3": bootstrap.backend("bootstrap/terraform.tfstate")}

    def test_bootstrap_creates_the_bucket_the_environments_use(self, stacks: dict[str, Stack]) -> None:
        names = [b["bucket"] for b in resources(stacks["bootstrap"], "aws_s3_bucket").values()]
        assert "orchestra-tfstate-123456789012-eu-central-1" in names
        aliases = {a["name"] for a in resources(stacks["bootstrap"], "aws_kms_alias").values()}
        assert aliases == {"alias/orchestra-tfstate", "alias/orchestra-registry"}
        assert all(k["enable_key_rotation"] for k in resources(stacks["bootstrap"], "aws_kms_key").values())

    def test_state_bucket_keeps_old_versions_a_year(self, stacks: dict[str, Stack]) -> None:
        lifecycles = resources(stacks["bootstrap"], "aws_s3_bucket_lifecycle_configuration")
        state = next(body for name, body in lifecycles.items() if name.startswith("state_tfstate_"))
        assert state["rule"][0]["noncurrent_version_expiration"] == [{"noncurrent_days": 365}]


class TestProvider:
    def test_default_tags_carry_the_required_keys(self, stacks: dict[str, Stack]) -> None:
        for name, stack in stacks.items():
            # One provider per region the stack uses (prod adds us-east-1 for CloudFront's WAF).
            for provider in stack["provider"]["aws"]:
                tags = provider["default_tags"][0]["tags"]
                assert set(REQUIRED_TAGS) <= set(tags), name
                assert tags["Environment"] == ("shared" if name == "bootstrap" else name)
                assert provider["allowed_account_ids"] == ["123456789012"]

    def test_no_resource_overrides_a_required_tag(self, stacks: dict[str, Stack]) -> None:
        # default_tags apply to every taggable resource; a resource tag with the same key would win.
        for stack in stacks.values():
            for type_, bodies in stack["resource"].items():
                for name, body in bodies.items():
                    overridden = set(body.get("tags", {})) & set(REQUIRED_TAGS)
                    assert not overridden, f"{type_}.{name} overrides {overridden}"


class TestOutputs:
    def test_the_contract_is_complete_and_described(self, env_stack: Stack) -> None:
        outputs = env_stack["output"]
        assert set(OUTPUTS) <= set(outputs)
        assert all(outputs[name]["description"] for name in OUTPUTS)

    def test_outputs_reference_what_they_name(self, stacks: dict[str, Stack]) -> None:
        outputs = stacks["dev"]["output"]
        assert outputs["vpc_id"]["value"].startswith("${aws_vpc.")
        assert outputs["workflows_stream_arn"]["value"].endswith(".stream_arn}")
        assert len(outputs["private_subnet_ids"]["value"]) == 2
        assert outputs["kms_key_arn"]["value"].startswith("${aws_kms_key.")

    def test_readme_documents_every_output(self) -> None:
        readme = (ROOT / "README.md").read_text()
        missing = [name for name in OUTPUTS if f"`{name}`" not in readme]
        assert not missing, f"README does not document {missing}"


def test_exactly_one_module_imports_cdktf_and_the_provider() -> None:
    importers = []
    for path in ROOT.rglob("*.py"):
        if any(part in {".venv", ".nox", "node_modules", "cdktf.out", "build"} for part in path.parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(
                name.split(".")[0]
                in {"cdktf", "cdktf_cdktf_provider_aws", "cdktn", "cdktn_provider_aws", "constructs"}
                for name in names
            ):
                importers.append(str(path.relative_to(ROOT)))
    assert sorted(set(importers)) == ["modules/cdk.py"]


def test_bucket_policies_are_valid_json(stacks: dict[str, Stack]) -> None:
    for stack in stacks.values():
        for body in resources(stack, "aws_s3_bucket_policy").values():
            assert policy(body)["Version"] == "2012-10-17"
