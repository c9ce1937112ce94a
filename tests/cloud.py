"""The deployment under test, shared by tests/deployed and tests/e2e (a pytest plugin: each suite's
conftest lists it in `pytest_plugins`).

By default the session starts the local cloud once (`python -m localcloud up --stack dev`) and
reads the outputs it writes. `--outputs FILE` points the same tests at any deployment's
`cdktf deploy --outputs-file` output instead (AWS SDK calls then use the usual AWS environment:
credentials, region). Tests that need the local cloud's own control API (fault injection, dropped
WebSocket connections) take the `local_only` fixture: they are skipped, with the reason shown,
when the outputs belong to a real deployment.

Signing in: `SignIn` gets access tokens for the roles the tests use — `operator` and `viewer`
(people: InitiateAuth USER_PASSWORD_AUTH on the `cli` app client, through boto3's `cognito-idp`
client) and `machine` / `machine-read` (client credentials on the OAuth2 domain, with both scopes
or `orchestra/read` only). Against the local cloud the users, their passwords and the machine
client's secret come from its endpoints file; against a real deployment from the environment:
ORCHESTRA_OPERATOR_USERNAME / ORCHESTRA_OPERATOR_PASSWORD, ORCHESTRA_VIEWER_USERNAME /
ORCHESTRA_VIEWER_PASSWORD and ORCHESTRA_MACHINE_CLIENT_SECRET (client ids and the domain are
outputs). A role whose credentials are missing fails the tests that need it, naming the variables.

Also here: the REST API client and retrying for eventual consistency (terratest's
retry.DoWithRetry, in Python).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import boto3
import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 120.0
TERMINAL = {"SUCCESS", "FAILED", "CANCELLED"}

T = TypeVar("T")


# --- retrying ---------------------------------------------------------------------------------


class NotYet(AssertionError):
    """Raised by a check that should be retried."""


def eventually(check: Callable[[], T], *, timeout: float = 60.0, interval: float = 0.5, what: str = "") -> T:
    """Call `check` until it returns without raising AssertionError; return its value. After
    `timeout` seconds the last failure is raised, prefixed with `what`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError as exc:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{what or check.__name__}: still failing after {timeout:.0f}s: {exc}"
                ) from exc
        time.sleep(interval)


# --- the deployment and its REST API ----------------------------------------------------------


@dataclass
class Deployment:
    outputs: dict[str, Any]
    local: dict[str, Any] | None  # the local cloud's endpoints; None for a real deployment
    clients: dict[str, Any]
    outputs_file: Path | None = None  # what the `orchestra` command line is pointed at (--outputs)
    stack: str = "dev"

    def __post_init__(self) -> None:
        self.sign_in = SignIn(self.outputs, self.local)

    def token(self, role: str = "operator") -> str:
        return self.sign_in.token(role)

    def websocket_url_as(self, role: str | None = "operator") -> str:
        """The WebSocket URL with a role's access token (browsers cannot send headers), or bare."""
        if role is None or not self.sign_in.enabled:
            return self.websocket_url
        return f"{self.websocket_url}?{urlencode({'token': self.token(role)})}"

    @property
    def is_local(self) -> bool:
        return self.local is not None

    @property
    def api_url(self) -> str:
        return str(self.outputs["api_url"]).rstrip("/")

    @property
    def websocket_url(self) -> str:
        return str(self.outputs["websocket_url"])

    @property
    def dashboard_url(self) -> str:
        return str(self.outputs["dashboard_url"]).rstrip("/")

    def function_name(self, role: str) -> str:
        return str(self.outputs["function_names"][role])

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """The local cloud's own control API (local only: stats, fault injection, dropping
        WebSocket connections). A body makes it a POST."""
        assert self.local is not None
        url = f"{self.local['control']}/{path}"
        response = (
            requests.post(url, json=body, timeout=10) if body is not None else requests.get(url, timeout=10)
        )
        response.raise_for_status()
        return response.json()


