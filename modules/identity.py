"""Identity: the Cognito user pool people and machines sign in with, and what the APIs check.

One resource server (`orchestra`) with two scopes, `orchestra/read` and `orchestra/operate`; groups
`operators` (read and operate) and `viewers` (read); three app clients:

- `dashboard`: public, authorization code with PKCE on the hosted UI, callbacks on the site's URL;
  it may ask for `orchestra/read` only, so a user's right to operate comes from the `operators`
  group, never from a scope a browser can request;
- `cli`: public, USER_PASSWORD_AUTH (InitiateAuth) for people's scripts and the deployed tests;
- `machine`: confidential, client credentials (CI and scripts), scopes read and operate.

The pool is created by the stack (`auth.mode = "create"`) or is the platform team's
(`"existing"`: the stack adds its resource server, clients and groups to it). With `"none"` there
is no identity at all (refused for prod by the settings).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from environments import CreateAuth, ExistingAuth, LocalUser
from modules.cdk import Construct, aws

RESOURCE_SERVER = "orchestra"
READ_SCOPE = f"{RESOURCE_SERVER}/read"
OPERATE_SCOPE = f"{RESOURCE_SERVER}/operate"
# The scope Cognito puts in access tokens from InitiateAuth (the `cli` client): API methods accept it
# too, and the api function then decides from the user's groups.
USER_ADMIN_SCOPE = "aws.cognito.signin.user.admin"
API_SCOPES = (READ_SCOPE, OPERATE_SCOPE, USER_ADMIN_SCOPE)
GROUPS = {"operators": "Start, cancel and retry workflows; see everything", "viewers": "See everything"}
# Where the local cloud finds the users it creates: a Terraform JSON comment ("//"), which
# Terraform ignores, so they never exist on AWS.
LOCAL_USERS_COMMENT = "orchestra_local_users"


@dataclass(frozen=True)
class IdentityInputs:
    name_prefix: str
    region: str
    account_id: str
    auth: CreateAuth | ExistingAuth
    deletion_protection: bool
    callback_urls: Sequence[str]  # the site's URL, plus development origins; each ends with "/"


def domain_url(auth: CreateAuth | ExistingAuth, region: str) -> str:
    """The pool's OAuth2 domain: the hosted sign-in pages and the token endpoint."""
    if isinstance(auth, CreateAuth):
        return f"https://{auth.domain_prefix}.auth.{region}.amazoncognito.com"
    return auth.domain


def callback_url(origin: str) -> str:
    """The dashboard's redirect URL on an origin: its root page."""
    return origin.rstrip("/") + "/"


def check_callback_url(url: str) -> str | None:
    """Why Cognito would refuse a callback or sign-out URL, or None (CreateUserPoolClient,
    CallbackURLs: absolute, no fragment, HTTPS except http://localhost)."""
    if "#" in url:
        return f"{url}: a callback URL must not have a fragment"
    if url.startswith("https://"):
        return None
    if url.startswith(("http://localhost/", "http://localhost:")):
        return None
    return f"{url}: Cognito accepts HTTPS callback URLs only (http:// for localhost alone)"


