"""Cognito user pools: the pool the stack declares, its users, its tokens and its endpoints.

One pool per stack, served on one 127.0.0.1 port that stands for both of its AWS hosts:

- `https://cognito-idp.<region>.amazonaws.com`: the Cognito Identity Provider API (JSON 1.1,
  `X-Amz-Target`), of which `InitiateAuth` with USER_PASSWORD_AUTH and REFRESH_TOKEN_AUTH is
  emulated (boto3's `cognito-idp` client works unchanged), and the issuer's
  `/<pool id>/.well-known/openid-configuration` and `/<pool id>/.well-known/jwks.json`;
- `https://<prefix>.auth.<region>.amazoncognito.com`: the OAuth2 domain: `/oauth2/authorize`
  (to a minimal `/login` page), `/oauth2/token` (authorization code with PKCE, refresh token,
  client credentials), `/oauth2/userInfo`, `/logout`.

Tokens are RS256 JWTs signed by a key made at start-up, with Cognito's claims (`iss`, `sub`,
`token_use`, `client_id` or `aud`, `scope`, `cognito:groups`, `username`, `exp`, `iat`, `jti`,
`auth_time`); refresh tokens are opaque. The users are the ones the stack declares for local use
(a Terraform comment on the pool, see modules/identity.py), with passwords generated at start-up.
What the app clients allow (flows, scopes, callback and sign-out URLs, secrets) is enforced with
Cognito's errors. Not emulated: sign-up, MFA challenges, password changes, other API operations
(answered 400 saying so), custom domains, identity providers other than COGNITO.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import logging
import secrets
import string
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from localcloud.plan import Plan, PlanError, Resource
from localcloud.web import Listener, listen

log = logging.getLogger("localcloud.cognito")

TYPES = (
    "aws_cognito_user_pool",
    "aws_cognito_user_pool_client",
    "aws_cognito_user_pool_domain",
    "aws_cognito_resource_server",
    "aws_cognito_user_group",
)
LOCAL_USERS_COMMENT = "orchestra_local_users"  # modules/identity.py
USER_ADMIN_SCOPE = "aws.cognito.signin.user.admin"
OIDC_SCOPES = ("openid", "email", "profile", "phone", USER_ADMIN_SCOPE)
CODE_LIFETIME = 300  # seconds; Cognito's authorization codes are valid for 5 minutes
UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


class CognitoError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class TokenRefused(Exception):
    """Why a token is not valid; `expired` tells API Gateway's two 401 messages apart."""

    def __init__(self, reason: str, expired: bool = False) -> None:
        super().__init__(reason)
        self.expired = expired


@dataclass
class Client:
    id: str
    name: str
    secret: str
    flows: set[str]  # code, implicit, client_credentials
    oauth: bool
    scopes: set[str]
    callbacks: list[str]
    logouts: list[str]
    auth_flows: set[str]  # ALLOW_USER_PASSWORD_AUTH, ...
    access_seconds: int
    id_seconds: int
    refresh_seconds: int


@dataclass
class User:
    key: str  # the environment's name for it: operator, viewer
    username: str
    password: str
    groups: list[str]
    sub: str

    @property
    def email(self) -> str:
        return self.username if "@" in self.username else f"{self.username}@example.com"


@dataclass
class Grant:
    """What an authorization code or a refresh token stands for."""

    client_id: str
    username: str | None
    scopes: list[str]
    expires: float
    redirect_uri: str = ""
    challenge: str | None = None
    challenge_method: str = "plain"
    nonce: str | None = None
    auth_time: int = field(default_factory=lambda: int(time.time()))


def _seconds(config: dict[str, Any], key: str, unit_key: str, default_unit: str, default: int) -> int:
    units = config.get("token_validity_units") or [{}]
    unit = (units[0] if isinstance(units, list) else units).get(unit_key) or default_unit
    value = config.get(key)
    return int(value) * UNITS[unit] if value is not None else default


