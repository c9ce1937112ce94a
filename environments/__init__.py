"""Environment settings: one TOML file per environment, loaded into one typed, validated object.

A typo, a missing key or a wrong type stops synthesis with a message naming the file, the line
and the key (`environments/dev.toml:14: network.nat: ...`), before any construct is built.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from modules import naming
from preflight import facts

ENVIRONMENTS_DIR = Path(__file__).parent
ENVIRONMENT_NAMES = ("dev", "staging", "prod")

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = facts.LOG_RETENTION_DAYS
REQUIRED_TAGS = ("Environment", "Project", "Owner", "CostCenter")

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,28}[a-z0-9]$")]
Region = Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")]
AccountId = Annotated[str, Field(pattern=r"^\d{12}$")]
BucketName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
SubnetId = Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]
SecurityGroupId = Annotated[str, Field(pattern=r"^sg-[0-9a-f]{8,17}$")]
Origin = Annotated[str, Field(pattern=r"^https?://[A-Za-z0-9.-]+(:\d+)?$")]
# A KMS key ARN (not an alias): S3 bucket policies pin keys by it ("Using server-side encryption with
# AWS KMS keys (SSE-KMS)"); its key id as Terraform's S3 backend validates it (validate.go: a version
# 1-5 UUID, as KMS key ids are, or a multi-Region key id), so terraform init accepts it.
KeyArn = Annotated[
    str,
    Field(
        pattern=r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/"
        r"(?:[a-f0-9]{8}-[a-f0-9]{4}-[1-5][a-f0-9]{3}-[ab89][a-f0-9]{3}-[a-f0-9]{12}|mrk-[a-f0-9]{32})$"
    ),
]
ImageDigest = Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")]
# A Lambda function ARN as Invoke takes it ("Invoke", AWS Lambda API Reference: FunctionName and
# Qualifier): arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>], the name 1-64
# of [A-Za-z0-9_-], the qualifier $LATEST, a version (digits) or an alias (1-128 of [A-Za-z0-9_-], not
# only digits: "CreateAlias", Name). The worker's policy names it exactly as written ("Resource-based
# policy and qualified ARNs" / "Lambda function versions": a policy on the unqualified ARN does not
# cover invoking by a qualified one, nor the reverse), and the worker invokes it exactly so.
_LAMBDA_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):lambda:(?P<region>[a-z]{2}(-gov)?-[a-z]+-\d):(?P<account>\d{12}):"
    r"function:(?P<name>[A-Za-z0-9_-]{1,64})(:(?P<qualifier>\$LATEST|[A-Za-z0-9_-]{1,128}))?$"
)
LAMBDA_ARN_FORM = "arn:aws:lambda:<region>:<account id>:function:<name>[:<version or alias>]"


def _lambda_arn(value: str) -> str:
    if _LAMBDA_ARN.match(value):
        return value
    parts = value.split(":")
    if not value.startswith("arn:"):
        why = "a function name or partial ARN: the worker's IAM policy needs the full ARN"
    elif len(parts) < 7 or parts[2] != "lambda" or parts[5] != "function":
        why = "not a Lambda function ARN (a layer, an event source mapping or another service's?)"
    elif len(parts) > 8:
        why = "too many ':' parts"
    elif not re.fullmatch(r"[a-z]{2}(-gov)?-[a-z]+-\d", parts[3]):
        why = f"{parts[3]!r} is not a region"
    elif not re.fullmatch(r"\d{12}", parts[4]):
        why = f"{parts[4]!r} is not a 12-digit account id"
    elif not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", parts[6]):
        why = f"function name {parts[6]!r}: 1-64 letters, digits, '-' or '_'"
    else:
        why = (
            f"qualifier {parts[7]!r}: $LATEST, a version number or an alias (1-128 letters, digits, '-', '_')"
        )
    raise ValueError(f"{why}; the form is {LAMBDA_ARN_FORM}")


LambdaArn = Annotated[str, AfterValidator(_lambda_arn)]


def sync_timeout_problem(seconds: int) -> str:
    """Why a task function's timeout above MAX_SYNC_TASK_TIMEOUT cannot work (the settings and the
    task manifests say it the same way)."""
    return (
        f"{seconds} is above {facts.MAX_SYNC_TASK_TIMEOUT} s: the worker waits for a task synchronously "
        "through NAT or an interface endpoint, which drop a connection idle for "
        f"{facts.IDLE_TIMEOUT_SECONDS} s (docs/architecture.md, Task timeouts)"
    )


def partition_of(region: str) -> str:
    """The ARN partition a region belongs to."""
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


# A task function id: the key definitions name it by, and (for packaged tasks) the suffix of its
# Lambda function name `<name_prefix>-<id>`.
TaskId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")]


# The key id bootstrap.toml carries until the bootstrap stack has created the state key.
PLACEHOLDER_KEY_ID = "00000000-0000-4000-8000-000000000000"  # shaped as KMS key ids are


def _cloudwatch_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(f"must be one of CloudWatch's retention periods {LOG_RETENTION_DAYS}")
    return value


def _required_tags(value: dict[str, str]) -> dict[str, str]:
    missing = [key for key in REQUIRED_TAGS if key not in value]
    if missing:
        raise ValueError(f"missing required tag(s) {', '.join(missing)}")
    return value


RetentionDays = Annotated[int, AfterValidator(_cloudwatch_retention)]
Tags = Annotated[
    dict[str, Annotated[str, Field(min_length=1, max_length=256)]], AfterValidator(_required_tags)
]


class SettingsError(ValueError):
    """Invalid settings, with the file, line and key that are wrong."""


class _Model(BaseModel):
    # strict: "true" is not a bool and "14" is not an int; forbid: a typo is not silently ignored.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# For other settings-like files read with load_toml (task manifests: workflows/tasks.py).
Model = _Model


class CreateNetwork(_Model):
    """Create the VPC: 10.0.0.0/16 over two AZs with public, private and isolated subnets."""

    mode: Literal["create"]
    availability_zones: Annotated[list[str], Field(min_length=2, max_length=2)]
    # "none" is refused (see Settings.problems): the orchestrator must reach the public WebSocket API.
    nat: Literal["none", "single", "per_az"]
    # Interface endpoints for Lambda and SQS: keeps those calls off the NAT (and its data charge).
    interface_endpoints: bool = False


class ExistingNetwork(_Model):
    """Use a network the platform team owns: no network resource is created, the ids flow through."""

    mode: Literal["existing"]
    vpc_id: Annotated[str, Field(pattern=r"^vpc-[0-9a-f]{8,17}$")]
    private_subnet_ids: Annotated[list[SubnetId], Field(min_length=1)]
    public_subnet_ids: list[SubnetId] = []
    isolated_subnet_ids: list[SubnetId] = []
    lambda_security_group_ids: Annotated[list[SecurityGroupId], Field(min_length=1)]


class Account(_Model):
    """What the AWS account allows, as Service Quotas shows it (the stack is checked against it)."""

    # Service Quotas, AWS Lambda, "Concurrent executions" (L-B99A9384) of the account and region:
    # 1000 by default, often 10 on a new account until a quota increase is granted.
    lambda_concurrency_quota: Annotated[int, Field(ge=10, le=1_000_000)]


class ReservedConcurrency(_Model):
    """Optional reservations; a function left out shares the account's unreserved pool."""

    worker: Annotated[int, Field(ge=1, le=10_000)] | None = None
    orchestrator: Annotated[int, Field(ge=1, le=10_000)] | None = None
    reaper: Annotated[int, Field(ge=1, le=10_000)] | None = None

    def total(self) -> int:
        return sum(n for n in (self.worker, self.orchestrator, self.reaper) if n)


