"""The identity module: the user pool and what Cognito requires of it, its clients and groups."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from environments import ExistingAuth, NoAuth, Settings
from modules.identity import API_SCOPES, check_callback_url
from tests.infra.conftest import Stack, named, only, ref, resources


class TestUserPool:
    def test_admins_create_accounts_with_a_strong_password_policy_and_optional_totp(
        self, env_stack: Stack
    ) -> None:
        pool = only(env_stack, "aws_cognito_user_pool")
        assert pool["admin_create_user_config"] == {"allow_admin_create_user_only": True}
        policy = pool["password_policy"]
        assert policy["minimum_length"] >= 12
        assert all(
            policy[k]
            for k in ("require_lowercase", "require_uppercase", "require_numbers", "require_symbols")
        )
        # OPTIONAL needs a second factor to offer (Cognito refuses MFA without one).
        assert pool["mfa_configuration"] == "OPTIONAL"
        assert pool["software_token_mfa_configuration"] == {"enabled": True}

    @pytest.mark.parametrize(
        ("environment", "protection", "tier", "threats"),
        [("dev", "INACTIVE", "ESSENTIALS", None), ("prod", "ACTIVE", "PLUS", "ENFORCED")],
    )
    def test_prod_is_protected_from_deletion_and_has_threat_protection(
        self, stacks: dict[str, Stack], environment: str, protection: str, tier: str, threats: str | None
    ) -> None:
        pool = only(stacks[environment], "aws_cognito_user_pool")
        assert pool["deletion_protection"] == protection
        assert pool["user_pool_tier"] == tier
        # Threat protection (advanced security) exists on the Plus feature plan only.
        assert (pool.get("user_pool_add_ons") or {}).get("advanced_security_mode") == threats

    def test_no_user_is_created_on_aws(self, env_stack: Stack) -> None:
        # The local users are a Terraform comment ("//", which Testing.synth strips; see
        # tests/unit/local_cloud/test_cognito.py for what the synthesized dev stack carries).
        assert resources(env_stack, "aws_cognito_user") == {}

    def test_the_hosted_ui_domain_is_a_valid_prefix(self, env_stack: Stack) -> None:
        domain = only(env_stack, "aws_cognito_user_pool_domain")
        assert domain["managed_login_version"] == 1
        assert not any(word in domain["domain"] for word in ("aws", "amazon", "cognito"))


class TestClients:
    def clients(self, stack: Stack) -> dict[str, dict[str, object]]:
        return {
            c["name"].rsplit("-", 1)[1]: c for c in resources(stack, "aws_cognito_user_pool_client").values()
        }

    def test_the_dashboard_is_a_public_pkce_client_that_may_not_ask_to_operate(
        self, env_stack: Stack
    ) -> None:
        dashboard = self.clients(env_stack)["dashboard"]
        assert dashboard["generate_secret"] is False
        assert dashboard["allowed_oauth_flows"] == ["code"]
        assert dashboard["allowed_oauth_flows_user_pool_client"] is True
        assert "orchestra/operate" not in dashboard["allowed_oauth_scopes"]
        distribution, _ = named(env_stack, "aws_cloudfront_distribution", "site/distribution")
        site = f"https://${{aws_cloudfront_distribution.{distribution}.domain_name}}/"
        assert dashboard["callback_urls"][0] == site and dashboard["logout_urls"][0] == site

    def test_the_machine_client_has_a_secret_and_custom_scopes_only(self, env_stack: Stack) -> None:
        machine = self.clients(env_stack)["machine"]
        assert machine["generate_secret"] is True
        assert machine["allowed_oauth_flows"] == ["client_credentials"]
        assert sorted(machine["allowed_oauth_scopes"]) == ["orchestra/operate", "orchestra/read"]

    def test_people_scripts_use_user_password_auth_on_their_own_client(self, env_stack: Stack) -> None:
        cli = self.clients(env_stack)["cli"]
        assert cli["generate_secret"] is False
        assert "ALLOW_USER_PASSWORD_AUTH" in cli["explicit_auth_flows"]
        assert "allowed_oauth_flows" not in cli
        assert "ALLOW_USER_PASSWORD_AUTH" not in self.clients(env_stack)["dashboard"]["explicit_auth_flows"]

    @pytest.mark.parametrize("function_id", ["api", "authorizer"])
    def test_the_apis_take_tokens_of_these_three_clients_only(
        self, env_stack: Stack, function_id: str
    ) -> None:
        # API Gateway's Cognito authorizer takes a token of any client of the pool.
        _, body = named(env_stack, "aws_lambda_function", f"orchestration/{function_id}_function")
        clients = {
            c["name"].rsplit("-", 1)[1]: ref("aws_cognito_user_pool_client", name, "id")
            for name, c in resources(env_stack, "aws_cognito_user_pool_client").items()
        }
        allowed = body["environment"]["variables"]["AUTH_CLIENT_IDS"].split()
        assert sorted(allowed) == sorted(clients.values())
        assert set(clients) == {"dashboard", "cli", "machine"}

    def test_token_validity_follows_the_settings_within_cognitos_bounds(self, env_stack: Stack) -> None:
        for client in self.clients(env_stack).values():
            assert 5 <= client["access_token_validity"] <= 1440  # minutes
            assert client["token_validity_units"] == [
                {"access_token": "minutes", "id_token": "minutes", "refresh_token": "days"}
            ]
            assert client["enable_token_revocation"] is True
            assert client["prevent_user_existence_errors"] == "ENABLED"


class TestScopesAndGroups:
    def test_a_resource_server_with_read_and_operate(self, env_stack: Stack) -> None:
        server = only(env_stack, "aws_cognito_resource_server")
        assert server["identifier"] == "orchestra"
        assert sorted(s["scope_name"] for s in server["scope"]) == ["operate", "read"]
        assert {"orchestra/read", "orchestra/operate"} <= set(API_SCOPES)

    def test_groups_operators_and_viewers(self, env_stack: Stack) -> None:
        pool, _ = named(env_stack, "aws_cognito_user_pool", "identity/user_pool")
        groups = {g["name"]: g for g in resources(env_stack, "aws_cognito_user_group").values()}
        assert set(groups) == {"operators", "viewers"}
        assert all(g["user_pool_id"] == ref("aws_cognito_user_pool", pool, "id") for g in groups.values())


class TestCallbackUrls:
    @pytest.mark.parametrize(
        ("url", "accepted"),
        [
            ("https://d123.cloudfront.net/", True),
            ("http://localhost:5173/", True),
            ("http://example.com/", False),  # Cognito: HTTPS except http://localhost
            ("https://example.com/#x", False),  # no fragment
        ],
    )
    def test_cognitos_rules(self, url: str, accepted: bool) -> None:
        assert (check_callback_url(url) is None) is accepted


class TestOutputs:
    def test_the_platform_team_reads_the_pool_and_the_client_ids(self, env_stack: Stack) -> None:
        outputs = env_stack["output"]
        for name in (
            "user_pool_id",
            "auth_issuer",
            "auth_domain",
            "dashboard_client_id",
            "machine_client_id",
        ):
            assert name in outputs, name
        assert "client_secret" not in str(outputs)


class TestOtherModes:
    def test_without_sign_in_there_is_no_pool_and_no_authorizer(
        self, dev_settings: Settings, synth_settings: Callable[[Settings], Stack]
    ) -> None:
        stack = synth_settings(dev_settings.model_copy(update={"auth": NoAuth(mode="none")}))
        assert resources(stack, "aws_cognito_user_pool") == {}
        assert resources(stack, "aws_api_gateway_authorizer") == {}
        assert resources(stack, "aws_apigatewayv2_authorizer") == {}
        assert {m["authorization"] for m in resources(stack, "aws_api_gateway_method").values()} == {"NONE"}
        for body in resources(stack, "aws_lambda_function").values():
            assert body.get("environment", {}).get("variables", {}).get("AUTH_MODE", "none") == "none"
        config = next(o for o in resources(stack, "aws_s3_object").values() if o["key"] == "config.js")
        assert "window.AUTH" not in config["content"]

    def test_an_existing_pool_gets_the_clients_groups_and_resource_server_but_no_new_pool(
        self, dev_settings: Settings, synth_settings: Callable[[Settings], Stack]
    ) -> None:
        existing = ExistingAuth(
            mode="existing", user_pool_id="eu-central-1_Platform1", domain="https://login.example.com"
        )
        stack = synth_settings(dev_settings.model_copy(update={"auth": existing}))
        assert resources(stack, "aws_cognito_user_pool") == {}
        assert resources(stack, "aws_cognito_user_pool_domain") == {}
        assert {c["user_pool_id"] for c in resources(stack, "aws_cognito_user_pool_client").values()} == {
            "eu-central-1_Platform1"
        }
        authorizer = only(stack, "aws_api_gateway_authorizer")
        assert authorizer["provider_arns"] == [
            "arn:aws:cognito-idp:eu-central-1:123456789012:userpool/eu-central-1_Platform1"
        ]
        assert stack["output"]["auth_domain"]["value"] == "https://login.example.com"