class UserPool:
    def __init__(self, plan: Plan, pool: Resource) -> None:
        self.plan = plan
        self.address = pool.address
        self.id = str(plan.attribute(pool.address, "id"))
        self.arn = str(plan.attribute(pool.address, "arn"))
        self.issuer = f"https://cognito-idp.{plan.region}.amazonaws.com/{self.id}"
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = base64.b64encode(hashlib.sha256(self.id.encode()).digest()[:16]).decode()
        self.clients: dict[str, Client] = {}
        for resource in plan.of_type("aws_cognito_user_pool_client"):
            if plan.attribute(resource.address, "user_pool_id") != self.id:
                continue
            self._client(resource)
        self.scopes = set(OIDC_SCOPES)
        for resource in plan.of_type("aws_cognito_resource_server"):
            if plan.attribute(resource.address, "user_pool_id") == self.id:
                self.scopes.update(plan.attribute(resource.address, "scope_identifiers"))
        self.groups = {
            str(plan.attribute(r.address, "name"))
            for r in plan.of_type("aws_cognito_user_group")
            if plan.attribute(r.address, "user_pool_id") == self.id
        }
        for client in self.clients.values():
            unknown = client.scopes - self.scopes
            if unknown:
                raise PlanError(
                    f"{self.address}: client {client.name} allows scopes {sorted(unknown)} that no "
                    "resource server of the pool declares (Cognito: ScopeDoesNotExistException)"
                )
        self.users: dict[str, User] = {}
        declared = (pool.config.get("//") or {}).get(LOCAL_USERS_COMMENT) or {}
        for key, spec in sorted(declared.items()):
            group = str(spec["group"])
            if group not in self.groups:
                raise PlanError(
                    f"{self.address}: local user {key} is in group {group}, which the stack lacks"
                )
            self.users[str(spec["username"]).lower()] = User(
                key,
                str(spec["username"]),
                _password(),
                [group],
                str(uuid.uuid5(uuid.NAMESPACE_URL, spec["username"])),
            )
        self.codes: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.sessions: dict[str, str] = {}  # hosted UI session cookie -> username
        self.local_url = ""  # set once the port is bound
        self.listener: Listener | None = None

    def _client(self, resource: Resource) -> None:
        config = self.plan.resolved(resource.address)
        flows = {str(f) for f in config.get("allowed_oauth_flows") or []}
        secret = str(self.plan.attribute(resource.address, "client_secret"))
        where = f"{resource.address}"
        # What CreateUserPoolClient refuses (Cognito's rules for app clients).
        if "client_credentials" in flows and flows - {"client_credentials"}:
            raise PlanError(f"{where}: client_credentials cannot be combined with other OAuth flows")
        if "client_credentials" in flows and not secret:
            raise PlanError(f"{where}: client_credentials needs generate_secret = true")
        scopes = {str(s) for s in config.get("allowed_oauth_scopes") or []}
        if "client_credentials" in flows and scopes & set(OIDC_SCOPES):
            raise PlanError(f"{where}: client_credentials allows custom scopes only")
        callbacks = [str(u) for u in config.get("callback_urls") or []]
        if flows & {"code", "implicit"} and not callbacks:
            raise PlanError(f"{where}: the code and implicit flows need callback_urls")
        self.clients[str(self.plan.attribute(resource.address, "id"))] = Client(
            id=str(self.plan.attribute(resource.address, "id")),
            name=str(config.get("name")),
            secret=secret,
            flows=flows,
            oauth=bool(config.get("allowed_oauth_flows_user_pool_client")),
            scopes=scopes,
            callbacks=callbacks,
            logouts=[str(u) for u in config.get("logout_urls") or []],
            auth_flows={str(f) for f in config.get("explicit_auth_flows") or []},
            access_seconds=_seconds(config, "access_token_validity", "access_token", "hours", 3600),
            id_seconds=_seconds(config, "id_token_validity", "id_token", "hours", 3600),
            refresh_seconds=_seconds(config, "refresh_token_validity", "refresh_token", "days", 30 * 86400),
        )

    # -- tokens -------------------------------------------------------------------------------

    @property
    def local_issuer(self) -> str:
        """The issuer as clients here see it (iss of every token): the localized AWS one."""
        return str(self.plan.localize(self.issuer))

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def _sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def tokens(self, client: Client, grant: Grant, *, refresh: bool) -> dict[str, Any]:
        now = int(time.time())
        user = self.users.get(grant.username.lower()) if grant.username else None
        common = {
            "iss": self.local_issuer,
            "iat": now,
            "auth_time": grant.auth_time,
            "jti": str(uuid.uuid4()),
        }
        access: dict[str, Any] = {
            **common,
            "sub": user.sub if user else client.id,
            "token_use": "access",
            "scope": " ".join(grant.scopes),
            "client_id": client.id,
            "exp": now + client.access_seconds,
            "version": 2,
        }
        result: dict[str, Any] = {"token_type": "Bearer", "expires_in": client.access_seconds}
        if user is not None:
            access["username"] = user.username
            access["origin_jti"] = str(uuid.uuid4())
            if user.groups:
                access["cognito:groups"] = user.groups
            identity = {
                **common,
                "jti": str(uuid.uuid4()),
                "sub": user.sub,
                "aud": client.id,
                "token_use": "id",
                "cognito:username": user.username,
                "email": user.email,
                "email_verified": True,
                "exp": now + client.id_seconds,
            }
            if user.groups:
                identity["cognito:groups"] = user.groups
            if grant.nonce:
                identity["nonce"] = grant.nonce
            result["id_token"] = self._sign(identity)
            if refresh:
                token = secrets.token_urlsafe(48)
                self.refresh_tokens[token] = Grant(
                    client.id,
                    user.username,
                    grant.scopes,
                    time.time() + client.refresh_seconds,
                    auth_time=grant.auth_time,
                )
                result["refresh_token"] = token
        result["access_token"] = self._sign(access)
        return result

    def expired_token(self, key: str) -> str | None:
        """Local only (the control API): an access token of a declared user, expired a minute ago."""
        user = next((u for u in self.users.values() if u.key == key), None)
        client = next((c for c in self.clients.values() if "ALLOW_USER_PASSWORD_AUTH" in c.auth_flows), None)
        if user is None or client is None:
            return None
        claims = jwt.decode(
            self.tokens(client, Grant(client.id, user.username, [USER_ADMIN_SCOPE], 0), refresh=False)[
                "access_token"
            ],
            options={"verify_signature": False},
        )
        now = int(time.time())
        return self._sign({**claims, "iat": now - 3660, "auth_time": now - 3660, "exp": now - 60})

    def verify(self, token: str, token_use: str, scopes: list[str] | None = None) -> dict[str, Any]:
        """Check a token as API Gateway's Cognito authorizer does: signature, issuer, expiry, use,
        and (for access tokens) one of the method's scopes."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.key.public_key(),
                algorithms=["RS256"],
                issuer=self.local_issuer,
                options={"require": ["exp", "iss", "token_use"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRefused("expired", expired=True) from None
        except jwt.PyJWTError as exc:
            raise TokenRefused(type(exc).__name__) from None
        if claims.get("token_use") != token_use:
            raise TokenRefused(f"not an {token_use} token")
        if scopes and not set(str(claims.get("scope", "")).split()) & set(scopes):
            raise TokenRefused("none of the method's scopes")
        return claims

    # -- the API (cognito-idp) ----------------------------------------------------------------

    def initiate_auth(self, request: dict[str, Any]) -> dict[str, Any]:
        client = self.clients.get(str(request.get("ClientId", "")))
        if client is None:
            raise CognitoError(
                "ResourceNotFoundException", f"User pool client {request.get('ClientId')} does not exist."
            )
        flow = str(request.get("AuthFlow", ""))
        params = request.get("AuthParameters") or {}
        if client.secret and params.get("SECRET_HASH") != _secret_hash(
            str(params.get("USERNAME", "")), client
        ):
            raise CognitoError(
                "NotAuthorizedException",
                f"Client {client.id} is configured with secret but SECRET_HASH was not received",
            )
        if flow == "USER_PASSWORD_AUTH":
            if (
                "ALLOW_USER_PASSWORD_AUTH" not in client.auth_flows
                and "USER_PASSWORD_AUTH" not in client.auth_flows
            ):
                raise CognitoError(
                    "InvalidParameterException", "USER_PASSWORD_AUTH flow not enabled for this client"
                )
            user = self._check_password(str(params.get("USERNAME", "")), str(params.get("PASSWORD", "")))
            grant = Grant(client.id, user.username, [USER_ADMIN_SCOPE], 0)
            issued = self.tokens(client, grant, refresh=True)
        elif flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
            stored = self.refresh_tokens.get(str(params.get("REFRESH_TOKEN", "")))
            if stored is None or stored.client_id != client.id or stored.expires < time.time():
                raise CognitoError("NotAuthorizedException", "Invalid Refresh Token")
            issued = self.tokens(client, stored, refresh=False)
        else:
            raise CognitoError(
                "InvalidParameterException", f"AuthFlow {flow} is not emulated by the local cloud"
            )
        result = {
            "AccessToken": issued["access_token"],
            "ExpiresIn": issued["expires_in"],
            "TokenType": "Bearer",
            "IdToken": issued.get("id_token"),
        }
        if "refresh_token" in issued:
            result["RefreshToken"] = issued["refresh_token"]
        return {"AuthenticationResult": result, "ChallengeParameters": {}}

    def _check_password(self, username: str, password: str) -> User:
        user = self.users.get(username.lower())
        if user is None or not secrets.compare_digest(user.password, password):
            # prevent_user_existence_errors: the same answer for an unknown user
            raise CognitoError("NotAuthorizedException", "Incorrect username or password.")
        return user

    # -- serving ------------------------------------------------------------------------------

    async def start(self, sock: Any) -> Listener:
        app = web.Application()
        app.router.add_post("/", self.api)
        app.router.add_get(f"/{self.id}/.well-known/jwks.json", self.jwks_endpoint)
        app.router.add_get(f"/{self.id}/.well-known/openid-configuration", self.discovery)
        app.router.add_get("/oauth2/authorize", self.authorize)
        app.router.add_get("/login", self.login_page)
        app.router.add_post("/login", self.login)
        app.router.add_route("*", "/oauth2/token", self.token)
        app.router.add_route("*", "/oauth2/userInfo", self.user_info)
        app.router.add_get("/logout", self.logout)
        self.listener = await listen(app, sock)
        return self.listener

    async def stop(self) -> None:
        if self.listener is not None:
            await self.listener.close()

    async def api(self, request: web.Request) -> web.Response:
        target = request.headers.get("X-Amz-Target", "")
        operation = target.rpartition(".")[2]
        try:
            body = json.loads(await request.read() or b"{}")
            if operation == "InitiateAuth":
                return _json(self.initiate_auth(body))
            raise CognitoError(
                "InvalidActionException", f"{operation or target!r} is not emulated by the local cloud"
            )
        except CognitoError as exc:
            return _json(
                {"__type": exc.code, "message": exc.message}, exc.status, {"x-amzn-ErrorType": exc.code}
            )
        except ValueError:
            return _json({"__type": "SerializationException", "message": "body is not JSON"}, 400)

    async def jwks_endpoint(self, request: web.Request) -> web.Response:
        return _json(self.jwks())

    async def discovery(self, request: web.Request) -> web.Response:
        domain = self.local_url
        return _json(
            {
                "issuer": self.local_issuer,
                "authorization_endpoint": f"{domain}/oauth2/authorize",
                "token_endpoint": f"{domain}/oauth2/token",
                "userinfo_endpoint": f"{domain}/oauth2/userInfo",
                "jwks_uri": f"{self.local_issuer}/.well-known/jwks.json",
                "response_types_supported": ["code", "token"],
                "scopes_supported": sorted(self.scopes),
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            },
            headers={"Access-Control-Allow-Origin": "*"},
        )

    def _authorize_request(self, query: Any) -> tuple[Client, list[str]]:
        client = self.clients.get(str(query.get("client_id", "")))
        if client is None or not client.oauth:
            raise CognitoError("invalid_request", "Invalid client_id")
        # The stack names the site's AWS URL (CloudFront); clients here use its local one.
        if query.get("redirect_uri") not in self.plan.localize(client.callbacks):
            raise CognitoError("redirect_mismatch", "redirect_uri is not a callback URL of the client")
        if query.get("response_type") != "code" or "code" not in client.flows:
            raise CognitoError("unauthorized_client", "the client may not use this response_type")
        scopes = str(query.get("scope") or " ".join(sorted(client.scopes))).split()
        if not set(scopes) <= client.scopes:
            raise CognitoError("invalid_scope", f"scopes not allowed: {sorted(set(scopes) - client.scopes)}")
        if query.get("code_challenge_method", "S256") not in ("S256", "plain"):
            raise CognitoError("invalid_request", "code_challenge_method must be S256 or plain")
        return client, scopes

    def _redirect_with_code(
        self, query: Any, client: Client, scopes: list[str], username: str
    ) -> web.Response:
        code = secrets.token_urlsafe(24)
        self.codes[code] = Grant(
            client.id,
            username,
            scopes,
            time.time() + CODE_LIFETIME,
            redirect_uri=str(query["redirect_uri"]),
            challenge=query.get("code_challenge"),
            challenge_method=str(query.get("code_challenge_method", "S256")),
            nonce=query.get("nonce"),
        )
        answer = {"code": code, **({"state": query["state"]} if "state" in query else {})}
        separator = "&" if "?" in str(query["redirect_uri"]) else "?"
        raise web.HTTPFound(f"{query['redirect_uri']}{separator}{urlencode(answer)}")

    async def authorize(self, request: web.Request) -> web.Response:
        try:
            client, scopes = self._authorize_request(request.query)
        except CognitoError as exc:
            return _page(exc.message, status=400)
        session = self.sessions.get(request.cookies.get("cognito", ""))
        if session is not None:  # signed in on the hosted UI already
            return self._redirect_with_code(request.query, client, scopes, session)
        raise web.HTTPFound(f"/login?{urlencode(dict(request.query))}")

    async def login_page(self, request: web.Request, error: str = "") -> web.Response:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in request.query.items()
        )
        message = f'<p role="alert" class="error">{html.escape(error)}</p>' if error else ""
        return _page(
            f"""<h1>Sign in</h1>{message}
