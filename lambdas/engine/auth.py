"""Who is calling, and what they may do: one place for the permission rules of both APIs.

API Gateway (or the WebSocket authorizer) has already checked the access token's signature, expiry,
issuer and scopes; this module refuses a token issued to an app client other than the stack's own
(API Gateway's Cognito authorizer does not look at `client_id`, and a pool can have other clients:
the platform team's, with `auth.mode = "existing"`) and turns its claims into a caller with
permissions:

- a person (the token has a `username`): from their groups: `operators` read and operate,
  `viewers` read, anyone else nothing;
- a machine (client credentials: no `username`): from its scopes: `orchestra/operate` reads and
  operates, `orchestra/read` reads.

Scopes never grant a person anything: the dashboard's client may ask for `orchestra/read` only to
pass the gateway's scope check, and a viewer's browser must not be able to ask for more.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

READ = "read"
OPERATE = "operate"
ALL_PERMISSIONS = frozenset({READ, OPERATE})
GROUP_PERMISSIONS = {"operators": ALL_PERMISSIONS, "viewers": frozenset({READ})}
SCOPE_PERMISSIONS = {"orchestra/operate": ALL_PERMISSIONS, "orchestra/read": frozenset({READ})}


@dataclass(frozen=True)
class Caller:
    principal: str  # a person's username, a machine's client id
    kind: str  # "user", "machine", or "anonymous" (auth.mode = "none")
    permissions: frozenset[str]
    groups: tuple[str, ...] = ()
    scopes: tuple[str, ...] = field(default=())

    def may(self, permission: str) -> bool:
        return permission in self.permissions

    @property
    def role(self) -> str:
        """A word for logs and the dashboard: operator, viewer, machine, or none."""
        if self.kind == "machine":
            return "machine"
        if OPERATE in self.permissions:
            return "operator"
        return "viewer" if READ in self.permissions else "none"


ANONYMOUS = Caller("anonymous", "anonymous", ALL_PERMISSIONS)


def _words(value: Any) -> tuple[str, ...]:
    """A claim holding several values, in any of the forms gateways pass them: a list, a
    space-separated `scope`, a comma-separated or bracketed string (`[operators viewers]`)."""
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return tuple(part for part in re.split(r"[\s,]+", str(value).strip("[]")) if part)


def caller_from_claims(claims: Mapping[str, Any]) -> Caller:
    groups = _words(claims.get("cognito:groups"))
    scopes = _words(claims.get("scope"))
    username = claims.get("username") or claims.get("cognito:username")
    if username:
        granted = frozenset(p for g in groups for p in GROUP_PERMISSIONS.get(g, ()))
        return Caller(str(username), "user", granted, groups, scopes)
    granted = frozenset(p for s in scopes for p in SCOPE_PERMISSIONS.get(s, ()))
    return Caller(
        str(claims.get("client_id") or claims.get("sub") or "unknown"), "machine", granted, (), scopes
    )


def required_permission(method: str, path: str) -> str | None:
    """What a REST request needs: reading for GET and HEAD, operating for every other method;
    nothing for a CORS preflight or the API's own description."""
    method = method.upper()
    if method == "OPTIONS" or path.rstrip("/") == "/openapi.json":
        return None
    return READ if method in ("GET", "HEAD") else OPERATE


def issued_to(claims: Mapping[str, Any], client_ids: Collection[str]) -> bool:
    """Whether an access token was issued to one of the stack's app clients (its `client_id`)."""
    return str(claims.get("client_id") or "") in client_ids


def rest_caller(event: Mapping[str, Any], auth_mode: str, client_ids: Collection[str] = ()) -> Caller | None:
    """The caller of a REST request; None when sign-in is on and API Gateway passed no claims
    (a route without the authorizer: refuse rather than trust), or claims of a token issued to an
    app client that is not one of `client_ids`."""
    if auth_mode == "none":
        return ANONYMOUS
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    claims = authorizer.get("claims")
    if not isinstance(claims, Mapping) or not claims or not issued_to(claims, client_ids):
        return None
    return caller_from_claims(claims)


def websocket_caller(event: Mapping[str, Any], auth_mode: str) -> Caller | None:
    """The caller of a WebSocket `$connect`, from what the authorizer put in its context."""
    if auth_mode == "none":
        return ANONYMOUS
    context = (event.get("requestContext") or {}).get("authorizer") or {}
    if not context.get("principalId"):
        return None
    return Caller(
        str(context["principalId"]),
        str(context.get("kind") or "user"),
        frozenset(_words(context.get("permissions"))),
        _words(context.get("groups")),
    )


def may_receive(permissions: Any) -> bool:
    """The broadcaster's recipient filter: a connection hears workflow updates only when whoever
    opened it may read (the permissions its record keeps)."""
    return READ in _words(permissions)
