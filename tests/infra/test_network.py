"""The network module: tiers and CIDRs, NAT per setting, endpoints, flow logs, security groups."""

from __future__ import annotations

from collections.abc import Callable

from environments import CreateNetwork, ExistingNetwork, Settings
from tests.infra.conftest import Stack, named, only, policy, ref, resources


def subnets_by_tier(stack: Stack) -> dict[str, list[dict]]:
    tiers: dict[str, list[dict]] = {}
    for subnet in resources(stack, "aws_subnet").values():
        tiers.setdefault(subnet["tags"]["Tier"], []).append(subnet)
    return tiers


class TestVpc:
    def test_cidr_and_dns(self, env_stack: Stack) -> None:
        vpc = only(env_stack, "aws_vpc")
        assert vpc["cidr_block"] == "10.0.0.0/16"
        assert vpc["enable_dns_support"] is True and vpc["enable_dns_hostnames"] is True

    def test_three_tiers_over_two_zones(self, env_stack: Stack) -> None:
        tiers = subnets_by_tier(env_stack)
        expected = {
            "public": ["10.0.1.0/24", "10.0.2.0/24"],
            "private": ["10.0.3.0/24", "10.0.4.0/24"],
            "isolated": ["10.0.10.0/24", "10.0.11.0/24"],
        }
        assert {tier: sorted(s["cidr_block"] for s in found) for tier, found in tiers.items()} == expected
        for found in tiers.values():
            assert sorted(s["availability_zone"] for s in found) == ["eu-central-1a", "eu-central-1b"]
            assert all(s["map_public_ip_on_launch"] is False for s in found)

    def test_only_public_subnets_route_to_the_internet_gateway(self, env_stack: Stack) -> None:
        gateway_routes = [r for r in resources(env_stack, "aws_route").values() if "gateway_id" in r]
        assert len(gateway_routes) == 1
        assert gateway_routes[0]["destination_cidr_block"] == "0.0.0.0/0"
        public_table = gateway_routes[0]["route_table_id"]
        public_subnets = {
            ref("aws_subnet", name, "id")
            for name in resources(env_stack, "aws_subnet")
            if name.startswith("network_public_")
        }
        associated = {
            a["subnet_id"]
            for a in resources(env_stack, "aws_route_table_association").values()
            if a["route_table_id"] == public_table
        }
        assert associated == public_subnets

    def test_isolated_subnets_have_no_default_route(self, env_stack: Stack) -> None:
        isolated_table, _ = named(env_stack, "aws_route_table", "network/isolated_routes")
        table_id = ref("aws_route_table", isolated_table, "id")
        assert not [r for r in resources(env_stack, "aws_route").values() if r["route_table_id"] == table_id]

    def test_default_security_group_allows_nothing(self, env_stack: Stack) -> None:
        default = only(env_stack, "aws_default_security_group")
        assert default["ingress"] == [] and default["egress"] == []


class TestNat:
    def test_single_nat_serves_both_private_subnets(self, stacks: dict[str, Stack]) -> None:
        dev = stacks["dev"]
        assert len(resources(dev, "aws_nat_gateway")) == 1
        nat_routes = [r for r in resources(dev, "aws_route").values() if "nat_gateway_id" in r]
        assert len(nat_routes) == 2 and len({r["nat_gateway_id"] for r in nat_routes}) == 1

    def test_per_az_nat_gives_each_zone_its_own(self, stacks: dict[str, Stack]) -> None:
        prod = stacks["prod"]
        assert len(resources(prod, "aws_nat_gateway")) == 2
        assert len(resources(prod, "aws_eip")) == 2
        nat_routes = [r for r in resources(prod, "aws_route").values() if "nat_gateway_id" in r]
        assert len({r["nat_gateway_id"] for r in nat_routes}) == 2
        public_subnets = {
            ref("aws_subnet", name, "id")
            for name in resources(prod, "aws_subnet")
            if name.startswith("network_public_")
        }
        assert {n["subnet_id"] for n in resources(prod, "aws_nat_gateway").values()} == public_subnets

    def test_interface_endpoints_serve_only_what_the_functions_call_beside_nat(
        self, dev_settings: Settings, synth_settings: Callable[[Settings], Stack]
    ) -> None:
        network = CreateNetwork(
            mode="create",
            availability_zones=["eu-central-1a", "eu-central-1b"],
            nat="single",
            interface_endpoints=True,
        )
        stack = synth_settings(dev_settings.model_copy(update={"network": network}))
        interface = [
            e for e in resources(stack, "aws_vpc_endpoint").values() if e["vpc_endpoint_type"] == "Interface"
        ]
        # Never execute-api: its private DNS would turn the orchestrator's @connections calls into 403.
        assert sorted(e["service_name"].split(".")[-1] for e in interface) == ["lambda", "sqs"]
        assert all(e["private_dns_enabled"] is True for e in interface)
        egress = [r["description"] for r in resources(stack, "aws_vpc_security_group_egress_rule").values()]
        assert "HTTPS to the interface endpoints" in egress
        assert any(
            r.get("cidr_ipv4") == "0.0.0.0/0"
            for r in resources(stack, "aws_vpc_security_group_egress_rule").values()
        )


