"""The CDK toolkit behind modules/cdk.py: the one ORCHESTRA_CDK_TOOLKIT names, with every class and
keyword argument the stacks use. The `infra` session runs this on cdktf; `toolkits` on cdktn, where
it checks code paths the four synthesized stacks do not take (another network mode, for one)."""

from __future__ import annotations

import ast
import inspect
import os
import tomllib
from pathlib import Path

import pytest

from modules import cdk

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([ROOT / "main.py", *(ROOT / "modules").glob("*.py")])
PACKAGES = {"cdktf": ("cdktf", "cdktf_cdktf_provider_aws"), "cdktn": ("cdktn", "cdktn_provider_aws")}


def provider_calls() -> dict[tuple[str, str], set[str]]:
    """(submodule, class) → keyword arguments, for every `aws.<submodule>.<Class>(...)` in the sources
    (or `<alias>.<Class>(...)` after `alias = aws.<submodule>`), and every such class named without a
    call."""
    found: dict[tuple[str, str], set[str]] = {}
    for path in SOURCES:
        tree = ast.parse(path.read_text(), str(path))
        aliases = {
            target.id: node.value.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Attribute)
            and isinstance(node.value.value, ast.Name)
            and node.value.value.id == "aws"
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            target = node.func if isinstance(node, ast.Call) else node
            if not isinstance(target, ast.Attribute):
                continue
            owner = target.value
            if (
                isinstance(owner, ast.Attribute)
                and isinstance(owner.value, ast.Name)
                and owner.value.id == "aws"
            ):
                submodule = owner.attr
            elif isinstance(owner, ast.Name) and owner.id in aliases:
                submodule = aliases[owner.id]
            else:
                continue
            keywords = found.setdefault((submodule, target.attr), set())
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


def test_mypy_reads_every_provider_submodule_the_stacks_use() -> None:
    """pyproject.toml lets mypy read only the provider submodules the stacks use (the others are Any):
    a submodule used but not listed would go unchecked."""
    overrides = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["overrides"]
    prefix = "cdktf_cdktf_provider_aws."
    followed = {
        module.removeprefix(prefix)
        for override in overrides
        if override.get("follow_imports") == "normal"
        for module in override["module"]
        if module.startswith(prefix)
    }
    used = {submodule for submodule, _ in provider_calls()}
    assert followed == used, (
        f"[[tool.mypy.overrides]] in pyproject.toml: add {sorted(used - followed)}, "
        f"remove {sorted(followed - used)}"
    )
