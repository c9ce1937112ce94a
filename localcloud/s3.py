"""S3: the stack's buckets in moto's server, and the objects the stack uploads (aws_s3_object).

Bucket settings (versioning, lifecycle, encryption, public access blocks, logging, ownership) are
accepted and not applied: moto does not enforce them and nothing local depends on them. Bucket
policies are evaluated (`BucketPolicies`): for every S3 request of a function or of the deployer
(the tests' stand-in for Terraform's S3 backend), and for every object the stack uploads at
start-up, as S3 evaluates them within one account: an explicit Deny wins over any Allow, with the
condition keys of the request (the encryption headers; aws:SecureTransport is true, as the SDKs and
Terraform reach S3 over HTTPS on AWS). A condition the local cloud cannot evaluate stops start-up.
Objects are uploaded as Terraform would: from `source` (a path relative to the stack
folder: cdktf assets), `content` or `content_base64`, with their content type, cache control,
encoding and metadata; values are localized (a generated config.js carries local URLs).

`Access` says what IAM checks for a function's S3 request (the gate asks it): the action S3
authorizes for the method and subresource (GetObject for GET and HEAD of an object, PutObject for
its PUT and for every step of a multipart upload, ListBucket for listing, ...; a copy also needs
s3:GetObject on its source, a multi-object delete s3:DeleteObject on every key), on
`arn:aws:s3:::<bucket>` or `arn:aws:s3:::<bucket>/<key>`. A request it has no rule for is refused,
saying so, rather than let through.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

from localcloud import iam
from localcloud.iam import Denial, Unmapped
from localcloud.plan import Plan, PlanError
from preflight.policy import OPERATORS, Unsupported, condition_matches

TYPES = ("aws_s3_bucket", "aws_s3_object", "aws_s3_bucket_policy")
_OBJECT_HEADERS = {
    "content_type": "ContentType",
    "cache_control": "CacheControl",
    "content_encoding": "ContentEncoding",
    "content_disposition": "ContentDisposition",
    "content_language": "ContentLanguage",
}


# The condition keys bucket policies may use here; any other stops start-up.
CONDITION_KEYS = frozenset(
    {
        "aws:SecureTransport",
        "s3:x-amz-server-side-encryption",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
        "aws:SourceAccount",
        "aws:SourceArn",
    }
)
_HEADER_KEYS = {
    "s3:x-amz-server-side-encryption": "x-amz-server-side-encryption",
    "s3:x-amz-server-side-encryption-aws-kms-key-id": "x-amz-server-side-encryption-aws-kms-key-id",
}


def condition_context(headers: Mapping[str, str]) -> dict[str, str | None]:
    """The condition keys of an S3 request: its encryption headers (absent: None) and HTTPS."""
    lowered = {k.lower(): v for k, v in headers.items()}
    context: dict[str, str | None] = {key: lowered.get(header) for key, header in _HEADER_KEYS.items()}
    context["aws:SecureTransport"] = "true"
    return context


@dataclass(frozen=True)
class PolicyStatement:
    where: str
    allow: bool
    principals: tuple[str, ...]  # "*", principal ARNs, or "service:<name>"
    actions: tuple[re.Pattern[str], ...]
    resources: tuple[re.Pattern[str], ...]
    condition: Mapping[str, Any]

    def applies(
        self, principal_arns: set[str], action: str, resource: str, context: Mapping[str, str | None]
    ) -> bool:
        if "*" not in self.principals and not principal_arns & set(self.principals):
            return False
        if not any(p.fullmatch(action) for p in self.actions):
            return False
        if not any(p.fullmatch(resource) for p in self.resources):
            return False
        return condition_matches(self.condition, context, CONDITION_KEYS)


class BucketPolicies:
    """The stack's bucket policies (aws_s3_bucket_policy), by bucket name, checked at start-up."""

    def __init__(self, plan: Plan) -> None:
        self.account_id = plan.account_id
        self.by_bucket: dict[str, list[PolicyStatement]] = {}
        for resource in plan.of_type("aws_s3_bucket_policy"):
            config = plan.resolved(resource.address)
            statements = self.by_bucket.setdefault(str(config.get("bucket")), [])
            statements += self._parse(config.get("policy"), resource.address)

    def _parse(self, document: Any, where: str) -> list[PolicyStatement]:
        try:
            parsed = json.loads(document) if isinstance(document, str) else document
            raw = parsed["Statement"]
        except (ValueError, KeyError, TypeError) as exc:
            raise PlanError(f"{where}: MalformedPolicy: the bucket policy is not a policy document") from exc
        found = []
        for number, statement in enumerate(raw if isinstance(raw, list) else [raw]):
            here = f"{where}: statement {statement.get('Sid') or number}"
            if "NotPrincipal" in statement or "NotAction" in statement or "NotResource" in statement:
                raise PlanError(
                    f"{here}: NotPrincipal/NotAction/NotResource are not evaluated by the local cloud"
                )
            condition = statement.get("Condition") or {}
            for operator, pairs in condition.items():
                known = {k.lower() for k in CONDITION_KEYS}  # condition keys are case-insensitive
                if operator.removesuffix("IfExists") not in OPERATORS or not all(
                    key.lower() in known for key in pairs
                ):
                    raise PlanError(
                        f"{here}: condition {operator} {sorted(pairs)} is not evaluated by the local cloud "
                        f"(it evaluates {', '.join(sorted(CONDITION_KEYS))}); add it to localcloud/s3.py"
                    )
            principal = statement.get("Principal")
            principals: list[str] = []
            if principal == "*" or (isinstance(principal, dict) and principal.get("AWS") == "*"):
                principals = ["*"]
            elif isinstance(principal, dict):
                principals += [str(p) for p in _as_list(principal.get("AWS", []))]
                principals += [f"service:{p}" for p in _as_list(principal.get("Service", []))]
            else:
                raise PlanError(f"{here}: a bucket policy statement needs a Principal")
            found.append(
                PolicyStatement(
                    where=here,
                    allow=statement.get("Effect") == "Allow",
                    principals=tuple(principals),
                    actions=tuple(iam.action_pattern(str(a)) for a in _as_list(statement.get("Action", []))),
                    resources=tuple(
                        iam.resource_pattern(str(r)) for r in _as_list(statement.get("Resource", []))
                    ),
                    condition=condition,
                )
            )
        return found

    def denial(
        self, principal: iam.Principal, action: str, resource: str, context: Mapping[str, str | None]
    ) -> Denial | None:
        """An explicit Deny of the bucket's policy for this request, as S3 words it; None otherwise."""
        bucket = resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
        role = f"arn:aws:iam::{self.account_id}:role/{principal.role}"
        arns = {principal.arn, role, f"arn:aws:iam::{self.account_id}:root"}
        for statement in self.by_bucket.get(bucket, []):
            try:
                applies = statement.applies(arns, action, resource, context)
            except Unsupported as exc:  # refused at start-up already; never silently allowed
                raise PlanError(f"{statement.where}: {exc}") from exc
            if applies and not statement.allow:
                return Denial(principal.arn, action, resource, explicit=True, policy_type="resource-based")
        return None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


