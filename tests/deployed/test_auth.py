"""Sign-in and permissions: the 401/403/200 matrix of every route for both people's roles and a
machine's token, and the WebSocket handshake with and without a valid token."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
import requests
from support import Listener
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.cloud import Api, Deployment, eventually

ROLES = ("operator", "viewer", "machine", "machine-read")
OPERATORS = {"operator", "machine"}  # may operate; the others read only


@pytest.fixture(scope="module", autouse=True)
def signed_in(deployment: Deployment) -> None:
    if not deployment.sign_in.enabled:
        pytest.fail("this deployment has no sign-in (auth.mode = 'none'): nothing here can pass")


@pytest.fixture(scope="module")
def running(api: Api) -> Callable[[], str]:
    """Makes a workflow that stays RUNNING for a while (cancellable)."""

    def make() -> str:
        created = api.create({"input": {"simulate": {"A": {"sleep_ms": 20_000}}}})
        return str(created["workflow_id"])

    return make


@pytest.fixture(scope="module")
def failed(api: Api) -> Callable[[], str]:
    """Makes a FAILED workflow (retryable)."""

    def make() -> str:
        created = api.create(
            {
                "definition": {"tasks": [{"id": "A", "function": "task-a", "retry": {"max_attempts": 1}}]},
                "input": {"simulate": {"A": {"fail_attempts": 9}}},
            }
        )
        api.wait(created["workflow_id"])
        return str(created["workflow_id"])

    return make


def _refused(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code, body
    assert body["message"], body


class TestReadRoutes:
    @pytest.mark.parametrize("role", ROLES)
    @pytest.mark.parametrize("path", ["/workflows", "/workflows?status=SUCCESS", "/definitions"])
    def test_every_role_reads(self, api_as: Callable[[str | None], Api], role: str, path: str) -> None:
        response = api_as(role).request("GET", path)
        assert response.status_code == 200, response.text

    @pytest.mark.parametrize("role", ROLES)
    def test_every_role_reads_a_workflow(
        self, api: Api, api_as: Callable[[str | None], Api], role: str
    ) -> None:
        workflow_id = api.create()["workflow_id"]
        response = api_as(role).request("GET", f"/workflows/{workflow_id}")
        assert response.status_code == 200, response.text
        assert response.json()["workflow_id"] == workflow_id


class TestOperateRoutes:
    @pytest.mark.parametrize("role", ROLES)
    def test_start(self, api_as: Callable[[str | None], Api], role: str) -> None:
        response = api_as(role).request("POST", "/workflows", json={})
        if role in OPERATORS:
            assert response.status_code == 201, response.text
        else:
            _refused(response, 403, "forbidden")

    @pytest.mark.parametrize("role", ROLES)
    def test_cancel(self, api_as: Callable[[str | None], Api], running: Callable[[], str], role: str) -> None:
        response = api_as(role).request("POST", f"/workflows/{running()}/cancel")
        if role in OPERATORS:
            assert response.status_code == 200, response.text
            assert response.json()["status"] == "CANCELLED"
        else:
            _refused(response, 403, "forbidden")

    @pytest.mark.parametrize("role", ROLES)
    def test_retry(self, api_as: Callable[[str | None], Api], failed: Callable[[], str], role: str) -> None:
        response = api_as(role).request("POST", f"/workflows/{failed()}/retry")
        if role in OPERATORS:
            assert response.status_code == 200, response.text
            assert response.json()["status"] == "RUNNING"
        else:
            _refused(response, 403, "forbidden")


ROUTES = [
    ("GET", "/workflows"),
    ("POST", "/workflows"),
    ("GET", "/workflows/wf-any"),
    ("POST", "/workflows/wf-any/cancel"),
    ("POST", "/workflows/wf-any/retry"),
    ("GET", "/definitions"),
]


class TestWithoutAValidToken:
    @pytest.mark.parametrize(("method", "path"), ROUTES)
    def test_no_token_is_a_401_with_the_json_error_body(
        self, api_as: Callable[[str | None], Api], method: str, path: str
    ) -> None:
        response = api_as(None).request(method, path, json={} if method == "POST" else None)
        _refused(response, 401, "unauthorized")
        assert response.headers.get("Access-Control-Allow-Origin") == api_as(None).origin

    @pytest.mark.parametrize(("method", "path"), ROUTES)
    @pytest.mark.parametrize("token", ["not-a-jwt", "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl"])
    def test_a_malformed_token_is_a_401(
        self, deployment: Deployment, method: str, path: str, token: str
    ) -> None:
        response = Api(deployment.api_url, deployment.dashboard_url, token).request(method, path)
        _refused(response, 401, "unauthorized")

    def test_a_token_with_a_forged_claim_is_a_401(self, deployment: Deployment) -> None:
        header, payload, signature = deployment.token("viewer").split(".")
        claims = json.loads(_b64decode(payload))
        claims["cognito:groups"] = ["operators"]
        forged = ".".join([header, _b64encode(json.dumps(claims).encode()), signature])
        response = Api(deployment.api_url, deployment.dashboard_url, forged).request(
            "POST", "/workflows", json={}
        )
        _refused(response, 401, "unauthorized")

    def test_an_expired_token_is_a_401_saying_so(self, local_only: Deployment) -> None:
        expired = local_only.control("cognito/expired-token", {"user": "operator"})["access_token"]
        response = Api(local_only.api_url, local_only.dashboard_url, expired).request("GET", "/workflows")
        _refused(response, 401, "unauthorized")
        assert "expired" in response.json()["message"]

    def test_an_id_token_is_not_an_access_token(self, deployment: Deployment) -> None:
        # Without authorization scopes API Gateway would take it; the methods have scopes.
        token = deployment.sign_in.initiate_auth("operator")["IdToken"]
        response = Api(deployment.api_url, deployment.dashboard_url, token).request("GET", "/workflows")
        _refused(response, 401, "unauthorized")


class TestPublic:
    def test_the_openapi_document_needs_no_token_and_declares_the_scheme(
        self, api_as: Callable[[str | None], Api]
    ) -> None:
        response = api_as(None).request("GET", "/openapi.json")
        assert response.status_code == 200, response.text
        document = response.json()
        assert document["components"]["securitySchemes"]["cognito"]["scheme"] == "bearer"
        create = document["paths"]["/workflows"]["post"]["responses"]
        assert "401" in create and "403" in create
        assert "403" not in document["paths"]["/workflows"]["get"]["responses"]

    def test_a_cors_preflight_needs_no_token_and_allows_the_authorization_header(
        self, api_as: Callable[[str | None], Api]
    ) -> None:
        anonymous = api_as(None)
        response = anonymous.request(
            "OPTIONS",
            "/workflows",
            headers={
                "Origin": anonymous.origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert response.status_code in (200, 204), response.text
        assert "authorization" in response.headers.get("Access-Control-Allow-Headers", "").lower()


class TestWebSocketHandshake:
    @pytest.mark.parametrize(
        ("token", "status"),
        [(None, 401), ("", 401), ("not-a-jwt", 401), ("eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl", 401)],
    )
    def test_refused_without_a_valid_token(
        self, deployment: Deployment, token: str | None, status: int
    ) -> None:
        url = deployment.websocket_url if token is None else f"{deployment.websocket_url}?token={token}"
        with pytest.raises(InvalidStatus) as refused, connect(url, open_timeout=30):
            pass
        assert refused.value.response.status_code == status

    def test_refused_with_an_expired_token(self, local_only: Deployment) -> None:
        expired = local_only.control("cognito/expired-token", {"user": "viewer"})["access_token"]
        with (
            pytest.raises(InvalidStatus) as refused,
            connect(f"{local_only.websocket_url}?token={expired}", open_timeout=30),
        ):
            pass
        assert refused.value.response.status_code == 401

    @pytest.mark.parametrize("role", ROLES)
    def test_every_role_that_reads_may_connect(self, deployment: Deployment, role: str) -> None:
        with connect(deployment.websocket_url_as(role), open_timeout=30) as websocket:
            websocket.close()

    def test_a_viewer_hears_updates_but_cannot_change_anything(
        self, deployment: Deployment, api: Api, api_as: Callable[[str | None], Api]
    ) -> None:
        viewer = api_as("viewer")
        with Listener(deployment.websocket_url_as("viewer")) as listener:
            workflow_id = api.create()["workflow_id"]
            eventually(
                lambda: _finished(listener, workflow_id), timeout=60, what="the viewer hears the workflow"
            )
            for method, path in [
                ("POST", "/workflows"),
                ("POST", f"/workflows/{workflow_id}/cancel"),
                ("POST", f"/workflows/{workflow_id}/retry"),
            ]:
                _refused(viewer.request(method, path, json={}), 403, "forbidden")
            # The WebSocket carries no commands: a viewer's messages change nothing either.
            listener.send({"action": "cancel", "workflow_id": workflow_id})
            eventually(lambda: _replied_with(listener, "unknown_action"), timeout=20, what="a refusal")
        assert api.get(workflow_id)["status"] == "SUCCESS"


def _finished(listener: Listener, workflow_id: str) -> None:
    statuses = [u.message["data"]["status"] for u in listener.updates(workflow_id)]
    assert "SUCCESS" in statuses, statuses


def _replied_with(listener: Listener, error: str) -> None:
    assert error in [r.get("error") for r in listener.replies()], listener.replies()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
