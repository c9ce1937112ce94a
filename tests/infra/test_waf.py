"""WAF: on in prod (a setting), off in dev and staging; what WAF requires of it."""

from __future__ import annotations

from environments import load
from modules.waf import LOG_GROUP_PREFIX
from tests.infra.conftest import Stack, named, only, ref, resources


def acls(stack: Stack) -> dict[str, dict[str, object]]:
    return {str(a["scope"]): a for a in resources(stack, "aws_wafv2_web_acl").values()}


class TestWebAcls:
    def test_on_in_prod_only(self, stacks: dict[str, Stack]) -> None:
        assert set(acls(stacks["prod"])) == {"REGIONAL", "CLOUDFRONT"}
        for environment in ("dev", "staging"):
            assert acls(stacks[environment]) == {}
        assert load("prod").waf_settings.enabled and not load("dev").waf_settings.enabled

    def test_the_cloudfront_acl_is_made_in_us_east_1_and_protects_the_distribution(
        self, stacks: dict[str, Stack]
    ) -> None:
        prod = stacks["prod"]
        providers = {p.get("alias"): p for p in prod["provider"]["aws"]}
        assert providers["us_east_1"]["region"] == "us-east-1"  # WAF: scope CLOUDFRONT lives there
        cloudfront = acls(prod)["CLOUDFRONT"]
        assert cloudfront["provider"] == "aws.us_east_1"
        assert "provider" not in acls(prod)["REGIONAL"]
        name, _ = named(prod, "aws_wafv2_web_acl", "waf/cloudfront")
        distribution = only(prod, "aws_cloudfront_distribution")
        assert distribution["web_acl_id"] == ref("aws_wafv2_web_acl", name, "arn")

    def test_the_regional_acl_protects_the_rest_stage_and_logs_without_tokens(
        self, stacks: dict[str, Stack]
    ) -> None:
        prod = stacks["prod"]
        name, _ = named(prod, "aws_wafv2_web_acl", "waf/regional")
        stage, _ = named(prod, "aws_api_gateway_stage", "api/stage")
        association = only(prod, "aws_wafv2_web_acl_association")
        assert association["resource_arn"] == ref("aws_api_gateway_stage", stage, "arn")
        assert association["web_acl_arn"] == ref("aws_wafv2_web_acl", name, "arn")
        logging = only(prod, "aws_wafv2_web_acl_logging_configuration")
        assert logging["redacted_fields"] == [{"single_header": {"name": "authorization"}}]
        groups = {g["name"] for g in resources(prod, "aws_cloudwatch_log_group").values()}
        assert f"{LOG_GROUP_PREFIX}orchestra-prod-api" in groups  # WAF requires the prefix

    def test_managed_rule_groups_that_let_the_api_and_ci_through(self, stacks: dict[str, Stack]) -> None:
        for acl in acls(stacks["prod"]).values():
            rules = {r["name"]: r for r in acl["rule"]}  # type: ignore[attr-defined]
            assert rules["per-ip-rate-limit"]["statement"]["rate_based_statement"]["limit"] == 2000
            common = rules["AWSManagedRulesCommonRuleSet"]["statement"]["managed_rule_group_statement"]
            # The API accepts bodies up to 256 KiB: the 8 KB body rule only counts.
            assert common["rule_action_override"] == [
                {"name": "SizeRestrictions_BODY", "action_to_use": {"count": {}}}
            ]
            assert "AWSManagedRulesKnownBadInputsRuleSet" in rules  # Log4Shell and friends
            assert sorted(r["priority"] for r in rules.values()) == list(range(len(rules)))