class Buckets:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.objects = 0

    def create(self, plan: Plan, policies: BucketPolicies, deployer: iam.Principal) -> None:
        for resource in plan.of_type("aws_s3_bucket"):
            bucket = str(plan.attribute(resource.address, "bucket"))
            kwargs: dict[str, Any] = {"Bucket": bucket}
            if plan.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": plan.region}
            self.client.create_bucket(**kwargs)
        for resource in plan.of_type("aws_s3_object"):
            request = self.put_request(plan, resource.address)
            # Terraform's PutObject meets the bucket policy like anyone's: refused, the apply fails.
            headers = {
                "x-amz-server-side-encryption": request.get("ServerSideEncryption"),
                "x-amz-server-side-encryption-aws-kms-key-id": request.get("SSEKMSKeyId"),
            }
            arn = f"arn:aws:s3:::{request['Bucket']}/{request['Key']}"
            denial = policies.denial(
                deployer, "s3:PutObject", arn, condition_context({k: v for k, v in headers.items() if v})
            )
            if denial is not None:
                raise PlanError(f"{resource.address}: AccessDenied: {Access.message(denial)}")
            self.client.put_object(**request)
            self.objects += 1

    @staticmethod
    def put_request(plan: Plan, address: str) -> dict[str, Any]:
        config = plan.resolved(address)
        request: dict[str, Any] = {"Bucket": config["bucket"], "Key": str(config["key"]).lstrip("/")}
        if "source" in config:
            path = Path(config["source"])
            path = path if path.is_absolute() else plan.stack_dir / path
            if not path.is_file():
                raise PlanError(
                    f"{address}: source {config['source']} not found under {plan.stack_dir} "
                    "(build the dashboard with `./noxw -s dashboard`, then synthesize again)"
                )
            request["Body"] = path.read_bytes()
        elif "content" in config:
            request["Body"] = str(plan.localize(config["content"])).encode()
        elif "content_base64" in config:
            request["Body"] = base64.b64decode(config["content_base64"])
        else:
            raise PlanError(f"{address}: an object needs source, content or content_base64")
        for key, parameter in _OBJECT_HEADERS.items():
            if config.get(key):
                request[parameter] = str(config[key])
        if config.get("metadata"):
            request["Metadata"] = {str(k): str(v) for k, v in config["metadata"].items()}
        if config.get("server_side_encryption"):
            request["ServerSideEncryption"] = str(config["server_side_encryption"])
        if config.get("kms_key_id"):
            request["SSEKMSKeyId"] = str(config["kms_key_id"])
        return request


