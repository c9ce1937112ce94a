"""A workflow's page: reached by a deep link, its timeline of parallel runs, cancel and retry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.cloud import Api
from tests.e2e.dashboard import (
    PARALLEL,
    TASKS,
    WORKFLOW_TIMEOUT,
    bar,
    expect_nodes,
    interval,
    node,
    open_workflow,
    simulate,
    unique_id,
    workflow_status,
)


def test_a_deep_link_to_a_workflow_opens_its_page(page: Page, api: Api) -> None:
    workflow_id = unique_id("deep-link")
    api.create({"workflowId": workflow_id})
    api.wait(workflow_id)

    response = page.goto(f"/workflows/{workflow_id}")
    assert response is not None and response.status == 200  # the site's SPA fallback: index.html
    assert response.headers["content-type"].startswith("text/html")
    expect(page.get_by_role("heading", name=workflow_id, level=1)).to_be_visible()
    expect(workflow_status(page)).to_have_attribute("data-status", "SUCCESS")
    expect_nodes(page, "SUCCEEDED")

    page.get_by_role("link", name="All workflows").click()
    row = page.get_by_test_id(f"workflow-row-{workflow_id}")
    expect(row).to_have_attribute("data-status", "SUCCESS")
    page.go_back()
    expect(page.get_by_role("heading", name=workflow_id, level=1)).to_be_visible()


def test_reloading_a_deep_link_shows_the_workflow_again(page: Page, api: Api) -> None:
    workflow_id = unique_id("reload")
    api.create({"workflowId": workflow_id})
    open_workflow(page, workflow_id)
    page.reload()  # revalidates index.html: Cache-Control no-cache, with its ETag
    expect(page.get_by_role("heading", name=workflow_id, level=1)).to_be_visible()


def test_the_timeline_shows_b1_b2_b3_running_at_the_same_time(
    page: Page, api: Api, screenshot: Callable[[str], Path]
) -> None:
    workflow_id = unique_id("reference")
    # B1-B3 sleep 3 s each: they overlap by far more than any difference in their start-up.
    api.create({"workflowId": workflow_id, "input": simulate(A=400, B1=3000, B2=3000, B3=3000, C=400)})
    open_workflow(page, workflow_id)
    expect(workflow_status(page)).to_have_attribute("data-status", "SUCCESS", timeout=WORKFLOW_TIMEOUT)
    for task in TASKS:
        expect(bar(page, task)).to_have_attribute("data-status", "SUCCEEDED")

    runs = {task: interval(page, task) for task in TASKS}
    b_starts = [runs[b][0] for b in PARALLEL]
    b_ends = [runs[b][1] for b in PARALLEL]
    assert max(b_starts) < min(b_ends), f"B1-B3 never all ran at once: {runs}"
    assert runs["A"][1] <= min(b_starts), f"a B started before A finished: {runs}"
    assert max(b_ends) <= runs["C"][0], f"C started before every B finished: {runs}"
    # ... and the bars as drawn overlap too.
    boxes = [bar(page, b).bounding_box() for b in PARALLEL]
    assert all(boxes)
    assert max(box["x"] for box in boxes if box) < min(box["x"] + box["width"] for box in boxes if box)
    # The README's picture of the dashboard: build/e2e/dashboard-detail.png (docs/ keeps a copy).
    expect(page.get_by_test_id("workflow-duration")).not_to_have_text("—")
    screenshot("dashboard-detail")


def test_a_running_workflow_is_cancelled_after_confirmation_and_a_retry_brings_it_to_success(
    page: Page, api: Api
) -> None:
    workflow_id = unique_id("cancel")
    # A's first attempt outlasts any slow click (the cancel ends it); the retry's attempt 2 is quick.
    slow_first = simulate(A=60_000)
    slow_first["simulate"]["A"]["sleep_attempts"] = 1
    api.create({"workflowId": workflow_id, "input": slow_first})
    open_workflow(page, workflow_id)
    expect(node(page, "A")).to_have_attribute("data-status", "RUNNING")

    page.get_by_role("button", name="Cancel", exact=True).click()
    dialog = page.get_by_role("dialog", name="Cancel this workflow?")
    expect(dialog).to_be_visible()
    assert api.get(workflow_id)["status"] == "RUNNING", "nothing is cancelled before the confirmation"
    dialog.get_by_role("button", name="Cancel workflow").click()
    expect(dialog).to_be_hidden()
    expect(workflow_status(page)).to_have_attribute("data-status", "CANCELLED")
    expect_nodes(page, "CANCELLED")
    expect(page.get_by_role("button", name="Cancel", exact=True)).to_be_disabled()
    assert api.get(workflow_id)["status"] == "CANCELLED"

    page.get_by_role("button", name="Retry", exact=True).click()
    dialog = page.get_by_role("dialog", name="Retry this workflow?")
    dialog.get_by_role("button", name="Retry workflow").click()
    expect(dialog).to_be_hidden()
    expect(workflow_status(page)).to_have_attribute("data-status", "SUCCESS", timeout=WORKFLOW_TIMEOUT)
    expect_nodes(page, "SUCCEEDED")
    # The timeline keeps the cancelled run of A beside the one that succeeded.
    expect(bar(page, "A", 1)).to_have_attribute("data-status", "CANCELLED")
    expect(bar(page, "A", 2)).to_have_attribute("data-status", "SUCCEEDED")
