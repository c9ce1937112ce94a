"""A deployment as the command line reaches it: its URLs, an access token, the REST API, the WebSocket.

Which deployment: an outputs file (`cdktf deploy --outputs-file`, or the one the local cloud writes,
`build/outputs.local.json`; its first stack unless --stack names one), or --api-url/--websocket-url.

Who is calling (the API and the WebSocket need an access token; docs/architecture.md, Sign-in):
ORCHESTRA_TOKEN if set; else a person with --user (or ORCHESTRA_USERNAME) and ORCHESTRA_PASSWORD,
signed in with USER_PASSWORD_AUTH on the stack's `cli` app client; else the `machine` client
(client credentials) with ORCHESTRA_MACHINE_CLIENT_SECRET. Against the local cloud, the local users'
passwords and the machine client's secret come from its endpoints file, so nothing needs setting.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import requests

DEFAULT_OUTPUTS = Path("build/outputs.local.json")
TERMINAL = ("SUCCESS", "FAILED", "CANCELLED")
TIMEOUT = 35.0  # the REST stage answers within 29 s (API Gateway's integration timeout)


class CliError(Exception):
    """What went wrong, in one sentence; `code` is the exit code (2: usage or input, 3: the deployment)."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


USAGE, REMOTE = 2, 3


@dataclass(frozen=True)
class Target:
    api_url: str
    websocket_url: str | None
    outputs: dict[str, Any]  # the stack's outputs ({} with --api-url)
    local: dict[str, Any] | None  # the local cloud's endpoints file, when there is one
    where: str  # how to name the deployment in messages

    @property
    def sign_in(self) -> bool:
        """Whether the deployment has sign-in (a user pool), as far as its outputs say."""
        return bool(self.outputs.get("user_pool_id")) or (
            self.local is not None and "oauth2_domain" in self.local
        )


def target(outputs: Path | None, stack: str | None, api_url: str | None, websocket_url: str | None) -> Target:
    if api_url:
        return Target(api_url.rstrip("/"), websocket_url, {}, None, api_url)
    path = outputs or DEFAULT_OUTPUTS
    if not path.is_file():
        if outputs is None:
            raise CliError(
                f"no deployment: {path} does not exist (start the local cloud with ./noxw -s local, "
                "or give --outputs FILE or --api-url URL)"
            )
        raise CliError(f"{path}: no such outputs file")
    try:
        document = json.loads(path.read_text())
    except ValueError as exc:
        raise CliError(f"{path}: not an outputs file (not JSON: {exc})") from None
    if (
        not isinstance(document, dict)
        or not document
        or not all(isinstance(v, dict) for v in document.values())
    ):
        raise CliError(f"{path}: not an outputs file ({{stack: {{output: value}}}})")
    if stack is not None and stack not in document:
        raise CliError(f"{path} has no stack {stack!r} (it has {', '.join(document)})")
    name = stack or next(iter(document))
    stack_outputs = document[name]
    if "api_url" not in stack_outputs:
        raise CliError(f"{path}: stack {name} has no api_url output")
    sidecar = path.with_name(path.name.removesuffix(".json") + ".endpoints.json")
    local = _endpoints(sidecar) if sidecar.is_file() else None
    return Target(
        str(stack_outputs["api_url"]).rstrip("/"),
        websocket_url or stack_outputs.get("websocket_url"),
        stack_outputs,
        local,
        f"{path} ({name})",
    )


def _endpoints(path: Path) -> dict[str, Any]:
    """The local cloud's endpoints file beside its outputs (users, the machine client, Cognito)."""
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        raise CliError(f"{path}: cannot be read: {exc.strerror}") from None
    except ValueError as exc:
        raise CliError(f"{path}: not the local cloud's endpoints file (not JSON: {exc})") from None
    if not isinstance(document, dict):
        raise CliError(f"{path}: not the local cloud's endpoints file")
    return document


# --- signing in ----------------------------------------------------------------------------------


