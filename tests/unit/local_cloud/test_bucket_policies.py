"""S3 bucket policies, evaluated as S3 evaluates them, for functions' requests and for Terraform's.

The fixture stack's site bucket guards `uploads/` as Orchestra's buckets do (SSE-KMS with its key,
never the AWS managed key, never another key); test-caller's role may put objects there. The state
bucket of the synthesized bootstrap stack is checked against the exact requests Terraform's S3
backend sends for the state and for its .tflock (internal/backend/remote-state/s3/client.go of
Terraform 1.11: put() and lockWithFile()).
"""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from environments import load_bootstrap
from local_cloud.harness import Running
from local_cloud.stacks import ACCOUNT, REGION, SITE_BUCKET
from localcloud import iam, s3
from localcloud.plan import Plan, PlanError

ROOT = Path(__file__).resolve().parents[3]
CALLER = "test-caller"
ALIAS = f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/test"


def key_arn(running: Running) -> str:
    assert running.cloud.plan is not None
    return str(running.cloud.plan.attribute("aws_kms_key.key", "arn"))


def put(client: Any, **encryption: Any) -> dict[str, Any]:
    return dict(
        client.put_object(Bucket=SITE_BUCKET, Key=f"uploads/{uuid.uuid4().hex}", Body=b"{}", **encryption)
    )


def denied(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    assert error["Code"] == "AccessDenied"
    return str(error["Message"])


@pytest.fixture(scope="module")
def caller(running: Running) -> Any:
    return running.as_function(CALLER, "s3")


class TestFunctionsUploads:
    def test_the_bucket_key_by_its_arn_is_accepted(self, running: Running, caller: Any) -> None:
        answer = put(caller, ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn(running))
        assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200

    def test_no_encryption_headers_get_the_buckets_default(self, caller: Any) -> None:
        assert put(caller)["ResponseMetadata"]["HTTPStatusCode"] == 200

    def test_sse_kms_without_a_key_is_the_aws_managed_key_and_refused(self, caller: Any) -> None:
        # What the worker sent before it named the project key (review item 10).
        message = denied(lambda: put(caller, ServerSideEncryption="aws:kms"))
        assert message.startswith(
            f"User: arn:aws:sts::{ACCOUNT}:assumed-role/test-caller-role/{CALLER} is not authorized to "
            f'perform: s3:PutObject on resource: "arn:aws:s3:::{SITE_BUCKET}/uploads/'
        )
        assert message.endswith("with an explicit deny in a resource-based policy")

    def test_an_alias_is_not_the_key_arn_the_policy_names(self, caller: Any) -> None:
        denied(lambda: put(caller, ServerSideEncryption="aws:kms", SSEKMSKeyId=ALIAS))

    def test_a_deny_wins_over_the_roles_allow_and_is_counted(self, running: Running, caller: Any) -> None:
        before = running.cloud.stats()["iam_denials"].get(
            f"{running.cloud.plan.stack}-caller s3:PutObject", 0
        )  # type: ignore[union-attr]
        denied(lambda: put(caller, ServerSideEncryption="aws:kms"))
        after = running.cloud.stats()["iam_denials"][f"{running.cloud.plan.stack}-caller s3:PutObject"]  # type: ignore[union-attr]
        assert after == before + 1


@pytest.fixture(scope="module")
def deployer(running: Running) -> Any:
    assert running.cloud.plan is not None
    factory: Any = boto3.client
    credentials = iam.DEPLOYER_CREDENTIALS
    return factory(
        "s3",
        endpoint_url=running.cloud.function_moto,
        region_name=running.cloud.plan.region,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
        config=Config(retries={"max_attempts": 1}),
    )


class TestTheDeployer:
    """Requests signed with the deployer's credentials meet the bucket policies as Terraform's do."""

    def test_a_lock_file_put_with_the_key_arn_is_accepted(self, running: Running, deployer: Any) -> None:
        answer = put(
            deployer,
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=key_arn(running),
            ContentType="application/json",
            ChecksumAlgorithm="SHA256",
            IfNoneMatch="*",
        )
        assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200

    def test_with_the_alias_it_is_refused(self, deployer: Any) -> None:
        message = denied(
            lambda: put(
                deployer, ServerSideEncryption="aws:kms", SSEKMSKeyId=ALIAS, ChecksumAlgorithm="SHA256"
            )
        )
        assert f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/terraform" in message

    def test_a_multipart_upload_with_the_key_arn_is_accepted(self, running: Running, deployer: Any) -> None:
        # Two parts: the headers go with CreateMultipartUpload only, as boto3 and Terraform send them.
        from boto3.s3.transfer import TransferConfig

        key = f"uploads/{uuid.uuid4().hex}"
        deployer.upload_fileobj(
            io.BytesIO(b"x" * (6 * 1024 * 1024)),
            SITE_BUCKET,
            key,
            ExtraArgs={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_arn(running)},
            Config=TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024),
        )
        assert deployer.head_object(Bucket=SITE_BUCKET, Key=key)["ContentLength"] == 6 * 1024 * 1024

    def test_the_endpoints_file_names_the_gate_and_the_deployer(self, running: Running) -> None:
        from localcloud.cloud import endpoints_path

        described = json.loads(endpoints_path(running.cloud.options.outputs_path).read_text())
        assert described["gated"]["s3"] == running.cloud.function_moto
        assert described["deployer_credentials"] == iam.DEPLOYER_CREDENTIALS