class Api:
    """The REST API, as one caller (a bearer token, or none). Retries only what a client must
    retry: 429 from the stage's throttling."""

    def __init__(self, base: str, origin: str, token: str | None = None) -> None:
        self.base = base
        self.origin = origin
        self.session = requests.Session()
        if token is not None:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 35)
        for attempt in range(8):
            response = self.session.request(method, self.base + path, **kwargs)
            if response.status_code != 429:
                return response
            time.sleep(0.2 * 2**attempt)
        return response

    def create(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        body = {"workflowId": f"wf-test-{uuid.uuid4().hex[:12]}", **(body or {})}
        response = self.request("POST", "/workflows", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def get(self, workflow_id: str) -> dict[str, Any]:
        response = self.request("GET", f"/workflows/{workflow_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait(self, workflow_id: str, statuses: set[str] = TERMINAL, timeout: float = 90) -> dict[str, Any]:
        def reached() -> dict[str, Any]:
            workflow = self.get(workflow_id)
            if workflow["status"] not in statuses:
                raise NotYet(f"{workflow_id} is {workflow['status']}")
            return workflow

        return eventually(
            reached, timeout=timeout, interval=0.3, what=f"{workflow_id} reaching {sorted(statuses)}"
        )


# --- signing in -------------------------------------------------------------------------------

ROLES = ("operator", "viewer", "machine", "machine-read")
MACHINE_SCOPES = {"machine": "orchestra/read orchestra/operate", "machine-read": "orchestra/read"}


@dataclass
class SignIn:
    """Access tokens for the test roles, fetched once each per session."""

    outputs: dict[str, Any]
    local: dict[str, Any] | None
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return "user_pool_id" in self.outputs

    def token(self, role: str) -> str:
        if role not in self.tokens:
            self.tokens[role] = self._machine(role) if role in MACHINE_SCOPES else self._person(role)
        return self.tokens[role]

    def user(self, role: str) -> dict[str, str]:
        """A person's username and password (the local cloud's, or from the environment)."""
        if self.local is not None:
            return dict(self.local["users"][role])
        names = (f"ORCHESTRA_{role.upper()}_USERNAME", f"ORCHESTRA_{role.upper()}_PASSWORD")
        missing = [n for n in names if not os.environ.get(n)]
        if missing:
            pytest.fail(f"signing in as {role} needs {' and '.join(missing)}", pytrace=False)
        return {"username": os.environ[names[0]], "password": os.environ[names[1]]}

    def _person(self, role: str) -> str:
        return str(self.initiate_auth(role)["AccessToken"])

    def initiate_auth(self, role: str) -> dict[str, Any]:
        """InitiateAuth USER_PASSWORD_AUTH as a person: Cognito's AuthenticationResult."""
        user = self.user(role)
        username, password = user["username"], user["password"]
        if self.local is not None:
            client = self.local["user_pool_client_id"]
            idp = boto3.client(
                "cognito-idp",
                endpoint_url=self.local["cognito_idp"],
                region_name=self.local["region"],
                aws_access_key_id="none",
                aws_secret_access_key="none",
            )
        else:
            client = self.outputs["cli_client_id"]
            idp = boto3.client("cognito-idp", region_name=str(self.outputs["user_pool_id"]).split("_")[0])
        answer = idp.initiate_auth(
            ClientId=client,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
        return authentication_result(answer, role, username)

    def _machine(self, role: str) -> str:
        if self.local is not None:
            client_id = self.local["machine_client"]["client_id"]
            secret = self.local["machine_client"]["client_secret"]
            domain = self.local["oauth2_domain"]
        else:
            secret = os.environ.get("ORCHESTRA_MACHINE_CLIENT_SECRET", "")
            if not secret:
                pytest.fail(f"a {role} token needs ORCHESTRA_MACHINE_CLIENT_SECRET", pytrace=False)
            client_id, domain = self.outputs["machine_client_id"], self.outputs["auth_domain"]
        response = requests.post(
            f"{domain}/oauth2/token",
            data=urlencode({"grant_type": "client_credentials", "scope": MACHINE_SCOPES[role]}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            auth=(client_id, secret),
            timeout=20,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])


def authentication_result(answer: dict[str, Any], role: str, username: str) -> dict[str, Any]:
    """The tokens of an InitiateAuth answer, or a failure saying what the account needs: Cognito
    answers a challenge instead when the password is an administrator's temporary one
    (admin-create-user: NEW_PASSWORD_REQUIRED) or the user must pass MFA."""
    if "AuthenticationResult" in answer:
        return dict(answer["AuthenticationResult"])
    challenge = answer.get("ChallengeName", "a challenge")
    pytest.fail(
        f"signing in as {role} ({username}): Cognito answered {challenge}, not tokens. A test "
        "account needs a permanent password and no MFA: aws cognito-idp admin-set-user-password "
        f"--user-pool-id <user_pool_id> --username {username} --password ... --permanent",
        pytrace=False,
    )


# --- the plugin: options and fixtures ---------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("deployment")
    group.addoption("--outputs", type=Path, help="outputs file of a deployment (cdktf --outputs-file format)")
    group.addoption("--stack", default="dev", help="stack to run locally, or to read from the outputs file")
    group.addoption(
        "--dispatch",
        choices=("writer", "stream"),
        help="run the local cloud in this dispatch mode (default: the stack's orchestration.dispatch)",
    )


def _local_endpoints(outputs: Path) -> dict[str, Any] | None:
    """The endpoints a running local cloud writes beside its outputs file (None for AWS)."""
    sidecar = outputs.with_name(outputs.name.removesuffix(".json") + ".endpoints.json")
    return json.loads(sidecar.read_text()) if sidecar.exists() else None


def _read(outputs: Path, stack: str) -> dict[str, Any]:
    document = json.loads(outputs.read_text())
    if stack in document:
        return dict(document[stack])
    if len(document) == 1:
        return dict(next(iter(document.values())))
    raise pytest.UsageError(f"{outputs} has stacks {sorted(document)}; pick one with --stack")


def _clients(local: dict[str, Any] | None) -> dict[str, Any]:
    def client(service: str) -> Any:
        if local is None:
            return boto3.client(service)
        url = {
            "dynamodb": local["dynamodb"],
            "dynamodbstreams": local["dynamodb"],
            "lambda": local["lambda"],
        }.get(service, local["sqs"])
        credentials = local["credentials"]
        return boto3.client(
            service,
            endpoint_url=url,
            region_name=local["region"],
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
        )

    return {service: client(service) for service in ("dynamodb", "dynamodbstreams", "sqs", "lambda")}


@pytest.fixture(scope="session")
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    stack = request.config.getoption("--stack")
    given: Path | None = request.config.getoption("--outputs")
    if given is not None:
        local = _local_endpoints(given)
        yield Deployment(_read(given, stack), local, _clients(local), given, stack)
        return
    work = tmp_path_factory.mktemp("localcloud")
    outputs = work / "outputs.json"
    log_path = work / "localcloud.log"
    dispatch = request.config.getoption("--dispatch")
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "localcloud",
                "up",
                "--stack",
                stack,
                "--outputs",
                str(outputs),
                *(["--dispatch", dispatch] if dispatch else []),
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not outputs.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the local cloud did not start:\n{log_path.read_text()}", pytrace=False)
            time.sleep(0.2)
        local = _local_endpoints(outputs)
        yield Deployment(_read(outputs, stack), local, _clients(local), outputs, stack)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture(scope="session")
def api(deployment: Deployment) -> Api:
    """The REST API as an operator (who may do everything)."""
    token = deployment.token("operator") if deployment.sign_in.enabled else None
    return Api(deployment.api_url, origin=deployment.dashboard_url, token=token)


@pytest.fixture(scope="session")
def api_as(deployment: Deployment) -> Callable[[str | None], Api]:
    """The REST API as a role (`operator`, `viewer`, `machine`, `machine-read`), or with no token."""

    def make(role: str | None) -> Api:
        token = deployment.token(role) if role is not None else None
        return Api(deployment.api_url, origin=deployment.dashboard_url, token=token)

    return make


@pytest.fixture
def local_only(deployment: Deployment) -> Deployment:
    if not deployment.is_local:
        pytest.skip("needs the local cloud's control API; --outputs points at a real deployment")
    return deployment
