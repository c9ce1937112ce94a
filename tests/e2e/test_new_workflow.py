"""The "New workflow" form: a workflow started from it is watched live; the API's validation
errors are shown next to the fields they concern."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.cloud import Api
from tests.e2e.dashboard import (
    EDGES,
    PARALLEL,
    TASKS,
    connection,
    edge,
    expect_nodes,
    first,
    history,
    simulate,
    unique_id,
    workflow_status,
)


def open_form(page: Page) -> Locator:
    page.goto("/")
    expect(connection(page)).to_have_attribute("data-state", "live")
    page.get_by_role("button", name="New workflow").click()
    form = page.get_by_role("form", name="New workflow")
    expect(form).to_be_visible()
    return form


def test_a_workflow_started_from_the_form_turns_every_node_green_live(
    page: Page, api: Api, screenshot: Callable[[str], Path]
) -> None:
    loads: list[str] = []
    page.on("load", lambda loaded: loads.append(loaded.url))
    form = open_form(page)
    workflow_id = unique_id("form")
    form.get_by_label("Definition").select_option("orchestra")
    form.get_by_label("Workflow id").fill(workflow_id)
    # Every task sleeps, so each node shows Running for a while before it turns green; A longer,
    # because the page opens and goes live only after the POST that starts A.
    sleeps = {**dict.fromkeys(TASKS, 1000), "A": 3000}
    form.get_by_label("Input (JSON)").fill(json.dumps(simulate(**sleeps)))
    form.get_by_role("button", name="Start workflow").click()

    expect(page).to_have_url(re.compile(f"/workflows/{workflow_id}$"))
    expect_nodes(page, "SUCCEEDED")
    expect(workflow_status(page)).to_have_attribute("data-status", "SUCCESS")
    for task in TASKS:
        expect(page.get_by_role("button", name=f"Task {task}: Succeeded")).to_be_visible()
    for edge_id in EDGES:
        expect(edge(page, edge_id)).to_be_attached()  # live updates keep every edge
    screenshot("form-workflow-succeeded")

    assert len(loads) == 1, f"the page was loaded again: {loads}"
    shown = {task: history(page, f"task-node-{task}") for task in TASKS}
    for task, values in shown.items():
        statuses = [s.value for s in values]
        assert statuses[0] != "SUCCEEDED", f"{task} was green from the start: {statuses}"
        assert "RUNNING" in statuses, f"{task} never showed Running: {statuses}"
        assert statuses[-1] == "SUCCEEDED", f"{task}: {statuses}"
    # The nodes turned green in the DAG's order, as it happened.
    a_done = first(shown["A"], "SUCCEEDED")
    assert all(a_done <= first(shown[b], "RUNNING") for b in PARALLEL)
    assert max(first(shown[b], "SUCCEEDED") for b in PARALLEL) <= first(shown["C"], "RUNNING")
    # Live all along: what the page showed came over the WebSocket (it polls only when not live).
    assert {s.value for s in history(page, "connection-status")} <= {"connecting", "live"}
    assert api.get(workflow_id)["input"] == simulate(**sleeps)


@pytest.mark.console_errors(r"status of 400")  # Chromium logs the API's 400 answer
def test_the_apis_validation_errors_are_shown_next_to_their_fields(page: Page) -> None:
    form = open_form(page)
    workflow_id_field = form.get_by_label("Workflow id")
    input_field = form.get_by_label("Input (JSON)")
    workflow_id_field.fill("not a valid id!")
    input_field.fill("[1, 2]")  # valid JSON, but the API wants an object
    form.get_by_role("button", name="Start workflow").click()

    expect(form.get_by_test_id("form-error")).to_contain_text("invalid request")
    expect(workflow_id_field).to_have_attribute("aria-invalid", "true")
    expect(workflow_id_field).to_have_accessible_description(re.compile("should match pattern"))
    expect(input_field).to_have_attribute("aria-invalid", "true")
    expect(input_field).to_have_accessible_description(re.compile("valid dictionary"))
    expect(page).to_have_url(re.compile(r"/$"))

    # Corrected, the same form starts the workflow.
    workflow_id = unique_id("fixed")
    workflow_id_field.fill(workflow_id)
    input_field.fill('{"note": "fixed"}')
    form.get_by_role("button", name="Start workflow").click()
    expect(page).to_have_url(re.compile(f"/workflows/{workflow_id}$"))
