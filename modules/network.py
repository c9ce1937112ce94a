"""Network: a VPC over two AZs with public, private and isolated tiers, or an existing network's ids."""

from __future__ import annotations

from dataclasses import dataclass

from environments import CreateNetwork, ExistingNetwork
from modules.cdk import Construct, aws
from modules.components import (
    EncryptedLogGroup,
    LogGroupInputs,
    allow,
    assume_role_policy,
    policy_document,
)

VPC_CIDR = "10.0.0.0/16"
SUBNET_CIDRS = {
    "public": ("10.0.1.0/24", "10.0.2.0/24"),  # NAT gateways (and load balancers, if ever)
    "private": ("10.0.3.0/24", "10.0.4.0/24"),  # Lambda functions, egress through NAT
    "isolated": ("10.0.10.0/24", "10.0.11.0/24"),  # no route to the internet at all
}
# Interface endpoints (network.interface_endpoints): the AWS APIs the functions call themselves that
# have no gateway endpoint. lambda: the orchestrator and reaper invoke the worker, the worker the
# tasks; sqs: the orchestrator and reaper send delayed retries. Not kms, logs or sts: S3, SQS and
# DynamoDB call KMS for the functions, Lambda ships their logs and provides their credentials. Never
# execute-api: with private DNS it captures every *.execute-api name in the VPC and the orchestrator's
# @connections calls to the public WebSocket API get 403 (preflight VPC-EXECUTE-API-PRIVATE-DNS); that
# API has no VPC endpoint, so the functions always need NAT (settings refuse nat = "none").
INTERFACE_ENDPOINT_SERVICES = ("lambda", "sqs")
# What the functions do with DynamoDB and S3 through the gateway endpoints.
DYNAMODB_ENDPOINT_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
)
S3_ENDPOINT_ACTIONS = ("s3:GetObject", "s3:PutObject")


@dataclass(frozen=True)
class Egress:
    """One HTTPS egress rule of the functions' security group, to exactly one kind of destination."""

    name: str
    description: str
    prefix_list_id: str | None = None
    cidr_ipv4: str | None = None
    referenced_security_group_id: str | None = None


@dataclass(frozen=True)
class NetworkInputs:
    name_prefix: str
    account_id: str
    region: str
    network: CreateNetwork | ExistingNetwork
    log_retention_days: int
    kms_key_arn: str


