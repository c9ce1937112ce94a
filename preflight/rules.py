"""AWS's rules for the resource types the stacks use, as data: one `Rule` per fact, with a small check.

Every rule names the AWS fact it encodes and the document or API reference it comes from, and says
what AWS answers (its error code and message) when the fact is broken. `refused` rules are ones AWS
refuses at apply time (the local cloud refuses the same at start-up); the others break at run time
(access denied, a stale deployment, dropped connections), which the local cloud also stops on.
Checks read the synthesized JSON only; a value Terraform knows only after apply is left alone.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import itertools
import json
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from preflight import facts
from preflight.policy import Unsupported, condition_matches
from preflight.stack import EXPRESSION, Resource, Stack, block, blocks, is_literal

TODAY = dt.date.today


@dataclass(frozen=True)
class Finding:
    address: str
    answer: str  # what AWS answers (or does) — in AWS's words where it has any
    fix: str


@dataclass(frozen=True)
class Context:
    """What a check sees: its stack, every stack checked with it (cross-stack rules), the date."""

    stack: Stack
    stacks: Sequence[Stack]
    today: dt.date

    def other(self, predicate: Callable[[Stack], bool]) -> list[Stack]:
        return [s for s in self.stacks if s is not self.stack and predicate(s)]


Check = Callable[[Context], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    id: str
    types: tuple[str, ...]
    fact: str
    source: str  # the AWS (or Terraform) document or API reference title
    error: str  # AWS's error code, or what happens
    refused: bool  # True: AWS refuses at apply; False: it breaks at run time
    check: Check
    whole_app: bool = False  # needs every stack of the app (skipped when checking one stack alone)


RULES: list[Rule] = []


def rule(
    id: str,
    types: tuple[str, ...],
    fact: str,
    source: str,
    error: str,
    *,
    refused: bool = True,
    whole_app: bool = False,
) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        assert id not in {r.id for r in RULES}, f"duplicate rule id {id}"
        RULES.append(Rule(id, types, fact, source, error, refused, check, whole_app))
        return check

    return register


# -- helpers ----------------------------------------------------------------------------------


def _policy(text: Any) -> list[dict[str, Any]]:
    if not isinstance(text, str):
        return []
    try:
        document = json.loads(text)
    except ValueError:
        return []
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    return [s for s in ([statements] if isinstance(statements, dict) else statements) if isinstance(s, dict)]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _mappings_from(stack: Stack, source_type: str) -> Iterator[tuple[Resource, Resource]]:
    """Each event source mapping whose source is a resource of `source_type`, with that resource."""
    for mapping in stack.of("aws_lambda_event_source_mapping"):
        source = stack.target(mapping.config.get("event_source_arn"))
        if source and source[0].type == source_type:
            yield mapping, source[0]


def _function_timeout(function: Resource) -> int:
    return _int(function.config.get("timeout")) or 3


def _functions_by_name(stack: Stack) -> dict[str, Resource]:
    return {str(f.config.get("function_name")): f for f in stack.of("aws_lambda_function")}


def _role_policies(stack: Stack, role: Resource) -> list[Resource]:
    """The aws_iam_role_policy and attachment resources of a role."""
    return [
        r
        for r in stack.of("aws_iam_role_policy", "aws_iam_role_policy_attachment")
        if role.address in stack.references(r.config.get("role"))
    ]


def _role_of(stack: Stack, function: Resource) -> Resource | None:
    found = stack.target(function.config.get("role"))
    return found[0] if found and found[0].type == "aws_iam_role" else None


def _allowed_actions(stack: Stack, role: Resource) -> set[str]:
    actions: set[str] = set()
    documents = [p.config.get("policy") for p in _role_policies(stack, role)]
    documents += [b.get("policy") for b in blocks(role.config.get("inline_policy"))]
    for document in documents:
        for statement in _policy(document):
            if statement.get("Effect") == "Allow":
                actions |= {str(a).lower() for a in _as_list(statement.get("Action", []))}
    return actions


def _context_variables(text: str) -> list[str]:
    return re.findall(r"\$context\.[A-Za-z0-9_.]+[A-Za-z0-9_]", text)


def _name_check(ctx: Context, types: str, attribute: str, kind: str) -> Iterator[Finding]:
    limit, characters, _ = facts.NAME_LIMITS[kind]
    for resource in ctx.stack.of(types):
        name = resource.config.get(attribute)
        if not isinstance(name, str) or not is_literal(name):
            continue
        bad = sorted({c for c in name if not re.fullmatch(characters, c)})
        if len(name) > limit or bad:
            yield Finding(
                resource.address,
                f"1 validation error detected: Value '{name}' at '{attribute}' failed to satisfy "
                f"constraint: Member must have length less than or equal to {limit}"
                if len(name) > limit
                else f"Value '{name}' at '{attribute}' has characters AWS does not allow: {''.join(bad)}",
                f"shorten name_prefix (the name is {len(name)} characters, the limit {limit})",
            )


# == S3 =========================================================================================

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_BUCKET_RESERVED = (
    ("xn--", "sthree-", "amzn-s3-demo-"),
    ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"),
)


@rule(
    "S3-BUCKET-NAME",
    ("aws_s3_bucket",),
    "A general purpose bucket name is 3-63 lowercase letters, digits, dots and hyphens, begins and "
    "ends with a letter or digit, is not an IP address, has no '..', and avoids AWS's reserved "
    "prefixes (xn--, sthree-) and suffixes (-s3alias, --ol-s3, .mrap, --x-s3).",
    "General purpose bucket naming rules (Amazon S3 User Guide)",
    "InvalidBucketName",
)
def _bucket_name(ctx: Context) -> Iterator[Finding]:
    for bucket in ctx.stack.of("aws_s3_bucket"):
        name = bucket.config.get("bucket")
        if not isinstance(name, str) or not is_literal(name):
            continue
        prefixes, suffixes = _BUCKET_RESERVED
        try:
            ipaddress.ip_address(name)
            is_ip = True
        except ValueError:
            is_ip = False
        if (
            not _BUCKET_NAME.match(name)
            or ".." in name
            or is_ip
            or name.startswith(prefixes)
            or name.endswith(suffixes)
        ):
            yield Finding(
                bucket.address,
                f"The specified bucket is not valid. ({name!r}, {len(name)} characters)",
                "derive bucket names from a shorter, lowercase name_prefix",
            )


_IA = ("STANDARD_IA", "ONEZONE_IA")
# Days an object must stay in a class before a lifecycle rule may move it on (S3's constraints).
_MINIMUM_STAY = {"STANDARD_IA": 30, "ONEZONE_IA": 30, "GLACIER_IR": 90, "GLACIER": 90}


@rule(
    "S3-LIFECYCLE-TRANSITION-DAYS",
    ("aws_s3_bucket_lifecycle_configuration",),
    "Lifecycle transitions to STANDARD_IA or ONEZONE_IA need at least 30 days; an object must stay "
    "30 days in STANDARD_IA/ONEZONE_IA and 90 days in GLACIER_IR/GLACIER before a later transition "
    "(so DEEP_ARCHIVE comes at least 90 days after GLACIER).",
    "Transitioning objects using Amazon S3 Lifecycle (Amazon S3 User Guide)",
    "InvalidArgument",
)
def _lifecycle_transitions(ctx: Context) -> Iterator[Finding]:
    for config in ctx.stack.of("aws_s3_bucket_lifecycle_configuration"):
        for rule_ in blocks(config.config.get("rule")):
            for kind in ("transition", "noncurrent_version_transition"):
                days_key = "days" if kind == "transition" else "noncurrent_days"
                steps = sorted(
                    (d, str(t.get("storage_class")))
                    for t in blocks(rule_.get(kind))
                    if (d := _int(t.get(days_key))) is not None
                )
                for days, storage in steps:
                    if storage in _IA and days < 30:
                        yield Finding(
                            config.address,
                            f"'Days' in Transition action must be greater than or equal to 30 for "
                            f"storageClass '{storage}' (rule {rule_.get('id')})",
                            "transition to an IA class after 30 days or more",
                        )
                for (before, first), (after, second) in itertools.pairwise(steps):
                    stay = _MINIMUM_STAY.get(first, 0)
                    if after - before < stay:
                        yield Finding(
                            config.address,
                            f"'Days' in the Transition action for StorageClass '{second}' must be "
                            f"{stay} days more than 'Days' in the Transition action for StorageClass "
                            f"'{first}' (rule {rule_.get('id')}: {before} and {after})",
                            f"move the {second} transition to day {before + stay} or later",
                        )


@rule(
    "S3-LIFECYCLE-EXPIRATION-AFTER-TRANSITION",
    ("aws_s3_bucket_lifecycle_configuration",),
    "A lifecycle rule's expiration days must be greater than the days of every transition in it.",
    "Lifecycle configuration elements (Amazon S3 User Guide)",
    "InvalidArgument",
)
def _lifecycle_expiration(ctx: Context) -> Iterator[Finding]:
    for config in ctx.stack.of("aws_s3_bucket_lifecycle_configuration"):
        for rule_ in blocks(config.config.get("rule")):
            expire = _int(block(rule_.get("expiration")).get("days"))
            last = max((_int(t.get("days")) or 0 for t in blocks(rule_.get("transition"))), default=None)
            if expire is not None and last is not None and expire <= last:
                yield Finding(
                    config.address,
                    f"'Days' in the Expiration action for filter must be greater than 'Days' in the "
                    f"Transition action (rule {rule_.get('id')}: {expire} <= {last})",
                    "expire after the last transition",
                )


@rule(
    "S3-LIFECYCLE-ABORT-MPU-NO-TAGS",
    ("aws_s3_bucket_lifecycle_configuration",),
    "AbortIncompleteMultipartUpload cannot be used in a rule whose filter selects by object tags.",
    "Lifecycle configuration elements (Amazon S3 User Guide)",
    "InvalidRequest",
)
def _lifecycle_abort_tags(ctx: Context) -> Iterator[Finding]:
    for config in ctx.stack.of("aws_s3_bucket_lifecycle_configuration"):
        for rule_ in blocks(config.config.get("rule")):
            filter_ = block(rule_.get("filter"))
            tagged = filter_.get("tag") or block(filter_.get("and")).get("tags")
            if rule_.get("abort_incomplete_multipart_upload") and tagged:
                yield Finding(
                    config.address,
                    "AbortIncompleteMultipartUpload cannot be specified with Tags.",
                    "put the multipart clean-up in a rule without a tag filter",
                )


def _bucket_policies(stack: Stack) -> dict[str, list[dict[str, Any]]]:
    """Bucket address → the statements of its bucket policy."""
    found: dict[str, list[dict[str, Any]]] = {}
    for policy in stack.of("aws_s3_bucket_policy"):
        for address in stack.references(policy.config.get("bucket")):
            found.setdefault(address, []).extend(_policy(policy.config.get("policy")))
    return found


_KMS_KEY_ID = "s3:x-amz-server-side-encryption-aws-kms-key-id"
_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")


def _pinned_keys(statements: list[dict[str, Any]]) -> list[str]:
    """The KMS key values a Deny statement pins uploads to (StringNotEquals[IfExists] on the key id)."""
    keys: list[str] = []
    for statement in statements:
        if statement.get("Effect") != "Deny":
            continue
        for operator, conditions in (statement.get("Condition") or {}).items():
            if operator.startswith("StringNotEquals") and _KMS_KEY_ID in conditions:
                keys += [str(k) for k in _as_list(conditions[_KMS_KEY_ID])]
    return keys


def _is_key_arn(stack: Stack, value: str) -> bool:
    """A literal key ARN, or a reference to an aws_kms_key's arn (which is always one)."""
    if _KEY_ARN.match(value):
        return True
    found = stack.target(value)
    return bool(found and found[0].type == "aws_kms_key" and found[1] == "arn")


