"""WebSocket `$connect` authorizer (API Gateway Lambda REQUEST authorizer).

Browsers cannot set headers on a WebSocket, so the access token comes as the `token` query
parameter. It is checked as API Gateway's Cognito authorizer checks REST requests: RS256 signature
by one of the user pool's keys (its JWKS, fetched once per environment and cached), issuer, expiry,
`token_use` = access, and one of the accepted scopes; and, as Cognito's guide to verifying tokens
asks (and the api function does for REST requests), a `client_id` that is one of the stack's app
clients. Then `engine.auth` decides what the caller
may do; the handshake is refused with 401 (raise "Unauthorized") for a missing, malformed or expired
token, and with 403 (a Deny policy) for a valid token that may not read. The token itself is
never logged.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jwt
from aws_lambda_powertools.utilities.typing import LambdaContext

from engine import auth, runtime
from engine.observability import logger

LEEWAY_SECONDS = 0  # API Gateway allows none either


class Unauthorized(Exception):
    """API Gateway answers 401 when a Lambda authorizer fails with exactly this message."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


@cache
def _keys(issuer: str) -> jwt.PyJWKClient:
    # One fetch per execution environment; an unknown key id (rotation) fetches again.
    return jwt.PyJWKClient(f"{issuer}/.well-known/jwks.json", cache_keys=True, lifespan=3600, timeout=5)


def verify(token: str, issuer: str, scopes: tuple[str, ...], client_ids: tuple[str, ...]) -> dict[str, Any]:
    """The token's claims, or Unauthorized."""
    try:
        key = _keys(issuer).get_signing_key_from_jwt(token)
    except jwt.PyJWKClientConnectionError:
        # Cognito's keys cannot be fetched: our fault, not the caller's (API Gateway answers 500).
        logger.exception("the user pool's signing keys are unreachable")
        raise
    except jwt.PyJWTError as exc:
        logger.info("token refused", extra={"reason": type(exc).__name__})
        raise Unauthorized() from None
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "token_use"], "verify_aud": False},
        )
    except jwt.PyJWTError as exc:
        logger.info("token refused", extra={"reason": type(exc).__name__})
        raise Unauthorized() from None
    if claims.get("token_use") != "access":
        logger.info("token refused", extra={"reason": "not an access token"})
        raise Unauthorized()
    granted = set(str(claims.get("scope", "")).split())
    if not granted.intersection(scopes):
        logger.info("token refused", extra={"reason": "no accepted scope"})
        raise Unauthorized()
    if not auth.issued_to(claims, client_ids):
        logger.info("token refused", extra={"reason": "issued to another app client"})
        raise Unauthorized()
    return claims


def _policy(principal: str, effect: str, resource: str, context: dict[str, str]) -> dict[str, Any]:
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": context,
    }


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = runtime.settings("authorizer")
    token = (event.get("queryStringParameters") or {}).get("token") or ""
    if not token:
        raise Unauthorized()
    claims = verify(
        token.removeprefix("Bearer "),
        settings.user_pool_issuer,
        settings.authorizer_scopes,
        settings.auth_client_ids,
    )
    caller = auth.caller_from_claims(claims)
    allowed = caller.may(auth.READ)
    logger.info("connect", extra={"caller": caller.principal, "role": caller.role, "allowed": allowed})
    return _policy(
        caller.principal,
        "Allow" if allowed else "Deny",
        str(event.get("methodArn", "*")),
        {
            "kind": caller.kind,
            "role": caller.role,
            "permissions": " ".join(sorted(caller.permissions)),
            "groups": " ".join(caller.groups),
        },
    )
