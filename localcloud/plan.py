"""The plan: read a synthesized stack (cdk.tf.json), check its expressions, order its resources and
give every attribute a local value.

What the local cloud runs comes from here and nowhere else. Every string in the stack is parsed
up front (a syntax error anywhere stops start-up, naming the resource and attribute); references
must name declared resources. Values are computed lazily: an emulated resource's configuration is
evaluated in full when its service builds it, an inert resource's only as far as something
references it. Computed attributes (ids, ARNs, URLs) are what AWS would return, in AWS's
formats, with the stack's own account and region; `localize` then maps the AWS endpoints of the
emulated services (execute-api, CloudFront, SQS) to their 127.0.0.1 counterparts wherever a value
leaves the plan for a client: environment variables, uploaded objects, outputs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud import expressions as ex

DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"
META_ARGUMENTS = ("count", "for_each")


class PlanError(RuntimeError):
    """The stack cannot run locally: the message names the resource (and attribute) at fault."""


@dataclass
class Resource:
    type: str
    name: str
    config: dict[str, Any]
    mode: str = "managed"  # or "data"

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}" if self.mode == "managed" else f"data.{self.type}.{self.name}"

    @property
    def path(self) -> str:
        """The construct path cdktf records (dev/api/rest/stage), for messages people recognise."""
        meta = self.config.get("//", {}).get("metadata", {})
        return str(meta.get("path", self.address))


@dataclass
class _Parsed:
    node: ex.Node
    where: str  # attribute path inside the resource, for messages


def _walk_strings(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "//":
                yield from _walk_strings(item, f"{where}.{key}" if where else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk_strings(item, f"{where}[{i}]")


def _stable_id(seed: str, length: int, alphabet: str = string.ascii_lowercase + string.digits) -> str:
    """An id that is the same on every start for the same resource (bookmarks and logs stay valid)."""
    digest = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    chars = []
    for _ in range(length):
        digest, rest = divmod(digest, len(alphabet))
        chars.append(alphabet[rest])
    return "".join(chars)


class Plan:
    def __init__(self, document: dict[str, Any], *, stack: str, stack_dir: Path) -> None:
        self.stack = stack
        self.stack_dir = stack_dir
        self.document = document
        self.resources: dict[str, Resource] = {}
        for mode, section in (("managed", "resource"), ("data", "data")):
            for rtype, named in (document.get(section) or {}).items():
                for name, config in named.items():
                    resource = Resource(rtype, name, config, mode)
                    self.resources[resource.address] = resource
        self.variables: dict[str, Any] = document.get("variable") or {}
        self.locals: dict[str, Any] = document.get("locals") or {}
        self.outputs_config: dict[str, Any] = document.get("output") or {}
        self.account_id, self.region = self._account_and_region()
        self.stream_label = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        self._parsed: dict[str, dict[str, ex.Node]] = {}
        self._values: dict[tuple[str, str], Any] = {}
        self._resolving: list[tuple[str, str]] = []
        self._endpoints: list[tuple[re.Pattern[str], str]] = []
        self._check()
        self.order = self._order()

    # -- loading ------------------------------------------------------------------------------

    @classmethod
    def load(cls, root: Path, stack: str) -> Plan:
        stack_dir = root / "cdktf.out" / "stacks" / stack
        path = stack_dir / "cdk.tf.json"
        if not path.is_file():
            raise PlanError(
                f"{path} not found: synthesize the stack first (`./noxw -s synth`), or pick another --stack"
            )
        try:
            document = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise PlanError(f"{path}: not valid JSON ({exc})") from exc
        return cls(document, stack=stack, stack_dir=stack_dir)

    def _account_and_region(self) -> tuple[str, str]:
        providers = (self.document.get("provider") or {}).get("aws") or [{}]
        provider = providers[0] if isinstance(providers, list) else providers
        region = provider.get("region")
        region = region if isinstance(region, str) and not ex.has_interpolation(region) else DEFAULT_REGION
        accounts = provider.get("allowed_account_ids") or []
        account = accounts[0] if len(accounts) == 1 and re.fullmatch(r"\d{12}", str(accounts[0])) else None
        return account or DEFAULT_ACCOUNT, region

    def _check(self) -> None:
        """Parse every expression and check every reference, so a bad one fails before anything runs."""
        for resource in self.resources.values():
            for meta in META_ARGUMENTS:
                if meta in resource.config:
                    raise PlanError(f"{resource.address}: `{meta}` is not supported by the local cloud")
            parsed: dict[str, ex.Node] = {}
            for where, text in _walk_strings(resource.config):
                if not ex.has_interpolation(text) or where.startswith("depends_on"):
                    continue
                node = self._parse(text, f"{resource.address}: {where}")
                parsed[where] = node
                for ref in ex.references(node):
                    self._check_reference(ref, f"{resource.address}: {where}")
            self._parsed[resource.address] = parsed
        for name, output in self.outputs_config.items():
            for where, text in _walk_strings(output.get("value")):
                if ex.has_interpolation(text):
                    node = self._parse(text, f"output {name}: {where or 'value'}")
                    for ref in ex.references(node):
                        self._check_reference(ref, f"output {name}")

    def _parse(self, text: str, where: str) -> ex.Node:
        try:
            return ex.parse_template(text)
        except ex.ExpressionError as exc:
            raise PlanError(f"{where}: {exc}") from exc

    def _check_reference(self, ref: ex.Reference, where: str) -> None:
        root = ref.parts[0]
        if root in ("var", "local", "path", "terraform"):
            if root == "var" and (len(ref.parts) < 2 or ref.parts[1] not in self.variables):
                raise PlanError(f"{where}: {ref.text} refers to an undeclared variable")
            if root == "local" and (len(ref.parts) < 2 or ref.parts[1] not in self.locals):
                raise PlanError(f"{where}: {ref.text} refers to an undeclared local value")
            return
        address = self._address_of(ref)
        if address is None:
            raise PlanError(f"{where}: {ref.text} is not a reference the local cloud understands")
        if address not in self.resources:
            raise PlanError(f"{where}: {ref.text} refers to {address}, which the stack does not declare")

    @staticmethod
    def _address_of(ref: ex.Reference) -> str | None:
        parts = ref.parts
        if parts[0] == "data" and len(parts) >= 3:
            return f"data.{parts[1]}.{parts[2]}"
        if len(parts) >= 2 and isinstance(parts[0], str) and "_" in parts[0] and isinstance(parts[1], str):
            return f"{parts[0]}.{parts[1]}"
        return None

    def _dependencies(self, resource: Resource) -> set[str]:
        deps = set()
        for node in self._parsed.get(resource.address, {}).values():
            for ref in ex.references(node):
                address = self._address_of(ref)
                if address:
                    deps.add(address)
        for dep in resource.config.get("depends_on") or []:
            if isinstance(dep, str):
                deps.add(dep.removeprefix("${").removesuffix("}"))
        deps.discard(resource.address)
        return {d for d in deps if d in self.resources}

    def _order(self) -> list[str]:
        """Resources in dependency order (Kahn's algorithm; ties broken by address, so it is stable)."""
        deps = {address: self._dependencies(r) for address, r in self.resources.items()}
        order: list[str] = []
        ready = sorted(a for a, d in deps.items() if not d)
        remaining = {a: set(d) for a, d in deps.items() if d}
        while ready:
            address = ready.pop(0)
            order.append(address)
            freed = [a for a, d in remaining.items() if address in d and len(d) == 1]
            for waiting in remaining.values():
                waiting.discard(address)
            for a in freed:
                del remaining[a]
            ready = sorted(ready + freed)
        if remaining:
            raise PlanError(f"dependency cycle between {', '.join(sorted(remaining))}")
        return order

    # -- queries ------------------------------------------------------------------------------

    def of_type(self, *types: str) -> list[Resource]:
        """Managed resources of these types, in dependency order."""
        return [
            self.resources[a]
            for a in self.order
            if self.resources[a].mode == "managed" and self.resources[a].type in types
        ]

    def types(self) -> set[str]:
        return {r.type for r in self.resources.values() if r.mode == "managed"}

    def get(self, address: str) -> Resource:
        try:
            return self.resources[address]
        except KeyError:
            raise PlanError(f"{address} is not declared in the stack") from None

    def find_by(self, rtype: str, attribute: str, value: Any) -> Resource | None:
        """The resource of a type whose (computed or declared) attribute has this value."""
        for resource in self.of_type(rtype):
            if self.attribute(resource.address, attribute) == value:
                return resource
        return None

    # -- evaluation ---------------------------------------------------------------------------

    def resolved(self, address: str) -> dict[str, Any]:
        """The resource's whole configuration with every expression evaluated."""
        resource = self.get(address)
        config = {k: v for k, v in resource.config.items() if k not in ("//", "depends_on", "lifecycle")}
        return self._evaluate_tree(config, resource, "")  # type: ignore[no-any-return]

    def attribute(self, address: str, name: str) -> Any:
        """One attribute: the declared argument (evaluated), else the computed local value."""
        key = (address, name)
        if key in self._values:
            return self._values[key]
        if key in self._resolving:
            chain = " -> ".join(f"{a}.{n}" for a, n in [*self._resolving, key])
            raise PlanError(f"reference cycle: {chain}")
        self._resolving.append(key)
        try:
            resource = self.get(address)
            if name in resource.config and name not in ("//", "depends_on"):
                value = self._evaluate_tree(resource.config[name], resource, name)
            else:
                value = self._computed(resource, name)
        finally:
            self._resolving.pop()
        self._values[key] = value
        return value

    def evaluate(self, value: Any, where: str) -> Any:
        """Evaluate a value that is not part of a resource (an output)."""
        if isinstance(value, str):
            if not ex.has_interpolation(value):
                return value
            return self._run(self._parse(value, where), where)
        if isinstance(value, dict):
            return {k: self.evaluate(v, f"{where}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self.evaluate(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return value

    def outputs(self) -> dict[str, Any]:
        """Every non-sensitive output, localized (what `cdktf deploy --outputs-file` would write)."""
        values = {}
        for name, output in sorted(self.outputs_config.items()):
            if output.get("sensitive"):
                continue
            values[name] = self.localize(self.evaluate(output.get("value"), f"output {name}"))
        return values

    def _evaluate_tree(self, value: Any, resource: Resource, where: str) -> Any:
        if isinstance(value, str):
            node = self._parsed.get(resource.address, {}).get(where)
            if node is None:
                return value
            return self._run(node, f"{resource.address}: {where}")
        if isinstance(value, dict):
            return {
                k: self._evaluate_tree(v, resource, f"{where}.{k}" if where else k)
                for k, v in value.items()
                if k != "//"
            }
        if isinstance(value, list):
            return [self._evaluate_tree(v, resource, f"{where}[{i}]") for i, v in enumerate(value)]
        return value

    def _run(self, node: ex.Node, where: str) -> Any:
        try:
            return ex.evaluate(node, ex.Context(self._reference, self.stack_dir))
        except ex.ExpressionError as exc:
            raise PlanError(f"{where}: {exc}") from exc

    def _reference(self, ref: ex.Reference) -> Any:
        parts = ref.parts
        root = parts[0]
        if root == "var":
            variable = self.variables[str(parts[1])]
            if "default" not in variable:
                raise ex.ExpressionError(
                    f"{ref.text}: the variable has no default, and nothing sets it locally"
                )
            return _traverse(variable["default"], parts[2:], ref.text)
        if root == "local":
            value = self.evaluate(self.locals[str(parts[1])], f"local.{parts[1]}")
            return _traverse(value, parts[2:], ref.text)
        if root == "path":
            if parts[1:2] in (("module",), ("root",)):
                return "."  # relative paths start from the stack folder, where Terraform runs
            if parts[1:2] == ("cwd",):
                return str(self.stack_dir)
        if root == "terraform" and parts[1:2] == ("workspace",):
            return "default"
        address = self._address_of(ref)
        if address is None:  # pragma: no cover - rejected by _check
            raise ex.ExpressionError(f"{ref.text} is not a reference the local cloud understands")
        skip = 3 if root == "data" else 2
        if len(parts) <= skip:
            raise ex.ExpressionError(f"{ref.text}: a whole resource cannot be used as a value")
        attribute = parts[skip]
        if not isinstance(attribute, str):
            raise ex.ExpressionError(f"{ref.text}: resources are not lists here (no count or for_each)")
        try:
            value = self.attribute(address, attribute)
        except PlanError as exc:
            raise ex.ExpressionError(str(exc)) from exc
        return _traverse(value, parts[skip + 1 :], ref.text)

    # -- computed attributes ------------------------------------------------------------------

    def name_of(self, resource: Resource, key: str = "name", max_length: int = 255) -> str:
        """A declared name, or what Terraform generates from a prefix (or from nothing)."""
        if key in resource.config:
            return str(self.attribute(resource.address, key))
        prefix_key = f"{key}_prefix"
        prefix = (
            str(self.attribute(resource.address, prefix_key))
            if prefix_key in resource.config
            else "terraform-"
        )
        return (prefix + _stable_id(resource.address, 26, string.digits + "abcdef"))[:max_length]

    def _computed(self, resource: Resource, name: str) -> Any:
        handler = _COMPUTED.get(resource.type)
        value = handler(self, resource, name) if handler else _MISSING
        if value is _MISSING:
            value = self._generic(resource, name)
        if value is _MISSING:
            raise PlanError(
                f"{resource.address}.{name}: the local cloud has no local value for this attribute "
                f"(add it to localcloud/plan.py)"
            )
        return value

    def _generic(self, resource: Resource, name: str) -> Any:
        r, a = self.region, self.account_id
        service = resource.type.removeprefix("aws_").split("_")[0]
        if name == "id":
            if service in _EC2_PREFIXES or resource.type in _EC2_PREFIXES:
                prefix = _EC2_PREFIXES.get(resource.type) or _EC2_PREFIXES[service]
                return f"{prefix}-{_stable_id(resource.address, 17, '0123456789abcdef')}"
            if "name" in resource.config:
                return self.attribute(resource.address, "name")
            return _stable_id(resource.address, 20)
        if name == "arn":
            ident = self.attribute(resource.address, "id")
            kind = resource.type.removeprefix(f"aws_{service}_") or service
            return f"arn:aws:{service}:{r}:{a}:{kind}/{ident}"
        if name in ("tags_all",):
            return dict(resource.config.get("tags") or {})
        if name in ("name",):
            return self.name_of(resource)
        return _MISSING

    # -- endpoints ----------------------------------------------------------------------------

    def map_endpoint(self, aws_url: str, local_url: str) -> None:
        """Rewrite `aws_url` (scheme://host, e.g. https://abc.execute-api.eu-central-1.amazonaws.com)
        to `local_url` (http://127.0.0.1:port) wherever a value leaves the plan."""
        self._endpoints.append((re.compile(re.escape(aws_url) + r"(?![\w.-])"), local_url))

    def localize(self, value: Any) -> Any:
        if isinstance(value, str):
            for pattern, local in self._endpoints:
                value = pattern.sub(local, value)
            return value
        if isinstance(value, dict):
            return {k: self.localize(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.localize(v) for v in value]
        return value

    # -- helpers for the services -------------------------------------------------------------

    def arn_to_resource(self, rtype: str, arn: str) -> Resource:
        found = self.find_by(rtype, "arn", arn)
        if found is None:
            raise PlanError(f"no {rtype} in the stack has the ARN {arn}")
        return found

    def execute_api_arn(self, api_id: str, path: str) -> str:
        """The ARN API Gateway calls a function with (what a permission's source_arn must match)."""
        return f"arn:aws:execute-api:{self.region}:{self.account_id}:{api_id}/{path}"

    def function_for_arn(self, arn: str) -> Resource | None:
        """The aws_lambda_function an ARN or invoke ARN (API Gateway integration uri) points at."""
        match = re.search(r"(arn:aws:lambda:[^:]+:\d+:function:[^/:]+)", arn)
        if not match:
            return None
        return self.find_by("aws_lambda_function", "arn", match.group(1))


class _Missing:
    pass


_MISSING: Any = _Missing()


def _traverse(value: Any, parts: tuple[str | int, ...], text: str) -> Any:
    for part in parts:
        try:
            value = ex.index(value, part)
        except ex.ExpressionError as exc:
            raise ex.ExpressionError(f"{text}: {exc}") from exc
    return value


_EC2_PREFIXES = {
    "vpc": "vpc",
    "subnet": "subnet",
    "security": "sg",
    "aws_security_group": "sg",
    "aws_default_security_group": "sg",
    "aws_vpc_security_group_egress_rule": "sgr",
    "aws_vpc_security_group_ingress_rule": "sgr",
    "route": "rtb",
    "aws_route": "r-rtb",
    "aws_route_table_association": "rtbassoc",
    "internet": "igw",
    "nat": "nat",
    "eip": "eipalloc",
    "aws_vpc_endpoint": "vpce",
    "aws_flow_log": "fl",
    "network": "acl",
    "default": "default",
}


Computed = Callable[[Plan, Resource, str], Any]


def _dynamodb_table(plan: Plan, res: Resource, name: str) -> Any:
    table = plan.attribute(res.address, "name")
    arn = f"arn:aws:dynamodb:{plan.region}:{plan.account_id}:table/{table}"
    if name == "id":
        return table
    if name == "arn":
        return arn
    if name in ("stream_arn", "stream_label"):
        if not res.config.get("stream_enabled"):
            return ""  # AWS leaves them empty on a table without a stream
        return f"{arn}/stream/{plan.stream_label}" if name == "stream_arn" else plan.stream_label
    return _MISSING


def _sqs_queue(plan: Plan, res: Resource, name: str) -> Any:
    queue = plan.name_of(res, max_length=80)
    if res.config.get("fifo_queue") and "name" not in res.config:
        queue = queue[:75] + ".fifo"
    if name == "name":
        return queue
    if name in ("id", "url"):
        return f"https://sqs.{plan.region}.amazonaws.com/{plan.account_id}/{queue}"
    if name == "arn":
        return f"arn:aws:sqs:{plan.region}:{plan.account_id}:{queue}"
    return _MISSING


def _s3_bucket(plan: Plan, res: Resource, name: str) -> Any:
    bucket = plan.name_of(res, "bucket", 63)
    values = {
        "id": bucket,
        "bucket": bucket,
        "arn": f"arn:aws:s3:::{bucket}",
        "bucket_domain_name": f"{bucket}.s3.amazonaws.com",
        "bucket_regional_domain_name": f"{bucket}.s3.{plan.region}.amazonaws.com",
        "region": plan.region,
        "hosted_zone_id": "Z21DNDUVLTQW6Q",
    }
    return values.get(name, _MISSING)


def _s3_object(plan: Plan, res: Resource, name: str) -> Any:
    if name == "id":
        return plan.attribute(res.address, "key")
    if name in ("etag", "version_id"):
        return _stable_id(res.address, 32, "0123456789abcdef")
    return _MISSING


def _lambda_function(plan: Plan, res: Resource, name: str) -> Any:
    function = plan.attribute(res.address, "function_name")
    arn = f"arn:aws:lambda:{plan.region}:{plan.account_id}:function:{function}"

    def invoke(target: str) -> str:
        return f"arn:aws:apigateway:{plan.region}:lambda:path/2015-03-31/functions/{target}/invocations"

    values = {
        "id": function,
        "arn": arn,
        "qualified_arn": f"{arn}:$LATEST",
        "invoke_arn": invoke(arn),
        "qualified_invoke_arn": invoke(f"{arn}:$LATEST"),
        "version": "$LATEST",
        "last_modified": "1970-01-01T00:00:00.000+0000",
        "source_code_hash": "",
    }
    return values.get(name, _MISSING)


def _execute_api_host(plan: Plan, api_id: str) -> str:
    return f"{api_id}.execute-api.{plan.region}.amazonaws.com"


def _rest_api(plan: Plan, res: Resource, name: str) -> Any:
    api_id = _stable_id(res.address, 10)
    values = {
        "id": api_id,
        "root_resource_id": _stable_id(res.address + "/", 10),
        "execution_arn": f"arn:aws:execute-api:{plan.region}:{plan.account_id}:{api_id}",
        "arn": f"arn:aws:apigateway:{plan.region}::/restapis/{api_id}",
        "created_date": "1970-01-01T00:00:00Z",
    }
    return values.get(name, _MISSING)


def _rest_resource(plan: Plan, res: Resource, name: str) -> Any:
    if name == "id":
        return _stable_id(res.address, 6)
    if name == "path":
        parent_id = plan.attribute(res.address, "parent_id")
        api_id = plan.attribute(res.address, "rest_api_id")
        part = plan.attribute(res.address, "path_part")
        for other in plan.of_type("aws_api_gateway_resource"):
            if other is not res and plan.attribute(other.address, "id") == parent_id:
                return f"{str(plan.attribute(other.address, 'path')).rstrip('/')}/{part}"
        for api in plan.of_type("aws_api_gateway_rest_api"):
            if plan.attribute(api.address, "id") == api_id:
                return f"/{part}"
        raise ex.ExpressionError(f"{res.address}: parent {parent_id} not found")
    return _MISSING


def _rest_stage(plan: Plan, res: Resource, name: str) -> Any:
    api_id = plan.attribute(res.address, "rest_api_id")
    stage = plan.attribute(res.address, "stage_name")
    values = {
        "id": f"ags-{api_id}-{stage}",
        "invoke_url": f"https://{_execute_api_host(plan, api_id)}/{stage}",
        "execution_arn": f"arn:aws:execute-api:{plan.region}:{plan.account_id}:{api_id}/{stage}",
        "arn": f"arn:aws:apigateway:{plan.region}::/restapis/{api_id}/stages/{stage}",
    }
    return values.get(name, _MISSING)


def _rest_deployment(plan: Plan, res: Resource, name: str) -> Any:
    api_id = plan.attribute(res.address, "rest_api_id")
    values = {
        "id": _stable_id(res.address, 6),
        "invoke_url": f"https://{_execute_api_host(plan, api_id)}/",
        "execution_arn": f"arn:aws:execute-api:{plan.region}:{plan.account_id}:{api_id}/",
        "created_date": "1970-01-01T00:00:00Z",
    }
    return values.get(name, _MISSING)


def _v2_api(plan: Plan, res: Resource, name: str) -> Any:
    api_id = _stable_id(res.address, 10)
    websocket = str(res.config.get("protocol_type", "")).upper() == "WEBSOCKET"
    values = {
        "id": api_id,
        "api_endpoint": f"{'wss' if websocket else 'https'}://{_execute_api_host(plan, api_id)}",
        "execution_arn": f"arn:aws:execute-api:{plan.region}:{plan.account_id}:{api_id}",
        "arn": f"arn:aws:apigateway:{plan.region}::/apis/{api_id}",
    }
    return values.get(name, _MISSING)


def _v2_stage(plan: Plan, res: Resource, name: str) -> Any:
    api_id = plan.attribute(res.address, "api_id")
    stage = plan.attribute(res.address, "name")
    api = plan.find_by("aws_apigatewayv2_api", "id", api_id)
    websocket = api is not None and str(api.config.get("protocol_type", "")).upper() == "WEBSOCKET"
    values = {
        "id": stage,
        "invoke_url": f"{'wss' if websocket else 'https'}://{_execute_api_host(plan, api_id)}/{stage}",
        "execution_arn": f"arn:aws:execute-api:{plan.region}:{plan.account_id}:{api_id}/{stage}",
        "arn": f"arn:aws:apigateway:{plan.region}::/apis/{api_id}/stages/{stage}",
    }
    return values.get(name, _MISSING)


def _v2_child(plan: Plan, res: Resource, name: str) -> Any:
    return _stable_id(res.address, 7) if name == "id" else _MISSING


def _authorizer(plan: Plan, res: Resource, name: str) -> Any:
    return _stable_id(res.address, 6) if name == "id" else _MISSING


def _user_pool(plan: Plan, res: Resource, name: str) -> Any:
    pool_id = f"{plan.region}_" + _stable_id(res.address, 9, string.ascii_letters + string.digits)
    values = {
        "id": pool_id,
        "arn": f"arn:aws:cognito-idp:{plan.region}:{plan.account_id}:userpool/{pool_id}",
        "endpoint": f"cognito-idp.{plan.region}.amazonaws.com/{pool_id}",
        "creation_date": "1970-01-01T00:00:00Z",
        "last_modified_date": "1970-01-01T00:00:00Z",
        "estimated_number_of_users": 0,
    }
    return values.get(name, _MISSING)


def _user_pool_client(plan: Plan, res: Resource, name: str) -> Any:
    if name == "id":
        return _stable_id(res.address, 26)
    if name == "client_secret":
        # A new secret on every start, like a password: it is handed out in the endpoints file.
        return secrets.token_urlsafe(39) if res.config.get("generate_secret") else ""
    return _MISSING


def _user_pool_domain(plan: Plan, res: Resource, name: str) -> Any:
    values = {
        "id": plan.attribute(res.address, "domain"),
        "aws_account_id": plan.account_id,
        "cloudfront_distribution": f"d{_stable_id(res.address, 13)}.cloudfront.net",
        "cloudfront_distribution_zone_id": "Z2FDTNDATAQYW2",
        "version": "1",
    }
    return values.get(name, _MISSING)


def _resource_server(plan: Plan, res: Resource, name: str) -> Any:
    identifier = plan.attribute(res.address, "identifier")
    if name == "id":
        return f"{plan.attribute(res.address, 'user_pool_id')}|{identifier}"
    if name == "scope_identifiers":
        return [f"{identifier}/{scope['scope_name']}" for scope in plan.attribute(res.address, "scope") or []]
    return _MISSING


def _user_group(plan: Plan, res: Resource, name: str) -> Any:
    if name == "id":
        return f"{plan.attribute(res.address, 'user_pool_id')}/{plan.attribute(res.address, 'name')}"
    return _MISSING


def _cloudfront_distribution(plan: Plan, res: Resource, name: str) -> Any:
    ident = "E" + _stable_id(res.address, 13, string.ascii_uppercase + string.digits)
    values = {
        "id": ident,
        "arn": f"arn:aws:cloudfront::{plan.account_id}:distribution/{ident}",
        "domain_name": f"d{_stable_id(res.address + '#domain', 13)}.cloudfront.net",
        "hosted_zone_id": "Z2FDTNDATAQYW2",
        "etag": _stable_id(res.address + "#etag", 14, string.ascii_uppercase + string.digits),
        "status": "Deployed",
        "caller_reference": _stable_id(res.address + "#ref", 20),
    }
    return values.get(name, _MISSING)


def _event_rule(plan: Plan, res: Resource, name: str) -> Any:
    rule = plan.name_of(res, max_length=64)
    values = {"id": rule, "name": rule, "arn": f"arn:aws:events:{plan.region}:{plan.account_id}:rule/{rule}"}
    return values.get(name, _MISSING)


def _ecr_repository(plan: Plan, res: Resource, name: str) -> Any:
    repo = plan.attribute(res.address, "name")
    values = {
        "id": repo,
        "arn": f"arn:aws:ecr:{plan.region}:{plan.account_id}:repository/{repo}",
        "registry_id": plan.account_id,
        "repository_url": f"{plan.account_id}.dkr.ecr.{plan.region}.amazonaws.com/{repo}",
    }
    return values.get(name, _MISSING)


def _iam(kind: str) -> Computed:
    def computed(plan: Plan, res: Resource, name: str) -> Any:
        path = str(res.config.get("path", "/")) if kind != "instance-profile" else "/"
        ident = plan.name_of(res, max_length=64)
        values = {
            "id": ident if kind != "policy" else f"arn:aws:iam::{plan.account_id}:{kind}{path}{ident}",
            "name": ident,
            "arn": f"arn:aws:iam::{plan.account_id}:{kind}{path}{ident}",
            "unique_id": "AROA" + _stable_id(res.address, 17, string.ascii_uppercase + string.digits),
        }
        return values.get(name, _MISSING)

    return computed


def _kms_key(plan: Plan, res: Resource, name: str) -> Any:
    h = _stable_id(res.address, 32, "0123456789abcdef")
    key_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
    values = {
        "id": key_id,
        "key_id": key_id,
        "arn": f"arn:aws:kms:{plan.region}:{plan.account_id}:key/{key_id}",
    }
    return values.get(name, _MISSING)


def _kms_alias(plan: Plan, res: Resource, name: str) -> Any:
    alias = plan.name_of(res)
    values = {"id": alias, "arn": f"arn:aws:kms:{plan.region}:{plan.account_id}:{alias}"}
    return values.get(name, _MISSING)


def _log_group(plan: Plan, res: Resource, name: str) -> Any:
    group = plan.name_of(res, max_length=512)
    values = {
        "id": group,
        "name": group,
        "arn": f"arn:aws:logs:{plan.region}:{plan.account_id}:log-group:{group}",
    }
    return values.get(name, _MISSING)


def _sns_topic(plan: Plan, res: Resource, name: str) -> Any:
    topic = plan.name_of(res, max_length=256)
    arn = f"arn:aws:sns:{plan.region}:{plan.account_id}:{topic}"
    return {"id": arn, "arn": arn, "name": topic}.get(name, _MISSING)


def _cloudwatch_alarm(plan: Plan, res: Resource, name: str) -> Any:
    alarm = plan.attribute(res.address, "alarm_name")
    arn = f"arn:aws:cloudwatch:{plan.region}:{plan.account_id}:alarm:{alarm}"
    return {"id": alarm, "arn": arn}.get(name, _MISSING)


def _caller_identity(plan: Plan, res: Resource, name: str) -> Any:
    a = plan.account_id
    values = {"id": a, "account_id": a, "arn": f"arn:aws:iam::{a}:root", "user_id": a}
    return values.get(name, _MISSING)


def _region(plan: Plan, res: Resource, name: str) -> Any:
    values = {
        "id": plan.region,
        "name": plan.region,
        "region": plan.region,
        "endpoint": f"ec2.{plan.region}.amazonaws.com",
    }
    return values.get(name, _MISSING)


def _partition(plan: Plan, res: Resource, name: str) -> Any:
    values = {
        "id": "aws",
        "partition": "aws",
        "dns_suffix": "amazonaws.com",
        "reverse_dns_prefix": "com.amazonaws",
    }
    return values.get(name, _MISSING)


_COMPUTED: dict[str, Computed] = {
    "aws_dynamodb_table": _dynamodb_table,
    "aws_sqs_queue": _sqs_queue,
    "aws_s3_bucket": _s3_bucket,
    "aws_s3_object": _s3_object,
    "aws_lambda_function": _lambda_function,
    "aws_api_gateway_rest_api": _rest_api,
    "aws_api_gateway_resource": _rest_resource,
    "aws_api_gateway_stage": _rest_stage,
    "aws_api_gateway_deployment": _rest_deployment,
    "aws_apigatewayv2_api": _v2_api,
    "aws_apigatewayv2_stage": _v2_stage,
    "aws_apigatewayv2_integration": _v2_child,
    "aws_apigatewayv2_route": _v2_child,
    "aws_apigatewayv2_deployment": _v2_child,
    "aws_cloudfront_distribution": _cloudfront_distribution,
    "aws_api_gateway_authorizer": _authorizer,
    "aws_apigatewayv2_authorizer": _authorizer,
    "aws_cognito_user_pool": _user_pool,
    "aws_cognito_user_pool_client": _user_pool_client,
    "aws_cognito_user_pool_domain": _user_pool_domain,
    "aws_cognito_resource_server": _resource_server,
    "aws_cognito_user_group": _user_group,
    "aws_cloudwatch_event_rule": _event_rule,
    "aws_ecr_repository": _ecr_repository,
    "aws_iam_role": _iam("role"),
    "aws_iam_policy": _iam("policy"),
    "aws_iam_instance_profile": _iam("instance-profile"),
    "aws_kms_key": _kms_key,
    "aws_kms_alias": _kms_alias,
    "aws_cloudwatch_log_group": _log_group,
    "aws_sns_topic": _sns_topic,
    "aws_cloudwatch_metric_alarm": _cloudwatch_alarm,
    "aws_caller_identity": _caller_identity,
    "aws_region": _region,
    "aws_partition": _partition,
}
