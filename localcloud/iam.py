"""IAM identity policies: which function makes each request, and whether its role allows it.

Every function runs with credentials of its own (`credentials`): an access key id derived from
its name. So each signed request the local cloud receives names the function, hence the
aws_iam_role it runs as (its `role`), as the role session
`arn:aws:sts::<account>:assumed-role/<role>/<function>` does on AWS.

A role's identity policies come from the plan: its aws_iam_role_policy resources, its
`inline_policy` blocks, and the customer managed policies of the stack (aws_iam_policy) attached
to it (aws_iam_role_policy_attachment, aws_iam_policy_attachment, `managed_policy_arns`).
Evaluation is AWS's within one account when no resource policy grants anything: an explicit
Deny wins, else any Allow allows, else the request is implicitly denied. Actions match
case-insensitively with `*` and `?`; resources as ArnLike does (each of the six ARN components
on its own, case-sensitively; `*` never crosses a `:` before the resource part).

What the local cloud cannot evaluate stops start-up, naming the resource, rather than being
ignored: a managed policy it cannot read (AWS managed, or from outside the stack), a Condition
(no condition operator is evaluated here: the stack's identity policies use none), a policy
variable, a permissions boundary, and what IAM itself refuses (a Principal in an identity policy).

Only function credentials are checked. The local cloud's own calls (tables, pollers,
destinations) and the tests' calls use other credentials and act for the account, as AWS's own
services do.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from localcloud.plan import Plan, PlanError, Resource

log = logging.getLogger("localcloud.iam")

TYPES = (
    "aws_iam_role",
    "aws_iam_role_policy",
    "aws_iam_role_policy_attachment",
    "aws_iam_policy",
    "aws_iam_policy_attachment",
)
# Nothing checks signatures locally: every function's secret key and session token are the same.
_SECRETS = {"AWS_SECRET_ACCESS_KEY": "localcloud", "AWS_SESSION_TOKEN": "localcloud-session-token"}
_CREDENTIAL = re.compile(r"Credential=([A-Za-z0-9]+)/\d{8}/[^/]*/([^/,\s]+)/")
_DECISION_CACHE = 4096  # per role; resources with ids in them (objects, connections) vary


def access_key(function: str) -> str:
    """The access key id of a function's processes: stable, AWS-shaped (temporary keys start with
    ASIA), different for every function name."""
    digest = base64.b32encode(hashlib.sha256(function.encode()).digest()).decode()
    return "ASIA" + digest[:16]


def credentials(function: str) -> dict[str, str]:
    """The environment variables Lambda gives a function for its execution role's session."""
    return {"AWS_ACCESS_KEY_ID": access_key(function), **_SECRETS}


# Whoever applies the stack (Terraform, its S3 backend): an administrator as far as identity policies
# go, whose requests still meet the resource policies (a bucket policy's Deny applies to everyone).
DEPLOYER = "deployer"
DEPLOYER_CREDENTIALS = credentials(f"{DEPLOYER}:terraform")


def signer(headers: Mapping[str, str], query: Mapping[str, str]) -> tuple[str, str] | None:
    """(access key id, signing service) of a SigV4 request, from its Authorization header or, for a
    presigned URL, its X-Amz-Credential parameter; None when it is not signed."""
    header = headers.get("Authorization")
    if header:
        match = _CREDENTIAL.search(header)
    elif "X-Amz-Credential" in query:
        match = _CREDENTIAL.search("Credential=" + query["X-Amz-Credential"])
    else:
        return None
    return (match.group(1), match.group(2)) if match else None


class Unmapped(Exception):
    """The local cloud does not know which IAM action AWS checks for this request."""


# -- policies -----------------------------------------------------------------------------------


def _glob(pattern: str, *, colons: bool = True) -> str:
    """`*` and `?` as regular expressions; with colons=False they do not match a colon."""
    star, one = (".*", ".") if colons else ("[^:]*", "[^:]")
    return "".join(star if c == "*" else one if c == "?" else re.escape(c) for c in pattern)


def action_pattern(pattern: str) -> re.Pattern[str]:
    # Action names are case-insensitive (dynamodb:updateitem is dynamodb:UpdateItem).
    return re.compile(_glob(pattern), re.IGNORECASE | re.DOTALL)


def resource_pattern(pattern: str) -> re.Pattern[str]:
    """ArnLike: each of the six colon-separated components matched on its own; the sixth (the
    resource) may itself contain colons and slashes, which its wildcards cross."""
    if pattern == "*":
        return re.compile(".*", re.DOTALL)
    parts = pattern.split(":", 5)
    if len(parts) < 6:
        return re.compile("(?!)")  # compared component by component, a shorter ARN matches nothing
    head = ":".join(_glob(part, colons=False) for part in parts[:5])
    return re.compile(head + ":" + _glob(parts[5]), re.DOTALL)