@rule(
    "S3-POLICY-KMS-KEY-IS-KEY-ARN",
    ("aws_s3_bucket_policy",),
    "The s3:x-amz-server-side-encryption-aws-kms-key-id condition key is compared with the key id "
    "the request sends; to pin a key, name it by its key ARN (arn:aws:kms:region:account:key/id) "
    "and send that ARN: an alias or a bare key id never matches it.",
    "Using server-side encryption with AWS KMS keys (SSE-KMS) (Amazon S3 User Guide)",
    "AccessDenied",
    refused=False,
)
def _policy_key_arn(ctx: Context) -> Iterator[Finding]:
    for policy in ctx.stack.of("aws_s3_bucket_policy"):
        for key in _pinned_keys(_policy(policy.config.get("policy"))):
            if not _is_key_arn(ctx.stack, key):
                yield Finding(
                    policy.address,
                    f"every PutObject is denied: the policy pins {key!r}, which is not a key ARN",
                    "pin the key by its ARN (aws_kms_key.arn)",
                )


_SSE = "s3:x-amz-server-side-encryption"
_UPLOAD_KEYS = frozenset({_SSE, _KMS_KEY_ID, "aws:SecureTransport"})


def _denied_upload(statements: list[dict[str, Any]], sse: str | None, key: str | None) -> str | None:
    """The Deny statement of a bucket policy that refuses a PutObject (over HTTPS, as Terraform and
    the SDKs send it) with these encryption headers; None when none does. Values Terraform knows
    only after apply (references) compare equal only to the same reference."""
    context = {_SSE: sse, _KMS_KEY_ID: key, "aws:SecureTransport": "true"}
    for statement in statements:
        actions = {str(a).lower() for a in _as_list(statement.get("Action", []))}
        if statement.get("Effect") != "Deny" or not actions & {"s3:putobject", "s3:*", "*"}:
            continue
        try:
            if condition_matches(statement.get("Condition") or {}, context, _UPLOAD_KEYS):
                return str(statement.get("Sid") or "a Deny statement")
        except Unsupported:
            continue  # a condition on something else (the caller's identity, ...): not this rule's
    return None


@rule(
    "S3-POLICY-REFUSES-AWS-MANAGED-KEY",
    ("aws_s3_bucket_policy",),
    "A PutObject that asks for SSE-KMS (x-amz-server-side-encryption: aws:kms) without naming a key "
    "is encrypted with the AWS managed key aws/s3, not the bucket's key: a policy that pins a key "
    "must refuse that request too.",
    "PutObject (Amazon S3 API Reference), x-amz-server-side-encryption-aws-kms-key-id",
    "objects under aws/s3 (the project key's policy no longer guards them)",
    refused=False,
)
def _policy_refuses_aws_managed(ctx: Context) -> Iterator[Finding]:
    for policy in ctx.stack.of("aws_s3_bucket_policy"):
        statements = _policy(policy.config.get("policy"))
        if _pinned_keys(statements) and _denied_upload(statements, "aws:kms", None) is None:
            yield Finding(
                policy.address,
                "S3 accepts PutObject with aws:kms and no key id, and encrypts it with aws/s3",
                "deny aws:kms uploads whose key id is missing (Null condition)",
            )


@rule(
    "S3-UPLOAD-MATCHES-BUCKET-POLICY",
    ("aws_s3_object", "aws_s3_bucket_policy"),
    "An object the stack uploads must send the encryption headers its bucket policy requires "
    "(x-amz-server-side-encryption and the pinned key ARN), or S3 denies the PutObject.",
    "Using server-side encryption with AWS KMS keys (SSE-KMS) (Amazon S3 User Guide)",
    "AccessDenied",
)
def _object_uploads(ctx: Context) -> Iterator[Finding]:
    policies = _bucket_policies(ctx.stack)
    for obj in ctx.stack.of("aws_s3_object"):
        for bucket in ctx.stack.references(obj.config.get("bucket")):
            sse = obj.config.get("server_side_encryption")
            key = obj.config.get("kms_key_id")
            denied = _denied_upload(policies.get(bucket, []), sse, key)
            if denied:
                yield Finding(
                    obj.address,
                    f"User: ... is not authorized to perform: s3:PutObject with an explicit deny in a "
                    f"resource-based policy ({denied})",
                    "upload with server_side_encryption = aws:kms and the bucket's key ARN",
                )


# == Terraform's S3 backend =====================================================================


@rule(
    "BACKEND-STATE-UPLOADS-MATCH-POLICY",
    ("terraform.backend.s3", "aws_s3_bucket_policy"),
    "With encrypt = true, Terraform's S3 backend sends x-amz-server-side-encryption: aws:kms and "
    "x-amz-server-side-encryption-aws-kms-key-id: <kms_key_id> (AES256 without a kms_key_id; no "
    "header at all without encrypt) on the PutObject of the state (or CreateMultipartUpload, for a "
    "state over 5 MiB) and of the .tflock file; the state bucket's policy must accept exactly that "
    "(a key ARN, never an alias).",
    "Backend Type: s3 (Terraform documentation; client.go of the s3 backend); Using server-side "
    "encryption with AWS KMS keys (SSE-KMS) (Amazon S3 User Guide)",
    "AccessDenied",
    refused=False,
)
def _backend_uploads(ctx: Context) -> Iterator[Finding]:
    backend = ctx.stack.backend
    if backend is None or backend[0] != "s3":
        return
    config = backend[1]
    # put() and lockWithFile() send encryption headers only with encrypt = true: kms_key_id alone
    # sends none (the bucket's default encryption applies).
    encrypt = config.get("encrypt") is True
    key = str(config["kms_key_id"]) if encrypt and config.get("kms_key_id") else None
    sse = ("aws:kms" if key else "AES256") if encrypt else None
    address = "terraform.backend.s3"
    for other in ctx.stacks:
        for bucket in other.of("aws_s3_bucket"):
            if bucket.config.get("bucket") != config.get("bucket"):
                continue
            statements = _bucket_policies(other).get(bucket.address, [])
            pinned = _pinned_keys(statements)
            if key is not None and pinned and not _KEY_ARN.match(key):
                yield Finding(
                    address,
                    f"AccessDenied on PutObject of {config.get('key')} and {config.get('key')}.tflock: "
                    f"kms_key_id {key!r} is not a key ARN, and {other.name}'s bucket policy pins the key ARN",
                    "set kms_key_id to the state key's ARN (the bootstrap output state_kms_key_arn)",
                )
                continue
            # The stack that owns the key knows it only after apply: compare shapes, not values.
            symbolic = key if key is None or not pinned else pinned[0]
            denied = _denied_upload(statements, sse, symbolic)
            if denied:
                yield Finding(
                    address,
                    f"AccessDenied on PutObject of the state and its .tflock ({other.name}: {denied})",
                    "encrypt = true with kms_key_id = the state key's ARN",
                )


# validate.go of the s3 backend: a key id is a version 1-5 UUID or a multi-Region key id; an ARN's
# resource is key/<one of them> or alias/<name>, and a bare alias is alias/<name>.
_TF_UUID = r"[a-f0-9]{8}-[a-f0-9]{4}-[1-5][a-f0-9]{3}-[ab89][a-f0-9]{3}-[a-f0-9]{12}"
_TF_KEY = rf"(?:{_TF_UUID}|mrk-[a-f0-9]{{32}})"
_TF_ALIAS = r"alias/[a-zA-Z0-9/_-]+"
_BACKEND_KMS_KEY = re.compile(
    rf"^(?:{_TF_KEY}|{_TF_ALIAS}|arn:aws[a-z-]*:kms:[a-z0-9-]*:\d*:(?:key/{_TF_KEY}|{_TF_ALIAS}))$"
)


@rule(
    "BACKEND-KMS-KEY-ID-FORMAT",
    ("terraform.backend.s3",),
    "The S3 backend's kms_key_id must be a KMS key id (a version 1-5 UUID, as KMS key ids are, or a "
    "multi-Region key id), an alias, or the ARN of one; terraform init refuses anything else.",
    "Backend Type: s3 (Terraform documentation; validate.go of the s3 backend)",
    "Invalid KMS Key ID / Invalid KMS Key ARN",
)
def _backend_key_format(ctx: Context) -> Iterator[Finding]:
    backend = ctx.stack.backend
    if backend and backend[0] == "s3" and backend[1].get("kms_key_id"):
        key = str(backend[1]["kms_key_id"])
        if not _BACKEND_KMS_KEY.match(key):
            kind = "ARN" if key.startswith("arn:") else "ID"
            yield Finding(
                "terraform.backend.s3",
                f"Value must be a valid KMS Key {kind}, got {key!r}",
                "use the state key's ARN (the bootstrap output state_kms_key_arn)",
            )


def _version_at_least(constraint: str, minimum: tuple[int, int]) -> bool:
    match = re.search(r">=?\s*(\d+)\.(\d+)", constraint)
    return match is not None and (int(match.group(1)), int(match.group(2))) >= minimum


@rule(
    "BACKEND-LOCKFILE-NEEDS-TERRAFORM-1.10",
    ("terraform.backend.s3",),
    "S3 native state locking (use_lockfile) exists from Terraform 1.10; older versions refuse the "
    "argument, so the stack must require Terraform >= 1.10.",
    "Terraform v1.10.0 changelog (backend/s3: S3 native state locking); Backend Type: s3",
    "Unsupported argument",
)
def _lockfile_version(ctx: Context) -> Iterator[Finding]:
    backend = ctx.stack.backend
    if backend and backend[0] == "s3" and backend[1].get("use_lockfile"):
        required = str(ctx.stack.terraform.get("required_version") or "")
        if not _version_at_least(required, (1, 10)):
            yield Finding(
                "terraform.required_version",
                f'An argument named "use_lockfile" is not expected here (required_version {required!r})',
                'require_version ">= 1.10"',
            )


