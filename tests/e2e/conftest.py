"""tests/e2e: the dashboard in a real browser against a running deployment.

Playwright for Python (pytest-playwright) drives the system Chromium (Debian's `chromium` package;
Playwright's own browser downloads are never used). The deployment comes from the shared plugin
`tests/cloud.py`: the local cloud started once per session, or `--outputs FILE`. Every test fails
on a console error or an uncaught exception in the page unless it declares the ones it expects.
Screenshots go to build/e2e/.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import ConsoleMessage, Error, Page

from tests.e2e.dashboard import RECORDER, sign_in

if TYPE_CHECKING:  # imported by pytest_plugins, where its asserts are rewritten
    from tests.cloud import Deployment

pytest_plugins = ["tests.cloud"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "console_errors(*patterns): console errors the test causes on purpose (regular expressions)",
    )
    config.addinivalue_line(
        "markers",
        "signed_in_as(role): who the page is signed in as before the test (default operator; None: nobody)",
    )
    if not CHROMIUM.exists():
        raise pytest.UsageError(
            f"tests/e2e drive the system Chromium and {CHROMIUM} is missing: apt-get install -y chromium"
        )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": VIEWPORT}


@pytest.fixture(scope="session")
def base_url(deployment: Deployment) -> str:
    """The dashboard: tests go to paths such as /workflows/<id>."""
    return deployment.dashboard_url


@pytest.fixture
def page(page: Page, deployment: Deployment, request: pytest.FixtureRequest) -> Page:
    """The browser tab, signed in as an operator unless the test says otherwise (signed_in_as)."""
    page.add_init_script(RECORDER)
    marker = request.node.get_closest_marker("signed_in_as")
    role = marker.args[0] if marker else "operator"
    if role is not None and deployment.sign_in.enabled:
        sign_in(page, deployment.sign_in.user(role))
    return page


@pytest.fixture(autouse=True)
def no_console_errors(page: Page, request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails the test on any console error or uncaught exception in the page it did not expect."""
    seen: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.append(f"console error: {message.text} ({message.location.get('url', '')})")

    def on_page_error(error: Error) -> None:
        seen.append(f"uncaught {error.name}: {error.message}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    yield
    expected = [
        re.compile(pattern)
        for marker in request.node.iter_markers("console_errors")
        for pattern in marker.args
    ]
    unexpected = [line for line in seen if not any(pattern.search(line) for pattern in expected)]
    assert not unexpected, "the page logged errors:\n" + "\n".join(unexpected)


@pytest.fixture
def screenshot(page: Page, pytestconfig: pytest.Config) -> Callable[[str], Path]:
    """Saves the whole page as build/e2e/<name>.png."""

    def save(name: str) -> Path:
        path = pytestconfig.rootpath / "build" / "e2e" / f"{name}.png"
        page.screenshot(path=path, full_page=True, animations="disabled")
        return path

    return save
