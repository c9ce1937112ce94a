"""The site module: private bucket, CloudFront with origin access control, uploads and config.js."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from modules.site import CACHING_DISABLED, CACHING_OPTIMIZED, DashboardAuth, config_js
from tests.infra.conftest import Stack, named, only, policy, ref, resources

DIST = Path(__file__).parents[2] / "dashboard" / "dist"


class TestDistribution:
    def test_private_origin_through_origin_access_control(self, env_stack: Stack) -> None:
        distribution = only(env_stack, "aws_cloudfront_distribution")
        (origin,) = distribution["origin"]
        oac, body = named(env_stack, "aws_cloudfront_origin_access_control", "site/origin_access")
        assert origin["origin_access_control_id"] == ref("aws_cloudfront_origin_access_control", oac, "id")
        assert (body["signing_behavior"], body["signing_protocol"]) == ("always", "sigv4")
        bucket, _ = named(env_stack, "aws_s3_bucket", "site/bucket")
        assert origin["domain_name"] == ref("aws_s3_bucket", bucket, "bucket_regional_domain_name")

    def test_bucket_lets_only_this_distribution_read(self, env_stack: Stack) -> None:
        _, bucket_policy = named(env_stack, "aws_s3_bucket_policy", "site/bucket/policy")
        distribution, _ = named(env_stack, "aws_cloudfront_distribution", "site/distribution")
        statements = {s["Sid"]: s for s in policy(bucket_policy)["Statement"]}
        read = statements["CloudFrontReadsThroughOriginAccessControl"]
        assert (
            read["Principal"] == {"Service": "cloudfront.amazonaws.com"} and read["Action"] == "s3:GetObject"
        )
        assert read["Condition"] == {
            "StringEquals": {"AWS:SourceArn": ref("aws_cloudfront_distribution", distribution, "arn")}
        }
        assert "DenyInsecureTransport" in statements and "DenyOtherKmsKey" in statements
        _, block = named(env_stack, "aws_s3_bucket_public_access_block", "site/bucket/public_access_block")
        assert block["restrict_public_buckets"] is True

    def test_https_only_and_spa_fallback(self, env_stack: Stack) -> None:
        distribution = only(env_stack, "aws_cloudfront_distribution")
        assert distribution["default_root_object"] == "index.html"
        behaviours = [distribution["default_cache_behavior"], *distribution["ordered_cache_behavior"]]
        assert {b["viewer_protocol_policy"] for b in behaviours} == {"redirect-to-https"}
        fallback = {e["error_code"]: e for e in distribution["custom_error_response"]}
        assert set(fallback) == {403, 404}
        for error in fallback.values():
            assert (error["response_code"], error["response_page_path"]) == (200, "/index.html")

    def test_hashed_assets_cached_long_index_and_config_not_at_all(self, env_stack: Stack) -> None:
        distribution = only(env_stack, "aws_cloudfront_distribution")
        assert distribution["default_cache_behavior"]["cache_policy_id"] == CACHING_OPTIMIZED
        uncached = {b["path_pattern"]: b["cache_policy_id"] for b in distribution["ordered_cache_behavior"]}
        assert uncached == {"/index.html": CACHING_DISABLED, "/config.js": CACHING_DISABLED}

    def test_security_headers(self, env_stack: Stack) -> None:
        headers = only(env_stack, "aws_cloudfront_response_headers_policy")["security_headers_config"]
        assert headers["strict_transport_security"]["access_control_max_age_sec"] >= 31536000
        assert headers["frame_options"]["frame_option"] == "DENY"
        assert headers["content_type_options"]["override"] is True
        csp = headers["content_security_policy"]["content_security_policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "wss://*.execute-api.eu-central-1.amazonaws.com" in csp
        for behaviour in [only(env_stack, "aws_cloudfront_distribution")["default_cache_behavior"]]:
            assert behaviour["response_headers_policy_id"].startswith(
                "${aws_cloudfront_response_headers_policy."
            )


class TestUploads:
    def test_every_dist_file_is_uploaded_with_type_hash_and_cache_control(self, env_stack: Stack) -> None:
        objects = {o["key"]: o for o in resources(env_stack, "aws_s3_object").values()}
        built = {
            str(p.relative_to(DIST)): p for p in DIST.rglob("*") if p.is_file() and p.name != "config.js"
        }
        assert set(objects) == {*built, "config.js"}
        for key, path in built.items():
            uploaded = objects[key]
            assert uploaded["source_hash"] == hashlib.sha256(path.read_bytes()).hexdigest()
            assert uploaded["source"].startswith("${path.module}/assets/") or uploaded["source"].startswith(
                "assets/"
            )
            assert uploaded["source"].endswith(f"/{key}")
            assert uploaded["server_side_encryption"] == "aws:kms"
            if key.startswith("assets/"):
                assert uploaded["cache_control"] == "public, max-age=31536000, immutable"
            else:
                assert uploaded["cache_control"] == "no-cache"
        assert objects["index.html"]["content_type"] == "text/html; charset=utf-8"
        assert any(o["content_type"].startswith("text/javascript") for o in objects.values())

    def test_config_js_points_at_this_environments_apis(self, env_stack: Stack) -> None:
        config = next(o for o in resources(env_stack, "aws_s3_object").values() if o["key"] == "config.js")
        rest, _ = named(env_stack, "aws_api_gateway_rest_api", "api/rest_api")
        ws_stage, _ = named(env_stack, "aws_apigatewayv2_stage", "api/websocket_stage")
        pool, _ = named(env_stack, "aws_cognito_user_pool", "identity/user_pool")
        client, _ = named(env_stack, "aws_cognito_user_pool_client", "identity/dashboard_client")
        region = env_stack["provider"]["aws"][0]["region"]
        auth = DashboardAuth(
            issuer=f"https://cognito-idp.{region}.amazonaws.com/{ref('aws_cognito_user_pool', pool, 'id')}",
            client_id=ref("aws_cognito_user_pool_client", client, "id"),
            domain=env_stack["output"]["auth_domain"]["value"],
            scope="openid email profile orchestra/read",
        )
        # The REST stage's invoke URL, spelled out: the stage comes after the gateway responses, which
        # name the dashboard's origin (the deployment snapshots them).
        assert config["content"] == config_js(
            f"https://{ref('aws_api_gateway_rest_api', rest, 'id')}"
            ".execute-api.eu-central-1.amazonaws.com/prod",
            ref("aws_apigatewayv2_stage", ws_stage, "invoke_url"),
            auth,
        )
        assert config["cache_control"] == "no-cache"
        assert config["content_type"].startswith("text/javascript")

    def test_uploads_wait_for_the_bucket_policy(self, env_stack: Stack) -> None:
        policy_name, _ = named(env_stack, "aws_s3_bucket_policy", "site/bucket/policy")
        for uploaded in resources(env_stack, "aws_s3_object").values():
            assert uploaded["depends_on"] == [f"aws_s3_bucket_policy.{policy_name}"]


def test_dashboard_url_output(env_stack: Stack) -> None:
    distribution, _ = named(env_stack, "aws_cloudfront_distribution", "site/distribution")
    assert env_stack["output"]["dashboard_url"]["value"] == (
        f"https://${{aws_cloudfront_distribution.{distribution}.domain_name}}"
    )
    assert json.dumps(env_stack["output"]["api_url"]).count("aws_api_gateway_stage") == 1