class TestEndpoints:
    def test_gateway_endpoints_on_private_and_isolated_tables(self, env_stack: Stack) -> None:
        gateways = {
            e["service_name"]: e
            for e in resources(env_stack, "aws_vpc_endpoint").values()
            if e["vpc_endpoint_type"] == "Gateway"
        }
        assert set(gateways) == {"com.amazonaws.eu-central-1.dynamodb", "com.amazonaws.eu-central-1.s3"}
        public_table, _ = named(env_stack, "aws_route_table", "network/public_routes")
        for endpoint in gateways.values():
            assert len(endpoint["route_table_ids"]) == 3
            assert ref("aws_route_table", public_table, "id") not in endpoint["route_table_ids"]

    def test_dynamodb_endpoint_reaches_only_project_tables(self, env_stack: Stack) -> None:
        endpoint = next(
            e
            for e in resources(env_stack, "aws_vpc_endpoint").values()
            if e["service_name"].endswith(".dynamodb")
        )
        (statement,) = policy(endpoint)["Statement"]
        environment = env_stack["terraform"]["backend"]["s3"]["key"].split("/")[0]
        assert statement["Resource"] == [
            f"arn:aws:dynamodb:eu-central-1:123456789012:table/orchestra-{environment}-*"
        ]
        assert all("*" not in action for action in statement["Action"])


class TestSecurityGroups:
    def test_functions_group_has_no_ingress_and_described_https_egress(self, env_stack: Stack) -> None:
        assert resources(env_stack, "aws_vpc_security_group_ingress_rule") == {}
        functions = only(env_stack, "aws_security_group")
        assert "ingress" not in functions
        rules = list(resources(env_stack, "aws_vpc_security_group_egress_rule").values())
        assert rules
        for rule in rules:
            assert rule["description"]
            assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 443, 443)

    def test_gateway_endpoints_are_reached_by_prefix_list(self, env_stack: Stack) -> None:
        rules = resources(env_stack, "aws_vpc_security_group_egress_rule").values()
        prefix_lists = {r["prefix_list_id"] for r in rules if "prefix_list_id" in r}
        endpoints = {
            ref("aws_vpc_endpoint", name, "prefix_list_id")
            for name, e in resources(env_stack, "aws_vpc_endpoint").items()
            if e["vpc_endpoint_type"] == "Gateway"
        }
        assert prefix_lists == endpoints


class TestFlowLogs:
    def test_all_traffic_goes_to_an_encrypted_log_group(self, env_stack: Stack) -> None:
        flow_log = only(env_stack, "aws_flow_log")
        assert flow_log["traffic_type"] == "ALL"
        group_name, group = named(env_stack, "aws_cloudwatch_log_group", "network/flow_logs/log_group")
        assert flow_log["log_destination"] == ref("aws_cloudwatch_log_group", group_name, "arn")
        assert group["kms_key_id"].startswith("${aws_kms_key.")

    def test_flow_log_role_writes_only_its_log_group(self, env_stack: Stack) -> None:
        _, role_policy = named(env_stack, "aws_iam_role_policy", "network/flow_logs_policy")
        (statement,) = policy(role_policy)["Statement"]
        group_name, _ = named(env_stack, "aws_cloudwatch_log_group", "network/flow_logs/log_group")
        arn = ref("aws_cloudwatch_log_group", group_name, "arn")
        assert statement["Resource"] == [arn, f"{arn}:*"]
        _, role = named(env_stack, "aws_iam_role", "network/flow_logs_role")
        trust = policy(role, "assume_role_policy")["Statement"][0]
        assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}


class TestExistingNetwork:
    def test_creates_no_network_resource_and_passes_ids_through(
        self, dev_settings: Settings, synth_settings: Callable[[Settings], Stack]
    ) -> None:
        existing = ExistingNetwork(
            mode="existing",
            vpc_id="vpc-0123456789abcdef0",
            private_subnet_ids=["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
            lambda_security_group_ids=["sg-0cccccccccccccccc"],
        )
        stack = synth_settings(dev_settings.model_copy(update={"network": existing}))
        network_types = (
            "aws_vpc",
            "aws_subnet",
            "aws_route_table",
            "aws_nat_gateway",
            "aws_internet_gateway",
            "aws_security_group",
            "aws_vpc_endpoint",
            "aws_flow_log",
            "aws_default_security_group",
        )
        assert {t: resources(stack, t) for t in network_types} == {t: {} for t in network_types}
        outputs = stack["output"]
        assert outputs["vpc_id"]["value"] == "vpc-0123456789abcdef0"
        assert outputs["private_subnet_ids"]["value"] == [
            "subnet-0aaaaaaaaaaaaaaaa",
            "subnet-0bbbbbbbbbbbbbbbb",
        ]
        assert outputs["lambda_security_group_ids"]["value"] == ["sg-0cccccccccccccccc"]