class Functions(_Model):
    """Lambda sizes, the task functions' timeout and the concurrency reserved for the engine."""

    memory_mb: Annotated[int, Field(ge=128, le=10240)]
    # The task functions' timeout (the worker waits for them; see Settings.problems).
    timeout_seconds: Annotated[int, Field(ge=3, le=900)]
    reserved_concurrency: ReservedConcurrency = ReservedConcurrency()
    # Pin a container-image task to a digest (`docker buildx imagetools inspect`), instead of the
    # content tag the build computes (build/images.json).
    # (Keys are container-image task ids: workflows/catalog.py checks them.)
    image_digests: dict[TaskId, ImageDigest] = {}


class ExternalTask(_Model):
    """An existing Lambda function, by ARN, that definitions may run as a task function
    (workflows/tasks.py; the packaged ones are folders under lambdas/tasks/)."""

    arn: LambdaArn
    # Its configured Lambda timeout, which Orchestra cannot read at synthesis: the engine bounds every
    # attempt by it, and the worker waits at most that long (see Settings.problems).
    timeout_seconds: Annotated[int, Field(ge=1, le=900)]
    description: Annotated[str, Field(max_length=256)] = ""

    @property
    def partition(self) -> str:
        return self.arn.split(":")[1]

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]

    @property
    def account_id(self) -> str:
        return self.arn.split(":")[4]

    @property
    def function_name(self) -> str:
        return self.arn.split(":")[6]


