"""Lambda resource policies (aws_lambda_permission): may this service invoke this function?

API Gateway and EventBridge can invoke a function only when a permission names their service
principal and, when it has one, a `source_arn` matching the caller (`*` and `?` as in ArnLike).
Without it AWS refuses the call; so does the local cloud, so a missing or mis-scoped permission
breaks here the way it breaks on AWS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from localcloud.plan import Plan

TYPES = ("aws_lambda_permission",)


@dataclass(frozen=True)
class Statement:
    address: str
    function: str  # name
    principal: str
    action: str
    source_arn: str | None
    source_account: str | None


def _arn_like(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


class Permissions:
    def __init__(self, plan: Plan) -> None:
        self.account_id = plan.account_id
        self.statements: list[Statement] = []
        for resource in plan.of_type(*TYPES):
            config = plan.resolved(resource.address)
            function = str(config.get("function_name", ""))
            match = re.search(r"function:([^:]+)", function)
            self.statements.append(
                Statement(
                    address=resource.address,
                    function=match.group(1) if match else function,
                    principal=str(config.get("principal", "")),
                    action=str(config.get("action", "")),
                    source_arn=config.get("source_arn"),
                    source_account=config.get("source_account"),
                )
            )

    def allows(self, function: str, principal: str, source_arn: str) -> bool:
        for s in self.statements:
            if s.function != function or s.principal != principal:
                continue
            if s.action not in ("lambda:InvokeFunction", "lambda:*"):
                continue
            if s.source_arn is not None and not _arn_like(s.source_arn, source_arn):
                continue
            if s.source_account is not None and s.source_account != self.account_id:
                continue
            return True
        return False
