"""The DynamoDB Local launcher the tests (and, later, the local cloud) run on."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import pytest

from localcloud.dynamodb_local import DynamoDBLocal, DynamoDBLocalError, find_distribution

LISTEN = "0A"  # TCP state LISTEN in /proc/net/tcp*


def listening_addresses(port: int) -> list[str]:
    """Local addresses of sockets listening on `port`, read from the kernel's tables."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        lines = Path(table).read_text().splitlines()[1:] if Path(table).exists() else []
        for line in lines:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if fields[3] == LISTEN and int(hex_port, 16) == port:
                found.append(address)
    return found


def loopback(address: str) -> bool:
    if len(address) == 8:  # IPv4, little-endian hex
        return bytes.fromhex(address)[::-1][0] == 127
    words = bytes.fromhex(address)  # IPv6: four little-endian 32-bit words
    plain = b"".join(words[i : i + 4][::-1] for i in range(0, 16, 4))
    return plain == bytes(15) + b"\x01" or (plain[:12] == bytes(10) + b"\xff\xff" and plain[12] == 127)


class TestListensOnLoopbackOnly:
    def test_the_listening_socket_is_bound_to_127_0_0_1(self, dynamodb_local: DynamoDBLocal) -> None:
        assert dynamodb_local.port is not None
        addresses = listening_addresses(dynamodb_local.port)
        assert addresses == ["0100007F"]  # 127.0.0.1, and nothing on 0.0.0.0 or ::
        assert all(loopback(a) for a in addresses)

    def test_the_address_reader_would_notice_a_wildcard_bind(self) -> None:
        assert not loopback("00000000")
        assert not loopback("00000000000000000000000000000000")
        assert loopback("0000000000000000FFFF00000100007F")

    def test_it_answers_dynamodb_requests_with_the_fixed_credentials(
        self, dynamodb_local: DynamoDBLocal
    ) -> None:
        client = boto3.client("dynamodb", **dynamodb_local.client_kwargs())
        assert "TableNames" in client.list_tables()
        assert dynamodb_local.endpoint_url == f"http://127.0.0.1:{dynamodb_local.port}"


class TestLifecycle:
    def test_stop_ends_the_jvm_and_a_second_instance_gets_its_own_port(
        self, dynamodb_local: DynamoDBLocal
    ) -> None:
        with DynamoDBLocal() as second:
            pid = second.pid
            assert pid is not None
            assert second.port != dynamodb_local.port
            assert boto3.client("dynamodb", **second.client_kwargs()).list_tables()["TableNames"] == []
        assert second.pid is None
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        with pytest.raises(DynamoDBLocalError, match="not running"):
            _ = second.endpoint_url

    def test_a_missing_distribution_says_how_to_install_it(self, tmp_path: Path) -> None:
        with pytest.raises(DynamoDBLocalError, match="npm ci --prefix localcloud"):
            find_distribution(tmp_path)

    def test_a_jvm_that_cannot_start_is_reported_with_its_output(self) -> None:
        broken = DynamoDBLocal(options=("-inMemory", "-noSuchOption"), startup_timeout=60)
        with pytest.raises(DynamoDBLocalError, match="did not start"):
            broken.start()
        assert broken.pid is None
