"""EventBridge scheduled rules: `rate(...)` and `cron(...)` rules invoking Lambda targets.

A rule's target function is invoked asynchronously (as EventBridge does) with the scheduled event
(`"detail-type": "Scheduled Event"`, `"source": "aws.events"`) or the target's constant `input`,
once per period, the first time one period after start-up; only when the function's resource
policy lets events.amazonaws.com invoke it from this rule (else the invocation fails, as on AWS,
and the failure is logged). Disabled rules never fire.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

from localcloud.lambda_ import LambdaService
from localcloud.permissions import Permissions
from localcloud.plan import Plan, PlanError

log = logging.getLogger("localcloud.scheduler")

TYPES = ("aws_cloudwatch_event_rule", "aws_cloudwatch_event_target")
_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def parse_rate(expression: str) -> float:
    """rate(5 minutes) -> 300.0; AWS wants the singular unit for 1 and the plural otherwise."""
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression.strip())
    if not match:
        raise ValueError(f"{expression!r} is not a rate expression like rate(5 minutes)")
    value, unit = int(match.group(1)), match.group(2)
    if value <= 0 or (value == 1) != (not unit.endswith("s")):
        raise ValueError(f"{expression!r}: use rate(1 minute) or rate(N minutes) with N > 1")
    return float(value * _UNITS[unit])


class Cron:
    """EventBridge cron(minutes hours day-of-month month day-of-week year), in UTC. Supports numbers,
    ranges, lists, steps, `*` and `?`; not L, W or # (a rule using them stops start-up)."""

    _DAYS: ClassVar[dict[str, int]] = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
    _MONTHS: ClassVar[dict[str, int]] = {
        m: i
        for i, m in enumerate(
            ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
        )
    }

    def __init__(self, expression: str) -> None:
        match = re.fullmatch(r"cron\((.+)\)", expression.strip())
        fields = match.group(1).split() if match else []
        if len(fields) != 6:
            raise ValueError(f"{expression!r} is not cron(minutes hours day-of-month month day-of-week year)")
        self.minutes = self._field(fields[0], 0, 59, {})
        self.hours = self._field(fields[1], 0, 23, {})
        self.days = self._field(fields[2], 1, 31, {})
        self.months = self._field(fields[3], 1, 12, self._MONTHS)
        self.weekdays = self._field(fields[4], 1, 7, self._DAYS)
        self.years = self._field(fields[5], 1970, 2199, {})
        self.any_day, self.any_weekday = fields[2] in ("?", "*"), fields[4] in ("?", "*")

    @staticmethod
    def _field(text: str, low: int, high: int, names: dict[str, int]) -> set[int]:
        if text in ("*", "?"):
            return set(range(low, high + 1))
        values: set[int] = set()
        for part in text.split(","):
            if re.search(r"[LW#]", part) and not any(n in part.upper() for n in names):
                raise ValueError(f"{text!r}: L, W and # are not supported locally")
            base, _, step = part.partition("/")
            if base in ("*", "?"):
                start, end = low, high
            elif "-" in base:
                a, b = base.split("-", 1)
                start, end = names.get(a.upper()) or int(a), names.get(b.upper()) or int(b)
            else:
                start = names.get(base.upper()) or int(base)
                end = high if step else start
            values.update(range(start, end + 1, int(step) if step else 1))
        if not values or min(values) < low or max(values) > high:
            raise ValueError(f"{text!r} is outside {low}..{high}")
        return values

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        candidate = moment.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        for _ in range(60 * 24 * 366 * 2):
            weekday = (candidate.isoweekday() % 7) + 1  # SUN=1 ... SAT=7
            day_ok = (candidate.day in self.days or self.any_day) and (
                weekday in self.weekdays or self.any_weekday
            )
            if (
                candidate.minute in self.minutes
                and candidate.hour in self.hours
                and candidate.month in self.months
                and candidate.year in self.years
                and day_ok
            ):
                return candidate
            candidate += dt.timedelta(minutes=1)
        raise ValueError("the cron expression never fires")


@dataclass
class Target:
    rule: str
    rule_arn: str
    function: str
    input: str | None


@dataclass
class Rule:
    address: str
    name: str
    arn: str
    period: float | None
    cron: Cron | None
    targets: list[Target]


class Scheduler:
    def __init__(self, plan: Plan, service: LambdaService, permissions: Permissions) -> None:
        self.plan = plan
        self.service = service
        self.permissions = permissions
        self.rules: list[Rule] = []
        self.fired = 0
        for resource in plan.of_type("aws_cloudwatch_event_rule"):
            config = plan.resolved(resource.address)
            expression = config.get("schedule_expression")
            if not expression:
                continue  # event-pattern rules: no event bus is emulated, so they never match
            state = str(config.get("state") or ("ENABLED" if config.get("is_enabled", True) else "DISABLED"))
            if state.upper() == "DISABLED":
                continue
            try:
                period = parse_rate(expression) if str(expression).startswith("rate(") else None
                cron = Cron(expression) if str(expression).startswith("cron(") else None
            except ValueError as exc:
                raise PlanError(f"{resource.address}: schedule_expression: {exc}") from exc
            if period is None and cron is None:
                raise PlanError(
                    f"{resource.address}: schedule_expression {expression!r} is neither rate() nor cron()"
                )
            name = str(plan.attribute(resource.address, "name"))
            self.rules.append(
                Rule(resource.address, name, str(plan.attribute(resource.address, "arn")), period, cron, [])
            )
        by_name = {r.name: r for r in self.rules}
        for resource in plan.of_type("aws_cloudwatch_event_target"):
            config = plan.resolved(resource.address)
            rule = by_name.get(str(config.get("rule")))
            if rule is None:
                continue
            function = plan.function_for_arn(str(config.get("arn", "")))
            if function is None:
                raise PlanError(
                    f"{resource.address}: target {config.get('arn')} is not a function of the stack; "
                    "only Lambda targets run locally"
                )
            if config.get("input_transformer") or config.get("input_path"):
                raise PlanError(
                    f"{resource.address}: input_transformer and input_path are not supported locally"
                )
            rule.targets.append(
                Target(
                    rule.name,
                    rule.arn,
                    str(plan.attribute(function.address, "function_name")),
                    config.get("input"),
                )
            )

    def event(self, rule: Rule, now: float) -> dict[str, Any]:
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.plan.account_id,
            "time": dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.plan.region,
            "resources": [rule.arn],
            "detail": {},
        }

    def fire(self, rule: Rule) -> None:
        now = time.time()
        for target in rule.targets:
            if not self.permissions.allows(target.function, "events.amazonaws.com", rule.arn):
                log.warning(
                    "%s: no permission lets events.amazonaws.com invoke %s; not invoked",
                    rule.address,
                    target.function,
                )
                continue
            payload = target.input if target.input is not None else json.dumps(self.event(rule, now))
            self.service.get(target.function).invoke_async(payload.encode())
            self.fired += 1

    async def fire_all(self) -> int:
        """Fire every rule now, out of schedule (the control API, local only: the soak's sweeps)."""
        before = self.fired
        for rule in self.rules:
            self.fire(rule)
        return self.fired - before

    async def run(self) -> None:
        await asyncio.gather(*(self._rule(rule) for rule in self.rules if rule.targets))

    async def _rule(self, rule: Rule) -> None:
        while True:
            if rule.period is not None:
                await asyncio.sleep(rule.period)
            else:
                assert rule.cron is not None
                now = dt.datetime.now(dt.UTC)
                await asyncio.sleep((rule.cron.next_after(now) - now).total_seconds())
            self.fire(rule)
