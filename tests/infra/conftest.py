"""Tests read the stacks as the synth session wrote them (cdktf.out/, or $ORCHESTRA_SYNTH_DIR: the
toolkits session points it at the cdktn synth), and synthesize in-process only the variants they
build from changed settings."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import main
from environments import ENVIRONMENT_NAMES, Settings, load, load_bootstrap
from modules.cdk import Testing

Stack = dict[str, Any]
ROOT = Path(__file__).resolve().parents[2]
SYNTH_DIR = Path(os.environ.get("ORCHESTRA_SYNTH_DIR") or ROOT / "cdktf.out")
STACK_NAMES = ("bootstrap", *ENVIRONMENT_NAMES)


def without_metadata(stack: Stack) -> Stack:
    """A stack without the "//" metadata cdktf writes into each resource, data source and output
    (construct path, unique id; Terraform ignores it), as Testing.synth gives it."""
    return {
        key: {
            type_: {name: _strip(body) for name, body in of_type.items()}
            if key != "output"
            else _strip(of_type)
            for type_, of_type in value.items()
        }
        if key in {"resource", "data", "output"}
        else value
        for key, value in stack.items()
    }


def _strip(body: Any) -> Any:
    return {key: value for key, value in body.items() if key != "//"} if isinstance(body, dict) else body


@pytest.fixture(scope="session")
def stacks() -> dict[str, Stack]:
    """The synthesized JSON of the bootstrap stack and of every environment stack."""
    found = {}
    for name in STACK_NAMES:
        path = SYNTH_DIR / "stacks" / name / "cdk.tf.json"
        if not path.exists():
            pytest.fail(f"{path} is missing: run `./noxw -s synth` (`./noxw -s infra` does)", pytrace=False)
        found[name] = without_metadata(json.loads(path.read_text()))
    return found


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
