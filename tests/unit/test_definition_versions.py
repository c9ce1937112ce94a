"""Definitions as code: a workflow runs the copy of the definition it started with (its #DEF item),
whatever the deployment's definitions become; a new deployment's version applies to new workflows."""

from __future__ import annotations

import json
import os
from pathlib import Path

from driver import Cloud, catalog_document
from engine import runtime
from engine.handlers import api


def redeploy(document: dict) -> None:
    """What a new deployment does: the functions start again with another catalog."""
    Path(os.environ["CATALOG_FILE"]).write_text(json.dumps(document))
    runtime.settings.cache_clear()
    api.build_app.cache_clear()


class TestDefinitionVersions:
    def test_a_running_workflow_keeps_its_version_and_new_ones_get_the_new_one(self, cloud: Cloud) -> None:
        status, listed, _ = cloud.api("GET", "/definitions")
        assert status == 200
        (reference,) = [d for d in listed["items"] if d["name"] == "orchestra"]
        old_version = reference["version"]
        status, created, _ = cloud.api(
            "POST", "/workflows", {"workflowId": "kept", "definition": "orchestra"}
        )
        assert status == 201 and created["definition_version"] == old_version

        # The file changes and is deployed while "kept" runs: orchestra is now a single task.
        document = catalog_document()
        document["definitions"][0]["tasks"] = [{"id": "ONLY", "function": "task-a"}]
        redeploy(document)
        status, listed, _ = cloud.api("GET", "/definitions")
        (changed,) = [d for d in listed["items"] if d["name"] == "orchestra"]
        assert changed["version"] != old_version and [t["id"] for t in changed["tasks"]] == ["ONLY"]

        cloud.run()
        status, kept, _ = cloud.api("GET", "/workflows/kept")
        assert kept["status"] == "SUCCESS" and kept["definition_version"] == old_version
        assert [t["task_id"] for t in kept["tasks"]] == ["A", "B1", "B2", "B3", "C"]

        status, fresh, _ = cloud.api("POST", "/workflows", {"workflowId": "fresh", "definition": "orchestra"})
        assert status == 201 and fresh["definition_version"] == changed["version"]
        cloud.run()
        status, fresh, _ = cloud.api("GET", "/workflows/fresh")
        assert fresh["status"] == "SUCCESS" and [t["task_id"] for t in fresh["tasks"]] == ["ONLY"]

    def test_a_retry_reruns_the_started_version_too(self, cloud: Cloud) -> None:
        status, created, _ = cloud.api(
            "POST",
            "/workflows",
            {
                "workflowId": "again",
                "definition": "orchestra",
                "input": {"simulate": {"B2": {"fail_attempts": 3}}},
            },
        )
        version = created["definition_version"]
        cloud.run()
        assert cloud.api("GET", "/workflows/again")[1]["status"] == "FAILED"
        document = catalog_document()
        document["definitions"][0]["tasks"] = [{"id": "ONLY", "function": "task-a"}]
        redeploy(document)
        status, retried, _ = cloud.api("POST", "/workflows/again/retry")
        assert status == 200 and retried["definition_version"] == version
        assert [t["task_id"] for t in retried["tasks"]] == ["A", "B1", "B2", "B3", "C"]

    def test_inline_definitions_are_versioned_the_same_way(self, cloud: Cloud) -> None:
        inline = {"tasks": [{"id": "x", "function": "task-a"}]}
        _, one, _ = cloud.api("POST", "/workflows", {"workflowId": "i1", "definition": inline})
        _, two, _ = cloud.api("POST", "/workflows", {"workflowId": "i2", "definition": inline})
        assert one["definition_name"] == "inline" and one["definition_version"] == two["definition_version"]
