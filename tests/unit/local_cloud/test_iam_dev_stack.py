"""The synthesized dev stack with one permission taken away: the workflow fails locally the way it
would on AWS. (With the stack as synthesized, tests/deployed runs every workflow to success with
every function's role enforced.)

Needs the built and synthesized stack: the unit session requires `synth`, and the test fails,
saying how to make it, when it is missing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from local_cloud.harness import Loop, eventually
from localcloud.cloud import LocalCloud, Options

ROOT = Path(__file__).resolve().parents[3]
DEV = ROOT / "cdktf.out" / "stacks" / "dev"
STACK = "dev-without-updates"


def without_orchestrator_updates(document: dict[str, Any]) -> str:
    """Take dynamodb:UpdateItem out of the orchestrator's role; the name of the statement it left."""
    for policy in document["resource"]["aws_iam_role_policy"].values():
        if "orchestrator_role" not in policy["role"]:
            continue
        statements = json.loads(policy["policy"])
        for statement in statements["Statement"]:
            if "dynamodb:UpdateItem" in statement["Action"]:
                statement["Action"].remove("dynamodb:UpdateItem")
                policy["policy"] = json.dumps(statements)
                return str(statement["Sid"])
    raise AssertionError("the orchestrator's role has no dynamodb:UpdateItem to take away")


@pytest.fixture(scope="module")
def crippled(aio: Loop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    if not (DEV / "cdk.tf.json").is_file() or not (ROOT / "build" / "images.json").is_file():
        pytest.fail("the dev stack is not built and synthesized: run ./noxw -s synth (the unit session does)")
    root = tmp_path_factory.mktemp("dev-stack")
    stack_dir = root / "cdktf.out" / "stacks" / STACK
    stack_dir.mkdir(parents=True)
    document = json.loads((DEV / "cdk.tf.json").read_text())
    without_orchestrator_updates(document)
    (stack_dir / "cdk.tf.json").write_text(json.dumps(document))
    # The same code, objects and images as the dev stack; logs of its own.
    (stack_dir / "assets").symlink_to(DEV / "assets")
    (root / "lambdas").symlink_to(ROOT / "lambdas")
    (root / "build" / "localcloud").mkdir(parents=True)
    (root / "build" / "images.json").symlink_to(ROOT / "build" / "images.json")
    (root / "build" / "localcloud" / "code").symlink_to(ROOT / "build" / "localcloud" / "code")
    (ROOT / "build" / "localcloud" / "code").mkdir(parents=True, exist_ok=True)
    # Stream dispatch: there the orchestrator takes the decisions, so its writes are the ones refused.
    cloud = LocalCloud(
        Options(root=root, stack=STACK, outputs=root / "outputs.json", dispatch="stream"),
        progress=lambda m: None,
    )
    aio.run(cloud.start(), timeout=180)
    try:
        yield cloud
    finally:
        aio.run(cloud.stop(), timeout=60)


@pytest.mark.slow
def test_without_update_item_the_orchestrators_batches_fail_retry_and_land_in_the_dlq(
    crippled: LocalCloud,
) -> None:
    outputs = crippled.outputs
    machine = crippled.identity()["machine_client"]
    token = requests.post(
        f"{crippled.identity()['oauth2_domain']}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(machine["client_id"], machine["client_secret"]),
        timeout=30,
    ).json()["access_token"]
    created = requests.post(
        f"{outputs['api_url']}/workflows",
        json={"workflowId": f"wf-iam-{uuid.uuid4().hex[:8]}"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    signed = {"Authorization": f"Bearer {token}"}
    assert created.status_code == 201, created.text  # the API's own role still writes
    workflow_id = created.json()["workflow_id"]
    assert crippled.plan is not None
    sqs = crippled.endpoints.client("sqs", crippled.plan.region)

    def dead_lettered() -> dict[str, Any]:
        page = sqs.receive_message(QueueUrl=outputs["orchestrator_dlq_url"], WaitTimeSeconds=1)
        return dict(json.loads(page["Messages"][0]["Body"]))

    record = eventually(dead_lettered, timeout=90, interval=0.5)
    # Lambda's on-failure record: the batch was retried until the mapping's retries ran out.
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["functionArn"].endswith(":function:orchestra-dev-orchestrator")
    assert record["DDBStreamBatchInfo"]["streamArn"] == outputs["workflows_stream_arn"]
    stats = crippled.stats()
    (mapping,) = [m for address, m in stats["mappings"].items() if "orchestrator_stream" in address]
    # Each attempt failed (reported as a batch item failure by the handler), then was retried.
    assert mapping.get("partial_failures", 0) + mapping.get("function_errors", 0) >= 6
    assert mapping["retries"] >= 5 and mapping["sent_to_destination"] >= 1
    # Why: every attempt was refused by IAM, as AWS refuses it, and the workflow never ran.
    assert stats["iam_denials"]["orchestra-dev-orchestrator dynamodb:UpdateItem"] >= 6
    workflow = requests.get(
        f"{outputs['api_url']}/workflows/{workflow_id}", headers=signed, timeout=30
    ).json()
    assert workflow["status"] == "PENDING"
