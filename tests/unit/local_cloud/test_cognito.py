"""The emulated user pool of the synthesized dev stack: its tokens verify with a standard JWT
library against its published keys, with Cognito's claims; what Cognito refuses is refused; and
the WebSocket authorizer function accepts and refuses tokens as API Gateway's own authorizer does."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import jwt
import pytest
import requests
from botocore.exceptions import ClientError

from local_cloud.harness import Loop
from localcloud import cognito
from localcloud.plan import Plan, PlanError

ROOT = Path(__file__).resolve().parents[3]
SITE = "http://127.0.0.1:1"  # where the dashboard would be: the callback URL's local form


@pytest.fixture(scope="module")
def pool(aio: Loop) -> Iterator[cognito.UserPool]:
    if not (ROOT / "cdktf.out" / "stacks" / "dev" / "cdk.tf.json").is_file():
        pytest.fail("the dev stack is not synthesized: run ./noxw -s synth (the unit session does)")
    plan = Plan.load(ROOT, "dev")
    (found,) = cognito.pools(plan)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    found.local_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    plan.map_endpoint(f"https://cognito-idp.{plan.region}.amazonaws.com", found.local_url)
    for distribution in plan.of_type("aws_cloudfront_distribution"):  # the site, as the cloud maps it
        plan.map_endpoint(f"https://{plan.attribute(distribution.address, 'domain_name')}", SITE)
    aio.run(found.start(sock))
    yield found
    aio.run(found.stop())


def client_with(pool: cognito.UserPool, flag: str) -> cognito.Client:
    return next(c for c in pool.clients.values() if flag in c.flows or flag in c.auth_flows)


def idp(pool: cognito.UserPool) -> Any:
    return boto3.client(
        "cognito-idp",
        endpoint_url=pool.local_url,
        region_name="eu-central-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


def sign_in(pool: cognito.UserPool, key: str = "operator") -> dict[str, Any]:
    user = next(u for u in pool.users.values() if u.key == key)
    answer = idp(pool).initiate_auth(
        ClientId=client_with(pool, "ALLOW_USER_PASSWORD_AUTH").id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user.username, "PASSWORD": user.password},
    )
    return dict(answer["AuthenticationResult"])


def verified(pool: cognito.UserPool, token: str, **options: Any) -> dict[str, Any]:
    """Verify as any relying party would: the key from the issuer's published JWKS."""
    keys = jwt.PyJWKClient(f"{pool.local_issuer}/.well-known/jwks.json")
    key = keys.get_signing_key_from_jwt(token)
    return dict(jwt.decode(token, key.key, algorithms=["RS256"], issuer=pool.local_issuer, **options))


class TestDeclaredUsers:
    def test_the_dev_stack_declares_an_operator_and_a_viewer_as_a_comment_terraform_ignores(
        self, pool: cognito.UserPool
    ) -> None:
        document = json.loads((ROOT / "cdktf.out" / "stacks" / "dev" / "cdk.tf.json").read_text())
        assert "aws_cognito_user" not in document["resource"]  # nothing is created on AWS
        assert {(u.key, u.groups[0]) for u in pool.users.values()} == {
            ("operator", "operators"),
            ("viewer", "viewers"),
        }
        # Passwords are made at start-up, and pass any Cognito password policy.
        for user in pool.users.values():
            assert len(user.password) >= 20
            assert any(c.isupper() for c in user.password) and any(c.isdigit() for c in user.password)


