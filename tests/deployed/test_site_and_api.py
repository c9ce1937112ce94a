"""The site as browsers get it, and the REST API's edges: CORS, bad input, unknown routes."""

from __future__ import annotations

import re

import pytest
import requests

from tests.cloud import Api, Deployment


def site(deployment: Deployment, path: str, **kwargs: object) -> requests.Response:
    return requests.get(deployment.dashboard_url + path, timeout=20, **kwargs)  # type: ignore[arg-type]


class TestSite:
    def test_index_html_hashed_assets_and_config_js(self, deployment: Deployment) -> None:
        index = site(deployment, "/")
        assert index.status_code == 200
        assert index.headers["Content-Type"].startswith("text/html")
        assert "no-cache" in index.headers["Cache-Control"]
        assets = sorted(set(re.findall(r"/assets/[\w.-]+\.(?:js|css)", index.text)))
        assert assets, "index.html references its hashed assets"
        for path in assets:
            response = site(deployment, path)
            assert response.status_code == 200, path
            expected = "text/javascript" if path.endswith(".js") else "text/css"
            assert response.headers["Content-Type"].startswith(expected)
            assert "immutable" in response.headers["Cache-Control"]
        config = site(deployment, "/config.js")
        assert config.status_code == 200
        assert f"window.API_BASE = '{deployment.api_url}'" in config.text
        assert f"window.WEBSOCKET_URL = '{deployment.websocket_url}'" in config.text

    def test_deep_links_get_the_app(self, deployment: Deployment) -> None:
        response = site(deployment, "/workflows/wf-anything")
        assert response.status_code == 200
        assert response.text == site(deployment, "/index.html").text

    def test_security_headers(self, deployment: Deployment) -> None:
        headers = site(deployment, "/").headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert "connect-src" in headers["Content-Security-Policy"]


class TestApiEdges:
    def test_cors_preflight_from_the_dashboard(self, api: Api) -> None:
        response = api.request(
            "OPTIONS",
            "/workflows",
            headers={
                "Origin": api.origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert response.status_code in (200, 204)
        assert response.headers["Access-Control-Allow-Origin"] == api.origin
        assert "POST" in response.headers.get("Access-Control-Allow-Methods", "")

    def test_another_origin_is_not_allowed(self, api: Api) -> None:
        response = api.request("GET", "/definitions", headers={"Origin": "https://evil.example"})
        assert response.headers.get("Access-Control-Allow-Origin") != "https://evil.example"

    @pytest.mark.parametrize(
        ("method", "path", "kwargs", "status", "code"),
        [
            (
                "POST",
                "/workflows",
                {"data": "{not json", "headers": {"Content-Type": "application/json"}},
                400,
                "invalid_json",
            ),
            ("POST", "/workflows", {"json": {"workflowId": "no spaces allowed"}}, 400, "validation_error"),
            (
                "POST",
                "/workflows",
                {
                    "data": '{"input": ' + "[" * 10_000 + "]" * 10_000 + "}",
                    "headers": {"Content-Type": "application/json"},
                },
                400,
                "validation_error",
            ),
            ("POST", "/workflows", {"json": {"definition": "no-such-definition"}}, 400, "invalid_definition"),
            (
                "POST",
                "/workflows",
                {"data": "x=1", "headers": {"Content-Type": "text/plain"}},
                415,
                "unsupported_media_type",
            ),
            ("GET", "/workflows/wf-does-not-exist", {}, 404, "not_found"),
            ("GET", "/workflows?status=BOGUS", {}, 400, "validation_error"),
            ("DELETE", "/workflows", {}, 405, "method_not_allowed"),
        ],
    )
    def test_bad_input_is_a_4xx_with_a_json_error(
        self, api: Api, method: str, path: str, kwargs: dict[str, object], status: int, code: str
    ) -> None:
        response = api.request(method, path, **kwargs)
        assert response.status_code == status, response.text
        body = response.json()
        assert body["error"] == code
        assert isinstance(body["message"], str) and body["message"]

    def test_a_path_outside_the_stage_is_a_json_403(self, deployment: Deployment) -> None:
        base = deployment.api_url.rsplit("/", 1)[0]
        response = requests.get(base + "/nostage/workflows", timeout=20)
        assert response.status_code == 403
        assert response.json()["error"] == "MISSING_AUTHENTICATION_TOKEN"