@rule(
    "TERRAFORM-LOCAL-STATE-OUTSIDE-CDKTF-OUT",
    ("terraform.backend.local",),
    "The local backend keeps state at `path`, relative to the stack's folder under cdktf.out/, which "
    "synthesis regenerates and git ignores: state kept there is lost, and the next apply tries to "
    "create everything again.",
    "Backend Type: local (Terraform documentation)",
    "BucketAlreadyOwnedByYou / EntityAlreadyExists on the next apply",
    refused=False,
)
def _local_state(ctx: Context) -> Iterator[Finding]:
    backend = ctx.stack.backend
    if backend is None or backend[0] != "local":
        return
    path = str(backend[1].get("path") or "terraform.tfstate")
    resolved = posixpath.normpath(posixpath.join("cdktf.out/stacks", ctx.stack.name, path))
    if resolved.startswith("cdktf.out/") or resolved == "cdktf.out":
        yield Finding(
            "terraform.backend.local",
            f"state at {resolved} is lost with the synthesized output",
            "keep the local state outside cdktf.out/, then migrate it into the state bucket",
        )


# == API Gateway ================================================================================

# $context variables access logs may use: both API types have these ...
_BOTH_LOG_VARIABLES = (
    "apiId",
    "authorize.error",
    "authorize.latency",
    "authorize.status",
    "authorizer.error",
    "authorizer.integrationLatency",
    "authorizer.integrationStatus",
    "authorizer.latency",
    "authorizer.requestId",
    "authorizer.status",
    "authorizer.principalId",
    "authenticate.error",
    "authenticate.latency",
    "authenticate.status",
    "domainName",
    "error.message",
    "error.messageString",
    "error.responseType",
    "error.validationErrorString",
    "extendedRequestId",
    "identity.accountId",
    "identity.apiKey",
    "identity.apiKeyId",
    "identity.caller",
    "identity.cognitoAuthenticationProvider",
    "identity.cognitoAuthenticationType",
    "identity.cognitoIdentityId",
    "identity.cognitoIdentityPoolId",
    "identity.principalOrgId",
    "identity.sourceIp",
    "identity.user",
    "identity.userAgent",
    "identity.userArn",
    "integration.error",
    "integration.integrationStatus",
    "integration.latency",
    "integration.requestId",
    "integration.status",
    "integrationLatency",
    "integrationStatus",
    "requestId",
    "requestTime",
    "requestTimeEpoch",
    "stage",
    "status",
)
# ... "Configure logging for WebSocket APIs in API Gateway" adds these for WebSocket APIs,
WEBSOCKET_LOG_VARIABLES = frozenset(
    f"$context.{name}"
    for name in (*_BOTH_LOG_VARIABLES, "connectedAt", "connectionId", "eventType", "messageId", "routeKey")
)
# ... and "Variables for access logs for REST APIs in API Gateway" these for REST APIs.
REST_LOG_VARIABLES = frozenset(
    f"$context.{name}"
    for name in (
        *_BOTH_LOG_VARIABLES,
        "accountId",
        "awsEndpointRequestId",
        "awsEndpointRequestId2",
        "customDomain.basePathMatched",
        "deploymentId",
        "domainPrefix",
        "httpMethod",
        "identity.clientCert.clientCertPem",
        "identity.clientCert.issuerDN",
        "identity.clientCert.serialNumber",
        "identity.clientCert.subjectDN",
        "identity.clientCert.validity.notAfter",
        "identity.clientCert.validity.notBefore",
        "identity.vpcId",
        "identity.vpceId",
        "isCanaryRequest",
        "path",
        "protocol",
        "resourceId",
        "resourcePath",
        "responseLatency",
        "responseLength",
        "waf.error",
        "waf.latency",
        "waf.status",
        "wafResponseCode",
        "webaclArn",
        "xrayTraceId",
    )
)


def _websocket(stack: Stack, stage: Resource) -> bool:
    found = stack.target(stage.config.get("api_id"))
    return bool(found and str(found[0].config.get("protocol_type", "")).upper() == "WEBSOCKET")


def _log_format(stage: Resource) -> str:
    return str(block(stage.config.get("access_log_settings")).get("format") or "")


def _unknown_variables(text: str, allowed: frozenset[str]) -> list[str]:
    return sorted(
        {v for v in _context_variables(text) if v not in allowed and not v.startswith("$context.authorizer.")}
    )


@rule(
    "APIGW-WEBSOCKET-LOG-VARIABLES",
    ("aws_apigatewayv2_stage",),
    "A WebSocket API stage's access log format may use only the $context variables API Gateway "
    "documents for WebSocket APIs (no REST-only ones such as $context.httpMethod or "
    "$context.resourcePath).",
    "Configure logging for WebSocket APIs in API Gateway (API Gateway Developer Guide)",
    "BadRequestException",
)
def _websocket_log_variables(ctx: Context) -> Iterator[Finding]:
    for stage in ctx.stack.of("aws_apigatewayv2_stage"):
        if _websocket(ctx.stack, stage):
            unknown = _unknown_variables(_log_format(stage), WEBSOCKET_LOG_VARIABLES)
            if unknown:
                yield Finding(
                    stage.address,
                    f"Invalid variables in access log format for a WebSocket API: {', '.join(unknown)}",
                    "build the WebSocket format from the WebSocket variables only",
                )


@rule(
    "APIGW-REST-LOG-VARIABLES",
    ("aws_api_gateway_stage",),
    "A REST API stage's access log format may use only the $context variables API Gateway documents "
    "for REST APIs (no WebSocket-only ones such as $context.connectionId or $context.eventType).",
    "Variables for access logs for REST APIs in API Gateway (API Gateway Developer Guide)",
    "BadRequestException",
)
def _rest_log_variables(ctx: Context) -> Iterator[Finding]:
    for stage in ctx.stack.of("aws_api_gateway_stage"):
        unknown = _unknown_variables(_log_format(stage), REST_LOG_VARIABLES)
        if unknown:
            yield Finding(
                stage.address,
                f"Invalid variables in access log format for a REST API: {', '.join(unknown)}",
                "build the REST format from the REST variables only",
            )


@rule(
    "APIGW-ACCESS-LOG-REQUEST-ID",
    ("aws_api_gateway_stage", "aws_apigatewayv2_stage"),
    "An access log format must include at least $context.requestId (or $context.extendedRequestId).",
    "AccessLogSettings (Amazon API Gateway REST API Reference; API Gateway V2 API Reference)",
    "BadRequestException",
)
def _access_log_request_id(ctx: Context) -> Iterator[Finding]:
    for stage in ctx.stack.of("aws_api_gateway_stage", "aws_apigatewayv2_stage"):
        text = _log_format(stage)
        if text and not {"$context.requestId", "$context.extendedRequestId"} & set(_context_variables(text)):
            yield Finding(
                stage.address,
                "Access Log format must contain at least one of $context.requestId, "
                "$context.extendedRequestId",
                "add $context.requestId to the format",
            )


# What a REST API deployment snapshots: changes to these reach clients only in a new deployment.
DEPLOYED_TYPES = (
    "aws_api_gateway_resource",
    "aws_api_gateway_method",
    "aws_api_gateway_integration",
    "aws_api_gateway_method_response",
    "aws_api_gateway_integration_response",
    "aws_api_gateway_gateway_response",
    "aws_api_gateway_authorizer",
    "aws_api_gateway_model",
    "aws_api_gateway_request_validator",
)


def _deployment_inputs(stack: Stack, deployment: Resource) -> list[Resource]:
    api = stack.references(deployment.config.get("rest_api_id"))
    return [r for r in stack.of(*DEPLOYED_TYPES) if stack.references(r.config.get("rest_api_id")) & api]


@rule(
    "APIGW-DEPLOYMENT-AFTER-CONFIGURATION",
    ("aws_api_gateway_deployment",),
    "A REST API deployment is a snapshot of the API when it is created: methods, integrations and "
    "gateway responses created after it are not live until the next deployment, so the deployment "
    "must depend on every one of them.",
    "Deploy REST APIs in API Gateway (API Gateway Developer Guide)",
    "stale deployment (changes not live)",
    refused=False,
)
def _deployment_order(ctx: Context) -> Iterator[Finding]:
    for deployment in ctx.stack.of("aws_api_gateway_deployment"):
        after = ctx.stack.depends_on(deployment) | ctx.stack.references(
            {k: v for k, v in deployment.config.items() if k != "depends_on"}
        )
        missing = [r.path for r in _deployment_inputs(ctx.stack, deployment) if r.address not in after]
        if missing:
            yield Finding(
                deployment.address,
                f"created before {', '.join(missing)}: they are not part of the deployed snapshot",
                "depend on every method, integration and gateway response of the API",
            )


@rule(
    "APIGW-DEPLOYMENT-REDEPLOY-TRIGGER",
    ("aws_api_gateway_deployment",),
    "An existing REST API deployment never picks up later changes: its triggers must change whenever "
    "any method, integration, gateway response or authorizer changes, so Terraform replaces it.",
    "Deploy REST APIs in API Gateway (API Gateway Developer Guide); aws_api_gateway_deployment "
    "(Terraform AWS provider documentation)",
    "stale deployment (changes not live)",
    refused=False,
)
def _deployment_trigger(ctx: Context) -> Iterator[Finding]:
    for deployment in ctx.stack.of("aws_api_gateway_deployment"):
        triggers = deployment.config.get("triggers") or {}
        hashed = ctx.stack.references(triggers)
        missing = [r.path for r in _deployment_inputs(ctx.stack, deployment) if r.address not in hashed]
        if missing:
            yield Finding(
                deployment.address,
                f"its triggers ignore {', '.join(missing)}: a change there is never deployed",
                "hash every deployed resource's configuration into triggers",
            )


@rule(
    "APIGW-ACCOUNT-ROLE-TRUST",
    ("aws_api_gateway_account", "aws_iam_role"),
    "The account-level CloudWatch role of API Gateway must trust apigateway.amazonaws.com as AWS "
    "documents it, without aws:SourceAccount/aws:SourceArn conditions (API Gateway sends neither when "
    "it assumes this role).",
    "Set up CloudWatch logging for REST APIs in API Gateway (API Gateway Developer Guide)",
    "BadRequestException",
)
def _account_role_trust(ctx: Context) -> Iterator[Finding]:
    for account in ctx.stack.of("aws_api_gateway_account"):
        found = ctx.stack.target(account.config.get("cloudwatch_role_arn"))
        if not found:
            continue
        for statement in _policy(found[0].config.get("assume_role_policy")):
            keys = {k for pairs in (statement.get("Condition") or {}).values() for k in pairs}
            if keys & {"aws:SourceAccount", "aws:SourceArn", "aws:sourceaccount", "aws:sourcearn"}:
                yield Finding(
                    account.address,
                    "The role ARN does not have required permissions set to API Gateway",
                    "trust apigateway.amazonaws.com with no condition",
                )


@rule(
    "APIGW-LOGGING-NEEDS-ACCOUNT-ROLE",
    ("aws_api_gateway_stage", "aws_apigatewayv2_stage", "aws_api_gateway_account"),
    "A stage with access logs or execution logging needs the account's API Gateway CloudWatch role "
    "set (aws_api_gateway_account) in that region first.",
    "Set up CloudWatch logging for REST APIs in API Gateway (API Gateway Developer Guide)",
    "BadRequestException",
    whole_app=True,
)
def _logging_role(ctx: Context) -> Iterator[Finding]:
    if any(s.of("aws_api_gateway_account") for s in ctx.stacks):
        return
    for stage in ctx.stack.of("aws_api_gateway_stage", "aws_apigatewayv2_stage"):
        if _log_format(stage):
            yield Finding(
                stage.address,
                "CloudWatch Logs role ARN must be set in account settings to enable logging",
                "apply the bootstrap stack (it sets the account's API Gateway logging role) first",
            )