@dataclass
class Credentials:
    """Gets an access token once (per command) for whoever the environment says is calling."""

    target: Target
    user: str | None
    env: dict[str, str]

    def token(self) -> str | None:
        if self.env.get("ORCHESTRA_TOKEN"):
            return self.env["ORCHESTRA_TOKEN"]
        if not self.target.sign_in:
            return None  # auth.mode = "none", or --api-url without a token: the API will say
        user = self.user or self.env.get("ORCHESTRA_USERNAME")
        return self._person(user) if user else self._machine()

    def _machine(self) -> str:
        local, outputs = self.target.local, self.target.outputs
        if local is not None:
            machine = local.get("machine_client")
            if not isinstance(machine, dict) or "oauth2_domain" not in local:
                raise CliError(f"{self.target.where}: the endpoints file names no machine client")
            client_id, secret = str(machine.get("client_id", "")), str(machine.get("client_secret", ""))
            domain = local["oauth2_domain"]
        else:
            secret = self.env.get("ORCHESTRA_MACHINE_CLIENT_SECRET", "")
            client_id, domain = str(outputs.get("machine_client_id") or ""), outputs.get("auth_domain")
            if not secret:
                raise CliError(
                    f"no access token for {self.target.where}: set ORCHESTRA_MACHINE_CLIENT_SECRET (the "
                    "machine client's secret), or sign in as a person with --user NAME and "
                    "ORCHESTRA_PASSWORD, or set ORCHESTRA_TOKEN"
                )
            if not client_id or not domain:
                raise CliError(f"{self.target.where} has no machine_client_id or auth_domain output")
        try:
            response = requests.post(
                f"{domain}/oauth2/token",
                data=urlencode({"grant_type": "client_credentials"}),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                auth=(client_id, secret),
                timeout=20,
            )
        except requests.RequestException as exc:
            raise CliError(f"cannot reach the token endpoint {domain}: {_reason(exc)}", REMOTE) from None
        if response.status_code != 200:
            raise CliError(
                f"the machine client could not sign in ({response.status_code} {_oauth_error(response)}): "
                "check ORCHESTRA_MACHINE_CLIENT_SECRET",
                REMOTE,
            )
        token = _json(response).get("access_token")
        if not isinstance(token, str):
            raise CliError(f"the token endpoint {domain} answered without an access_token", REMOTE)
        return token

    def _person(self, user: str) -> str:
        local, outputs = self.target.local, self.target.outputs
        password = self.env.get("ORCHESTRA_PASSWORD")
        if local is not None:
            # A local user by its username or its role (`--user viewer` is viewer@example.com).
            users = local.get("users", {})
            found = users.get(user) or next((u for u in users.values() if u["username"] == user), None)
            if found is not None:
                user, password = found["username"], password or found["password"]
            client_id, endpoint = local.get("user_pool_client_id"), local.get("cognito_idp")
        else:
            client_id = outputs.get("cli_client_id")
            region = str(outputs.get("user_pool_id", "")).split("_")[0]
            endpoint = f"https://cognito-idp.{region}.amazonaws.com"
        if not password:
            raise CliError(f"signing in as {user} needs ORCHESTRA_PASSWORD")
        if not client_id or not endpoint:
            raise CliError(f"{self.target.where} has no cli_client_id output: sign-in as a person is off")
        # Cognito's InitiateAuth (USER_PASSWORD_AUTH on a public client) is an unsigned JSON call.
        try:
            response = requests.post(
                f"{endpoint.rstrip('/')}/",
                json={
                    "AuthFlow": "USER_PASSWORD_AUTH",
                    "ClientId": client_id,
                    "AuthParameters": {"USERNAME": user, "PASSWORD": password},
                },
                headers={
                    "Content-Type": "application/x-amz-json-1.1",
                    "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
                },
                timeout=20,
            )
        except requests.RequestException as exc:
            raise CliError(f"cannot reach Cognito at {endpoint}: {_reason(exc)}", REMOTE) from None
        body = _json(response)
        if response.status_code != 200:
            message = body.get("message") or body.get("Message") or response.reason
            raise CliError(f"{user} could not sign in: {message}", REMOTE)
        result = body.get("AuthenticationResult")
        if not isinstance(result, dict):
            challenge = body.get("ChallengeName", "a challenge")
            raise CliError(
                f"{user} could not sign in: Cognito asks for {challenge}, which the CLI cannot answer"
            )
        return str(result["AccessToken"])