@dataclass(frozen=True)
class Statement:
    where: str  # the resource, policy and statement, for messages
    allow: bool
    actions: tuple[re.Pattern[str], ...]
    not_action: bool
    resources: tuple[re.Pattern[str], ...]
    not_resource: bool

    def applies(self, action: str, resource: str) -> bool:
        if any(p.fullmatch(action) for p in self.actions) == self.not_action:
            return False
        # A request resource of "*" (an action without resource-level permissions) is matched only
        # by the pattern "*", which is what IAM requires for such actions.
        return any(p.fullmatch(resource) for p in self.resources) != self.not_resource


def _strings(value: Any, where: str, key: str) -> list[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise PlanError(f"{where}: {key} must be a string or a list of strings")
    for v in values:
        if "${" in v:
            raise PlanError(f"{where}: {key} {v!r}: policy variables are not evaluated by the local cloud")
    return values


def _resources(value: Any, where: str, key: str) -> list[str]:
    resources = _strings(value, where, key)
    for resource in resources:
        if resource != "*" and not resource.startswith("arn:"):
            raise PlanError(f'{where}: Resource {resource} must be in ARN format or "*".')  # IAM's words
    return resources


def parse_policy(document: Any, where: str) -> list[Statement]:
    """The statements of an identity policy document (JSON text or already parsed), checked as IAM
    checks them when the policy is put, and refused where the local cloud cannot evaluate them."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError as exc:
            raise PlanError(f"{where}: the policy is not valid JSON ({exc})") from exc
    if not isinstance(document, dict) or "Statement" not in document:
        raise PlanError(f"{where}: a policy document needs a Statement")
    raw = document["Statement"]
    statements = raw if isinstance(raw, list) else [raw]
    parsed = []
    for number, statement in enumerate(statements):
        if not isinstance(statement, dict):
            raise PlanError(f"{where}: statement {number} is not an object")
        here = f"{where}: statement {statement.get('Sid') or number}"
        if "Principal" in statement or "NotPrincipal" in statement:
            # IAM's own answer to PutRolePolicy/CreatePolicy (MalformedPolicyDocument).
            raise PlanError(f"{here}: Policy document should not specify a principal.")
        if "Condition" in statement:
            operators = sorted(statement["Condition"]) if isinstance(statement["Condition"], dict) else []
            raise PlanError(
                f"{here}: condition operator(s) {', '.join(operators) or '?'} are not evaluated by the "
                "local cloud (no identity policy of the stack uses one); add them to localcloud/iam.py"
            )
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise PlanError(f"{here}: Effect must be Allow or Deny, not {effect!r}")
        if ("Action" in statement) == ("NotAction" in statement):
            raise PlanError(f"{here}: a statement needs exactly one of Action and NotAction")
        if ("Resource" in statement) == ("NotResource" in statement):
            raise PlanError(f"{here}: an identity policy needs exactly one of Resource and NotResource")
        action_key = "Action" if "Action" in statement else "NotAction"
        resource_key = "Resource" if "Resource" in statement else "NotResource"
        parsed.append(
            Statement(
                where=here,
                allow=effect == "Allow",
                actions=tuple(action_pattern(a) for a in _strings(statement[action_key], here, action_key)),
                not_action=action_key == "NotAction",
                resources=tuple(
                    resource_pattern(r) for r in _resources(statement[resource_key], here, resource_key)
                ),
                not_resource=resource_key == "NotResource",
            )
        )
    return parsed


# -- principals and decisions -------------------------------------------------------------------


@dataclass(frozen=True)
class Denial:
    principal: str  # the role session's ARN
    action: str
    resource: str
    explicit: bool
    policy_type: str = "identity-based"  # or "resource-based" (a bucket policy's explicit Deny)

    def message(self, *, action: str | None = None, resource: str | None = None, reason: bool = True) -> str:
        """AWS's wording; services differ in how they spell the action and the resource (SQS
        lower-cases the action, S3 quotes the resource, API Gateway masks the account and, for an
        implicit deny, gives no reason)."""
        action = action or self.action
        text = (
            f"User: {self.principal} is not authorized to perform: {action} "
            f"on resource: {resource or self.resource}"
        )
        if self.explicit:
            article = "an" if self.policy_type[0] in "aeiou" else "a"
            return text + f" with an explicit deny in {article} {self.policy_type} policy"
        return text + f" because no identity-based policy allows the {action} action" if reason else text


@dataclass
class Principal:
    """A function's role session: who its requests come from and what its role allows."""

    function: str
    role: str  # the role's name
    arn: str
    statements: list[Statement]
    _decisions: dict[tuple[str, str], Denial | None] = field(default_factory=dict, repr=False)

    def check(self, action: str, resource: str) -> Denial | None:
        key = (action, resource)
        if key in self._decisions:
            return self._decisions[key]
        allowed = False
        denial = None
        for statement in self.statements:
            if statement.applies(action, resource):
                if not statement.allow:
                    denial = Denial(self.arn, action, resource, explicit=True)
                    break
                allowed = True
        if denial is None and not allowed:
            denial = Denial(self.arn, action, resource, explicit=False)
        if len(self._decisions) >= _DECISION_CACHE:
            self._decisions.clear()
        self._decisions[key] = denial
        return denial

    def authorize(self, requests: Iterable[tuple[str, str]]) -> Denial | None:
        """The first of the (action, resource) pairs the role does not allow; None if it allows all
        (a transaction needs every item allowed)."""
        for action, resource in requests:
            denial = self.check(action, resource)
            if denial is not None:
                return denial
        return None