# == Lambda =====================================================================================


@rule(
    "LAMBDA-RUNTIME-SUPPORTED",
    ("aws_lambda_function",),
    "A zip function's runtime must be one Lambda still supports (not past its deprecation date).",
    "Lambda runtimes (AWS Lambda Developer Guide), supported and deprecated runtimes",
    "InvalidParameterValueException",
)
def _runtime(ctx: Context) -> Iterator[Finding]:
    for function in ctx.stack.of("aws_lambda_function"):
        runtime = function.config.get("runtime")
        if not isinstance(runtime, str):
            continue
        ends = facts.RUNTIME_DEPRECATION.get(runtime)
        if ends is None or ends <= ctx.today:
            yield Finding(
                function.address,
                f"The runtime parameter of {runtime} is no longer supported for creating or updating "
                "AWS Lambda functions."
                if ends
                else f"{runtime} is not a runtime this preflight knows (add it to preflight/facts.py)",
                "move to a supported runtime (nodejs24.x, python3.12, ...)",
            )


@rule(
    "LAMBDA-TIMEOUT-AND-MEMORY",
    ("aws_lambda_function",),
    "A function's timeout is 1-900 seconds and its memory 128-10240 MB.",
    "CreateFunction (AWS Lambda API Reference)",
    "ValidationException",
)
def _timeout_memory(ctx: Context) -> Iterator[Finding]:
    for function in ctx.stack.of("aws_lambda_function"):
        timeout, memory = _int(function.config.get("timeout")), _int(function.config.get("memory_size"))
        if timeout is not None and not 1 <= timeout <= 900:
            yield Finding(function.address, f"timeout {timeout} is not within 1-900", "timeout <= 900")
        if memory is not None and not 128 <= memory <= 10240:
            yield Finding(function.address, f"memorySize {memory} is not within 128-10240", "128-10240 MB")


@rule(
    "LAMBDA-UNRESERVED-CONCURRENCY",
    ("aws_lambda_function",),
    "Reserved concurrency may not leave fewer than 100 of the account's concurrent executions "
    "unreserved; the reservations of every stack in the same account and Region share that pool; "
    "the stack declares the account's quota (default 1000, often 10 on new accounts).",
    "Configuring reserved concurrency for a function (AWS Lambda Developer Guide)",
    "InvalidParameterValueException",
)
def _reserved_concurrency(ctx: Context) -> Iterator[Finding]:
    quota = _int(ctx.stack.metadata("lambda_concurrency_quota")) or facts.DEFAULT_CONCURRENCY_QUOTA
    # One pool per account and Region: the other stacks deployed there reserve from it too.
    pool = [ctx.stack]
    if ctx.stack.account_id:
        pool += ctx.other(lambda s: (s.account_id, s.region) == (ctx.stack.account_id, ctx.stack.region))
    reserved = {
        (s.name, f.address): n
        for s in pool
        for f in s.of("aws_lambda_function")
        if (n := _int(f.config.get("reserved_concurrent_executions"))) is not None and n >= 0
    }
    own = {address: n for (name, address), n in reserved.items() if name == ctx.stack.name}
    total = sum(reserved.values())
    if own and total > quota - facts.MIN_UNRESERVED_CONCURRENCY:
        largest = max(own, key=lambda a: own[a])
        others = sorted({name for name, _ in reserved} - {ctx.stack.name})
        together = f" with {', '.join(others)}" if others else ""
        yield Finding(
            largest,
            "Specified ReservedConcurrentExecutions for function decreases account's "
            f"UnreservedConcurrentExecution below its minimum value of [100]. (reserved in total "
            f"{total}{together}, quota {quota})",
            "reserve less, or request a higher concurrency quota and declare it",
        )


class UnreadableCatalog(Exception):
    """A function names a catalog (CATALOG_FILE) that its code package does not hold."""


def _catalog_functions(stack: Stack, function: Resource) -> list[dict[str, Any]]:
    """The task functions a function waits for synchronously: those of the catalog in its code
    package (CATALOG_FILE, workflows/catalog.py), which the worker invokes. Empty for a function
    without a catalog, or for a stack checked without its directory (in memory: nothing to read);
    UnreadableCatalog when the package or its catalog cannot be read, so the rule never passes
    without having looked."""
    variables = block(function.config.get("environment")).get("variables") or {}
    name, filename = variables.get("CATALOG_FILE"), function.config.get("filename")
    if not isinstance(name, str) or stack.directory is None:
        return []
    if not isinstance(filename, str):
        raise UnreadableCatalog("it has no code package (filename) to read it from")
    try:
        with zipfile.ZipFile(stack.directory / filename) as package:
            document = json.loads(package.read(name))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise UnreadableCatalog(f"{filename}: {type(exc).__name__}: {exc}") from None
    functions = document.get("functions") if isinstance(document, dict) else None
    if not isinstance(functions, dict):
        raise UnreadableCatalog(f"{filename}: {name} has no functions")
    return [f for f in functions.values() if isinstance(f, dict)]


@rule(
    "LAMBDA-VPC-SYNC-WAIT-UNDER-IDLE-TIMEOUT",
    ("aws_lambda_function",),
    "NAT gateways and interface endpoints drop a connection idle for 350 s; a function in a VPC that "
    "waits synchronously for another (the worker for the task functions of its catalog, created by "
    "the stack or existing ones by ARN) needs that function's timeout at most "
    f"{facts.MAX_SYNC_TASK_TIMEOUT} s.",
    "Troubleshoot NAT gateways (Amazon VPC User Guide), idle connection timeout",
    "connection dropped after 350 s idle",
    refused=False,
)
def _sync_wait(ctx: Context) -> Iterator[Finding]:
    by_name = _functions_by_name(ctx.stack)
    for function in ctx.stack.of("aws_lambda_function"):
        if not function.config.get("vpc_config"):
            continue
        try:
            tasks = _catalog_functions(ctx.stack, function)
        except UnreadableCatalog as exc:
            yield Finding(
                function.address,
                f"cannot check what {function.config.get('function_name')} waits for: its catalog is "
                f"unreadable ({exc})",
                "synthesize again (./noxw -s synth): the engine's bundle carries catalog.json",
            )
            continue
        for task in tasks:
            name = str(task.get("function_name"))
            target = by_name.get(name)
            # An existing function (by ARN): the timeout its declaration states.
            timeout = _function_timeout(target) if target else _int(task.get("timeout_seconds")) or 0
            if timeout > facts.MAX_SYNC_TASK_TIMEOUT:
                yield Finding(
                    target.address if target else function.address,
                    f"{function.config.get('function_name')} waits for {name} (timeout "
                    f"{timeout} s) on a connection NAT drops after 350 s idle",
                    f"task timeouts <= {facts.MAX_SYNC_TASK_TIMEOUT} s (functions.timeout_seconds, "
                    "task.toml, "
                    "external_tasks)",
                )


# Lambda measures a function's variables as one JSON object ("... exceeded the 4KB limit. String
# measured: {...}"). A value Terraform knows only after apply (a queue URL, a table name) counts as
# this many bytes: more than any of the names and URLs the stacks reference.
UNKNOWN_VALUE_BYTES = 256
ENVIRONMENT_LIMIT_BYTES = 4096


@rule(
    "LAMBDA-ENVIRONMENT-4KB",
    ("aws_lambda_function",),
    "A function's environment variables, all together, are at most 4 KB (measured as their JSON "
    f"object; a value known only after apply counted as {UNKNOWN_VALUE_BYTES} bytes).",
    "Lambda quotas (AWS Lambda Developer Guide), function configuration: environment variables 4 KB",
    "InvalidParameterValueException",
)
def _environment_size(ctx: Context) -> Iterator[Finding]:
    for function in ctx.stack.of("aws_lambda_function"):
        variables = block(function.config.get("environment")).get("variables") or {}
        if not isinstance(variables, dict) or not variables:
            continue
        text = json.dumps(variables, separators=(",", ":"), ensure_ascii=False)
        size = len(EXPRESSION.sub("x" * UNKNOWN_VALUE_BYTES, text).encode())
        if size > ENVIRONMENT_LIMIT_BYTES:
            largest = max(variables, key=lambda k: len(str(variables[k])))
            yield Finding(
                function.address,
                "Lambda was unable to configure your environment variables because the environment "
                f"variables you have provided exceeded the 4KB limit. (about {size} bytes; the largest is "
                f"{largest})",
                "move large values into the code package (as the engine's catalog is) or a parameter store",
            )


_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/[a-z0-9._/-]+"
    r"(?::[A-Za-z0-9_.-]{1,128}|@sha256:[0-9a-f]{64})$"
)


@rule(
    "LAMBDA-IMAGE-NOT-FROM-SAME-STACK",
    ("aws_lambda_function", "aws_ecr_repository"),
    "A container-image function needs its image to exist when it is created: an image in a "
    "repository the same stack creates cannot have been pushed before the first apply.",
    "Create a Lambda function using a container image (AWS Lambda Developer Guide)",
    "InvalidParameterValueException",
)
def _image_same_stack(ctx: Context) -> Iterator[Finding]:
    for function in ctx.stack.of("aws_lambda_function"):
        uri = function.config.get("image_uri")
        if uri and any(a.startswith("aws_ecr_repository.") for a in ctx.stack.references(uri)):
            yield Finding(
                function.address,
                "Source image ... does not exist. Provide a valid source image.",
                "create the repository in the bootstrap stack and push before applying",
            )


@rule(
    "LAMBDA-IMAGE-URI",
    ("aws_lambda_function",),
    "A function's image is an Amazon ECR image in the function's own Region, named by a tag or a "
    "sha256 digest.",
    "Create a Lambda function using a container image (AWS Lambda Developer Guide)",
    "InvalidParameterValueException",
)
def _image_uri(ctx: Context) -> Iterator[Finding]:
    for function in ctx.stack.of("aws_lambda_function"):
        uri = function.config.get("image_uri")
        if not isinstance(uri, str) or not is_literal(uri):
            continue
        match = _ECR_IMAGE.match(uri)
        if not match or (ctx.stack.region and match.group("region") != ctx.stack.region):
            yield Finding(
                function.address,
                f"Source image {uri} is not valid: the image must be in Amazon ECR in {ctx.stack.region}",
                "push the image to the registry of the function's Region",
            )


@rule(
    "LAMBDA-AFTER-ROLE-POLICIES",
    ("aws_lambda_function", "aws_iam_role_policy"),
    "Lambda checks a function's execution role when the function is created (a VPC function's role "
    "must already allow ec2:CreateNetworkInterface), so the function must depend on its role's "
    "policies; that also keeps the policies until the function is gone on destroy.",
    "Giving Lambda functions access to resources in an Amazon VPC (AWS Lambda Developer Guide)",
    "InvalidParameterValueException",
)
def _after_policies(ctx: Context) -> Iterator[Finding]:
    for function in ctx.stack.of("aws_lambda_function"):
        role = _role_of(ctx.stack, function)
        if role is None:
            continue
        missing = [
            p.path for p in _role_policies(ctx.stack, role) if p.address not in ctx.stack.depends_on(function)
        ]
        if missing:
            yield Finding(
                function.address,
                "The provided execution role does not have permissions to call CreateNetworkInterface "
                f"on EC2 (its policies {', '.join(missing)} may not exist yet)",
                "depends_on the role's policies",
            )