class Orchestration(_Model):
    """How the engine dispatches and how soon the sweep repairs a workflow that stopped moving."""

    # "writer": whoever commits a transition dispatches what it made READY (the default); "stream":
    # the orchestrator dispatches from the table's stream, one hop per dependency level.
    dispatch: Literal["writer", "stream"] = "writer"
    # An unfinished workflow whose state has not moved this long is reconciled by the reaper.
    sweep_horizon_seconds: Annotated[int, Field(ge=60, le=3600)] = 120
    # With writer dispatch, how many of the tasks its results make READY one worker keeps and runs at
    # once (claimed in its result write; the rest are dispatched). 1: a chain only, as one at a time.
    worker_parallel_tasks: Annotated[int, Field(ge=1, le=16)] = 8


class Api(_Model):
    """REST and WebSocket API throttling and the extra origins CORS allows (the dashboard's is added)."""

    throttle_rate_limit: Annotated[float, Field(gt=0, le=10000)]
    throttle_burst_limit: Annotated[int, Field(ge=1, le=5000)]
    cors_extra_origins: list[Origin] = []


# Cognito's rules for a prefix domain (CreateUserPoolDomain, "Domain"): lowercase letters, digits and
# hyphens, at most 63 characters, and none of the reserved words.
DomainPrefix = Annotated[str, Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")]
RESERVED_DOMAIN_WORDS = ("aws", "amazon", "cognito")
UserPoolId = Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d_[0-9a-zA-Z]+$")]
Username = Annotated[str, Field(pattern=r"^[\w.@+-]{1,128}$")]
GROUPS = ("operators", "viewers")


class LocalUser(_Model):
    """A user the local cloud creates in its emulated pool (with a password generated at start-up).
    Never created on AWS: a real pool's users are managed by whoever owns the pool."""

    username: Username
    group: Literal["operators", "viewers"]


class _AuthCommon(_Model):
    # Cognito accepts access tokens valid 5 minutes to 1 day and refresh tokens 1 hour to 10 years
    # (CreateUserPoolClient: AccessTokenValidity, RefreshTokenValidity).
    access_token_minutes: Annotated[int, Field(ge=5, le=1440)] = 60
    refresh_token_days: Annotated[int, Field(ge=1, le=3650)] = 30
    local_users: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")], LocalUser] = {}


class CreateAuth(_AuthCommon):
    """A user pool created by the stack: password policy, optional TOTP MFA, the hosted UI on a prefix
    domain, groups `operators` and `viewers`, deletion protection where `deletion_protection` is on."""

    mode: Literal["create"]
    domain_prefix: DomainPrefix
    mfa: Literal["off", "optional", "on"] = "optional"
    # Cognito's feature plans; threat protection (advanced security) needs PLUS.
    feature_plan: Literal["lite", "essentials", "plus"] = "essentials"
    threat_protection: Literal["off", "audit", "enforced"] = "off"
    password_min_length: Annotated[int, Field(ge=8, le=99)] = 12


class ExistingAuth(_AuthCommon):
    """A user pool the platform team owns: the stack adds its resource server, app clients and
    groups to it, and uses its OAuth2 domain."""

    mode: Literal["existing"]
    user_pool_id: UserPoolId
    domain: Annotated[str, Field(pattern=r"^https://[a-z0-9.-]+$")]


class NoAuth(_Model):
    """No sign-in at all: anyone who has the URLs may do anything. Refused for prod."""

    mode: Literal["none"]


class Waf(_Model):
    """Web ACLs (AWS managed rule groups and a per-IP rate limit) on the REST stage and CloudFront."""

    enabled: bool
    # Requests per client IP in any 5 minutes before WAF blocks it (WAF's minimum is 10).
    rate_limit_per_5_minutes: Annotated[int, Field(ge=10, le=2_000_000_000)] = 2000


class Settings(_Model):
    """Everything that differs between environments."""

    name: Name
    account_id: AccountId
    region: Region
    name_prefix: Name
    log_retention_days: RetentionDays
    deletion_protection: bool
    alarm_email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")]
    workflow_ttl_days: Annotated[int, Field(ge=1, le=3650)]
    tags: Tags
    account: Account
    network: Annotated[CreateNetwork | ExistingNetwork, Field(discriminator="mode")]
    functions: Functions
    api: Api
    orchestration: Orchestration = Orchestration()
    auth: Annotated[CreateAuth | ExistingAuth | NoAuth, Field(discriminator="mode")]
    waf: Waf | None = None  # absent: on in prod, off elsewhere
    # Existing Lambda functions definitions may use as tasks, by id (workflows/tasks.py).
    external_tasks: dict[TaskId, ExternalTask] = {}

    def problems(self) -> list[tuple[tuple[str, ...], str]]:
        """Rules that span several keys, as (key, message) pairs."""
        found: list[tuple[tuple[str, ...], str]] = []
        if self.tags["Environment"] != self.name:
            found.append((("tags", "Environment"), f"must equal name {self.name!r}"))
        if isinstance(self.network, CreateNetwork):
            found += [
                (("network", "availability_zones"), f"{zone!r} is not in region {self.region}")
                for zone in self.network.availability_zones
                if not zone.startswith(self.region)
            ]
            if self.network.nat == "none":
                found.append(
                    (
                        ("network", "nat"),
                        "'none' cannot work: the orchestrator posts to the WebSocket API's @connections "
                        "endpoint, which is public and has no VPC endpoint (an execute-api interface "
                        "endpoint with private DNS turns those calls into 403); use 'single' or 'per_az'",
                    )
                )
        # Every function runs in the VPC, and the worker waits for a task on one idle connection.
        if self.functions.timeout_seconds > facts.MAX_SYNC_TASK_TIMEOUT:
            found.append(
                (("functions", "timeout_seconds"), sync_timeout_problem(self.functions.timeout_seconds))
            )
        found += self._external_task_problems()
        reserved = self.functions.reserved_concurrency.total()
        allowed = self.account.lambda_concurrency_quota - facts.MIN_UNRESERVED_CONCURRENCY
        if reserved > allowed:
            found.append(
                (
                    ("functions", "reserved_concurrency"),
                    f"reserves {reserved} concurrent executions, but Lambda keeps "
                    f"{facts.MIN_UNRESERVED_CONCURRENCY} of account.lambda_concurrency_quota "
                    f"({self.account.lambda_concurrency_quota}) unreserved: at most {max(allowed, 0)} "
                    "(leave reservations out, or request a quota increase and declare it)",
                )
            )
        found += _name_problems(
            "name_prefix", self.name_prefix, naming.derived(self.name_prefix, self.account_id, self.region)
        )
        found += self._auth_problems()
        return found

    def _external_task_problems(self) -> list[tuple[tuple[str, ...], str]]:
        found: list[tuple[tuple[str, ...], str]] = []
        for task_id, task in self.external_tasks.items():
            key = ("external_tasks", task_id)
            if task_id in naming.ENGINE_FUNCTION_IDS:
                found.append((key, f"{task_id!r} is the id of one of the engine's own functions"))
            # The worker's Lambda client is regional: "Functions from '<region>' are not reachable in
            # this region ('<region>')" (Invoke: ResourceNotFoundException).
            # "Identify AWS resources with Amazon Resource Names (ARNs)": a region belongs to one
            # partition (aws, aws-cn, aws-us-gov); an ARN of another names nothing there.
            expected = partition_of(self.region)
            if task.partition != expected:
                found.append(
                    (
                        (*key, "arn"),
                        f"partition {task.partition!r}: region {self.region} is in partition {expected!r}",
                    )
                )
            elif task.region != self.region:
                found.append(
                    (
                        (*key, "arn"),
                        f"the function is in {task.region}, the environment in {self.region}: Lambda "
                        f"answers \"Functions from '{task.region}' are not reachable in this region "
                        f"('{self.region}')\"; deploy a copy in {self.region}",
                    )
                )
            if task.timeout_seconds > facts.MAX_SYNC_TASK_TIMEOUT:
                found.append(
                    (
                        (*key, "timeout_seconds"),
                        sync_timeout_problem(task.timeout_seconds)
                        + "; lower the function's timeout and declare it here",
                    )
                )
        return found

    def _auth_problems(self) -> list[tuple[tuple[str, ...], str]]:
        found: list[tuple[tuple[str, ...], str]] = []
        auth = self.auth
        if isinstance(auth, NoAuth):
            if self.name == "prod":
                found.append((("auth", "mode"), "'none' is refused for prod: every API needs sign-in there"))
            return found
        if isinstance(auth, CreateAuth):
            for word in RESERVED_DOMAIN_WORDS:
                if word in auth.domain_prefix:
                    found.append(
                        (("auth", "domain_prefix"), f"Cognito refuses a domain prefix containing {word!r}")
                    )
            if auth.threat_protection != "off" and auth.feature_plan != "plus":
                found.append(
                    (
                        ("auth", "threat_protection"),
                        f"{auth.threat_protection!r} needs feature_plan = 'plus' (Cognito's threat "
                        "protection is a Plus feature)",
                    )
                )
        if auth.local_users and self.name == "prod":
            found.append((("auth", "local_users"), "prod declares no local users"))
        if isinstance(auth, ExistingAuth) and not auth.user_pool_id.startswith(self.region + "_"):
            found.append((("auth", "user_pool_id"), f"is not a pool of region {self.region}"))
        return found

    @property
    def auth_enabled(self) -> bool:
        return not isinstance(self.auth, NoAuth)

    @property
    def waf_settings(self) -> Waf:
        return self.waf if self.waf is not None else Waf(enabled=self.name == "prod")


def _name_problems(
    key: str, value: str, derived: Iterable[tuple[str, str]]
) -> list[tuple[tuple[str, ...], str]]:
    """The longest name derived from `key` over its AWS limit, if any (one message, naming it)."""
    over = [
        (len(name) - facts.NAME_LIMITS[kind][0], kind, name)
        for kind, name in derived
        if len(name) > facts.NAME_LIMITS[kind][0]
    ]
    if not over:
        return []
    excess, kind, name = max(over)
    limit, _, source = facts.NAME_LIMITS[kind]
    return [
        (
            (key,),
            f"{value!r} is {excess} character(s) too long: the {kind.replace('_', ' ')} name {name!r} "
            f"has {len(name)} characters, AWS allows {limit} ({source})",
        )
    ]


class Bootstrap(_Model):
    """The bootstrap stack: the state bucket and its key, and the registry of the task images."""

    account_id: AccountId
    region: Region
    name_prefix: Name
    state_bucket: BucketName
    # The bootstrap stack's output state_kms_key_arn, once it is applied: the environments' backends
    # send it with every state write, and the state bucket's policy accepts that key ARN only.
    state_kms_key_arn: KeyArn
    # Where the bootstrap stack keeps its own state: "local" for the first apply (the bucket does not
    # exist yet), then "s3" to keep it in the bucket (`terraform state push`, README: Deploying).
    bootstrap_state: Literal["local", "s3"] = "local"
    log_retention_days: RetentionDays
    tags: Tags

    def problems(self) -> list[tuple[tuple[str, ...], str]]:
        prefix = self.name_prefix
        found = _name_problems(
            "state_bucket",
            self.state_bucket,
            [("s3_bucket", naming.state_access_logs_bucket(self.state_bucket))],
        )
        found += _name_problems(
            "name_prefix",
            prefix,
            [
                ("iam_role", naming.api_gateway_logging_role(prefix)),
                ("ecr_repository", naming.registry_repository(prefix)),
            ],
        )
        return found + self._key_problems()

    def _key_problems(self) -> list[tuple[tuple[str, ...], str]]:
        arn = self.state_kms_key_arn.split(":")
        if (arn[3], arn[4]) != (self.region, self.account_id):
            return [
                (
                    ("state_kms_key_arn",),
                    f"must be a key of account {self.account_id} in {self.region} (got {arn[4]} in "
                    f"{arn[3]}); before the bootstrap stack's first apply, keep the placeholder key id "
                    f"with your account and region (arn:aws:kms:{self.region}:{self.account_id}:key/"
                    f"{PLACEHOLDER_KEY_ID}); the apply's output state_kms_key_arn then replaces it "
                    "(README, Deploying)",
                )
            ]
        return []

    @property
    def registry(self) -> str:
        """The ECR repository URL of the task images (created by the bootstrap stack)."""
        repository = naming.registry_repository(self.name_prefix)
        return f"{self.account_id}.dkr.ecr.{self.region}.amazonaws.com/{repository}"

    def state_key(self, environment: str) -> str:
        """Where an environment's (or the bootstrap stack's own) state lives in the state bucket."""
        return f"{environment}/terraform.tfstate"

    def backend(self, key: str) -> dict[str, Any]:
        """A stack's S3 backend ("Backend Type: s3"): the state bucket, S3 native locking, and the
        state key named by its ARN, which Terraform sends on every PutObject of the state and of its
        .tflock (the bucket policy accepts that key ARN only)."""
        return {
            "bucket": self.state_bucket,
            "key": key,
            "region": self.region,
            "encrypt": True,
            "kms_key_id": self.state_kms_key_arn,
            "use_lockfile": True,
        }


def load(name: str, directory: Path = ENVIRONMENTS_DIR) -> Settings:
    """Load and validate `<directory>/<name>.toml`."""
    path = directory / f"{name}.toml"
    settings = _load(path, Settings)
    problems = settings.problems()
    if settings.name != path.stem:
        problems.insert(0, (("name",), f"must equal the file name {path.stem!r} (got {settings.name!r})"))
    _raise(path, problems)
    return settings


def load_bootstrap(directory: Path = ENVIRONMENTS_DIR) -> Bootstrap:
    """Load and validate `<directory>/bootstrap.toml`."""
    path = directory / "bootstrap.toml"
    bootstrap = _load(path, Bootstrap)
    _raise(path, bootstrap.problems())
    return bootstrap


def check_against_bootstrap(
    settings: Settings, bootstrap: Bootstrap, directory: Path = ENVIRONMENTS_DIR
) -> None:
    """An environment uses the bootstrap's registry: Lambda pulls images only from its own account's
    ECR in its own Region ("Create a Lambda function using a container image")."""
    problems: list[tuple[tuple[str, ...], str]] = [
        ((key,), f"must equal bootstrap.toml's {key} {expected!r}: B3's image lives in its registry")
        for key, value, expected in (
            ("account_id", settings.account_id, bootstrap.account_id),
            ("region", settings.region, bootstrap.region),
        )
        if value != expected
    ]
    _raise(directory / f"{settings.name}.toml", problems)


def check_account_reservations(environments: Sequence[Settings], directory: Path = ENVIRONMENTS_DIR) -> None:
    """Reserved concurrency comes out of one pool per account and region, so the reservations of
    every environment deployed there count together against the quota ("Configuring reserved
    concurrency for a function": Lambda keeps 100 unreserved); each file alone may fit while all of
    them do not, and the last apply is refused."""
    for settings in environments:
        sharing = [
            other
            for other in environments
            if (other.account_id, other.region) == (settings.account_id, settings.region)
        ]
        total = sum(other.functions.reserved_concurrency.total() for other in sharing)
        allowed = settings.account.lambda_concurrency_quota - facts.MIN_UNRESERVED_CONCURRENCY
        if len(sharing) < 2 or total <= allowed or not settings.functions.reserved_concurrency.total():
            continue
        parts = ", ".join(f"{o.name} {o.functions.reserved_concurrency.total()}" for o in sharing)
        _raise(
            directory / f"{settings.name}.toml",
            [
                (
                    ("functions", "reserved_concurrency"),
                    f"the environments of account {settings.account_id} in {settings.region} reserve "
                    f"{total} concurrent executions together ({parts}), but Lambda keeps "
                    f"{facts.MIN_UNRESERVED_CONCURRENCY} of account.lambda_concurrency_quota "
                    f"({settings.account.lambda_concurrency_quota}) unreserved: at most {max(allowed, 0)} "
                    "(reserve less, or request a quota increase and declare it)",
                )
            ],
        )


def check_shared_pools(environments: Sequence[Settings], directory: Path = ENVIRONMENTS_DIR) -> None:
    """Two environments cannot add themselves to the same existing user pool: each creates the
    resource server `orchestra` and the groups `operators` and `viewers`, and Cognito allows one of
    each name per pool (CreateResourceServer: the identifier is unique in a pool; CreateGroup:
    GroupExistsException). The second apply would fail."""
    first: dict[str, str] = {}
    for settings in environments:
        auth = settings.auth
        if not isinstance(auth, ExistingAuth):
            continue
        if auth.user_pool_id in first:
            _raise(
                directory / f"{settings.name}.toml",
                [
                    (
                        ("auth", "user_pool_id"),
                        f"{auth.user_pool_id} is {first[auth.user_pool_id]}'s pool too: each environment "
                        "adds the resource server 'orchestra' and the groups 'operators' and 'viewers', "
                        "which a pool holds once; give each environment a pool of its own",
                    )
                ],
            )
        first[auth.user_pool_id] = settings.name


def load_toml(path: Path, model: type[M]) -> M:
    """Load one TOML file into `model`; errors name the file, line and key (SettingsError)."""
    return _load(path, model)


def raise_problems(path: Path, problems: list[tuple[tuple[str, ...], str]]) -> None:
    """Raise SettingsError naming the file, and each problem's line and key, if there are any."""
    _raise(path, problems)


def _raise(path: Path, problems: list[tuple[tuple[str, ...], str]]) -> None:
    if problems:
        text = path.read_text(encoding="utf-8")
        raise SettingsError(
            "\n".join(
                f"{_display(path)}:{_locate(text, key)}: {'.'.join(key)}: {message}"
                for key, message in problems
            )
        )


M = TypeVar("M", bound=BaseModel)


def _load(path: Path, model: type[M]) -> M:
    where = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError(f"{where}: no such settings file") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{where}: not valid TOML: {error}") from error
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise SettingsError("\n".join(_describe(path, text, issue) for issue in error.errors())) from error


def _describe(path: Path, text: str, issue: Any) -> str:
    # Drop the discriminator tag pydantic inserts into the location of tagged unions.
    loc = tuple(part for part in issue["loc"] if part not in ("create", "existing", "none"))
    key = ".".join(str(part) for part in loc) or "(file)"
    message = issue["msg"]
    if issue["type"] == "extra_forbidden":
        message = "unknown key (a typo?)"
    elif issue["type"] == "missing":
        message = "required key is missing"
    elif "input" in issue and not isinstance(issue["input"], dict):
        message = f"{message} (got {issue['input']!r})"
    return f"{_display(path)}:{_locate(text, loc)}: {key}: {message}"


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


_TABLE = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")


def _locate(text: str, loc: tuple[Any, ...]) -> int:
    """The line that defines `loc` (or the nearest enclosing table), for error messages."""
    names = [str(part) for part in loc if not isinstance(part, int)]
    best = 1
    table: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if header := _TABLE.match(line):
            table = [part.strip() for part in header.group(1).split(".")]
            if table == names[: len(table)]:  # a shorter `names` never equals its slice
                best = number
            continue
        if (key := _KEY.match(line)) and [*table, key.group(1)] == names[: len(table) + 1]:
            best = number
    return best