class Identity(Construct):
    """The user pool, its domain, resource server, groups and app clients."""

    def __init__(self, scope: Construct, id: str, inputs: IdentityInputs) -> None:
        super().__init__(scope, id)
        self.inputs = inputs
        auth = inputs.auth
        for url in inputs.callback_urls:
            problem = check_callback_url(url)
            if problem is not None:
                raise ValueError(problem)
        if isinstance(auth, CreateAuth):
            pool = self._pool(inputs, auth)
            self.user_pool_id: str = pool.id
            self.user_pool_arn: str = pool.arn
            domain = aws.cognito_user_pool_domain.CognitoUserPoolDomain(
                self,
                "domain",
                domain=auth.domain_prefix,
                user_pool_id=pool.id,
                managed_login_version=1,  # the classic hosted UI: no branding resource needed
            )
            # The literal, not the attribute: the site's CSP needs it before the domain exists.
            self.domain_url = domain_url(auth, inputs.region)
            self.domain = domain
        else:
            self.user_pool_id = auth.user_pool_id
            self.user_pool_arn = (
                f"arn:aws:cognito-idp:{inputs.region}:{inputs.account_id}:userpool/{auth.user_pool_id}"
            )
            self.domain_url = auth.domain
        self.issuer = f"https://cognito-idp.{inputs.region}.amazonaws.com/{self.user_pool_id}"
        server = aws.cognito_resource_server.CognitoResourceServer(
            self,
            "resource_server",
            identifier=RESOURCE_SERVER,
            name=f"{inputs.name_prefix} API",
            user_pool_id=self.user_pool_id,
            scope=[
                aws.cognito_resource_server.CognitoResourceServerScope(
                    scope_name="read", scope_description="Read workflows and definitions"
                ),
                aws.cognito_resource_server.CognitoResourceServerScope(
                    scope_name="operate", scope_description="Start, cancel and retry workflows"
                ),
            ],
        )
        for precedence, (group, description) in enumerate(GROUPS.items(), start=1):
            aws.cognito_user_group.CognitoUserGroup(
                self,
                f"group_{group}",
                name=group,
                description=description,
                user_pool_id=self.user_pool_id,
                precedence=precedence,
            )
        tokens: dict[str, Any] = {
            "access_token_validity": auth.access_token_minutes,
            "id_token_validity": auth.access_token_minutes,
            "refresh_token_validity": auth.refresh_token_days,
            "token_validity_units": [
                aws.cognito_user_pool_client.CognitoUserPoolClientTokenValidityUnits(
                    access_token="minutes",  # noqa: S106 - units, not secrets
                    id_token="minutes",  # noqa: S106
                    refresh_token="days",  # noqa: S106
                )
            ],
            "enable_token_revocation": True,
            "prevent_user_existence_errors": "ENABLED",
        }
        self.dashboard_client = aws.cognito_user_pool_client.CognitoUserPoolClient(
            self,
            "dashboard_client",
            name=f"{inputs.name_prefix}-dashboard",
            user_pool_id=self.user_pool_id,
            generate_secret=False,  # a browser cannot keep a secret: PKCE instead
            allowed_oauth_flows_user_pool_client=True,
            allowed_oauth_flows=["code"],
            allowed_oauth_scopes=["openid", "email", "profile", READ_SCOPE],
            callback_urls=list(inputs.callback_urls),
            logout_urls=list(inputs.callback_urls),
            default_redirect_uri=inputs.callback_urls[0],
            supported_identity_providers=["COGNITO"],
            explicit_auth_flows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            depends_on=[server],
            **tokens,
        )
        self.cli_client = aws.cognito_user_pool_client.CognitoUserPoolClient(
            self,
            "cli_client",
            name=f"{inputs.name_prefix}-cli",
            user_pool_id=self.user_pool_id,
            generate_secret=False,
            explicit_auth_flows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            **tokens,
        )
        # Client credentials need a secret and custom scopes only, and no other OAuth flow
        # (CreateUserPoolClient, AllowedOAuthFlows).
        self.machine_client = aws.cognito_user_pool_client.CognitoUserPoolClient(
            self,
            "machine_client",
            name=f"{inputs.name_prefix}-machine",
            user_pool_id=self.user_pool_id,
            generate_secret=True,
            allowed_oauth_flows_user_pool_client=True,
            allowed_oauth_flows=["client_credentials"],
            allowed_oauth_scopes=[READ_SCOPE, OPERATE_SCOPE],
            explicit_auth_flows=["ALLOW_REFRESH_TOKEN_AUTH"],
            depends_on=[server],
            **tokens,
        )
        # The only clients whose tokens the APIs take (AUTH_CLIENT_IDS).
        self.client_ids: tuple[str, ...] = (
            self.dashboard_client.id,
            self.cli_client.id,
            self.machine_client.id,
        )

    def _pool(self, inputs: IdentityInputs, auth: CreateAuth) -> aws.cognito_user_pool.CognitoUserPool:
        up = aws.cognito_user_pool
        threat = {"off": None, "audit": "AUDIT", "enforced": "ENFORCED"}[auth.threat_protection]
        pool = aws.cognito_user_pool.CognitoUserPool(
            self,
            "user_pool",
            name=f"{inputs.name_prefix}-users",
            user_pool_tier=auth.feature_plan.upper(),
            deletion_protection="ACTIVE" if inputs.deletion_protection else "INACTIVE",
            # Accounts are created by an administrator; nobody signs themselves up.
            admin_create_user_config=up.CognitoUserPoolAdminCreateUserConfig(
                allow_admin_create_user_only=True
            ),
            username_configuration=up.CognitoUserPoolUsernameConfiguration(case_sensitive=False),
            auto_verified_attributes=["email"],
            account_recovery_setting=up.CognitoUserPoolAccountRecoverySetting(
                recovery_mechanism=[
                    up.CognitoUserPoolAccountRecoverySettingRecoveryMechanism(
                        name="verified_email", priority=1
                    )
                ]
            ),
            password_policy=up.CognitoUserPoolPasswordPolicy(
                minimum_length=auth.password_min_length,
                require_lowercase=True,
                require_uppercase=True,
                require_numbers=True,
                require_symbols=True,
                temporary_password_validity_days=3,
            ),
            mfa_configuration=auth.mfa.upper(),
            # OPTIONAL and ON need a second factor to offer: TOTP apps.
            software_token_mfa_configuration=None
            if auth.mfa == "off"
            else up.CognitoUserPoolSoftwareTokenMfaConfiguration(enabled=True),
            user_pool_add_ons=None
            if threat is None
            else up.CognitoUserPoolUserPoolAddOns(advanced_security_mode=threat),
        )
        if auth.local_users:
            pool.add_override(f"//.{LOCAL_USERS_COMMENT}", local_users_document(auth.local_users))
        return pool


def local_users_document(users: Mapping[str, LocalUser]) -> dict[str, dict[str, str]]:
    return {key: {"username": user.username, "group": user.group} for key, user in sorted(users.items())}