# (method, subresource) -> the IAM action S3 authorizes. "" is the request without one.
_OBJECT_ACTIONS = {
    ("GET", ""): "GetObject",
    ("HEAD", ""): "GetObject",
    ("GET", "acl"): "GetObjectAcl",
    ("GET", "tagging"): "GetObjectTagging",
    ("GET", "attributes"): "GetObjectAttributes",
    ("GET", "retention"): "GetObjectRetention",
    ("GET", "legal-hold"): "GetObjectLegalHold",
    ("GET", "uploadId"): "ListMultipartUploadParts",
    ("PUT", ""): "PutObject",
    ("PUT", "uploadId"): "PutObject",  # UploadPart
    ("PUT", "acl"): "PutObjectAcl",
    ("PUT", "tagging"): "PutObjectTagging",
    ("PUT", "retention"): "PutObjectRetention",
    ("PUT", "legal-hold"): "PutObjectLegalHold",
    ("POST", "uploads"): "PutObject",  # CreateMultipartUpload
    ("POST", "uploadId"): "PutObject",  # CompleteMultipartUpload
    ("POST", "restore"): "RestoreObject",
    ("DELETE", ""): "DeleteObject",
    ("DELETE", "uploadId"): "AbortMultipartUpload",
    ("DELETE", "tagging"): "DeleteObjectTagging",
}
_VERSIONED = {"GetObject": "GetObjectVersion", "DeleteObject": "DeleteObjectVersion"}
_BUCKET_ACTIONS = {
    ("GET", ""): "ListBucket",
    ("HEAD", ""): "ListBucket",
    ("GET", "list-type"): "ListBucket",
    ("GET", "versions"): "ListBucketVersions",
    ("GET", "uploads"): "ListBucketMultipartUploads",
    ("GET", "location"): "GetBucketLocation",
    ("PUT", ""): "CreateBucket",
    ("DELETE", ""): "DeleteBucket",
    **{
        (method, sub): f"{verb}{name}"
        for sub, name in {
            "policy": "BucketPolicy",
            "acl": "BucketAcl",
            "cors": "BucketCORS",
            "versioning": "BucketVersioning",
            "tagging": "BucketTagging",
            "website": "BucketWebsite",
            "notification": "BucketNotification",
            "logging": "BucketLogging",
            "ownershipControls": "BucketOwnershipControls",
            "publicAccessBlock": "BucketPublicAccessBlock",
            "object-lock": "BucketObjectLockConfiguration",
            "requestPayment": "BucketRequestPayment",
        }.items()
        for method, verb in (("GET", "Get"), ("PUT", "Put"))
    },
    ("GET", "lifecycle"): "GetLifecycleConfiguration",
    ("PUT", "lifecycle"): "PutLifecycleConfiguration",
    ("GET", "encryption"): "GetEncryptionConfiguration",
    ("PUT", "encryption"): "PutEncryptionConfiguration",
    ("DELETE", "policy"): "DeleteBucketPolicy",
    ("DELETE", "website"): "DeleteBucketWebsite",
    # Deleting these configurations is authorized as putting them.
    ("DELETE", "cors"): "PutBucketCORS",
    ("DELETE", "lifecycle"): "PutLifecycleConfiguration",
    ("DELETE", "tagging"): "PutBucketTagging",
    ("DELETE", "encryption"): "PutEncryptionConfiguration",
    ("DELETE", "ownershipControls"): "PutBucketOwnershipControls",
    ("DELETE", "publicAccessBlock"): "PutBucketPublicAccessBlock",
}
_SUBRESOURCES = {sub for _, sub in (*_OBJECT_ACTIONS, *_BUCKET_ACTIONS) if sub} | {"delete"}
_IP_OR_LOCAL = re.compile(r"^(?:\d{1,3}(?:\.\d{1,3}){3}|localhost|\[[0-9a-fA-F:]+\])(?::\d+)?$")