class TestTokens:
    def test_initiate_auth_gives_rs256_tokens_with_cognitos_claims(self, pool: cognito.UserPool) -> None:
        result = sign_in(pool)
        assert result["TokenType"] == "Bearer" and result["ExpiresIn"] == 3600
        assert jwt.get_unverified_header(result["AccessToken"])["alg"] == "RS256"
        access = verified(pool, result["AccessToken"])
        assert access["token_use"] == "access"
        assert access["username"] == "operator@example.com"
        assert access["cognito:groups"] == ["operators"]
        assert access["client_id"] == client_with(pool, "ALLOW_USER_PASSWORD_AUTH").id
        assert access["scope"] == "aws.cognito.signin.user.admin"
        assert access["exp"] - access["iat"] == 3600
        identity = verified(pool, result["IdToken"], audience=access["client_id"])
        assert identity["token_use"] == "id" and identity["cognito:username"] == "operator@example.com"

    def test_a_wrong_audience_is_refused(self, pool: cognito.UserPool) -> None:
        with pytest.raises(jwt.InvalidAudienceError):
            verified(pool, sign_in(pool)["IdToken"], audience="another-client")

    def test_an_expired_token_is_refused(self, pool: cognito.UserPool) -> None:
        expired = pool.expired_token("viewer")
        assert expired is not None
        with pytest.raises(jwt.ExpiredSignatureError):
            verified(pool, expired)
        with pytest.raises(cognito.TokenRefused) as refused:
            pool.verify(expired, "access")
        assert refused.value.expired

    def test_a_token_from_another_key_is_refused(self, pool: cognito.UserPool) -> None:
        claims = jwt.decode(sign_in(pool)["AccessToken"], options={"verify_signature": False})
        forged = jwt.encode(
            claims, cognito.rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256"
        )
        with pytest.raises(cognito.TokenRefused):
            pool.verify(forged, "access")

    def test_scopes_and_token_use_are_checked_as_the_rest_authorizer_does(
        self, pool: cognito.UserPool
    ) -> None:
        result = sign_in(pool)
        with pytest.raises(cognito.TokenRefused, match="scopes"):
            pool.verify(result["AccessToken"], "access", ["orchestra/operate"])
        with pytest.raises(cognito.TokenRefused, match="id token"):
            pool.verify(result["AccessToken"], "id")

    def test_refresh_token_auth(self, pool: cognito.UserPool) -> None:
        refreshed = idp(pool).initiate_auth(
            ClientId=client_with(pool, "ALLOW_USER_PASSWORD_AUTH").id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": sign_in(pool)["RefreshToken"]},
        )["AuthenticationResult"]
        assert verified(pool, refreshed["AccessToken"])["username"] == "operator@example.com"
        assert "RefreshToken" not in refreshed


class TestCognitosErrors:
    def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(self, pool: cognito.UserPool) -> None:
        client = client_with(pool, "ALLOW_USER_PASSWORD_AUTH").id
        for username in ("operator@example.com", "nobody@example.com"):
            with pytest.raises(ClientError) as refused:
                idp(pool).initiate_auth(
                    ClientId=client,
                    AuthFlow="USER_PASSWORD_AUTH",
                    AuthParameters={"USERNAME": username, "PASSWORD": "Wrong-password-1"},
                )
            assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"
            assert refused.value.response["Error"]["Message"] == "Incorrect username or password."

    def test_user_password_auth_only_where_the_client_allows_it(self, pool: cognito.UserPool) -> None:
        dashboard = client_with(pool, "code").id
        with pytest.raises(ClientError) as refused:
            idp(pool).initiate_auth(
                ClientId=dashboard,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": "operator@example.com", "PASSWORD": "x"},
            )
        assert refused.value.response["Error"]["Code"] == "InvalidParameterException"

    def test_an_operation_it_does_not_emulate_says_so(self, pool: cognito.UserPool) -> None:
        with pytest.raises(ClientError, match="not emulated"):
            idp(pool).list_users(UserPoolId=pool.id)