# -- Terraform's S3 backend against the synthesized state bucket ---------------------------------


def terraform_put_headers(backend: dict[str, Any], *, lock: bool) -> dict[str, str]:
    """The headers of Terraform 1.11's PutObject of the state (put) or of the .tflock
    (lockWithFile): JSON, a SHA-256 checksum, the encryption the backend asks for, If-None-Match."""
    headers = {"Content-Type": "application/json", "x-amz-sdk-checksum-algorithm": "SHA256"}
    if backend.get("encrypt"):
        if backend.get("kms_key_id"):
            headers["x-amz-server-side-encryption"] = "aws:kms"
            headers["x-amz-server-side-encryption-aws-kms-key-id"] = str(backend["kms_key_id"])
        else:
            headers["x-amz-server-side-encryption"] = "AES256"
    if lock:
        headers["If-None-Match"] = "*"
    return headers


@pytest.fixture(scope="module")
def bootstrap_plan() -> Plan:
    return Plan.load(ROOT, "bootstrap")


def state_denials(plan: Plan, backend: dict[str, Any]) -> list[str]:
    policies = s3.BucketPolicies(plan)
    deployer = iam.Identities(plan).deployer
    found = []
    for object_key, lock in ((backend["key"], False), (backend["key"] + ".tflock", True)):
        context = s3.condition_context(terraform_put_headers(backend, lock=lock))
        denial = policies.denial(
            deployer, "s3:PutObject", f"arn:aws:s3:::{backend['bucket']}/{object_key}", context
        )
        if denial is not None:
            found.append(f"{object_key}: {denial.message()}")
    return found