# --- the REST API --------------------------------------------------------------------------------


class Api:
    """The REST API as one caller. `renew` gets a new access token (the machine client's or a
    person's: they last `access_token_minutes`, 60 by default) when the API answers 401 to one that
    was accepted before; ORCHESTRA_TOKEN as given is never renewed."""

    def __init__(
        self,
        target: Target,
        token: str | None,
        sleep: Callable[[float], None] = time.sleep,
        renew: Callable[[], str | None] | None = None,
    ) -> None:
        self.target = target
        self.session = requests.Session()
        self.token: str | None = None
        self._use(token)
        self.sleep = sleep
        self.renew = renew
        self.accepted = False  # the API took this caller's token at least once
        self.last_status = 0

    def _use(self, token: str | None) -> None:
        self.token = token
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def renewed(self) -> bool:
        """Get a new token if this caller can; True if it did."""
        if self.renew is None or not self.accepted:
            return False
        self._use(self.renew())
        return True

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, **params: Any) -> Any:
        url = self.target.api_url + path
        query = {k: v for k, v in params.items() if v is not None}
        renewed = False
        for attempt in range(6):
            try:
                response = self.session.request(method, url, json=body, params=query, timeout=TIMEOUT)
            except requests.RequestException as exc:
                # A read is safe to repeat; a write is not sent again (its answer may have been lost).
                if method == "GET" and attempt < 2:
                    self.sleep(0.5 * 2**attempt)
                    continue
                hint = " (is the local cloud running? ./noxw -s local)" if self.target.local else ""
                raise CliError(f"cannot reach {self.target.api_url}: {_reason(exc)}{hint}", REMOTE) from None
            if response.status_code == 429:  # the stage's throttling: nothing ran; wait and try again
                self.sleep(0.25 * 2**attempt)
                continue
            if response.status_code in (502, 503, 504) and method == "GET" and attempt < 2:
                self.sleep(0.5 * 2**attempt)
                continue
            if response.status_code == 401 and not renewed and self.renewed():
                renewed = True  # the token expired during a long watch
                continue
            break
        if response.status_code >= 400:
            message = _api_error(method, path, response)
            if response.status_code == 401 and not self.token:
                message += " (no token was sent: set ORCHESTRA_TOKEN, or give --outputs so the CLI signs in)"
            raise CliError(message, REMOTE)
        self.accepted = True
        self.last_status = response.status_code  # POST /workflows: 201 created, 200 it existed
        return _json(response)

    def workflow(self, workflow_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/workflows/{quote(workflow_id, safe='')}"))


def _api_error(method: str, path: str, response: requests.Response) -> str:
    body = _json(response)
    code, message = body.get("error"), body.get("message") or body.get("Message") or response.reason
    status = response.status_code
    if status == 401:
        return f"the API refused the access token (401): {message}: it is missing, malformed or expired"
    if status == 403:
        # The API says who the caller is and who may (engine.auth): e.g. "viewer@example.com (viewer)
        # may not operate: operators may".
        return f"not allowed (403): {message}"
    details = body.get("details") or []
    extra = "; ".join(f"{d.get('field')}: {d.get('message')}" for d in details[:3] if isinstance(d, dict))
    shown = f"{message} ({extra})" if extra and extra not in str(message) else str(message)
    return f"{method} {path}: {status} {code or response.reason}: {shown}"


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {"items": body}


def _oauth_error(response: requests.Response) -> str:
    body = _json(response)
    return str(body.get("error") or response.reason)


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "Max retries exceeded"):
        if marker in text:
            return marker.lower() if marker != "Max retries exceeded" else "connection failed"
    return text.splitlines()[0][:200]


def environment() -> dict[str, str]:
    return dict(os.environ)
