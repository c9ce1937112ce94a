"""Signing in and what each role may do in the dashboard: an operator starts a workflow and watches
it succeed; a viewer sees it but finds Cancel, Retry and New workflow disabled, saying why; signing
out leaves no session behind."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.cloud import Api, Deployment
from tests.e2e.dashboard import open_workflow, sign_in, simulate, unique_id, workflow_status

VIEWER_REASON = re.compile("Viewers can see workflows but not change them")


@pytest.mark.signed_in_as(None)
def test_an_operator_signs_in_starts_a_workflow_and_watches_it_succeed(
    page: Page, deployment: Deployment, screenshot: Callable[[str], Path]
) -> None:
    page.goto("/")
    expect(page.get_by_test_id("sign-in")).to_be_visible()
    sign_in(page, deployment.sign_in.user("operator"))
    expect(page.get_by_test_id("signed-in-role")).to_have_text("Operator")
    page.get_by_role("button", name="New workflow").click()
    form = page.get_by_role("form", name="New workflow")
    workflow_id = unique_id("signin")
    form.get_by_label("Workflow id").fill(workflow_id)
    form.get_by_label("Input (JSON)").fill(json.dumps(simulate(A=300)))
    form.get_by_role("button", name="Start workflow").click()
    expect(page).to_have_url(re.compile(f"/workflows/{workflow_id}$"))
    expect(workflow_status(page)).to_have_attribute("data-status", "SUCCESS", timeout=60_000)
    screenshot("signed-in-operator")


@pytest.mark.signed_in_as("viewer")
def test_a_viewer_sees_a_workflow_but_finds_no_enabled_cancel(
    page: Page, api: Api, screenshot: Callable[[str], Path]
) -> None:
    expect(page.get_by_test_id("signed-in-role")).to_have_text("Viewer")
    new = page.get_by_role("button", name="New workflow")
    expect(new).to_be_disabled()
    expect(new).to_have_attribute("title", VIEWER_REASON)
    created = api.create({"input": simulate(A=15_000)})  # an operator's, still running
    open_workflow(page, created["workflow_id"])
    expect(workflow_status(page)).to_have_attribute("data-status", "RUNNING")
    for name in ("Cancel", "Retry"):
        button = page.get_by_role("button", name=name, exact=True)
        expect(button).to_be_disabled()
        expect(button).to_have_attribute("title", VIEWER_REASON)
    screenshot("signed-in-viewer")
    api.request("POST", f"/workflows/{created['workflow_id']}/cancel")
    expect(workflow_status(page)).to_have_attribute("data-status", "CANCELLED")  # it still hears updates


def test_signing_out_leaves_no_session(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_test_id("sign-in")).to_be_visible()
    page.goto("/workflows")
    expect(page.get_by_test_id("sign-in")).to_be_visible()
    expect(page.get_by_test_id("signed-in-user")).to_have_count(0)