_VPC_ACTIONS = ("ec2:createnetworkinterface", "ec2:describenetworkinterfaces", "ec2:deletenetworkinterface")


@rule(
    "LAMBDA-VPC-ROLE-PERMISSIONS",
    ("aws_lambda_function", "aws_iam_role_policy"),
    "A function in a VPC needs an execution role that allows ec2:CreateNetworkInterface, "
    "ec2:DescribeNetworkInterfaces and ec2:DeleteNetworkInterface.",
    "Giving Lambda functions access to resources in an Amazon VPC (AWS Lambda Developer Guide)",
    "InvalidParameterValueException",
)
def _vpc_permissions(ctx: Context) -> Iterator[Finding]:
    for function in ctx.stack.of("aws_lambda_function"):
        role = _role_of(ctx.stack, function)
        if not function.config.get("vpc_config") or role is None:
            continue
        missing = [a for a in _VPC_ACTIONS if a not in _allowed_actions(ctx.stack, role)]
        if missing:
            yield Finding(
                function.address,
                "The provided execution role does not have permissions to call "
                f"{missing[0].split(':')[1]} on EC2",
                "allow the EC2 network-interface actions in the role",
            )


@rule(
    "LAMBDA-TRUSTS-LAMBDA",
    ("aws_lambda_function", "aws_iam_role"),
    "A function's execution role must trust lambda.amazonaws.com.",
    "Defining Lambda function permissions with an execution role (AWS Lambda Developer Guide)",
    "InvalidParameterValueException",
)
def _trusts_lambda(ctx: Context) -> Iterator[Finding]:
    for function in ctx.stack.of("aws_lambda_function"):
        role = _role_of(ctx.stack, function)
        if role is None:
            continue
        services = {
            str(s)
            for statement in _policy(role.config.get("assume_role_policy"))
            if statement.get("Effect") == "Allow"
            for s in _as_list((statement.get("Principal") or {}).get("Service", []))
        }
        if "lambda.amazonaws.com" not in services:
            yield Finding(
                function.address,
                "The role defined for the function cannot be assumed by Lambda.",
                "trust lambda.amazonaws.com",
            )


@rule(
    "LAMBDA-SQS-VISIBILITY-TIMEOUT",
    ("aws_lambda_event_source_mapping", "aws_sqs_queue"),
    "An SQS event source's visibility timeout must be at least the function's timeout.",
    "Using Lambda with Amazon SQS (AWS Lambda Developer Guide)",
    "InvalidParameterValueException",
)
def _sqs_visibility(ctx: Context) -> Iterator[Finding]:
    for mapping in ctx.stack.of("aws_lambda_event_source_mapping"):
        source, function = (
            ctx.stack.target(mapping.config.get(k)) for k in ("event_source_arn", "function_name")
        )
        if not source or not function or source[0].type != "aws_sqs_queue":
            continue
        visibility = _int(source[0].config.get("visibility_timeout_seconds"))
        visibility = 30 if visibility is None else visibility
        timeout = _function_timeout(function[0])
        if visibility < timeout:
            yield Finding(
                mapping.address,
                f"Queue visibility timeout: {visibility} seconds is less than Function timeout: "
                f"{timeout} seconds",
                "raise the queue's visibility timeout above the function timeout",
            )


@rule(
    "LAMBDA-STREAM-MAPPING",
    ("aws_lambda_event_source_mapping", "aws_dynamodb_table"),
    "A DynamoDB stream mapping needs the table's stream enabled, a starting position, batch size "
    "1-10000, parallelization factor 1-10, maximum retry attempts -1-10000 and maximum record age "
    "-1 or 60-604800 s.",
    "CreateEventSourceMapping (AWS Lambda API Reference)",
    "InvalidParameterValueException",
)
def _stream_mapping(ctx: Context) -> Iterator[Finding]:
    for mapping, source in _mappings_from(ctx.stack, "aws_dynamodb_table"):
        c = mapping.config
        problems = []
        if not source.config.get("stream_enabled"):
            problems.append("the table's stream is not enabled")
        if not c.get("starting_position"):
            problems.append("StartingPosition is required")
        for key, low, high in (
            ("batch_size", 1, 10000),
            ("parallelization_factor", 1, 10),
            ("maximum_retry_attempts", -1, 10000),
        ):
            value = _int(c.get(key))
            if value is not None and not low <= value <= high:
                problems.append(f"{key} {value} not within {low}-{high}")
        age = _int(c.get("maximum_record_age_in_seconds"))
        if age is not None and age != -1 and not 60 <= age <= 604800:
            problems.append(f"maximum_record_age_in_seconds {age} not -1 or within 60-604800")
        for problem in problems:
            yield Finding(mapping.address, problem, "fix the mapping's settings")


@rule(
    "LAMBDA-ASYNC-CONFIG-RANGES",
    ("aws_lambda_function_event_invoke_config",),
    "Asynchronous invocation: maximum retry attempts 0-2, maximum event age 60-21600 s.",
    "PutFunctionEventInvokeConfig (AWS Lambda API Reference)",
    "ValidationException",
)
def _async_config(ctx: Context) -> Iterator[Finding]:
    for config in ctx.stack.of("aws_lambda_function_event_invoke_config"):
        retries = _int(config.config.get("maximum_retry_attempts"))
        age = _int(config.config.get("maximum_event_age_in_seconds"))
        if retries is not None and not 0 <= retries <= 2:
            yield Finding(config.address, f"MaximumRetryAttempts {retries} not within 0-2", "0-2")
        if age is not None and not 60 <= age <= 21600:
            yield Finding(config.address, f"MaximumEventAgeInSeconds {age} not within 60-21600", "60-21600")


@rule(
    "LAMBDA-FUNCTION-NAME",
    ("aws_lambda_function",),
    "A function name is at most 64 letters, digits, hyphens and underscores.",
    facts.NAME_LIMITS["lambda_function"][2],
    "ValidationException",
)
def _function_name(ctx: Context) -> Iterator[Finding]:
    yield from _name_check(ctx, "aws_lambda_function", "function_name", "lambda_function")


# == IAM ========================================================================================


@rule(
    "IAM-ROLE-NAME",
    ("aws_iam_role",),
    "A role name is at most 64 characters of letters, digits and +=,.@_-.",
    facts.NAME_LIMITS["iam_role"][2],
    "ValidationError",
)
def _role_name(ctx: Context) -> Iterator[Finding]:
    yield from _name_check(ctx, "aws_iam_role", "name", "iam_role")


# "IAM and AWS STS quotas" (IAM User Guide): a role's inline policies together are at most 10,240
# characters, white space not counted; PutRolePolicy answers LimitExceeded. A value Terraform knows only
# after apply (an ARN, a subnet id) counts as this many: more than the longest ARN the stacks reference
# (a log group of a 64-character function name is 126).
ROLE_POLICY_LIMIT_CHARS = 10240
UNKNOWN_ARN_CHARS = 128
_WHITESPACE = re.compile(r"\s")


@rule(
    "IAM-ROLE-INLINE-POLICY-SIZE",
    ("aws_iam_role_policy", "aws_iam_role"),
    f"A role's inline policies, together, are at most {ROLE_POLICY_LIMIT_CHARS} characters without white "
    f"space (a value known only after apply counted as {UNKNOWN_ARN_CHARS}); the worker's grows by one ARN "
    "per task function.",
    "IAM and AWS STS quotas (IAM User Guide), role policy size",
    "LimitExceeded",
)
def _role_policy_size(ctx: Context) -> Iterator[Finding]:
    for role in ctx.stack.of("aws_iam_role"):
        documents = [
            p.config.get("policy") for p in _role_policies(ctx.stack, role) if p.type == "aws_iam_role_policy"
        ]
        documents += [b.get("policy") for b in blocks(role.config.get("inline_policy"))]
        texts = [d for d in documents if isinstance(d, str)]
        size = sum(len(_WHITESPACE.sub("", EXPRESSION.sub("x" * UNKNOWN_ARN_CHARS, t))) for t in texts)
        if size > ROLE_POLICY_LIMIT_CHARS:
            yield Finding(
                role.address,
                f"Maximum policy size of {ROLE_POLICY_LIMIT_CHARS} bytes exceeded for role "
                f"{role.config.get('name')} (about {size} characters)",
                "declare fewer task functions in this environment (each adds its ARN to the worker's "
                "policy), or move statements into managed policies",
            )


# == KMS ========================================================================================


def _key_policy_allows(key: Resource, service: str, action: str) -> bool:
    for statement in _policy(key.config.get("policy")):
        principal = statement.get("Principal") or {}
        services = _as_list(principal.get("Service", [])) if isinstance(principal, dict) else []
        actions = {str(a).lower() for a in _as_list(statement.get("Action", []))}
        if (
            statement.get("Effect") == "Allow"
            and service in services
            and (action.lower() in actions or "kms:*" in actions)
        ):
            return True
    return False


def _keys_used_by(
    stack: Stack, types: tuple[str, ...], attribute: str
) -> Iterator[tuple[Resource, Resource]]:
    for resource in stack.of(*types):
        found = stack.target(resource.config.get(attribute))
        if found and found[0].type == "aws_kms_key" and found[0].config.get("policy") is not None:
            yield resource, found[0]


@rule(
    "KMS-KEY-POLICY-CLOUDWATCH-LOGS",
    ("aws_cloudwatch_log_group", "aws_kms_key"),
    "A log group encrypted with a customer managed key needs the key policy to allow "
    "logs.<region>.amazonaws.com to use it (Encrypt, Decrypt, GenerateDataKey, ...).",
    "Encrypt log data in CloudWatch Logs using AWS Key Management Service (Amazon CloudWatch Logs "
    "User Guide)",
    "AccessDeniedException",
)
def _logs_key(ctx: Context) -> Iterator[Finding]:
    service = f"logs.{ctx.stack.region}.amazonaws.com"
    for group, key in _keys_used_by(ctx.stack, ("aws_cloudwatch_log_group",), "kms_key_id"):
        if not _key_policy_allows(key, service, "kms:GenerateDataKey"):
            yield Finding(
                group.address,
                f"The specified KMS key does not exist or is not allowed to be used with Arn "
                f"'arn:aws:logs:{ctx.stack.region}:...:log-group:{group.config.get('name')}'",
                f"allow {service} in the key policy",
            )


