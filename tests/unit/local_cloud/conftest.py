"""Fixtures of the local cloud's tests: the background event loop, stack builders, and one running
local cloud of a stack shaped like Orchestra's (started once per session)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from local_cloud.harness import Loop, Running
from local_cloud.stacks import StackBuilder, full_stack
from localcloud.cloud import LocalCloud, Options


@pytest.fixture(scope="session")
def aio() -> Iterator[Loop]:
    loop = Loop()
    yield loop
    loop.close()


@pytest.fixture
def stack(tmp_path: Path) -> StackBuilder:
    return StackBuilder(tmp_path)


@pytest.fixture(scope="session")
def running(aio: Loop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The local cloud of `full_stack`, started once for the session (async retries shortened)."""
    root = tmp_path_factory.mktemp("cloud")
    records = root / "records"
    full_stack(StackBuilder(root, "test"), records)
    cloud = LocalCloud(
        Options(root=root, stack="test", async_retry_delays=(0.2, 0.2)), progress=lambda m: None
    )
    aio.run(cloud.start(), timeout=120)
    try:
        yield Running(cloud, root, records, dict(cloud.outputs))
    finally:
        aio.run(cloud.stop(), timeout=60)