class Identities:
    """Every function's principal, read from the plan once at start-up."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.account_id = plan.account_id
        self.by_key: dict[str, Principal] = {}
        self.by_function: dict[str, Principal] = {}
        self.denials: Counter[str] = Counter()  # "function action" -> requests refused
        statements_of: dict[str, list[Statement]] = {}
        for function in plan.of_type("aws_lambda_function"):
            name = str(plan.attribute(function.address, "function_name"))
            role_arn = str(plan.attribute(function.address, "role"))
            role = plan.find_by("aws_iam_role", "arn", role_arn)
            if role is None:
                raise PlanError(
                    f"{function.address}: role {role_arn} is not declared in the stack, so the local "
                    "cloud cannot read its policies"
                )
            if role.address not in statements_of:
                statements_of[role.address] = self._statements(role)
            role_name = str(plan.attribute(role.address, "name"))
            principal = Principal(
                function=name,
                role=role_name,
                arn=f"arn:aws:sts::{self.account_id}:assumed-role/{role_name}/{name}",
                statements=statements_of[role.address],
            )
            self.by_key[access_key(name)] = principal
            self.by_function[name] = principal
        self.deployer = Principal(
            function=DEPLOYER,
            role=DEPLOYER,
            arn=f"arn:aws:sts::{self.account_id}:assumed-role/{DEPLOYER}/terraform",
            statements=[
                Statement("deployer", True, (action_pattern("*"),), False, (resource_pattern("*"),), False)
            ],
        )
        self.by_key[DEPLOYER_CREDENTIALS["AWS_ACCESS_KEY_ID"]] = self.deployer

    def principal(self, headers: Mapping[str, str], query: Mapping[str, str]) -> Principal | None:
        """The function that signed this request; None for anyone else (the local cloud, tests)."""
        signed = signer(headers, query)
        return self.by_key.get(signed[0]) if signed else None

    def authorize(self, principal: Principal, requests: Iterable[tuple[str, str]]) -> Denial | None:
        """Whether the function's role allows every (action, resource) of a request; a denial is
        counted (the control API's stats) and logged, so a developer sees why a call failed."""
        denial = principal.authorize(requests)
        if denial is not None:
            self.count(principal, denial)
        return denial

    def count(self, principal: Principal, denial: Denial) -> None:
        self.denials[f"{principal.function} {denial.action}"] += 1
        log.warning("%s: %s", principal.function, denial.message())

    # -- reading the plan ------------------------------------------------------------------------

    def _statements(self, role: Resource) -> list[Statement]:
        plan = self.plan
        config = plan.resolved(role.address)
        if config.get("permissions_boundary"):
            raise PlanError(f"{role.address}: permissions boundaries are not evaluated by the local cloud")
        names = {str(plan.attribute(role.address, "name")), str(plan.attribute(role.address, "id"))}
        statements: list[Statement] = []
        for block in config.get("inline_policy") or []:
            if block.get("policy"):  # an empty block is how Terraform says "no inline policies"
                where = f"{role.address}: inline_policy {block.get('name')}"
                statements += parse_policy(block["policy"], where)
        for attached in config.get("managed_policy_arns") or []:
            statements += self._managed(str(attached), role.address)
        for resource in plan.of_type("aws_iam_role_policy"):
            policy = plan.resolved(resource.address)
            if str(policy.get("role")) in names:
                statements += parse_policy(policy.get("policy"), resource.address)
        for resource in plan.of_type("aws_iam_role_policy_attachment"):
            attachment = plan.resolved(resource.address)
            if str(attachment.get("role")) in names:
                statements += self._managed(str(attachment.get("policy_arn")), resource.address)
        for resource in plan.of_type("aws_iam_policy_attachment"):
            attachment = plan.resolved(resource.address)
            if names & {str(r) for r in attachment.get("roles") or []}:
                statements += self._managed(str(attachment.get("policy_arn")), resource.address)
        return statements

    def _managed(self, arn: str, where: str) -> list[Statement]:
        policy = self.plan.find_by("aws_iam_policy", "arn", arn)
        if policy is None:
            raise PlanError(
                f"{where}: managed policy {arn} is not declared in the stack, so the local cloud "
                "cannot read it (AWS managed policies are not available locally)"
            )
        return parse_policy(self.plan.attribute(policy.address, "policy"), policy.address)