class TestTerraformStateBackend:
    def test_the_synthesized_backend_is_the_bootstraps(self) -> None:
        dev = json.loads((ROOT / "cdktf.out" / "stacks" / "dev" / "cdk.tf.json").read_text())
        assert dev["terraform"]["backend"]["s3"] == load_bootstrap().backend("dev/terraform.tfstate")

    def test_state_and_lock_puts_with_the_state_keys_arn_are_accepted(self, bootstrap_plan: Plan) -> None:
        # As after the first bootstrap apply: bootstrap.toml holds the key's ARN (its output).
        state_key = bootstrap_plan.find_by("aws_kms_key", "description", "orchestra: Terraform state")
        assert state_key is not None
        arn = str(bootstrap_plan.attribute(state_key.address, "arn"))
        bootstrap = load_bootstrap().model_copy(update={"state_kms_key_arn": arn})
        assert state_denials(bootstrap_plan, bootstrap.backend("dev/terraform.tfstate")) == []

    def test_the_alias_arn_of_the_old_backend_is_refused_for_both(self, bootstrap_plan: Plan) -> None:
        backend = {
            **load_bootstrap().backend("dev/terraform.tfstate"),
            "kms_key_id": f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/orchestra-tfstate",
        }
        refused = state_denials(bootstrap_plan, backend)
        assert len(refused) == 2 and refused[1].startswith("dev/terraform.tfstate.tflock: ")
        assert all("explicit deny in a resource-based policy" in line for line in refused)

    def test_a_large_states_multipart_upload_is_accepted(self, bootstrap_plan: Plan) -> None:
        # Over 5 MiB, Terraform's uploader (manager.Uploader) sends the encryption headers on
        # CreateMultipartUpload only: UploadPart and CompleteMultipartUpload carry none, and S3
        # authorizes all three as s3:PutObject.
        state_key = bootstrap_plan.find_by("aws_kms_key", "description", "orchestra: Terraform state")
        assert state_key is not None
        arn = str(bootstrap_plan.attribute(state_key.address, "arn"))
        backend = (
            load_bootstrap().model_copy(update={"state_kms_key_arn": arn}).backend("dev/terraform.tfstate")
        )
        assert multipart_denials(bootstrap_plan, backend) == []

    def test_a_policy_without_its_null_guards_would_refuse_the_parts(self, bootstrap_plan: Plan) -> None:
        # A negated condition matches a key the request lacks: "refuse other encryption" without
        # Null: false refuses every UploadPart, so large states could never be written.
        document = json.loads(json.dumps(bootstrap_plan.document))
        for policy in document["resource"]["aws_s3_bucket_policy"].values():
            statements = json.loads(policy["policy"])
            for statement in statements["Statement"]:
                condition = statement.get("Condition") or {}
                if "StringNotEquals" in condition:  # the "refuse another encryption / key" guards
                    condition.pop("Null", None)
            policy["policy"] = json.dumps(statements)
        plan = Plan(document, stack="bootstrap", stack_dir=bootstrap_plan.stack_dir)
        state_key = plan.find_by("aws_kms_key", "description", "orchestra: Terraform state")
        assert state_key is not None
        arn = str(plan.attribute(state_key.address, "arn"))
        backend = (
            load_bootstrap().model_copy(update={"state_kms_key_arn": arn}).backend("dev/terraform.tfstate")
        )
        assert multipart_denials(plan, backend) == ["UploadPart", "CompleteMultipartUpload"]


def multipart_denials(plan: Plan, backend: dict[str, Any]) -> list[str]:
    """Which requests of a multipart upload of the state the state bucket's policy refuses."""
    policies = s3.BucketPolicies(plan)
    deployer = iam.Identities(plan).deployer
    resource = f"arn:aws:s3:::{backend['bucket']}/{backend['key']}"
    requests = {
        "CreateMultipartUpload": terraform_put_headers(backend, lock=False),
        "UploadPart": {"Content-Length": str(5 * 1024 * 1024), "x-amz-sdk-checksum-algorithm": "SHA256"},
        "CompleteMultipartUpload": {"Content-Type": "application/xml"},
    }
    return [
        name
        for name, headers in requests.items()
        if policies.denial(deployer, "s3:PutObject", resource, s3.condition_context(headers)) is not None
    ]


class TestConditionsTheLocalCloudCannotEvaluate:
    def test_stop_start_up_naming_the_statement(self, bootstrap_plan: Plan) -> None:
        document = json.loads(json.dumps(bootstrap_plan.document))
        policy = next(iter(document["resource"]["aws_s3_bucket_policy"].values()))
        statements = json.loads(policy["policy"])
        statements["Statement"][0]["Condition"] = {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
        policy["policy"] = json.dumps(statements)
        plan = Plan(document, stack="bootstrap", stack_dir=bootstrap_plan.stack_dir)
        with pytest.raises(PlanError, match=r"statement DenyInsecureTransport: condition IpAddress"):
            s3.BucketPolicies(plan)
