"""The CDK toolkit behind modules/cdk.py: the one ORCHESTRA_CDK_TOOLKIT names, with every class and
keyword argument the stacks use. The `infra` session runs this on cdktf; `toolkits` on cdktn, where
it checks code paths the four synthesized stacks do not take (another network mode, for one)."""

from __future__ import annotations

import ast
import inspect
import os
from pathlib import Path

import pytest

from modules import cdk

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([ROOT / "main.py", *(ROOT / "modules").glob("*.py")])
PACKAGES = {"cdktf": ("cdktf", "cdktf_cdktf_provider_aws"), "cdktn": ("cdktn", "cdktn_provider_aws")}


def provider_calls() -> dict[tuple[str, str], set[str]]:
    """(submodule, class) → keyword arguments, for every `aws.<submodule>.<Class>(...)` in the sources,
    and every `aws.<submodule>.<Class>` named without a call."""
    found: dict[tuple[str, str], set[str]] = {}
    for path in SOURCES:
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            target = node.func if isinstance(node, ast.Call) else node
            if (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Attribute)
                and isinstance(target.value.value, ast.Name)
                and target.value.value.id == "aws"
            ):
                keywords = found.setdefault((target.value.attr, target.attr), set())
                if isinstance(node, ast.Call):
                    keywords.update(keyword.arg for keyword in node.keywords if keyword.arg)
    return found


def names_imported_from_cdk() -> set[str]:
    names = set()
    for path in [*SOURCES, *ROOT.glob("tests/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module == "modules.cdk":
                names.update(alias.name for alias in node.names)
    return names


def test_the_toolkit_is_the_one_the_variable_names() -> None:
    chosen = os.environ.get(cdk.TOOLKIT_VARIABLE) or "cdktf"
    library, provider = PACKAGES[chosen]
    assert chosen == cdk.TOOLKIT
    assert cdk.App.__module__.split(".")[0] == library
    assert cdk.aws.__name__ == provider


def test_every_name_imported_from_modules_cdk_exists() -> None:
    imported = names_imported_from_cdk()
    assert imported, "nothing imports from modules.cdk?"
    assert imported <= set(cdk.__all__)
    missing = [name for name in sorted(imported) if not hasattr(cdk, name)]
    assert not missing


CALLS = sorted(provider_calls().items())


def test_the_sources_use_the_provider() -> None:
    assert len(CALLS) > 50  # the scan finds what the modules build (a broken scan finds nothing)


@pytest.mark.parametrize(("where", "keywords"), CALLS, ids=[f"{m}.{c}" for (m, c), _ in CALLS])
def test_provider_class_and_its_keywords_exist(where: tuple[str, str], keywords: set[str]) -> None:
    submodule, name = where
    module = getattr(cdk.aws, submodule, None)
    assert module is not None, f"{cdk.aws.__name__} has no submodule {submodule}"
    cls = getattr(module, name, None)
    assert cls is not None, f"{cdk.aws.__name__}.{submodule} has no {name}"
    parameters = inspect.signature(cls.__init__).parameters
    unknown = sorted(keywords - set(parameters))
    assert not unknown, f"{cdk.aws.__name__}.{submodule}.{name} takes no {unknown}"