class Access:
    """What IAM checks for an S3 request (path-style or virtual-hosted), its bucket policy's verdict,
    and S3's answer to a denial."""

    def __init__(self, policies: BucketPolicies | None = None) -> None:
        self.policies = policies

    def resource_denial(
        self, request: web.Request, principal: iam.Principal, requests: list[tuple[str, str]]
    ) -> Denial | None:
        if self.policies is None:
            return None
        context = condition_context(request.headers)
        for action, resource in requests:
            denial = self.policies.denial(principal, action, resource, context)
            if denial is not None:
                return denial
        return None

    def requests(self, request: web.Request, body: bytes) -> list[tuple[str, str]]:
        host = request.headers.get("Host", "")
        path = request.path
        if host and not _IP_OR_LOCAL.match(host):  # virtual-hosted: the bucket is the first label
            path = f"/{host.split('.', 1)[0]}{path}"
        bucket, _, key = path.lstrip("/").partition("/")
        if not bucket:
            return [("s3:ListAllMyBuckets", "*")]
        method = request.method
        subresource = next((name for name in request.query if name in _SUBRESOURCES), "")
        if subresource == "delete" and not key and method == "POST":
            return [("s3:DeleteObject", f"arn:aws:s3:::{bucket}/{k}") for k in _keys_to_delete(body)]
        versioned = "versionId" in request.query
        table = _OBJECT_ACTIONS if key else _BUCKET_ACTIONS
        action = table.get((method, subresource))
        if action is None:
            raise Unmapped(
                f"the local cloud does not know which IAM action S3 authorizes for {method} "
                f"{'an object' if key else 'a bucket'}{f' with ?{subresource}' if subresource else ''}; "
                "add it to localcloud/s3.py"
            )
        if versioned and subresource == "":
            action = _VERSIONED.get(action, action)
        resource = f"arn:aws:s3:::{bucket}/{key}" if key else f"arn:aws:s3:::{bucket}"
        requests = [(f"s3:{action}", resource)]
        source = request.headers.get("x-amz-copy-source")
        if source and key and method == "PUT":  # CopyObject, UploadPartCopy: reading the source too
            source_path, _, source_query = urllib.parse.unquote(source).lstrip("/").partition("?")
            read = "GetObjectVersion" if "versionId=" in source_query else "GetObject"
            requests.append((f"s3:{read}", f"arn:aws:s3:::{source_path}"))
        return requests

    @staticmethod
    def message(denial: Denial) -> str:
        return denial.message(resource=f'"{denial.resource}"')  # S3 quotes the resource

    def denied(self, request: web.Request, message: str) -> web.Response:
        rid = secrets.token_hex(8).upper()
        headers = {"x-amz-request-id": rid, "x-amz-id-2": base64.b64encode(secrets.token_bytes(48)).decode()}
        if request.method == "HEAD":  # a HEAD answer has no body: only the status tells
            return web.Response(status=403, headers=headers)
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>AccessDenied</Code><Message>{escape(message)}</Message>"
            f"<RequestId>{rid}</RequestId><HostId>{headers['x-amz-id-2']}</HostId></Error>"
        )
        return web.Response(status=403, text=xml, content_type="application/xml", headers=headers)


def _keys_to_delete(body: bytes) -> list[str]:
    """The keys of a DeleteObjects request body."""
    try:
        root = ET.fromstring(body)  # noqa: S314 - a request from a local function process
    except ET.ParseError:
        return []
    return [e.text or "" for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "Key"]
