"""Site: the dashboard in a private bucket behind CloudFront (origin access control), uploaded in the
same apply with a generated config.js that points the app at this environment's APIs."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from modules import naming
from modules.cdk import AssetType, Construct, TerraformAsset, aws
from modules.components import BucketInputs, LifecycleRule, SecureBucket

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dashboard" / "dist"
# AWS managed cache policies (the same ids in every account).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
# Vite names built assets by content hash: they never change, so browsers may keep them for a year.
IMMUTABLE = "public, max-age=31536000, immutable"
ALWAYS_REVALIDATE = "no-cache"
UNCACHED_PATHS = ("/index.html", "/config.js")
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".woff2": "font/woff2",
}


class DistMissingError(RuntimeError):
    """Synthesis needs the built dashboard; say how to build it."""


@dataclass(frozen=True)
class SiteInputs:
    name_prefix: str
    account_id: str
    region: str
    kms_key_arn: str
    access_log_bucket: str
    # Origins the dashboard talks to for sign-in (the user pool's issuer and its OAuth2 domain).
    identity_origins: Sequence[str] = ()


@dataclass(frozen=True)
class DashboardAuth:
    """What the dashboard's OIDC client needs (config.js `window.AUTH`)."""

    issuer: str  # https://cognito-idp.<region>.amazonaws.com/<pool id>: discovery and keys
    client_id: str
    domain: str  # https://<prefix>.auth.<region>.amazoncognito.com: sign-in and sign-out pages
    scope: str


def content_type(path: Path) -> str:
    return CONTENT_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def cache_control(key: str) -> str:
    return IMMUTABLE if key.startswith("assets/") else ALWAYS_REVALIDATE


def config_js(api_url: str, websocket_url: str, auth: DashboardAuth | None = None) -> str:
    """The runtime configuration the app reads before it starts (dashboard/index.html)."""
    text = f"window.API_BASE = '{api_url}';\nwindow.WEBSOCKET_URL = '{websocket_url}';\n"
    if auth is not None:
        document = {
            "authority": auth.issuer,
            "clientId": auth.client_id,
            "domain": auth.domain,
            "scope": auth.scope,
        }
        text += f"window.AUTH = {json.dumps(document)};\n"
    return text


def dist_files(dist: Path = DIST) -> dict[str, Path]:
    """Object key → file for every file of the build, except the development config.js it replaces."""
    if not (dist / "index.html").exists():
        raise DistMissingError(
            f"{dist.relative_to(ROOT)}/index.html is missing: run `./noxw -s dashboard` first"
        )
    return {
        str(path.relative_to(dist)): path
        for path in sorted(dist.rglob("*"))
        if path.is_file() and str(path.relative_to(dist)) != "config.js"
    }