@rule(
    "KMS-KEY-POLICY-CLOUDFRONT-OAC",
    ("aws_cloudfront_distribution", "aws_s3_bucket_server_side_encryption_configuration", "aws_kms_key"),
    "CloudFront reads an SSE-KMS bucket through origin access control only if the key policy allows "
    "cloudfront.amazonaws.com kms:Decrypt.",
    "Restrict access to an Amazon S3 origin (Amazon CloudFront Developer Guide)",
    "403 AccessDenied from the origin",
    refused=False,
)
def _cloudfront_key(ctx: Context) -> Iterator[Finding]:
    origins = {
        a
        for d in ctx.stack.of("aws_cloudfront_distribution")
        for o in blocks(d.config.get("origin"))
        if o.get("origin_access_control_id")
        for a in ctx.stack.references(o.get("domain_name"))
    }
    for sse in ctx.stack.of("aws_s3_bucket_server_side_encryption_configuration"):
        if not ctx.stack.references(sse.config.get("bucket")) & origins:
            continue
        for rule_ in blocks(sse.config.get("rule")):
            found = ctx.stack.target(
                block(rule_.get("apply_server_side_encryption_by_default")).get("kms_master_key_id")
            )
            if (
                found
                and found[0].type == "aws_kms_key"
                and not _key_policy_allows(found[0], "cloudfront.amazonaws.com", "kms:Decrypt")
            ):
                yield Finding(
                    found[0].address,
                    "CloudFront cannot decrypt the origin's objects",
                    "allow cloudfront.amazonaws.com kms:Decrypt",
                )


@rule(
    "KMS-KEY-POLICY-SNS-FROM-CLOUDWATCH",
    ("aws_sns_topic", "aws_cloudwatch_metric_alarm", "aws_kms_key"),
    "Alarms publish to a topic encrypted with a customer managed key only if the key policy allows "
    "cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey.",
    "Encrypting Amazon SNS topics with AWS KMS: enable compatibility between event sources from AWS "
    "services and encrypted topics (Amazon SNS Developer Guide)",
    "notifications silently dropped",
    refused=False,
)
def _sns_key(ctx: Context) -> Iterator[Finding]:
    alarmed = {
        a
        for alarm in ctx.stack.of("aws_cloudwatch_metric_alarm")
        for a in ctx.stack.references(alarm.config.get("alarm_actions"))
    }
    for topic, key in _keys_used_by(ctx.stack, ("aws_sns_topic",), "kms_master_key_id"):
        if topic.address in alarmed and not _key_policy_allows(
            key, "cloudwatch.amazonaws.com", "kms:GenerateDataKey"
        ):
            yield Finding(
                topic.address,
                "alarm notifications cannot be encrypted",
                "allow cloudwatch.amazonaws.com in the key policy",
            )


@rule(
    "KMS-KEY-SETTINGS",
    ("aws_kms_key", "aws_kms_alias"),
    "A key's deletion window is 7-30 days and its rotation period 90-2560 days; an alias starts with "
    "alias/, not alias/aws/, and uses only letters, digits, /, _ and -.",
    "CreateKey, EnableKeyRotation and CreateAlias (AWS KMS API Reference)",
    "ValidationException",
)
def _kms_settings(ctx: Context) -> Iterator[Finding]:
    for key in ctx.stack.of("aws_kms_key"):
        window, period = (
            _int(key.config.get("deletion_window_in_days")),
            _int(key.config.get("rotation_period_in_days")),
        )
        if window is not None and not 7 <= window <= 30:
            yield Finding(key.address, f"PendingWindowInDays {window} not within 7-30", "7-30 days")
        if period is not None and not 90 <= period <= 2560:
            yield Finding(key.address, f"RotationPeriodInDays {period} not within 90-2560", "90-2560 days")
    for alias in ctx.stack.of("aws_kms_alias"):
        name = alias.config.get("name")
        if (
            isinstance(name, str)
            and is_literal(name)
            and (not re.fullmatch(r"alias/[A-Za-z0-9/_-]{1,250}", name) or name.startswith("alias/aws/"))
        ):
            yield Finding(alias.address, f"Alias {name} is invalid", "alias/<letters, digits, /_->")


@rule(
    "KMS-KEY-POLICY-LOCKOUT",
    ("aws_kms_key",),
    "Unless bypass_policy_lockout_safety_check is set, a key policy must let the principal that creates "
    "the key change the policy later (kms:PutKeyPolicy): here the account, whose IAM policies then "
    "delegate to the deployer.",
    "CreateKey and PutKeyPolicy, BypassPolicyLockoutSafetyCheck (AWS KMS API Reference)",
    "MalformedPolicyDocumentException",
)
def _kms_lockout(ctx: Context) -> Iterator[Finding]:
    account = ctx.stack.account_id
    if not account:
        return
    owners = {account, f"arn:aws:iam::{account}:root"}
    for key in ctx.stack.of("aws_kms_key"):
        document = key.config.get("policy")
        if key.config.get("bypass_policy_lockout_safety_check") or not isinstance(document, str):
            continue
        if not is_literal(document):
            continue
        allowed = any(
            statement.get("Effect") == "Allow"
            and not statement.get("Condition")
            and isinstance(statement.get("Principal"), dict)
            and owners & {str(p) for p in _as_list(statement["Principal"].get("AWS", []))}
            and {"kms:putkeypolicy", "kms:*"}
            & {str(a).lower() for a in _as_list(statement.get("Action", []))}
            for statement in _policy(document)
        )
        if not allowed:
            yield Finding(
                key.address,
                "The new key policy will not allow you to update the key policy in the future.",
                f"allow arn:aws:iam::{account}:root kms:PutKeyPolicy (and the other administration actions)",
            )


# == DynamoDB ===================================================================================


@rule(
    "DYNAMODB-ATTRIBUTES-ARE-KEYS",
    ("aws_dynamodb_table",),
    "A table defines exactly the attributes its table and index keys use: every defined attribute is a "
    "key somewhere and every key attribute is defined.",
    "CreateTable (Amazon DynamoDB API Reference)",
    "ValidationException",
)
def _table_attributes(ctx: Context) -> Iterator[Finding]:
    for table in ctx.stack.of("aws_dynamodb_table"):
        c = table.config
        defined = {str(a.get("name")) for a in blocks(c.get("attribute"))}
        keys = {str(c.get("hash_key")), *([str(c["range_key"])] if c.get("range_key") else [])}
        for index in blocks(c.get("global_secondary_index")) + blocks(c.get("local_secondary_index")):
            keys |= {str(index[k]) for k in ("hash_key", "range_key") if index.get(k)}
        if defined != keys:
            yield Finding(
                table.address,
                "One or more parameter values were invalid: Some AttributeDefinitions are not used in the "
                f"KeySchema or indexes (defined {sorted(defined)}, keys {sorted(keys)})",
                "define exactly the key attributes",
            )


@rule(
    "DYNAMODB-INDEX-PROJECTIONS",
    ("aws_dynamodb_table",),
    "A table has at most 20 global secondary indexes; only an INCLUDE projection lists non-key "
    "attributes, at most 100 across the table's indexes.",
    "Service, account, and table quotas in Amazon DynamoDB (Amazon DynamoDB Developer Guide)",
    "ValidationException",
)
def _index_projections(ctx: Context) -> Iterator[Finding]:
    for table in ctx.stack.of("aws_dynamodb_table"):
        indexes = blocks(table.config.get("global_secondary_index"))
        projected = 0
        for index in indexes:
            attributes = index.get("non_key_attributes") or []
            projected += len(attributes)
            if attributes and index.get("projection_type") != "INCLUDE":
                yield Finding(
                    table.address, f"index {index.get('name')}: NonKeyAttributes need INCLUDE", "INCLUDE"
                )
        if len(indexes) > 20 or projected > 100:
            yield Finding(table.address, f"{len(indexes)} indexes, {projected} projected attributes", "fewer")


@rule(
    "DYNAMODB-STREAM-VIEW-TYPE",
    ("aws_dynamodb_table",),
    "A table with its stream enabled names what the stream records (stream_view_type KEYS_ONLY, "
    "NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES).",
    "StreamSpecification (Amazon DynamoDB API Reference); aws_dynamodb_table (Terraform AWS provider "
    "documentation)",
    "ValidationException",
)
def _stream_view_type(ctx: Context) -> Iterator[Finding]:
    views = {"KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"}
    for table in ctx.stack.of("aws_dynamodb_table"):
        view = table.config.get("stream_view_type")
        if table.config.get("stream_enabled") is True and view not in views:
            yield Finding(
                table.address,
                f"StreamViewType {view!r}: the stream needs one of {', '.join(sorted(views))}",
                "set stream_view_type (the orchestrator reads NEW_AND_OLD_IMAGES)",
            )


# == SQS, EventBridge ===========================================================================


@rule(
    "SQS-QUEUE-ATTRIBUTES",
    ("aws_sqs_queue",),
    "A queue name is at most 80 characters; visibility timeout 0-43200 s, retention 60-1209600 s, "
    "delay 0-900 s, KMS data key reuse 60-86400 s; a redrive policy's maxReceiveCount 1-1000.",
    "CreateQueue (Amazon SQS API Reference)",
    "InvalidAttributeValue",
)
def _queues(ctx: Context) -> Iterator[Finding]:
    yield from _name_check(ctx, "aws_sqs_queue", "name", "sqs_queue")
    for queue in ctx.stack.of("aws_sqs_queue"):
        for key, low, high in (
            ("visibility_timeout_seconds", 0, 43200),
            ("message_retention_seconds", 60, 1209600),
            ("delay_seconds", 0, 900),
            ("kms_data_key_reuse_period_seconds", 60, 86400),
        ):
            value = _int(queue.config.get(key))
            if value is not None and not low <= value <= high:
                yield Finding(
                    queue.address, f"Invalid value for the parameter {key}: {value}", f"{low}-{high}"
                )
        redrive = queue.config.get("redrive_policy")
        if isinstance(redrive, str):
            count = re.search(r'"maxReceiveCount":\s*(\d+)', redrive)
            if count and not 1 <= int(count.group(1)) <= 1000:
                yield Finding(queue.address, f"maxReceiveCount {count.group(1)} not within 1-1000", "1-1000")


_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")


@rule(
    "EVENTS-SCHEDULE-EXPRESSION",
    ("aws_cloudwatch_event_rule",),
    "A schedule is rate(N unit) with a singular unit for 1 and plural otherwise (rate(1 minute), "
    "rate(5 minutes)), or cron(...) with six fields; the shortest rate is one minute.",
    "Creating a rule that runs on a schedule in Amazon EventBridge (Amazon EventBridge User Guide)",
    "ValidationException",
)
def _schedule(ctx: Context) -> Iterator[Finding]:
    for rule_ in ctx.stack.of("aws_cloudwatch_event_rule"):
        expression = rule_.config.get("schedule_expression")
        if not isinstance(expression, str):
            continue
        rate = _RATE.match(expression)
        ok = (
            rate is not None
            and (int(rate.group(1)) == 1) == (not rate.group(2).endswith("s"))
            and int(rate.group(1)) >= 1
        )
        ok = ok or bool(re.fullmatch(r"cron\((\S+ ){5}\S+\)", expression))
        if not ok:
            yield Finding(rule_.address, "Parameter ScheduleExpression is not valid.", "rate(1 minute)")


