"""The site: the stack's objects served as CloudFront serves them from S3."""

from __future__ import annotations

import gzip

import pytest
import requests

from local_cloud.harness import Running
from local_cloud.stacks import SITE_FILES


def get(running: Running, path: str, method: str = "GET", **kwargs: object) -> requests.Response:
    return requests.request(method, running.outputs["dashboard_url"] + path, timeout=10, **kwargs)  # type: ignore[arg-type]


class TestObjects:
    def test_the_root_is_the_default_root_object(self, running: Running) -> None:
        response = get(running, "/")
        assert response.status_code == 200
        assert response.text == SITE_FILES["index.html"][0]
        assert response.headers["Content-Type"] == "text/html"
        assert response.headers["Cache-Control"] == "no-cache"

    def test_a_hashed_asset_with_its_type_and_long_caching(self, running: Running) -> None:
        response = get(running, "/assets/app-abc123.js")
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/javascript"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["ETag"]

    def test_compressed_when_the_browser_accepts_it(self, running: Running) -> None:
        response = get(running, "/assets/app-abc123.js", headers={"Accept-Encoding": "gzip"}, stream=True)
        assert response.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(response.raw.read()).decode() == SITE_FILES["assets/app-abc123.js"][0]

    def test_config_js_points_at_the_local_api_and_websocket(self, running: Running) -> None:
        response = get(running, "/config.js")
        assert response.headers["Content-Type"] == "application/javascript"
        assert response.text == (
            f"window.API_BASE = '{running.outputs['api_url']}'; "
            f"window.WEBSOCKET_URL = '{running.outputs['websocket_url']}';"
        )

    def test_the_content_security_policy_names_the_local_apis(self, running: Running) -> None:
        # The stack allows https://*.execute-api... and wss://*.execute-api...: every API, locally.
        csp = get(running, "/").headers["Content-Security-Policy"]
        api = running.outputs["api_url"].removesuffix("/prod")
        websocket = running.outputs["websocket_url"].removesuffix("/prod")
        assert f"connect-src 'self' {api} " in csp
        assert csp.endswith(websocket)

    def test_an_ordered_behavior_decides_for_its_path(self, running: Running) -> None:
        # /config.js has its own behavior: GET and HEAD only (the default one allows OPTIONS too).
        assert get(running, "/config.js", method="OPTIONS").status_code == 403
        assert get(running, "/index.html", method="OPTIONS").status_code != 403

    def test_the_response_headers_policy_applies(self, running: Running) -> None:
        headers = get(running, "/").headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        assert "CloudFront" in headers["Via"]


class TestSpaFallback:
    @pytest.mark.parametrize("path", ["/workflows/wf-1", "/definitions", "/assets/missing.js"])
    def test_unknown_paths_get_index_html_with_200(self, running: Running, path: str) -> None:
        response = get(running, path)
        assert response.status_code == 200
        assert response.text == SITE_FILES["index.html"][0]

    def test_a_reloaded_deep_link_gets_the_whole_page_not_a_bodiless_200(self, running: Running) -> None:
        # The browser revalidates with index.html's ETag; the URL it reloads is not index.html, so
        # CloudFront answers the error page in full.
        etag = get(running, "/index.html").headers["ETag"]
        response = get(running, "/workflows/wf-1", headers={"If-None-Match": etag})
        assert response.status_code == 200
        assert response.text == SITE_FILES["index.html"][0]


class TestHttp:
    def test_head_has_headers_and_no_body(self, running: Running) -> None:
        response = get(running, "/index.html", method="HEAD")
        assert response.status_code == 200 and response.content == b""
        assert response.headers["Content-Length"] == str(len(SITE_FILES["index.html"][0]))

    def test_a_matching_etag_is_not_modified(self, running: Running) -> None:
        etag = get(running, "/index.html").headers["ETag"]
        assert get(running, "/index.html", headers={"If-None-Match": etag}).status_code == 304

    def test_methods_the_behavior_does_not_allow_are_refused(self, running: Running) -> None:
        assert get(running, "/index.html", method="POST").status_code == 403
