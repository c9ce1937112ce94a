"""IAM identity policies as the local cloud evaluates them (localcloud/iam.py): AWS's evaluation
logic, where policies come from in the stack, what stops start-up, and what Lambda checks of an
execution role when a mapping or a destination is created. No service runs here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from local_cloud.harness import Loop
from local_cloud.stacks import ACCOUNT, REGION, StackBuilder, allow, ref
from localcloud import functions, iam
from localcloud.cloud import LocalCloud, Options
from localcloud.mappings import check_execution_role, read_mapping
from localcloud.plan import Plan, PlanError

TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/items"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:retry"
LOGS = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:g:log-stream:s"


def principal(*statements: dict[str, Any]) -> iam.Principal:
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    return iam.Principal(
        function="fn",
        role="fn-role",
        arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/fn-role/fn",
        statements=iam.parse_policy(json.dumps(document), "aws_iam_role_policy.p"),
    )


def deny(actions: str | list[str], resources: str | list[str]) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": actions, "Resource": resources}


class TestEvaluation:
    def test_nothing_allows_is_an_implicit_deny_in_awss_words(self) -> None:
        denial = principal(allow("dynamodb:GetItem", TABLE)).check("dynamodb:UpdateItem", TABLE)
        assert denial is not None and not denial.explicit
        assert denial.message() == (
            f"User: arn:aws:sts::{ACCOUNT}:assumed-role/fn-role/fn is not authorized to perform: "
            f"dynamodb:UpdateItem on resource: {TABLE} because no identity-based policy allows the "
            "dynamodb:UpdateItem action"
        )

    def test_any_matching_allow_allows(self) -> None:
        role = principal(
            allow("dynamodb:GetItem", "arn:aws:dynamodb:*:*:table/other"), allow("dynamodb:*", TABLE)
        )
        assert role.check("dynamodb:GetItem", TABLE) is None

    @pytest.mark.parametrize("deny_first", [True, False])
    def test_an_explicit_deny_beats_any_allow(self, deny_first: bool) -> None:
        statements = [allow("dynamodb:*", "*"), deny("dynamodb:DeleteItem", TABLE)]
        role = principal(*(reversed(statements) if deny_first else statements))
        denial = role.check("dynamodb:DeleteItem", TABLE)
        assert denial is not None and denial.explicit
        assert denial.message().endswith(" with an explicit deny in an identity-based policy")
        assert role.check("dynamodb:PutItem", TABLE) is None

    @pytest.mark.parametrize(
        ("pattern", "action", "allowed"),
        [
            ("dynamodb:*Item", "dynamodb:UpdateItem", True),
            ("dynamodb:*Item", "dynamodb:Query", False),
            ("dynamodb:Batch?etItem", "dynamodb:BatchGetItem", True),
            ("dynamodb:Batch?etItem", "dynamodb:BatchWriteItem", False),
            ("dynamodb:?etItem", "dynamodb:GetItem", True),
            ("dynamodb:?etItem", "dynamodb:BatchGetItem", False),  # ? is exactly one character
            ("DynamoDB:getitem", "dynamodb:GetItem", True),  # action names are case-insensitive
            ("*", "sqs:SendMessage", True),
            ("s3:*", "sqs:SendMessage", False),
        ],
    )
    def test_action_wildcards(self, pattern: str, action: str, allowed: bool) -> None:
        assert (principal(allow(pattern, "*")).check(action, TABLE) is None) is allowed

    @pytest.mark.parametrize(
        ("pattern", "resource", "allowed"),
        [
            (TABLE, TABLE, True),
            (TABLE, TABLE + "/index/by_status", False),  # an index has an ARN of its own
            (TABLE + "/index/*", TABLE + "/index/by_status", True),
            (TABLE + "*", TABLE + "/index/by_status", True),  # the resource part's * crosses "/"
            (TABLE.replace("items", "Items"), TABLE, False),  # resources are case-sensitive
            ("arn:aws:sqs:*:*:retry", QUEUE, True),
            ("arn:aws:sqs:eu-*-1:*:retry", QUEUE, True),
            ("arn:aws:sqs:*:retry", QUEUE, False),  # five components never match six
            ("arn:aws:logs:*:*:log-group:g:*", LOGS, True),  # the resource part may hold colons
            ("arn:aws:logs:*:log-group:g:*", LOGS, False),  # a * before it never crosses one
            ("arn:aws:s3:::bucket/outputs/*", "arn:aws:s3:::bucket/outputs/a/b.json", True),
            ("arn:aws:s3:::bucket/outputs/*", "arn:aws:s3:::bucket/other/b.json", False),
            ("arn:aws:s3:::bucket/outputs/*", "arn:aws:s3:::bucket", False),
            (TABLE, "*", False),  # an action without resource-level permissions needs Resource "*"
            ("*", "*", True),
        ],
    )
    def test_resources_match_as_arnlike(self, pattern: str, resource: str, allowed: bool) -> None:
        assert (
            principal(allow("dynamodb:Scan", pattern)).check("dynamodb:Scan", resource) is None
        ) is allowed

    def test_not_action_allows_everything_else(self) -> None:
        role = principal({"Effect": "Allow", "NotAction": ["dynamodb:Delete*"], "Resource": TABLE})
        assert role.check("dynamodb:UpdateItem", TABLE) is None
        assert role.check("dynamodb:DeleteItem", TABLE) is not None

    def test_not_resource_allows_everywhere_else(self) -> None:
        role = principal({"Effect": "Allow", "Action": "dynamodb:*", "NotResource": TABLE})
        assert role.check("dynamodb:GetItem", TABLE.replace("items", "other")) is None
        assert role.check("dynamodb:GetItem", TABLE) is not None

    def test_a_request_of_several_parts_needs_every_part_allowed(self) -> None:
        role = principal(allow("dynamodb:PutItem", TABLE))
        other = TABLE.replace("items", "other")
        assert role.authorize([("dynamodb:PutItem", TABLE), ("dynamodb:PutItem", TABLE)]) is None
        denial = role.authorize([("dynamodb:PutItem", TABLE), ("dynamodb:PutItem", other)])
        assert denial is not None and denial.resource == other

    def test_services_word_the_same_denial_their_own_way(self) -> None:
        denial = principal().check("sqs:SendMessage", "arn:aws:sqs:r:1:q")
        assert denial is not None
        assert "perform: sqs:sendmessage on" in denial.message(action="sqs:sendmessage")
        assert denial.message(reason=False).endswith("on resource: arn:aws:sqs:r:1:q")


class TestSigner:
    def test_the_authorization_header_names_key_and_service(self) -> None:
        header = (
            "AWS4-HMAC-SHA256 Credential=ASIAABC/20260101/eu-central-1/dynamodb/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=abc"
        )
        assert iam.signer({"Authorization": header}, {}) == ("ASIAABC", "dynamodb")

    def test_a_presigned_url_names_them_in_its_query(self) -> None:
        query = {"X-Amz-Credential": "ASIAABC/20260101/eu-central-1/s3/aws4_request"}
        assert iam.signer({}, query) == ("ASIAABC", "s3")

    def test_an_unsigned_request_names_nobody(self) -> None:
        assert iam.signer({}, {}) is None

    def test_each_function_has_a_key_of_its_own(self) -> None:
        keys = {iam.access_key(f"fn-{i}") for i in range(100)}
        assert len(keys) == 100
        assert iam.access_key("fn-1") == iam.access_key("fn-1")
        assert all(len(key) == 20 and key.startswith("ASIA") for key in keys)


def function_stack(stack: StackBuilder) -> StackBuilder:
    stack.add(
        "aws_dynamodb_table",
        "items",
        name="items",
        hash_key="pk",
        attribute=[{"name": "pk", "type": "S"}],
        stream_enabled=True,
        stream_view_type="NEW_IMAGE",
    )
    stack.add("aws_sqs_queue", "dlq", name="dlq")
    stack.function("fn", {"app.py": "def handler(e, c): return e"})
    return stack


def identities(stack: StackBuilder) -> iam.Identities:
    stack.write()
    return iam.Identities(Plan.load(stack.root, stack.name))


class TestWhereARolesPoliciesComeFrom:
    def test_the_function_runs_as_its_roles_session(self, stack: StackBuilder) -> None:
        fn = identities(function_stack(stack)).by_function["test-fn"]
        assert fn.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/test-role/test-fn"
        assert fn.role == "test-role"

    def test_every_kind_of_policy_of_the_role_applies_and_no_other_roles(self, stack: StackBuilder) -> None:
        function_stack(stack)
        stack.document["resource"]["aws_iam_role"]["role"]["inline_policy"] = [
            {"name": "inline", "policy": json.dumps({"Statement": [allow("dynamodb:Query", "*")]})}
        ]
        stack.policy("own", "role", allow("dynamodb:GetItem", "*"))
        stack.add("aws_iam_role", "other", name="other", assume_role_policy="{}")
        stack.policy("others", "other", allow("dynamodb:Scan", "*"))
        for name, action in (("attached", "dynamodb:PutItem"), ("shared", "dynamodb:UpdateItem")):
            document = json.dumps({"Version": "2012-10-17", "Statement": [allow(action, "*")]})
            stack.add("aws_iam_policy", name, name=name, policy=document)
        stack.add(
            "aws_iam_role_policy_attachment",
            "attached",
            role=ref("aws_iam_role", "role", "name"),
            policy_arn=ref("aws_iam_policy", "attached", "arn"),
        )
        stack.add(
            "aws_iam_policy_attachment",
            "shared",
            name="shared",
            roles=[ref("aws_iam_role", "role", "name")],
            policy_arn=ref("aws_iam_policy", "shared", "arn"),
        )
        fn = identities(stack).by_function["test-fn"]
        for action in ("Query", "GetItem", "PutItem", "UpdateItem"):
            assert fn.check(f"dynamodb:{action}", TABLE) is None, action
        assert fn.check("dynamodb:Scan", TABLE) is not None

    def test_a_role_no_function_runs_as_is_not_read(self, stack: StackBuilder) -> None:
        function_stack(stack)
        stack.add("aws_iam_role", "flow_logs", name="flow-logs", assume_role_policy="{}")
        stack.add(
            "aws_iam_role_policy_attachment",
            "managed",
            role=ref("aws_iam_role", "flow_logs", "name"),
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
        )
        assert "test-fn" in identities(stack).by_function


class TestWhatStopsStartUp:
    @pytest.mark.parametrize(
        ("statement", "message"),
        [
            (
                {**allow("s3:GetObject", "*"), "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-1"}}},
                r"aws_iam_role_policy\.p: statement Reads: condition operator\(s\) StringEquals are not "
                r"evaluated by the local cloud",
            ),
            (
                {**allow("s3:GetObject", "*"), "Principal": {"AWS": "*"}},
                r"aws_iam_role_policy\.p: statement Reads: Policy document should not specify a principal\.",
            ),
            (
                allow("s3:GetObject", "arn:aws:s3:::b/$${aws:username}/*"),
                r"Resource 'arn:aws:s3:::b/\$\{aws:username\}/\*': policy variables are not evaluated",
            ),
            ({"Effect": "Permit", "Action": "s3:*", "Resource": "*"}, r"Effect must be Allow or Deny"),
            ({"Effect": "Allow", "Action": "s3:*"}, r"needs exactly one of Resource and NotResource"),
            (allow("s3:*", "my-bucket/*"), r'Resource my-bucket/\* must be in ARN format or "\*"\.'),
        ],
    )
    def test_a_policy_that_cannot_be_evaluated(
        self, stack: StackBuilder, statement: dict[str, Any], message: str
    ) -> None:
        function_stack(stack)
        stack.policy("p", "role", {"Sid": "Reads", **statement})
        with pytest.raises(PlanError, match=message):
            identities(stack)

    def test_a_managed_policy_the_local_cloud_cannot_read(self, stack: StackBuilder) -> None:
        function_stack(stack)
        stack.add(
            "aws_iam_role_policy_attachment",
            "basic",
            role=ref("aws_iam_role", "role", "name"),
            policy_arn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        )
        with pytest.raises(
            PlanError,
            match=r"aws_iam_role_policy_attachment\.basic: managed policy "
            r"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole is not declared in the stack",
        ):
            identities(stack)

    def test_managed_policy_arns_on_the_role_too(self, stack: StackBuilder) -> None:
        function_stack(stack)
        stack.document["resource"]["aws_iam_role"]["role"]["managed_policy_arns"] = [
            "arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess"
        ]
        with pytest.raises(PlanError, match=r"aws_iam_role\.role: managed policy .*AmazonDynamoDBFullAccess"):
            identities(stack)

    def test_a_permissions_boundary(self, stack: StackBuilder) -> None:
        function_stack(stack)
        stack.document["resource"]["aws_iam_role"]["role"]["permissions_boundary"] = (
            f"arn:aws:iam::{ACCOUNT}:policy/boundary"
        )
        with pytest.raises(PlanError, match=r"aws_iam_role\.role: permissions boundaries are not evaluated"):
            identities(stack)

    def test_a_role_from_outside_the_stack(self, stack: StackBuilder) -> None:
        function_stack(stack)
        stack.document["resource"]["aws_lambda_function"]["fn"]["role"] = (
            f"arn:aws:iam::{ACCOUNT}:role/elsewhere"
        )
        with pytest.raises(
            PlanError, match=r"aws_lambda_function\.fn: role .*role/elsewhere is not declared"
        ):
            identities(stack)


class TestWhatLambdaChecksOfTheExecutionRole:
    """CreateEventSourceMapping and PutFunctionEventInvokeConfig refuse a role that cannot read the
    source or send to the destination; the stack would not deploy, and start-up stops."""

    STREAM_READ = tuple(
        f"dynamodb:{a}" for a in ("DescribeStream", "GetRecords", "GetShardIterator", "ListStreams")
    )

    def mapping_stack(self, stack: StackBuilder, *statements: dict[str, Any]) -> Plan:
        function_stack(stack)
        stack.add(
            "aws_lambda_event_source_mapping",
            "stream",
            function_name=ref("aws_lambda_function", "fn", "arn"),
            event_source_arn=ref("aws_dynamodb_table", "items", "stream_arn"),
            starting_position="LATEST",
            destination_config={"on_failure": {"destination_arn": ref("aws_sqs_queue", "dlq", "arn")}},
        )
        if statements:
            stack.policy("p", "role", *statements)
        stack.write()
        return Plan.load(stack.root, stack.name)

    def check(self, plan: Plan) -> None:
        config = read_mapping(plan, plan.get("aws_lambda_event_source_mapping.stream"))
        check_execution_role(config, iam.Identities(plan).by_function["test-fn"])

    def test_start_up_stops_on_it_before_any_poller_runs(self, stack: StackBuilder, aio: Loop) -> None:
        self.mapping_stack(stack, allow("sqs:SendMessage", "*"))
        cloud = LocalCloud(Options(root=stack.root, stack=stack.name, warm=False), progress=lambda m: None)
        with pytest.raises(
            PlanError, match=r"aws_lambda_event_source_mapping\.stream: .*Cannot access stream"
        ):
            aio.run(cloud.start(), timeout=120)
        assert cloud.mappings == [] and cloud.dynamodb_local is not None and cloud.dynamodb_local.pid is None

    def test_a_role_that_reads_the_stream_and_sends_to_the_destination(self, stack: StackBuilder) -> None:
        stream = ref("aws_dynamodb_table", "items", "stream_arn")
        self.check(
            self.mapping_stack(stack, allow(list(self.STREAM_READ), stream), allow("sqs:SendMessage", "*"))
        )

    def test_a_role_that_cannot_read_the_stream(self, stack: StackBuilder) -> None:
        plan = self.mapping_stack(
            stack, allow(list(self.STREAM_READ[:3]), "*"), allow("sqs:SendMessage", "*")
        )
        stream = plan.attribute("aws_dynamodb_table.items", "stream_arn")
        with pytest.raises(PlanError) as refused:
            self.check(plan)
        assert str(refused.value) == (
            f"aws_lambda_event_source_mapping.stream: InvalidParameterValueException: Cannot access stream "
            f"{stream}. Please ensure the role can perform the GetRecords, GetShardIterator, DescribeStream, "
            "and ListStreams Actions on your stream in IAM."
        )

    def test_a_role_that_cannot_send_to_the_on_failure_destination(self, stack: StackBuilder) -> None:
        plan = self.mapping_stack(stack, allow(list(self.STREAM_READ), "*"))
        with pytest.raises(
            PlanError,
            match=r"InvalidParameterValueException: The provided execution role does not have permissions "
            r"to call SendMessage on SQS",
        ):
            self.check(plan)

    def test_a_queue_mapping_needs_receive_delete_and_attributes(self, stack: StackBuilder) -> None:
        function_stack(stack)
        stack.add(
            "aws_lambda_event_source_mapping",
            "queue",
            function_name=ref("aws_lambda_function", "fn", "function_name"),
            event_source_arn=ref("aws_sqs_queue", "dlq", "arn"),
        )
        stack.policy("p", "role", allow(["sqs:ReceiveMessage", "sqs:GetQueueAttributes"], "*"))
        stack.write()
        plan = Plan.load(stack.root, stack.name)
        config = read_mapping(plan, plan.get("aws_lambda_event_source_mapping.queue"))
        with pytest.raises(PlanError, match=r"permissions to call DeleteMessage on SQS"):
            check_execution_role(config, iam.Identities(plan).by_function["test-fn"])

    def test_an_asynchronous_destination_the_role_cannot_send_to(
        self, stack: StackBuilder, tmp_path: Path
    ) -> None:
        function_stack(stack)
        stack.add(
            "aws_lambda_function_event_invoke_config",
            "async",
            function_name=ref("aws_lambda_function", "fn", "function_name"),
            destination_config={"on_failure": {"destination": ref("aws_sqs_queue", "dlq", "arn")}},
        )
        stack.write()
        plan = Plan.load(stack.root, stack.name)
        fn = iam.Identities(plan).by_function["test-fn"]
        resource = plan.get("aws_lambda_function.fn")
        with pytest.raises(
            PlanError, match=r"aws_lambda_function_event_invoke_config\.async: InvalidParameterValueException"
        ):
            functions.function_spec(
                plan, resource, root=tmp_path, cache=tmp_path / "code", images={}, principal=fn
            )
        stack.policy("p", "role", allow("sqs:SendMessage", ref("aws_sqs_queue", "dlq", "arn")))
        stack.write()
        plan = Plan.load(stack.root, stack.name)
        fn = iam.Identities(plan).by_function["test-fn"]
        spec = functions.function_spec(
            plan,
            plan.get("aws_lambda_function.fn"),
            root=tmp_path,
            cache=tmp_path / "code",
            images={},
            principal=fn,
        )
        assert spec.async_config.on_failure == f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"
        assert spec.credentials["AWS_ACCESS_KEY_ID"] == iam.access_key("test-fn")
