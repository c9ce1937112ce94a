"""The dashboard as the e2e tests see it: its selectors (roles, accessible names and the test ids
`dashboard/README.md` documents), the reference workflow's shape, and a recorder of what the page
showed over time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Locator, Page, expect

TASKS = ("A", "B1", "B2", "B3", "C")
PARALLEL = ("B1", "B2", "B3")
EDGES = ("A->B1", "A->B2", "A->B3", "B1->C", "B2->C", "B3->C")

# How long a workflow of the reference shape may take to reach a state, sleeps included (ms).
WORKFLOW_TIMEOUT = 60_000


def unique_id(purpose: str) -> str:
    return f"e2e-{purpose}-{uuid.uuid4().hex[:6]}"


def simulate(**sleeps_ms: int) -> dict[str, Any]:
    """A workflow input whose tasks sleep (docs/architecture.md, the sample tasks' test controls)."""
    return {"simulate": {task: {"sleep_ms": ms} for task, ms in sleeps_ms.items()}}


def connection(page: Page) -> Locator:
    return page.get_by_test_id("connection-status")


def workflow_status(page: Page) -> Locator:
    return page.get_by_test_id("workflow-status")


def node(page: Page, task: str) -> Locator:
    return page.get_by_test_id(f"task-node-{task}")


def edge(page: Page, edge_id: str) -> Locator:
    return page.locator(f'.react-flow__edge[data-id="{edge_id}"]')


def bar(page: Page, task: str, attempt: int = 1) -> Locator:
    return page.get_by_test_id(f"timeline-bar-{task}-{attempt}")


def sign_in(page: Page, user: dict[str, str]) -> None:
    """Sign in on the user pool's sign-in page (the local cloud's, or Cognito's hosted UI) and
    come back to the dashboard signed in."""
    page.goto("/")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Username").fill(user["username"])
    page.get_by_label("Password").fill(user["password"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("signed-in-user")).to_have_text(user["username"])


def open_workflow(page: Page, workflow_id: str) -> None:
    """Go straight to a workflow's page (a deep link) and wait until it is live."""
    page.goto(f"/workflows/{workflow_id}")
    expect(page.get_by_role("heading", name=workflow_id, level=1)).to_be_visible()
    expect(connection(page)).to_have_attribute("data-state", "live")


def expect_nodes(
    page: Page, status: str, tasks: tuple[str, ...] = TASKS, timeout: float = WORKFLOW_TIMEOUT
) -> None:
    for task in tasks:
        expect(node(page, task)).to_have_attribute("data-status", status, timeout=timeout)


def interval(page: Page, task: str, attempt: int = 1) -> tuple[int, int]:
    """A timeline bar's run, in epoch ms, as the page shows it."""
    locator = bar(page, task, attempt)
    return int(locator.get_attribute("data-start-ms") or "0"), int(
        locator.get_attribute("data-end-ms") or "0"
    )


# --- what the page showed, and when ------------------------------------------------------------

# Installed in every page before its own scripts (an init script): a MutationObserver notes each
# new value of the watched elements' status, with the time, so a test can check afterwards what
# the page went through, however briefly it showed it.
RECORDER = """
(() => {
  const WATCHED = '[data-testid^="task-node-"][data-status], [data-testid="workflow-status"],'
    + ' [data-testid="connection-status"]';
  const shown = new Map();
  const changes = [];
  window.__e2eChanges = changes;
  const scan = () => {
    for (const element of document.querySelectorAll(WATCHED)) {
      const id = element.dataset.testid;
      const value = element.dataset.status ?? element.dataset.state;
      if (shown.get(id) !== value) {
        shown.set(id, value);
        changes.push({ at: Date.now(), id, value });
      }
    }
  };
  new MutationObserver(scan).observe(document, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["data-status", "data-state"],
  });
})();
"""


@dataclass(frozen=True)
class Shown:
    at: int  # epoch ms (the page's clock, which is this machine's)
    value: str


def history(page: Page, test_id: str) -> list[Shown]:
    """Every value the element with this test id showed, in order, since the page loaded."""
    changes = page.evaluate("window.__e2eChanges")
    return [Shown(int(c["at"]), str(c["value"])) for c in changes if c["id"] == test_id]


def first(shown: list[Shown], value: str) -> int:
    """When `value` was first shown (epoch ms)."""
    times = [s.at for s in shown if s.value == value]
    assert times, f"{value} was never shown: {[s.value for s in shown]}"
    return times[0]
