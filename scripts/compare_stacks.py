"""Compare two synthesized cdktf.out/ directories stack by stack.

  python scripts/compare_stacks.py A B             the same stacks, byte-identical cdk.tf.json files
                                                    and the same asset files (npx cdktf synth vs nox)
  python scripts/compare_stacks.py --toolkits A B  the same Terraform: resources, data sources,
                                                    outputs, backend, providers, metadata, all but
                                                    the toolkit's and the AWS provider's versions
                                                    (cdktf vs cdktn)

Prints one line per stack; exits 1 naming every difference.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

# Terraform completes a provider source without a host with registry.terraform.io, and one without a
# namespace either with hashicorp: "aws", "hashicorp/aws" and "registry.terraform.io/hashicorp/aws" agree.
DEFAULT_HOST = "registry.terraform.io"
DEFAULT_NAMESPACE = "hashicorp"
BLOCKS = ("resource", "data", "output")


def stacks_of(outdir: Path) -> dict[str, Path]:
    """The stacks a synth wrote, as its manifest lists them."""
    manifest_path = outdir / "manifest.json"
    if not manifest_path.exists():
        raise SystemExit(f"compare_stacks: {manifest_path} is missing: nothing was synthesized there")
    manifest = json.loads(manifest_path.read_text())
    return {name: outdir / entry["synthesizedStackPath"] for name, entry in manifest["stacks"].items()}


def assets(stack_file: Path) -> dict[str, str]:
    """Relative path → SHA-256 of every file the stack ships beside its cdk.tf.json."""
    folder = stack_file.parent
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path != stack_file
    }


def provider_source(source: str) -> str:
    parts = source.lower().split("/")
    if len(parts) == 1:
        parts.insert(0, DEFAULT_NAMESPACE)
    if len(parts) == 2:
        parts.insert(0, DEFAULT_HOST)
    return "/".join(parts)


def terraform_without_versions(stack: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The stack without the toolkit's version (in its "//" metadata), with the provider sources
    normalized and their versions taken out (returned)."""
    comparable = dict(stack)
    if "//" in stack:
        notes = dict(stack["//"])
        notes["metadata"] = {k: v for k, v in notes.get("metadata", {}).items() if k != "version"}
        comparable["//"] = notes
    terraform = dict(comparable.get("terraform", {}))
    versions = {}
    providers = {}
    for name, requirement in terraform.get("required_providers", {}).items():
        versions[name] = requirement.get("version", "")
        providers[name] = {
            **{key: value for key, value in requirement.items() if key != "version"},
            "source": provider_source(requirement.get("source", name)),
        }
    terraform["required_providers"] = providers
    comparable["terraform"] = terraform
    return comparable, versions


def differences(left: Any, right: Any, path: str = "") -> list[str]:
    """Paths at which two JSON values differ (a few levels deep, enough to find the resource)."""
    if isinstance(left, dict) and isinstance(right, dict) and path.count(".") < 3:
        found = []
        for key in sorted(set(left) | set(right)):
            where = f"{path}.{key}" if path else key
            if key not in left or key not in right:
                found.append(f"{where}: only in {'the second' if key not in left else 'the first'}")
            else:
                found.extend(differences(left[key], right[key], where))
        return found
    return [] if left == right else [f"{path}: differs"]


def count(stack: dict[str, Any], block: str) -> int:
    """Resources and data sources are grouped by type; outputs are not."""
    entries = stack.get(block, {})
    return len(entries) if block == "output" else sum(len(of_type) for of_type in entries.values())


def compare_exact(name: str, left: Path, right: Path) -> list[str]:
    problems = []
    if left.read_bytes() != right.read_bytes():
        problems += [
            f"{name}: {item}"
            for item in differences(json.loads(left.read_text()), json.loads(right.read_text()))
        ]
        problems.append(f"{name}: {left} and {right} are not byte-identical")
    if assets(left) != assets(right):
        problems.append(f"{name}: the stacks' asset files differ")
    if not problems:
        size = left.stat().st_size
        print(f"{name}: cdk.tf.json identical ({size:,} bytes), {len(assets(left))} asset file(s) identical")
    return problems


def compare_toolkits(name: str, left: Path, right: Path) -> list[str]:
    first, first_versions = terraform_without_versions(json.loads(left.read_text()))
    second, second_versions = terraform_without_versions(json.loads(right.read_text()))
    problems = [f"{name}: {item}" for item in differences(first, second)]
    if assets(left) != assets(right):
        problems.append(f"{name}: the stacks' asset files differ")
    if not problems:
        counts = ", ".join(f"{count(first, block)} {block}" for block in BLOCKS)
        backend = ", ".join(first.get("terraform", {}).get("backend", {})) or "none"
        versions = ", ".join(
            f"{provider} {first_versions[provider]} / {second_versions.get(provider, '?')}"
            for provider in first_versions
        )
        print(f"{name}: identical ({counts}; backend {backend}); provider versions {versions}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument(
        "--toolkits", action="store_true", help="ignore the toolkit's metadata and provider versions"
    )
    args = parser.parse_args(argv)
    first, second = stacks_of(args.first), stacks_of(args.second)
    problems = []
    if sorted(first) != sorted(second):
        problems.append(f"stacks differ: {sorted(first)} in {args.first}, {sorted(second)} in {args.second}")
    compare = compare_toolkits if args.toolkits else compare_exact
    for name in sorted(set(first) & set(second)):
        problems += compare(name, first[name], second[name])
    for problem in problems:
        print(f"compare_stacks: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