@rule(
    "EVENTS-LAMBDA-TARGET-PERMISSION",
    ("aws_cloudwatch_event_target", "aws_lambda_permission"),
    "EventBridge invokes a Lambda target only if the function's resource policy allows "
    "events.amazonaws.com (an aws_lambda_permission for the rule).",
    "Using resource-based policies for Amazon EventBridge (Amazon EventBridge User Guide)",
    "FailedInvocations (the target is never invoked)",
    refused=False,
)
def _events_permission(ctx: Context) -> Iterator[Finding]:
    permitted = {
        a
        for p in ctx.stack.of("aws_lambda_permission")
        if p.config.get("principal") == "events.amazonaws.com"
        for a in ctx.stack.references(p.config.get("function_name"))
    }
    for target in ctx.stack.of("aws_cloudwatch_event_target"):
        found = ctx.stack.target(target.config.get("arn"))
        if found and found[0].type == "aws_lambda_function" and found[0].address not in permitted:
            yield Finding(
                target.address,
                "events.amazonaws.com may not invoke the function",
                "add aws_lambda_permission",
            )


@rule(
    "EVENTS-TARGET-RETRY-POLICY",
    ("aws_cloudwatch_event_target",),
    "A target's retry policy keeps events 60-86400 s and retries them 0-185 times.",
    "RetryPolicy (Amazon EventBridge API Reference)",
    "ValidationException",
)
def _events_retry(ctx: Context) -> Iterator[Finding]:
    for target in ctx.stack.of("aws_cloudwatch_event_target"):
        retry = block(target.config.get("retry_policy"))
        age, attempts = (
            _int(retry.get("maximum_event_age_in_seconds")),
            _int(retry.get("maximum_retry_attempts")),
        )
        if age is not None and not 60 <= age <= 86400:
            yield Finding(target.address, f"MaximumEventAgeInSeconds {age} not within 60-86400", "60-86400")
        if attempts is not None and not 0 <= attempts <= 185:
            yield Finding(target.address, f"MaximumRetryAttempts {attempts} not within 0-185", "0-185")


@rule(
    "LAMBDA-SQS-BATCH-WINDOW",
    ("aws_lambda_event_source_mapping", "aws_sqs_queue"),
    "An SQS event source with a batch size above 10 needs a batching window of at least 1 s; a "
    "standard queue's batch is at most 10000, a FIFO queue's at most 10.",
    "CreateEventSourceMapping (AWS Lambda API Reference), BatchSize",
    "InvalidParameterValueException",
)
def _sqs_batching(ctx: Context) -> Iterator[Finding]:
    for mapping, source in _mappings_from(ctx.stack, "aws_sqs_queue"):
        batch = _int(mapping.config.get("batch_size"))
        window = _int(mapping.config.get("maximum_batching_window_in_seconds")) or 0
        fifo = source.config.get("fifo_queue") is True
        if batch is not None and batch > (10 if fifo else 10000):
            yield Finding(
                mapping.address, f"BatchSize {batch} is above the queue's maximum", "smaller batches"
            )
        elif batch is not None and batch > 10 and window < 1:
            yield Finding(
                mapping.address,
                "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater "
                f"than 10 (batch size {batch})",
                "maximum_batching_window_in_seconds >= 1",
            )


# == VPC ========================================================================================


def _calls_public_execute_api(function: Resource) -> bool:
    variables = block(function.config.get("environment")).get("variables") or {}
    return any("execute-api." in str(v) and "amazonaws.com" in str(v) for v in variables.values())


@rule(
    "VPC-EXECUTE-API-PRIVATE-DNS",
    ("aws_vpc_endpoint", "aws_lambda_function"),
    "With private DNS on an execute-api interface endpoint, every *.execute-api name resolves to the "
    "endpoint inside the VPC, which serves private APIs only: calls to public APIs (the WebSocket "
    "@connections API) from that VPC get 403 Forbidden.",
    "Private REST APIs in API Gateway (API Gateway Developer Guide)",
    "403 Forbidden",
    refused=False,
)
def _execute_api_dns(ctx: Context) -> Iterator[Finding]:
    callers = [
        f
        for f in ctx.stack.of("aws_lambda_function")
        if f.config.get("vpc_config") and _calls_public_execute_api(f)
    ]
    for endpoint in ctx.stack.of("aws_vpc_endpoint"):
        service = str(endpoint.config.get("service_name", ""))
        if service.endswith(".execute-api") and endpoint.config.get("private_dns_enabled") and callers:
            yield Finding(
                endpoint.address,
                f"{callers[0].config.get('function_name')}'s calls to the public WebSocket API get "
                "403 Forbidden",
                "remove the execute-api endpoint (or its private DNS)",
            )


@rule(
    "VPC-FUNCTION-PUBLIC-EGRESS",
    ("aws_lambda_function", "aws_route", "aws_route_table_association"),
    "A function in a VPC reaches a public endpoint (the WebSocket @connections API has no VPC "
    "endpoint) only through a NAT gateway: its subnets need a 0.0.0.0/0 route to one.",
    "Enable internet access for VPC-connected Lambda functions (AWS Lambda Developer Guide)",
    "timeout (no route to the API)",
    refused=False,
)
def _public_egress(ctx: Context) -> Iterator[Finding]:
    stack = ctx.stack
    nat_tables = {
        a
        for route in stack.of("aws_route")
        if route.config.get("destination_cidr_block") == "0.0.0.0/0" and route.config.get("nat_gateway_id")
        for a in stack.references(route.config.get("route_table_id"))
    }
    table_of: dict[str, set[str]] = {}
    for association in stack.of("aws_route_table_association"):
        for subnet in stack.references(association.config.get("subnet_id")):
            table_of.setdefault(subnet, set()).update(
                stack.references(association.config.get("route_table_id"))
            )
    for function in stack.of("aws_lambda_function"):
        if not function.config.get("vpc_config") or not _calls_public_execute_api(function):
            continue
        subnets = stack.references(block(function.config.get("vpc_config")).get("subnet_ids"))
        stranded = sorted(s for s in subnets if s in table_of and not table_of[s] & nat_tables)
        if stranded:
            yield Finding(
                function.address, f"no route to the internet from {', '.join(stranded)}", "route through NAT"
            )


@rule(
    "VPC-ENDPOINT-PRIVATE-DNS-NEEDS-VPC-DNS",
    ("aws_vpc_endpoint", "aws_vpc"),
    "Private DNS on an interface endpoint needs the VPC's enableDnsSupport and enableDnsHostnames.",
    "Access an AWS service using an interface VPC endpoint (AWS PrivateLink Guide)",
    "InvalidParameter",
)
def _endpoint_dns(ctx: Context) -> Iterator[Finding]:
    for endpoint in ctx.stack.of("aws_vpc_endpoint"):
        found = ctx.stack.target(endpoint.config.get("vpc_id"))
        if endpoint.config.get("private_dns_enabled") and found and found[0].type == "aws_vpc":
            vpc = found[0].config
            if vpc.get("enable_dns_support") is False or not vpc.get("enable_dns_hostnames"):
                yield Finding(
                    endpoint.address,
                    "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC "
                    "attributes set to true",
                    "enable DNS support and hostnames on the VPC",
                )


@rule(
    "VPC-SECURITY-GROUP-RULE-ONE-TARGET",
    ("aws_vpc_security_group_egress_rule", "aws_vpc_security_group_ingress_rule"),
    "A security group rule names exactly one of cidr_ipv4, cidr_ipv6, prefix_list_id and "
    "referenced_security_group_id.",
    "aws_vpc_security_group_egress_rule (Terraform AWS provider documentation); "
    "AuthorizeSecurityGroupEgress (Amazon EC2 API Reference)",
    "InvalidParameterCombination",
)
def _sg_rule_target(ctx: Context) -> Iterator[Finding]:
    keys = ("cidr_ipv4", "cidr_ipv6", "prefix_list_id", "referenced_security_group_id")
    for sg_rule in ctx.stack.of("aws_vpc_security_group_egress_rule", "aws_vpc_security_group_ingress_rule"):
        named = [k for k in keys if sg_rule.config.get(k)]
        if len(named) != 1:
            yield Finding(
                sg_rule.address,
                f"a rule needs exactly one destination (has {named or 'none'})",
                "one of " + ", ".join(keys),
            )


# == CloudWatch Logs, CloudFront, ECR ===========================================================

_RETENTION = facts.LOG_RETENTION_DAYS


@rule(
    "LOGS-RETENTION-DAYS",
    ("aws_cloudwatch_log_group",),
    f"A log group's retention is one of {', '.join(map(str, _RETENTION))} days (or 0 in Terraform: "
    "never expire, no retention policy).",
    "PutRetentionPolicy (Amazon CloudWatch Logs API Reference); aws_cloudwatch_log_group (Terraform "
    "AWS provider documentation)",
    "InvalidParameterException",
)
def _retention(ctx: Context) -> Iterator[Finding]:
    for group in ctx.stack.of("aws_cloudwatch_log_group"):
        days = _int(group.config.get("retention_in_days"))
        # 0 is Terraform's "never expire": it sets no retention policy at all.
        if days is not None and days != 0 and days not in _RETENTION:
            yield Finding(group.address, f"retentionInDays {days} is not a valid value", "a valid retention")


@rule(
    "CLOUDFRONT-OAC-S3-ORIGIN",
    ("aws_cloudfront_distribution", "aws_s3_bucket_policy"),
    "An origin with origin access control must be the bucket's REST endpoint (bucket_regional_domain_name, "
    "not a website endpoint), and the bucket policy must allow cloudfront.amazonaws.com s3:GetObject.",
    "Restrict access to an Amazon S3 origin (Amazon CloudFront Developer Guide)",
    "403 AccessDenied from the origin",
    refused=False,
)
def _oac_origin(ctx: Context) -> Iterator[Finding]:
    policies = _bucket_policies(ctx.stack)
    for distribution in ctx.stack.of("aws_cloudfront_distribution"):
        for origin in blocks(distribution.config.get("origin")):
            if not origin.get("origin_access_control_id"):
                continue
            found = ctx.stack.target(origin.get("domain_name"))
            if not found or found[0].type != "aws_s3_bucket" or found[1] != "bucket_regional_domain_name":
                yield Finding(
                    distribution.address,
                    "the OAC origin is not a bucket's regional domain name",
                    "bucket_regional_domain_name",
                )
                continue
            allowed = any(
                s.get("Effect") == "Allow"
                and "cloudfront.amazonaws.com" in _as_list((s.get("Principal") or {}).get("Service", []))
                for s in policies.get(found[0].address, [])
            )
            if not allowed:
                yield Finding(
                    distribution.address,
                    "the bucket policy does not let CloudFront read",
                    "allow cloudfront.amazonaws.com",
                )