<form method="post" action="/login?{html.escape(request.query_string)}">{hidden}
<label>Username <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form>""",
            status=400 if error else 200,
        )

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        try:
            client, scopes = self._authorize_request(request.query)
        except CognitoError as exc:
            return _page(exc.message, status=400)
        try:
            user = self._check_password(str(form.get("username", "")), str(form.get("password", "")))
        except CognitoError as exc:
            return await self.login_page(request, exc.message)
        session = secrets.token_urlsafe(24)
        self.sessions[session] = user.username
        try:
            self._redirect_with_code(request.query, client, scopes, user.username)
        except web.HTTPFound as found:
            found.set_cookie("cognito", session, httponly=True, samesite="Lax")
            raise
        return _page("unreachable", status=500)

    async def token(self, request: web.Request) -> web.Response:
        cors = {"Access-Control-Allow-Origin": request.headers.get("Origin", "*")}
        if request.method == "OPTIONS":
            return web.Response(
                status=204,
                headers={
                    **cors,
                    "Access-Control-Allow-Methods": "POST",
                    "Access-Control-Allow-Headers": "Content-Type, Authorization",
                },
            )
        if request.method != "POST":
            return _json({"error": "invalid_request"}, 405, cors)
        form = await request.post()
        try:
            return _json(self._token(request, form), 200, {**cors, "Cache-Control": "no-store"})
        except CognitoError as exc:
            return _json({"error": exc.code, "error_description": exc.message}, exc.status, cors)

    def _token(self, request: web.Request, form: Any) -> dict[str, Any]:
        client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        basic = request.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            try:
                client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            except ValueError:
                raise CognitoError("invalid_client", "malformed Basic credentials", 401) from None
        client = self.clients.get(client_id)
        if client is None or (client.secret and not secrets.compare_digest(client.secret, secret)):
            raise CognitoError("invalid_client", "unknown client or wrong secret", 401)
        grant_type = str(form.get("grant_type", ""))
        if grant_type == "authorization_code":
            grant = self.codes.pop(str(form.get("code", "")), None)
            if grant is None or grant.client_id != client.id or grant.expires < time.time():
                raise CognitoError("invalid_grant", "the code is unknown, used or expired")
            if str(form.get("redirect_uri", "")) != grant.redirect_uri:
                raise CognitoError("invalid_grant", "redirect_uri differs from the authorization request")
            if grant.challenge is not None:
                verifier = str(form.get("code_verifier", ""))
                derived = (
                    base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
                    if grant.challenge_method == "S256"
                    else verifier
                )
                if not secrets.compare_digest(derived, grant.challenge):
                    raise CognitoError("invalid_grant", "code_verifier does not match the code_challenge")
            return self.tokens(client, grant, refresh=True)
        if grant_type == "refresh_token":
            stored = self.refresh_tokens.get(str(form.get("refresh_token", "")))
            if stored is None or stored.client_id != client.id or stored.expires < time.time():
                raise CognitoError("invalid_grant", "invalid refresh token")
            return self.tokens(client, stored, refresh=False)
        if grant_type == "client_credentials":
            if "client_credentials" not in client.flows or not client.oauth:
                raise CognitoError("unauthorized_client", "the client may not use client_credentials")
            scopes = str(form.get("scope") or " ".join(sorted(client.scopes))).split()
            if not set(scopes) <= client.scopes:
                raise CognitoError(
                    "invalid_scope", f"scopes not allowed: {sorted(set(scopes) - client.scopes)}"
                )
            return self.tokens(client, Grant(client.id, None, scopes, 0), refresh=False)
        raise CognitoError("unsupported_grant_type", f"grant_type {grant_type!r}")

    async def user_info(self, request: web.Request) -> web.Response:
        cors = {"Access-Control-Allow-Origin": request.headers.get("Origin", "*")}
        if request.method == "OPTIONS":
            return web.Response(status=204, headers={**cors, "Access-Control-Allow-Headers": "Authorization"})
        try:
            claims = self.verify(request.headers.get("Authorization", "").removeprefix("Bearer "), "access")
        except TokenRefused:
            return _json({"error": "invalid_token"}, 401, cors)
        user = self.users.get(str(claims.get("username", "")).lower())
        if user is None:
            return _json({"error": "invalid_token"}, 401, cors)
        return _json(
            {"sub": user.sub, "username": user.username, "email": user.email, "email_verified": "true"},
            200,
            cors,
        )

    async def logout(self, request: web.Request) -> web.Response:
        client = self.clients.get(request.query.get("client_id", ""))
        target = request.query.get("logout_uri", "")
        if client is None or target not in self.plan.localize(client.logouts):
            return _page("logout_uri is not a sign-out URL of the client", status=400)
        self.sessions.pop(request.cookies.get("cognito", ""), None)
        found = web.HTTPFound(target)
        found.del_cookie("cognito")
        raise found


def _secret_hash(username: str, client: Client) -> str:
    import hmac

    digest = hmac.new(client.secret.encode(), (username + client.id).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _password() -> str:
    """A password any Cognito password policy accepts: lower, upper, digit, symbol, 20 characters."""
    alphabet = string.ascii_letters + string.digits
    core = "".join(secrets.choice(alphabet) for _ in range(16))
    return (
        core
        + secrets.choice(string.ascii_lowercase)
        + secrets.choice(string.ascii_uppercase)
        + secrets.choice(string.digits)
        + secrets.choice("!#%+-=")
    )


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body),
        content_type="application/x-amz-json-1.1"
        if "__type" in (body if isinstance(body, dict) else {})
        else "application/json",
        headers=headers,
    )


def _page(body: str, status: int = 200) -> web.Response:
    document = (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Sign in</title>"
        "<style>body{font:16px system-ui;max-width:22rem;margin:4rem auto}label{display:block;margin:.8rem 0}"
        "input{display:block;width:100%;padding:.4rem}.error{color:#b91c1c}</style></head>"
        f"<body>{body}</body></html>"
    )
    return web.Response(status=status, text=document, content_type="text/html")


def pools(plan: Plan) -> list[UserPool]:
    found = [UserPool(plan, r) for r in plan.of_type("aws_cognito_user_pool")]
    if len(found) > 1:
        raise PlanError(f"{found[1].address}: the local cloud runs one user pool per stack")
    return found
