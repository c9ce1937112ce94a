"""Synthesize every stack once per test session; tests read the Terraform JSON it produces."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import main
from environments import ENVIRONMENT_NAMES, Settings, load, load_bootstrap
from modules.cdk import Testing

Stack = dict[str, Any]


@pytest.fixture(scope="session")
def stacks() -> dict[str, Stack]:
    """The synthesized JSON of the bootstrap stack and of every environment stack."""
    app = main.build_app(Testing.app())
    return {child.node.id: json.loads(Testing.synth(child)) for child in app.node.children}


@pytest.fixture(scope="session", params=ENVIRONMENT_NAMES)
def env_stack(request: pytest.FixtureRequest, stacks: dict[str, Stack]) -> Stack:
    """Each environment stack in turn."""
    return stacks[request.param]


@pytest.fixture(scope="session")
def synth_settings() -> Callable[[Settings], Stack]:
    """Synthesize one environment stack from settings a test changed (e.g. another network mode)."""

    def synth(settings: Settings) -> Stack:
        app = Testing.app()
        stack = main.OrchestraStack(app, settings, load_bootstrap())
        return json.loads(Testing.synth(stack))

    return synth


@pytest.fixture
def dev_settings() -> Settings:
    return load("dev")


def resources(stack: Stack, type_: str) -> dict[str, dict[str, Any]]:
    """Resources of one Terraform type, by logical name."""
    return stack.get("resource", {}).get(type_, {})


def only(stack: Stack, type_: str) -> dict[str, Any]:
    """The single resource of a type (fails when there are none or several)."""
    found = list(resources(stack, type_).values())
    assert len(found) == 1, f"expected one {type_}, found {len(found)}"
    return found[0]


def ref(type_: str, name: str, attribute: str) -> str:
    """A Terraform reference as cdktf writes it."""
    return f"${{{type_}.{name}.{attribute}}}"


def named(stack: Stack, type_: str, path: str) -> tuple[str, dict[str, Any]]:
    """The resource at a construct path ('data/workflows' → logical id 'data_workflows_<hash>')."""
    pattern = re.compile(re.escape(path.replace("/", "_")) + r"_[0-9A-F]{8}")
    matches = [(name, body) for name, body in resources(stack, type_).items() if pattern.fullmatch(name)]
    assert len(matches) == 1, f"expected one {type_} at {path}, found {[n for n, _ in matches]}"
    return matches[0]


def policy(body: dict[str, Any], key: str = "policy") -> dict[str, Any]:
    """A policy attribute parsed from its JSON string."""
    return json.loads(body[key])