@rule(
    "ECR-REPOSITORY-NAME",
    ("aws_ecr_repository",),
    "A repository name is 2-256 lowercase characters: letters, digits and . _ - / between them.",
    facts.NAME_LIMITS["ecr_repository"][2],
    "InvalidParameterException",
)
def _ecr_name(ctx: Context) -> Iterator[Finding]:
    for repository in ctx.stack.of("aws_ecr_repository"):
        name = repository.config.get("name")
        if (
            isinstance(name, str)
            and is_literal(name)
            and not re.fullmatch(r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*", name)
        ) or (isinstance(name, str) and len(name) > 256):
            yield Finding(
                repository.address,
                f"Invalid parameter at 'repositoryName' failed to satisfy constraint: {name!r}",
                "lowercase name",
            )


# -- running ---------------------------------------------------------------------------------


# --- Cognito, API Gateway authorizers, WAF (sign-in) ---------------------------------------------

COGNITO_DOMAIN_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
COGNITO_RESERVED_WORDS = ("aws", "amazon", "cognito")
OIDC_SCOPES = frozenset({"openid", "email", "profile", "phone", "aws.cognito.signin.user.admin"})


@rule(
    "COGNITO-DOMAIN-PREFIX",
    ("aws_cognito_user_pool_domain",),
    "A Cognito prefix domain is 1-63 lowercase letters, digits and hyphens (not at either end) and "
    "contains none of the words aws, amazon or cognito.",
    "CreateUserPoolDomain (Amazon Cognito user pools API Reference)",
    "InvalidParameterException",
)
def _cognito_domain(ctx: Context) -> Iterator[Finding]:
    for domain in ctx.stack.of("aws_cognito_user_pool_domain"):
        prefix = domain.config.get("domain")
        if domain.config.get("certificate_arn") or not is_literal(prefix):
            continue  # a custom domain, or one Terraform knows only later
        text = str(prefix)
        reserved = [w for w in COGNITO_RESERVED_WORDS if w in text]
        if not COGNITO_DOMAIN_PREFIX.fullmatch(text) or reserved:
            yield Finding(
                domain.address,
                f"Domain {text!r} is invalid" + (f": it contains {reserved[0]!r}" if reserved else ""),
                "use lowercase letters, digits and inner hyphens, without aws, amazon or cognito",
            )


def _url_problem(url: str) -> str | None:
    if "#" in url:
        return "has a fragment"
    if url.startswith("http://") and not url.startswith(("http://localhost/", "http://localhost:")):
        return "is HTTP (Cognito takes HTTP for http://localhost only)"
    return None


@rule(
    "COGNITO-CALLBACK-URLS",
    ("aws_cognito_user_pool_client",),
    "An app client's callback and sign-out URLs are absolute, have no fragment and use HTTPS (HTTP only "
    "for http://localhost); its default redirect URI is one of its callback URLs.",
    "CreateUserPoolClient: CallbackURLs, LogoutURLs, DefaultRedirectURI (Amazon Cognito user pools "
    "API Reference)",
    "InvalidParameterException",
)
def _cognito_callbacks(ctx: Context) -> Iterator[Finding]:
    for client in ctx.stack.of("aws_cognito_user_pool_client"):
        callbacks = [str(u) for u in _as_list(client.config.get("callback_urls"))]
        for url in [*callbacks, *(str(u) for u in _as_list(client.config.get("logout_urls")))]:
            problem = _url_problem(url)
            if problem:
                yield Finding(client.address, f"{url} {problem}", "use the site's https:// URL")
        default = client.config.get("default_redirect_uri")
        if default is not None and str(default) not in callbacks:
            yield Finding(
                client.address,
                "DefaultRedirectURI must be in the list of CallbackURLs",
                "make the default redirect one of callback_urls",
            )


@rule(
    "COGNITO-CLIENT-CREDENTIALS",
    ("aws_cognito_user_pool_client",),
    "An app client with the client_credentials flow has a secret, no other OAuth flow and custom "
    "(resource server) scopes only.",
    "CreateUserPoolClient: AllowedOAuthFlows, GenerateSecret (Amazon Cognito user pools API Reference); "
    "Scopes, M2M, and API authorization with resource servers (Amazon Cognito Developer Guide)",
    "InvalidOAuthFlowException",
)
def _cognito_client_credentials(ctx: Context) -> Iterator[Finding]:
    for client in ctx.stack.of("aws_cognito_user_pool_client"):
        flows = {str(f) for f in _as_list(client.config.get("allowed_oauth_flows"))}
        if "client_credentials" not in flows:
            continue
        scopes = {str(s) for s in _as_list(client.config.get("allowed_oauth_scopes"))}
        if client.config.get("generate_secret") is not True:
            yield Finding(
                client.address,
                "client_credentials flow can not be selected if client does not have a client secret.",
                "set generate_secret = true",
            )
        if flows - {"client_credentials"}:
            yield Finding(
                client.address,
                "client_credentials flow can not be selected along with code flow or implicit flow.",
                "give machines a client of their own",
            )
        if scopes & OIDC_SCOPES:
            yield Finding(
                client.address,
                f"{sorted(scopes & OIDC_SCOPES)} are not resource server scopes",
                "allow only the resource server's scopes",
            )


@rule(
    "COGNITO-THREAT-PROTECTION-PLUS",
    ("aws_cognito_user_pool",),
    "Threat protection (advanced_security_mode AUDIT or ENFORCED) is a feature of the Plus plan: the "
    "pool's user_pool_tier must be PLUS.",
    "Threat protection (Amazon Cognito Developer Guide); User pool feature plans",
    "FeatureUnavailableInTierException",
)
def _cognito_threat_protection(ctx: Context) -> Iterator[Finding]:
    for pool in ctx.stack.of("aws_cognito_user_pool"):
        mode = str(block(pool.config.get("user_pool_add_ons")).get("advanced_security_mode") or "OFF")
        if mode != "OFF" and str(pool.config.get("user_pool_tier") or "ESSENTIALS") != "PLUS":
            yield Finding(
                pool.address,
                f"advanced_security_mode {mode} needs the Plus tier",
                "set user_pool_tier = PLUS, or threat protection off",
            )


@rule(
    "COGNITO-MFA-NEEDS-A-FACTOR",
    ("aws_cognito_user_pool",),
    "A pool with MFA ON or OPTIONAL must offer a second factor: TOTP (software token), SMS or e-mail.",
    "SetUserPoolMfaConfig, CreateUserPool: MfaConfiguration (Amazon Cognito user pools API Reference)",
    "InvalidParameterException",
)
def _cognito_mfa(ctx: Context) -> Iterator[Finding]:
    for pool in ctx.stack.of("aws_cognito_user_pool"):
        if str(pool.config.get("mfa_configuration") or "OFF") == "OFF":
            continue
        totp = block(pool.config.get("software_token_mfa_configuration")).get("enabled") is True
        if not (totp or pool.config.get("sms_configuration") or pool.config.get("email_mfa_configuration")):
            yield Finding(
                pool.address,
                "Invalid MFA configuration given, can't turn off all MFAs and enable MFA at the same time.",
                "enable software_token_mfa_configuration",
            )


@rule(
    "APIGW-WEBSOCKET-AUTHORIZER-CONNECT-ONLY",
    ("aws_apigatewayv2_route",),
    "On a WebSocket API only the $connect route can have an authorizer (the connection is authorized "
    "once, when it is opened).",
    "Controlling access to WebSocket APIs in API Gateway (API Gateway Developer Guide)",
    "BadRequestException",
)
def _websocket_authorizer_connect_only(ctx: Context) -> Iterator[Finding]:
    for route in ctx.stack.of("aws_apigatewayv2_route"):
        found = ctx.stack.target(route.config.get("api_id"))
        websocket = bool(found and str(found[0].config.get("protocol_type", "")).upper() == "WEBSOCKET")
        kind = str(route.config.get("authorization_type") or "NONE").upper()
        if websocket and kind not in ("NONE",) and route.config.get("route_key") != "$connect":
            yield Finding(
                route.address,
                "Currently, authorization is restricted to the $connect route only",
                "authorize $connect only",
            )


@rule(
    "WAF-CLOUDFRONT-SCOPE-IN-US-EAST-1",
    ("aws_wafv2_web_acl",),
    "A web ACL of scope CLOUDFRONT must be created in us-east-1 (US East, N. Virginia), whatever the "
    "stack's region.",
    "CreateWebACL: Scope (AWS WAFV2 API Reference)",
    "WAFInvalidParameterException",
)
def _waf_cloudfront_region(ctx: Context) -> Iterator[Finding]:
    providers = (ctx.stack.document.get("provider") or {}).get("aws") or [{}]
    providers = providers if isinstance(providers, list) else [providers]
    regions = {
        (f"aws.{p['alias']}" if p.get("alias") else "aws"): str(p.get("region") or "") for p in providers
    }
    for acl in ctx.stack.of("aws_wafv2_web_acl"):
        if str(acl.config.get("scope")) != "CLOUDFRONT":
            continue
        region = regions.get(str(acl.config.get("provider") or "aws"), ctx.stack.region)
        if region != "us-east-1":
            yield Finding(
                acl.address,
                f"a CLOUDFRONT web ACL in {region or 'an unknown region'}",
                "create it with a provider for us-east-1",
            )


@rule(
    "WAF-LOG-GROUP-PREFIX",
    ("aws_wafv2_web_acl_logging_configuration", "aws_cloudwatch_log_group"),
    "A web ACL logs to CloudWatch Logs only into a log group whose name begins with aws-waf-logs-.",
    "CloudWatch Logs (AWS WAF Developer Guide, Logging destinations)",
    "WAFInvalidParameterException",
)
def _waf_log_group(ctx: Context) -> Iterator[Finding]:
    for logging in ctx.stack.of("aws_wafv2_web_acl_logging_configuration"):
        for destination in _as_list(logging.config.get("log_destination_configs")):
            found = ctx.stack.target(destination)
            if found and found[0].type == "aws_cloudwatch_log_group":
                name = found[0].config.get("name")
                if is_literal(name) and not str(name).startswith("aws-waf-logs-"):
                    yield Finding(
                        logging.address,
                        f"log group {name} does not begin with aws-waf-logs-",
                        "name the log group aws-waf-logs-<something>",
                    )


@dataclass(frozen=True)
class Violation:
    rule: Rule
    stack: str
    finding: Finding

    def line(self) -> str:
        """rule id, resource address, AWS's answer, the fix: one line per violation."""
        verb = "AWS refuses" if self.rule.refused else "on AWS"
        return (
            f"{self.rule.id} {self.stack}:{self.finding.address}: {verb}: {self.rule.error}: "
            f"{self.finding.answer} | fix: {self.finding.fix}"
        )


def check(
    stacks: Sequence[Stack],
    today: dt.date | None = None,
    rules: Sequence[Rule] | None = None,
    *,
    whole_app: bool = True,
) -> list[Violation]:
    """Every violation of every rule in every stack (cross-stack rules see all the stacks given).
    whole_app=False: the stacks are not the whole app (the local cloud runs one), so rules that
    need the others (the bootstrap stack's account settings) are skipped."""
    day = today or TODAY()
    found = []
    for stack in stacks:
        context = Context(stack, stacks, day)
        for each in rules or RULES:
            if each.whole_app and not whole_app:
                continue
            found += [Violation(each, stack.name, finding) for finding in each.check(context)]
    return found