class Network(Construct):
    """Creates the VPC, or passes an existing one's ids through without creating anything."""

    vpc_id: str
    public_subnet_ids: list[str]
    private_subnet_ids: list[str]
    isolated_subnet_ids: list[str]
    lambda_security_group_ids: list[str]

    def __init__(self, scope: Construct, id: str, inputs: NetworkInputs) -> None:
        super().__init__(scope, id)
        self.created = isinstance(inputs.network, CreateNetwork)
        if isinstance(inputs.network, ExistingNetwork):
            existing = inputs.network
            self.vpc_id = existing.vpc_id
            self.public_subnet_ids = list(existing.public_subnet_ids)
            self.private_subnet_ids = list(existing.private_subnet_ids)
            self.isolated_subnet_ids = list(existing.isolated_subnet_ids)
            self.lambda_security_group_ids = list(existing.lambda_security_group_ids)
            return
        self._create(inputs, inputs.network)

    def _create(self, inputs: NetworkInputs, settings: CreateNetwork) -> None:
        prefix = inputs.name_prefix
        vpc = aws.vpc.Vpc(
            self,
            "vpc",
            cidr_block=VPC_CIDR,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": prefix},
        )
        self.vpc_id = vpc.id
        # The default security group is what a resource gets when nobody chooses: let it allow nothing.
        aws.default_security_group.DefaultSecurityGroup(
            self,
            "default_security_group",
            vpc_id=vpc.id,
            ingress=[],
            egress=[],
            tags={"Name": f"{prefix}-default-deny-all"},
        )

        subnets: dict[str, list[aws.subnet.Subnet]] = {}
        for tier, cidrs in SUBNET_CIDRS.items():
            subnets[tier] = [
                aws.subnet.Subnet(
                    self,
                    f"{tier}_{index}",
                    vpc_id=vpc.id,
                    cidr_block=cidr,
                    availability_zone=settings.availability_zones[index],
                    map_public_ip_on_launch=False,  # nothing here should get a public IP by accident
                    tags={"Name": f"{prefix}-{tier}-{settings.availability_zones[index]}", "Tier": tier},
                )
                for index, cidr in enumerate(cidrs)
            ]
        self.public_subnet_ids = [subnet.id for subnet in subnets["public"]]
        self.private_subnet_ids = [subnet.id for subnet in subnets["private"]]
        self.isolated_subnet_ids = [subnet.id for subnet in subnets["isolated"]]

        gateway = aws.internet_gateway.InternetGateway(
            self, "internet_gateway", vpc_id=vpc.id, tags={"Name": prefix}
        )
        public_routes = aws.route_table.RouteTable(
            self, "public_routes", vpc_id=vpc.id, tags={"Name": f"{prefix}-public"}
        )
        aws.route.Route(
            self,
            "public_default_route",
            route_table_id=public_routes.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=gateway.id,
        )
        for index, subnet in enumerate(subnets["public"]):
            aws.route_table_association.RouteTableAssociation(
                self, f"public_{index}_routes", subnet_id=subnet.id, route_table_id=public_routes.id
            )

        nat_count = {"none": 0, "single": 1, "per_az": 2}[settings.nat]
        nat_ids = []
        for index in range(nat_count):
            address = aws.eip.Eip(
                self,
                f"nat_{index}_address",
                domain="vpc",
                tags={"Name": f"{prefix}-nat-{index}"},
                depends_on=[gateway],
            )
            nat = aws.nat_gateway.NatGateway(
                self,
                f"nat_{index}",
                allocation_id=address.id,
                subnet_id=subnets["public"][index].id,
                tags={"Name": f"{prefix}-nat-{index}"},
                depends_on=[gateway],
            )
            nat_ids.append(nat.id)

        private_route_tables = []
        for index, subnet in enumerate(subnets["private"]):
            table = aws.route_table.RouteTable(
                self,
                f"private_{index}_routes_table",
                vpc_id=vpc.id,
                tags={"Name": f"{prefix}-private-{index}"},
            )
            if nat_ids:
                # per_az: each AZ egresses through its own NAT, so losing one AZ loses only its egress.
                aws.route.Route(
                    self,
                    f"private_{index}_default_route",
                    route_table_id=table.id,
                    destination_cidr_block="0.0.0.0/0",
                    nat_gateway_id=nat_ids[index % len(nat_ids)],
                )
            aws.route_table_association.RouteTableAssociation(
                self, f"private_{index}_routes", subnet_id=subnet.id, route_table_id=table.id
            )
            private_route_tables.append(table)

        isolated_routes = aws.route_table.RouteTable(
            self, "isolated_routes", vpc_id=vpc.id, tags={"Name": f"{prefix}-isolated"}
        )
        for index, subnet in enumerate(subnets["isolated"]):
            aws.route_table_association.RouteTableAssociation(
                self, f"isolated_{index}_routes", subnet_id=subnet.id, route_table_id=isolated_routes.id
            )

        route_table_ids = [table.id for table in private_route_tables] + [isolated_routes.id]
        account, region = inputs.account_id, inputs.region
        # Gateway endpoints are free and keep table and bucket traffic off the NAT; their policies
        # admit only this environment's tables and buckets.
        gateways = {
            service: aws.vpc_endpoint.VpcEndpoint(
                self,
                f"{service}_endpoint",
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{region}.{service}",
                vpc_endpoint_type="Gateway",
                route_table_ids=route_table_ids,
                policy=policy_document([allow(sid, actions, [resource], Principal="*")]),
                tags={"Name": f"{prefix}-{service}"},
            )
            for service, sid, actions, resource in (
                (
                    "dynamodb",
                    "ProjectTablesOnly",
                    DYNAMODB_ENDPOINT_ACTIONS,
                    f"arn:aws:dynamodb:{region}:{account}:table/{prefix}-*",
                ),
                ("s3", "ProjectBucketsOnly", S3_ENDPOINT_ACTIONS, f"arn:aws:s3:::{prefix}-*/*"),
            )
        }

        functions = aws.security_group.SecurityGroup(
            self,
            "lambda_security_group",
            name=f"{prefix}-functions",
            vpc_id=vpc.id,
            description="Orchestra Lambda functions: no inbound; HTTPS out to AWS APIs only",
            tags={"Name": f"{prefix}-functions"},
        )
        self.lambda_security_group_ids = [functions.id]
        egress = [
            Egress(
                "to_dynamodb",
                "HTTPS to DynamoDB through its gateway endpoint",
                prefix_list_id=gateways["dynamodb"].prefix_list_id,
            ),
            Egress(
                "to_s3",
                "HTTPS to S3 through its gateway endpoint",
                prefix_list_id=gateways["s3"].prefix_list_id,
            ),
        ]
        if nat_ids:
            egress.append(
                Egress(
                    "to_aws_apis",
                    "HTTPS to Lambda, SQS, KMS and API Gateway APIs through NAT",
                    cidr_ipv4="0.0.0.0/0",
                )
            )
        if settings.interface_endpoints:
            endpoints = aws.security_group.SecurityGroup(
                self,
                "endpoint_security_group",
                name=f"{prefix}-endpoints",
                vpc_id=vpc.id,
                description="Interface endpoints: HTTPS from the Orchestra functions only",
                tags={"Name": f"{prefix}-endpoints"},
            )
            aws.vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule(
                self,
                "endpoints_from_functions",
                security_group_id=endpoints.id,
                description="HTTPS from the Orchestra functions",
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                referenced_security_group_id=functions.id,
            )
            egress.append(
                Egress(
                    "to_interface_endpoints",
                    "HTTPS to the interface endpoints",
                    referenced_security_group_id=endpoints.id,
                )
            )
            for service in INTERFACE_ENDPOINT_SERVICES:
                aws.vpc_endpoint.VpcEndpoint(
                    self,
                    f"{service.replace('-', '_')}_endpoint",
                    vpc_id=vpc.id,
                    service_name=f"com.amazonaws.{region}.{service}",
                    vpc_endpoint_type="Interface",
                    subnet_ids=self.private_subnet_ids,
                    security_group_ids=[endpoints.id],
                    private_dns_enabled=True,
                    tags={"Name": f"{prefix}-{service}"},
                )
        for rule in egress:
            aws.vpc_security_group_egress_rule.VpcSecurityGroupEgressRule(
                self,
                f"functions_{rule.name}",
                security_group_id=functions.id,
                description=rule.description,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                prefix_list_id=rule.prefix_list_id,
                cidr_ipv4=rule.cidr_ipv4,
                referenced_security_group_id=rule.referenced_security_group_id,
            )

        flow_logs = EncryptedLogGroup(
            self,
            "flow_logs",
            LogGroupInputs(
                name=f"/aws/vpc/{prefix}/flow-logs",
                retention_days=inputs.log_retention_days,
                kms_key_arn=inputs.kms_key_arn,
            ),
        )
        role = aws.iam_role.IamRole(
            self,
            "flow_logs_role",
            name=f"{prefix}-vpc-flow-logs",
            assume_role_policy=assume_role_policy("vpc-flow-logs.amazonaws.com", account),
        )
        aws.iam_role_policy.IamRolePolicy(
            self,
            "flow_logs_policy",
            name="write-flow-logs",
            role=role.id,
            policy=policy_document(
                [
                    allow(
                        "WriteFlowLogs",
                        ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                        [flow_logs.arn, f"{flow_logs.arn}:*"],
                    )
                ]
            ),
        )
        aws.flow_log.FlowLog(
            self,
            "flow_log",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=flow_logs.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags={"Name": f"{prefix}-flow-log"},
        )
