"""tests/deployed: terratest-style tests of a running deployment, read from its outputs file.

The deployment (the local cloud started once per session, or `--outputs FILE`), the REST API
client and `local_only` come from the shared plugin `tests/cloud.py`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported by pytest_plugins, where its asserts are rewritten
    from tests.cloud import Api, Deployment

pytest_plugins = ["tests.cloud"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "late: runs after the other tests (it waits for work started early)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Slow faults are started by a session fixture before the first test and checked last, so
    # their minute of waiting overlaps with the other tests instead of adding to them.
    items.sort(key=lambda item: item.get_closest_marker("late") is not None)


@pytest.fixture(scope="session", autouse=True)
def timed_out_workflow(deployment: Deployment, api: Api) -> dict[str, object]:
    """Started before the first test: a task that sleeps past its function's timeout. Checked by
    the `late` test in test_faults.py, a minute later."""
    name = deployment.function_name("task-b2")
    timeout = int(deployment.clients["lambda"].get_function_configuration(FunctionName=name)["Timeout"])
    definition = {
        "tasks": [
            {
                "id": "SLOW",
                "function": "task-b2",
                "depends_on": [],
                "retry": {"max_attempts": 1, "backoff": 0},
                "timeout_seconds": timeout,  # the longest a definition may ask for: the function's own
            }
        ]
    }
    created = api.create(
        {"definition": definition, "input": {"simulate": {"SLOW": {"sleep_ms": (timeout + 2) * 1000}}}}
    )
    return {"workflow_id": created["workflow_id"], "timeout": timeout, "started": time.monotonic()}