class TestOAuth2:
    def test_authorization_code_with_pkce_through_the_login_page(self, pool: cognito.UserPool) -> None:
        dashboard = client_with(pool, "code")
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        query = {
            "client_id": dashboard.id,
            "redirect_uri": f"{SITE}/",
            "response_type": "code",
            "scope": "openid orchestra/read",
            "state": "s1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        session = requests.Session()
        login = session.get(f"{pool.local_url}/oauth2/authorize", params=query, timeout=10)
        assert login.status_code == 200 and 'name="password"' in login.text
        operator = next(u for u in pool.users.values() if u.key == "operator")
        done = session.post(
            login.url,
            data={"username": operator.username, "password": operator.password},
            allow_redirects=False,
            timeout=10,
        )
        assert done.status_code == 302
        target = urlparse(done.headers["Location"])
        assert done.headers["Location"].startswith(f"{SITE}/?")
        code = parse_qs(target.query)["code"][0]
        assert parse_qs(target.query)["state"] == ["s1"]
        form = {
            "grant_type": "authorization_code",
            "client_id": dashboard.id,
            "code": code,
            "redirect_uri": f"{SITE}/",
        }
        wrong = requests.post(
            f"{pool.local_url}/oauth2/token", data={**form, "code_verifier": "nope"}, timeout=10
        )
        assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
        # The code was spent by the failed exchange, as Cognito spends it: start again.
        again = session.get(
            f"{pool.local_url}/oauth2/authorize", params=query, allow_redirects=False, timeout=10
        )
        code = parse_qs(urlparse(again.headers["Location"]).query)["code"][0]  # the hosted UI session
        tokens = requests.post(
            f"{pool.local_url}/oauth2/token",
            data={**form, "code": code, "code_verifier": verifier},
            timeout=10,
        ).json()
        access = verified(pool, tokens["access_token"])
        assert access["scope"] == "openid orchestra/read" and access["cognito:groups"] == ["operators"]
        refreshed = requests.post(
            f"{pool.local_url}/oauth2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": dashboard.id,
                "refresh_token": tokens["refresh_token"],
            },
            timeout=10,
        )
        assert refreshed.status_code == 200 and "access_token" in refreshed.json()

    def test_a_callback_that_is_not_registered_is_refused(self, pool: cognito.UserPool) -> None:
        dashboard = client_with(pool, "code")
        response = requests.get(
            f"{pool.local_url}/oauth2/authorize",
            params={
                "client_id": dashboard.id,
                "redirect_uri": "https://evil.example/",
                "response_type": "code",
            },
            timeout=10,
        )
        assert response.status_code == 400

    def test_the_dashboard_may_not_ask_to_operate(self, pool: cognito.UserPool) -> None:
        dashboard = client_with(pool, "code")
        response = requests.get(
            f"{pool.local_url}/oauth2/authorize",
            params={
                "client_id": dashboard.id,
                "redirect_uri": f"{SITE}/",
                "response_type": "code",
                "scope": "openid orchestra/operate",
            },
            timeout=10,
        )
        assert response.status_code == 400 and "orchestra/operate" in response.text

    def test_client_credentials_need_the_secret_and_grant_the_asked_scopes(
        self, pool: cognito.UserPool
    ) -> None:
        machine = client_with(pool, "client_credentials")
        url = f"{pool.local_url}/oauth2/token"
        bad = requests.post(
            url, data={"grant_type": "client_credentials"}, auth=(machine.id, "wrong"), timeout=10
        )
        assert (bad.status_code, bad.json()["error"]) == (401, "invalid_client")
        tokens = requests.post(
            url,
            data={"grant_type": "client_credentials", "scope": "orchestra/read"},
            auth=(machine.id, machine.secret),
            timeout=10,
        ).json()
        claims = verified(pool, tokens["access_token"])
        assert claims["sub"] == claims["client_id"] == machine.id
        assert claims["scope"] == "orchestra/read" and "username" not in claims
        assert "refresh_token" not in tokens and "id_token" not in tokens

    def test_discovery_names_the_local_endpoints(self, pool: cognito.UserPool) -> None:
        document = requests.get(f"{pool.local_issuer}/.well-known/openid-configuration", timeout=10).json()
        assert document["issuer"] == pool.local_issuer
        assert document["token_endpoint"] == f"{pool.local_url}/oauth2/token"
        assert document["jwks_uri"].endswith("/.well-known/jwks.json")


