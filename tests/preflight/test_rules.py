"""Each preflight rule passes its passing fixture and fails its failing one (tests/preflight/fixtures.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from fixtures import (
    ACCOUNT,
    BUCKET,
    FIXTURES,
    KEY,
    REGION,
    bootstrap,
    bucket_policy,
    invoking,
    many_reserved,
    rest_stage,
    s3_backend,
    stack,
    worker,
)

from preflight import RULES, Rule, check

TODAY = dt.date(2026, 12, 1)  # nodejs20.x is past its deprecation date (2026-04-30), nodejs22.x is not
BY_ID = {rule.id: rule for rule in RULES}


def test_every_rule_has_a_source_a_fact_and_both_fixtures() -> None:
    assert len(RULES) >= 25
    assert set(FIXTURES) == set(BY_ID)
    for rule in RULES:
        assert rule.fact and rule.source and rule.error and rule.types


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
class TestRule:
    def test_passes_what_aws_accepts(self, rule: Rule) -> None:
        good, _ = FIXTURES[rule.id]
        assert [v.line() for v in check(good(), TODAY, [rule])] == []

    def test_fails_what_aws_refuses_naming_the_rule(self, rule: Rule) -> None:
        _, bad = FIXTURES[rule.id]
        lines = [v.line() for v in check(bad(), TODAY, [rule])]
        assert lines, f"{rule.id} found nothing in its failing fixture"
        assert all(line.startswith(f"{rule.id} ") for line in lines)


def test_a_violation_line_names_rule_resource_answer_and_fix() -> None:
    _, bad = FIXTURES["LAMBDA-RUNTIME-SUPPORTED"]
    (violation,) = check(bad(), TODAY, [BY_ID["LAMBDA-RUNTIME-SUPPORTED"]])
    assert violation.line() == (
        "LAMBDA-RUNTIME-SUPPORTED dev:aws_lambda_function.f: AWS refuses: InvalidParameterValueException: "
        "The runtime parameter of nodejs20.x is no longer supported for creating or updating AWS Lambda "
        "functions. | fix: move to a supported runtime (nodejs24.x, python3.12, ...)"
    )


def test_nodejs22_is_refused_once_its_support_ends() -> None:
    good, _ = FIXTURES["LAMBDA-RUNTIME-SUPPORTED"]
    assert check(good(), dt.date(2027, 4, 30), [BY_ID["LAMBDA-RUNTIME-SUPPORTED"]])


def test_reservations_of_stacks_in_one_account_count_together() -> None:
    # Staging and prod each fit a quota of 400 (126 + 176 <= 300 alone), not together (302).
    rule = BY_ID["LAMBDA-UNRESERVED-CONCURRENCY"]
    staging, prod = many_reserved(400, "staging", worker=120), many_reserved(400, "prod", worker=170)
    assert check([staging], TODAY, [rule]) == [] and check([prod], TODAY, [rule]) == []
    lines = [v.line() for v in check([staging, prod], TODAY, [rule])]
    assert len(lines) == 2
    assert lines[1].startswith("LAMBDA-UNRESERVED-CONCURRENCY prod:aws_lambda_function.worker: ")
    assert "(reserved in total 302 with staging, quota 400)" in lines[1]


def test_reservations_in_another_account_are_another_pool() -> None:
    rule = BY_ID["LAMBDA-UNRESERVED-CONCURRENCY"]
    staging = many_reserved(400, "staging", worker=120)
    prod = many_reserved(400, "prod", worker=170)
    prod.account_id = "210987654321"  # as allowed_account_ids of another account synthesizes it
    assert check([staging, prod], TODAY, [rule]) == []


@pytest.mark.parametrize(
    "key_id",
    [
        f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",  # no UUID version/variant
        "key/1234abcd-12ab-44cd-96ef-1234567890ab",  # a resource without its ARN
        f"arn:aws:kms:{REGION}:{ACCOUNT}:key/alias/orchestra-tfstate",
    ],
)
def test_key_ids_terraform_init_refuses(key_id: str) -> None:
    lines = [
        v.line()
        for v in check(
            [stack(terraform=s3_backend(kms_key_id=key_id))], TODAY, [BY_ID["BACKEND-KMS-KEY-ID-FORMAT"]]
        )
    ]
    assert len(lines) == 1 and f"got {key_id!r}" in lines[0]


@pytest.mark.parametrize(
    "key_id",
    [
        "mrk-1234abcd12ab34cd56ef1234567890ab",
        "alias/orchestra-tfstate",
        f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/orchestra-tfstate",
        "1234abcd-12ab-44cd-96ef-1234567890ab",
    ],
)
def test_key_ids_terraform_init_accepts(key_id: str) -> None:
    assert (
        check([stack(terraform=s3_backend(kms_key_id=key_id))], TODAY, [BY_ID["BACKEND-KMS-KEY-ID-FORMAT"]])
        == []
    )


def test_without_encrypt_the_backend_sends_no_encryption_headers() -> None:
    # kms_key_id alone sends nothing (client.go: only with encrypt = true), which a bucket that
    # requires the header refuses.
    require_header = {
        "Sid": "DenyUploadsWithoutSse",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::b/*",
        "Condition": {"Null": {"s3:x-amz-server-side-encryption": "true"}},
    }
    state_bucket = stack(BUCKET, KEY, bucket_policy(require_header), name="bootstrap")
    rule = BY_ID["BACKEND-STATE-UPLOADS-MATCH-POLICY"]
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-44cd-96ef-1234567890ab"
    unencrypted = stack(terraform=s3_backend(kms_key_id=key))
    lines = [v.line() for v in check([state_bucket, unencrypted], TODAY, [rule])]
    assert len(lines) == 1 and "DenyUploadsWithoutSse" in lines[0]
    encrypted = stack(terraform=s3_backend(encrypt=True, kms_key_id=key))
    assert check([state_bucket, encrypted], TODAY, [rule]) == []
    assert check([bootstrap(), encrypted], TODAY, [rule]) == []


def test_retention_0_is_terraforms_never_expire() -> None:
    group = stack(("aws_cloudwatch_log_group", "g", {"retention_in_days": 0}))
    assert check([group], TODAY, [BY_ID["LOGS-RETENTION-DAYS"]]) == []


def test_rest_formats_may_use_every_documented_rest_variable() -> None:
    # "Variables for access logging for API Gateway": VPC endpoint, WAF, mTLS and custom domain ones.
    variables = ("identity.vpceId", "waf.status", "identity.clientCert.subjectDN", "awsEndpointRequestId2")
    log_format = '{"id":"$context.requestId",' + ",".join(f'"{v}":"$context.{v}"' for v in variables) + "}"
    assert check([rest_stage(log_format)], TODAY, [BY_ID["APIGW-REST-LOG-VARIABLES"]]) == []


def test_an_existing_task_functions_declared_timeout_counts_too() -> None:
    rule = BY_ID["LAMBDA-VPC-SYNC-WAIT-UNDER-IDLE-TIMEOUT"]
    (violation,) = check([worker(60, external_timeout=400)], TODAY, [rule])
    assert "function:geocode (timeout 400 s)" in violation.line()


def test_a_roles_inline_policies_are_measured_together_without_white_space() -> None:
    rule = BY_ID["IAM-ROLE-INLINE-POLICY-SIZE"]
    (violation,) = check([invoking(70)], TODAY, [rule])
    assert "(about 10241 characters)" in violation.line(), "10,240 + 1, the after-apply ARN as 128"
    assert check([invoking(0, tasks=20)], TODAY, [rule]) == []


def test_a_catalog_that_cannot_be_read_is_a_violation_not_a_pass() -> None:
    rule = BY_ID["LAMBDA-VPC-SYNC-WAIT-UNDER-IDLE-TIMEOUT"]
    broken = worker(60)
    assert broken.directory is not None
    (broken.directory / "assets" / "engine.zip").write_bytes(b"not a zip")
    (violation,) = check([broken], TODAY, [rule])
    assert "its catalog is unreadable (assets/engine.zip: BadZipFile" in violation.line()
