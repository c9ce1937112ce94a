"""WAF: web ACLs with AWS managed rule groups in front of the REST API's stage and the dashboard's
CloudFront distribution (a setting, on in prod).

Each web ACL: a per-IP rate limit, then AWS's common rule set, known bad inputs (Log4Shell and
similar), the Amazon IP reputation list and the anonymous IP list. The common rule set's
SizeRestrictions_BODY would block any body over 8 KB; the API accepts workflow inputs up to 256 KiB
and checks them itself, so that one rule only counts, as does the anonymous list's
HostingProviderIPList (CI runners call from cloud providers' addresses). A CloudFront web ACL must
be created in us-east-1 (WAF: scope CLOUDFRONT), hence the provider for that region. The regional
ACL logs to a KMS-encrypted log group, whose name WAF requires to begin with `aws-waf-logs-`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modules.cdk import Construct, aws
from modules.components import EncryptedLogGroup, LogGroupInputs

CLOUDFRONT_REGION = "us-east-1"
LOG_GROUP_PREFIX = "aws-waf-logs-"
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesAnonymousIpList",
)
# Rules of a managed group that only count here: bodies up to 256 KiB are the API's to judge, and
# CI runners and scripts call from hosting providers' addresses.
COUNT_ONLY = {
    "AWSManagedRulesCommonRuleSet": ("SizeRestrictions_BODY",),
    "AWSManagedRulesAnonymousIpList": ("HostingProviderIPList",),
}


@dataclass(frozen=True)
class WafInputs:
    name_prefix: str
    rate_limit_per_5_minutes: int
    log_retention_days: int
    kms_key_arn: str


def _visibility(metric: str) -> dict[str, Any]:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric, "sampled_requests_enabled": True}


def rules(prefix: str, rate_limit: int) -> list[dict[str, Any]]:
    """The web ACL's rules in Terraform's JSON form (nested blocks as lists of objects)."""
    found: list[dict[str, Any]] = [
        {
            "name": "per-ip-rate-limit",
            "priority": 0,
            "action": {"block": {}},
            "statement": {"rate_based_statement": {"limit": rate_limit, "aggregate_key_type": "IP"}},
            "visibility_config": _visibility(f"{prefix}-rate"),
        }
    ]
    for priority, group in enumerate(MANAGED_RULE_GROUPS, start=1):
        statement: dict[str, Any] = {"vendor_name": "AWS", "name": group}
        if group in COUNT_ONLY:
            statement["rule_action_override"] = [
                {"name": rule, "action_to_use": {"count": {}}} for rule in COUNT_ONLY[group]
            ]
        found.append(
            {
                "name": group,
                "priority": priority,
                "override_action": {"none": {}},
                "statement": {"managed_rule_group_statement": statement},
                "visibility_config": _visibility(f"{prefix}-{group}"),
            }
        )
    return found


class Waf(Construct):
    """A regional web ACL for API stages and a CloudFront one for the distribution."""

    def __init__(
        self, scope: Construct, id: str, inputs: WafInputs, us_east_1: aws.provider.AwsProvider
    ) -> None:
        super().__init__(scope, id)
        self.inputs = inputs
        self.regional = self._acl("regional", "REGIONAL", None)
        self.cloudfront = self._acl("cloudfront", "CLOUDFRONT", us_east_1)
        logs = EncryptedLogGroup(
            self,
            "logs",
            LogGroupInputs(
                name=f"{LOG_GROUP_PREFIX}{inputs.name_prefix}-api",
                retention_days=inputs.log_retention_days,
                kms_key_arn=inputs.kms_key_arn,
            ),
        )
        logging = aws.wafv2_web_acl_logging_configuration.Wafv2WebAclLoggingConfiguration(
            self, "regional_logging", resource_arn=self.regional.arn, log_destination_configs=[logs.arn]
        )
        # Requests carry bearer tokens: never write them to the logs.
        logging.add_override("redacted_fields", [{"single_header": {"name": "authorization"}}])

    def _acl(
        self, name: str, scope: str, provider: aws.provider.AwsProvider | None
    ) -> aws.wafv2_web_acl.Wafv2WebAcl:
        prefix = f"{self.inputs.name_prefix}-{name}"
        acl = aws.wafv2_web_acl.Wafv2WebAcl(
            self,
            name,
            name=prefix,
            description=f"Orchestra {name}: rate limit and AWS managed rule groups",
            scope=scope,
            default_action=aws.wafv2_web_acl.Wafv2WebAclDefaultAction(
                allow=aws.wafv2_web_acl.Wafv2WebAclDefaultActionAllow()
            ),
            visibility_config=aws.wafv2_web_acl.Wafv2WebAclVisibilityConfig(
                cloudwatch_metrics_enabled=True, metric_name=prefix, sampled_requests_enabled=True
            ),
            provider=provider,
        )
        acl.add_override("rule", rules(prefix, self.inputs.rate_limit_per_5_minutes))
        return acl

    def protect_stage(self, stage_arn: str) -> None:
        aws.wafv2_web_acl_association.Wafv2WebAclAssociation(
            self, "rest_stage", resource_arn=stage_arn, web_acl_arn=self.regional.arn
        )