class TestTheWebSocketAuthorizerFunction:
    @pytest.fixture
    def authorizer(self, pool: cognito.UserPool, monkeypatch: pytest.MonkeyPatch) -> Any:
        from engine import runtime
        from engine.handlers import authorizer

        monkeypatch.setenv("USER_POOL_ISSUER", pool.local_issuer)
        monkeypatch.setenv(
            "AUTHORIZER_SCOPES", "orchestra/read orchestra/operate aws.cognito.signin.user.admin"
        )
        monkeypatch.setenv("AUTH_CLIENT_IDS", " ".join(pool.clients))  # the stack's three clients
        runtime.reset()
        authorizer._keys.cache_clear()
        yield authorizer
        runtime.reset()

    def event(self, token: str | None) -> dict[str, Any]:
        arn = "arn:aws:execute-api:eu-central-1:123456789012:abc/prod/$connect"
        return {
            "type": "REQUEST",
            "methodArn": arn,
            "queryStringParameters": {"token": token} if token else None,
        }

    def test_a_viewer_is_allowed_with_who_they_are_in_the_context(
        self, authorizer: Any, pool: cognito.UserPool
    ) -> None:
        from driver import FakeContext

        answer = authorizer.handler(self.event(sign_in(pool, "viewer")["AccessToken"]), FakeContext())
        assert answer["principalId"] == "viewer@example.com"
        assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        assert answer["context"] == {
            "kind": "user",
            "role": "viewer",
            "permissions": "read",
            "groups": "viewers",
        }

    @pytest.mark.parametrize("token", [None, "garbage", "a.b.c"])
    def test_no_or_a_malformed_token_is_unauthorized(self, authorizer: Any, token: str | None) -> None:
        from driver import FakeContext

        with pytest.raises(Exception, match=r"^Unauthorized$"):
            authorizer.handler(self.event(token), FakeContext())

    def test_an_expired_or_id_token_is_unauthorized(self, authorizer: Any, pool: cognito.UserPool) -> None:
        from driver import FakeContext

        for token in (pool.expired_token("operator"), sign_in(pool)["IdToken"]):
            with pytest.raises(Exception, match=r"^Unauthorized$"):
                authorizer.handler(self.event(token), FakeContext())

    def test_a_token_issued_to_another_app_client_of_the_pool_is_unauthorized(
        self, authorizer: Any, pool: cognito.UserPool
    ) -> None:
        from driver import FakeContext

        # Signed by the pool, valid, with an accepted scope: but for a client the stack does not own
        # (a shared pool's other apps). The wrong audience, for an access token.
        claims = jwt.decode(sign_in(pool, "viewer")["AccessToken"], options={"verify_signature": False})
        foreign = pool._sign({**claims, "client_id": "another-apps-client"})
        assert verified(pool, foreign)["client_id"] == "another-apps-client"
        with pytest.raises(Exception, match=r"^Unauthorized$"):
            authorizer.handler(self.event(foreign), FakeContext())

    def test_unreachable_keys_are_an_error_not_a_401(
        self, authorizer: Any, pool: cognito.UserPool, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from driver import FakeContext
        from engine import runtime

        token = sign_in(pool)["AccessToken"]
        monkeypatch.setenv("USER_POOL_ISSUER", "http://127.0.0.1:9/eu-central-1_gone")  # a closed port
        runtime.reset()
        authorizer._keys.cache_clear()
        with pytest.raises(jwt.PyJWKClientConnectionError):
            authorizer.handler(self.event(token), FakeContext())


class TestWhatCognitoRefusesAtCreation:
    def document(self) -> dict[str, Any]:
        return json.loads((ROOT / "cdktf.out" / "stacks" / "dev" / "cdk.tf.json").read_text())

    def machine(self, document: dict[str, Any]) -> dict[str, Any]:
        clients = document["resource"]["aws_cognito_user_pool_client"]
        return next(c for c in clients.values() if c.get("allowed_oauth_flows") == ["client_credentials"])

    @pytest.mark.parametrize(
        ("change", "says"),
        [
            ({"generate_secret": False}, "needs generate_secret"),
            ({"allowed_oauth_flows": ["client_credentials", "code"]}, "cannot be combined"),
            ({"allowed_oauth_scopes": ["openid"]}, "custom scopes only"),
            ({"allowed_oauth_scopes": ["orchestra/delete"]}, "ScopeDoesNotExistException"),
        ],
    )
    def test_a_bad_client_stops_start_up(self, tmp_path: Path, change: dict[str, Any], says: str) -> None:
        document = self.document()
        self.machine(document).update(change)
        stack = tmp_path / "cdktf.out" / "stacks" / "dev"
        stack.mkdir(parents=True)
        (stack / "cdk.tf.json").write_text(json.dumps(document))
        with pytest.raises(PlanError, match=says):
            cognito.pools(Plan.load(tmp_path, "dev"))