class Site(Construct):
    """The dashboard, served over HTTPS from the edge; the bucket stays private."""

    def __init__(self, scope: Construct, id: str, inputs: SiteInputs) -> None:
        super().__init__(scope, id)
        files = dist_files()
        self.bucket = SecureBucket(
            self,
            "bucket",
            BucketInputs(
                name=naming.bucket(inputs.name_prefix, "dashboard", inputs.account_id, inputs.region),
                kms_key_arn=inputs.kms_key_arn,
                access_log_bucket=inputs.access_log_bucket,
                lifecycle=(LifecycleRule("expire-replaced-files", noncurrent_expire_days=30),),
            ),
        )
        access = aws.cloudfront_origin_access_control.CloudfrontOriginAccessControl(
            self,
            "origin_access",
            name=f"{inputs.name_prefix}-dashboard",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            description="CloudFront reads the dashboard bucket",
        )
        headers = self._security_headers(inputs)
        cf = aws.cloudfront_distribution
        uncached = [
            cf.CloudfrontDistributionOrderedCacheBehavior(
                path_pattern=path,
                target_origin_id="dashboard",
                viewer_protocol_policy="redirect-to-https",
                allowed_methods=["GET", "HEAD"],
                cached_methods=["GET", "HEAD"],
                compress=True,
                cache_policy_id=CACHING_DISABLED,
                response_headers_policy_id=headers.id,
            )
            for path in UNCACHED_PATHS
        ]
        self.distribution = cf.CloudfrontDistribution(
            self,
            "distribution",
            enabled=True,
            comment=f"{inputs.name_prefix} dashboard",
            is_ipv6_enabled=True,
            http_version="http2and3",
            default_root_object="index.html",
            price_class="PriceClass_100",
            origin=[
                cf.CloudfrontDistributionOrigin(
                    origin_id="dashboard",
                    domain_name=self.bucket.bucket.bucket_regional_domain_name,
                    origin_access_control_id=access.id,
                )
            ],
            default_cache_behavior=cf.CloudfrontDistributionDefaultCacheBehavior(
                target_origin_id="dashboard",
                viewer_protocol_policy="redirect-to-https",
                allowed_methods=["GET", "HEAD", "OPTIONS"],
                cached_methods=["GET", "HEAD"],
                compress=True,
                cache_policy_id=CACHING_OPTIMIZED,
                response_headers_policy_id=headers.id,
            ),
            ordered_cache_behavior=uncached,
            # A private bucket answers 403 for a missing key: both mean "a client-side route".
            custom_error_response=[
                cf.CloudfrontDistributionCustomErrorResponse(
                    error_code=code,
                    response_code=200,
                    response_page_path="/index.html",
                    error_caching_min_ttl=0,
                )
                for code in (403, 404)
            ],
            restrictions=cf.CloudfrontDistributionRestrictions(
                geo_restriction=cf.CloudfrontDistributionRestrictionsGeoRestriction(restriction_type="none")
            ),
            viewer_certificate=cf.CloudfrontDistributionViewerCertificate(
                cloudfront_default_certificate=True
            ),
        )
        self.url = f"https://{self.distribution.domain_name}"
        self.bucket.add_statement(
            {
                "Sid": "CloudFrontReadsThroughOriginAccessControl",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": f"{self.bucket.arn}/*",
                "Condition": {"StringEquals": {"AWS:SourceArn": self.distribution.arn}},
            }
        )

        self.inputs = inputs
        dist = TerraformAsset(self, "dist", path=str(DIST), type=AssetType.DIRECTORY)
        for key, path in files.items():
            self._object(
                key,
                source=f"{dist.path}/{key}",
                kind=content_type(path),
                digest=hashlib.sha256(path.read_bytes()).hexdigest(),
                inputs=inputs,
            )

    def publish_config(self, api_url: str, websocket_url: str, auth: DashboardAuth | None) -> None:
        """Upload config.js once the APIs and the sign-in client exist (the client's callback URLs
        name this site, so the site comes first)."""
        config = config_js(api_url, websocket_url, auth)
        self._object("config.js", content=config, kind=CONTENT_TYPES[".js"], digest=None, inputs=self.inputs)

    def _security_headers(
        self, inputs: SiteInputs
    ) -> aws.cloudfront_response_headers_policy.CloudfrontResponseHeadersPolicy:
        rh = aws.cloudfront_response_headers_policy
        api_hosts = f"https://*.execute-api.{inputs.region}.amazonaws.com wss://*.execute-api.{inputs.region}.amazonaws.com"
        # The OIDC client reads the issuer's discovery document and posts to the token endpoint.
        connect = " ".join([api_hosts, *inputs.identity_origins])
        csp = (
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            f"connect-src 'self' {connect}; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
        )
        return rh.CloudfrontResponseHeadersPolicy(
            self,
            "security_headers",
            name=f"{inputs.name_prefix}-dashboard-security",
            comment="Security headers for the Orchestra dashboard",
            security_headers_config=rh.CloudfrontResponseHeadersPolicySecurityHeadersConfig(
                content_security_policy=rh.CloudfrontResponseHeadersPolicySecurityHeadersConfigContentSecurityPolicy(
                    content_security_policy=csp, override=True
                ),
                content_type_options=rh.CloudfrontResponseHeadersPolicySecurityHeadersConfigContentTypeOptions(
                    override=True
                ),
                frame_options=rh.CloudfrontResponseHeadersPolicySecurityHeadersConfigFrameOptions(
                    frame_option="DENY", override=True
                ),
                referrer_policy=rh.CloudfrontResponseHeadersPolicySecurityHeadersConfigReferrerPolicy(
                    referrer_policy="strict-origin-when-cross-origin", override=True
                ),
                strict_transport_security=rh.CloudfrontResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurity(
                    access_control_max_age_sec=63072000, include_subdomains=True, preload=True, override=True
                ),
                xss_protection=rh.CloudfrontResponseHeadersPolicySecurityHeadersConfigXssProtection(
                    protection=True, mode_block=True, override=True
                ),
            ),
        )

    def _object(
        self,
        key: str,
        *,
        kind: str,
        digest: str | None,
        inputs: SiteInputs,
        source: str | None = None,
        content: str | None = None,
    ) -> None:
        aws.s3_object.S3Object(
            self,
            f"object_{_construct_id(key)}",
            bucket=self.bucket.name,
            key=key,
            source=source,
            content=content,
            source_hash=digest,
            content_type=kind,
            cache_control=cache_control(key),
            server_side_encryption="aws:kms",
            kms_key_id=inputs.kms_key_arn,
            depends_on=[self.bucket.policy],
        )


def _construct_id(key: str) -> str:
    """A stable construct id for an object key (ids allow fewer characters than keys)."""
    readable = re.sub(r"[^A-Za-z0-9]+", "_", key).strip("_")[:60]
    return f"{readable}_{hashlib.sha256(key.encode()).hexdigest()[:8]}"
