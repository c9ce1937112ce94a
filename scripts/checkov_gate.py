"""Run checkov on synthesized stacks and fail on any failure that checkov-skips.toml does not justify.

checkov ignores skip comments inside cdktf's "//" metadata, and its own config file can only skip a
check everywhere. So the skips live in checkov-skips.toml, each scoped to stacks and resources and
carrying its reason; this gate applies them, prints the counts, and also fails on a skip that no
longer matches anything (a stale justification hides the next real failure).

Usage: python scripts/checkov_gate.py cdktf.out/stacks/dev [cdktf.out/stacks/prod ...]
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SKIPS_FILE = Path(__file__).parents[1] / "checkov-skips.toml"


@dataclass
class Skip:
    check: str
    reason: str
    resources: list[str] = field(default_factory=lambda: ["*"])
    stacks: list[str] = field(default_factory=lambda: ["*"])
    # Only resources carrying these tags (the task functions: `Purpose = "task"`, however many are
    # declared and whatever their ids).
    tags: dict[str, str] = field(default_factory=dict)
    used: int = 0

    def covers(self, stack: str, check: str, resource: str, tags: dict[str, str] | None = None) -> bool:
        return (
            check == self.check
            and any(fnmatch.fnmatch(stack, pattern) for pattern in self.stacks)
            and any(fnmatch.fnmatch(resource, pattern) for pattern in self.resources)
            and all((tags or {}).get(key) == value for key, value in self.tags.items())
        )


def load_skips(path: Path = SKIPS_FILE) -> list[Skip]:
    data = tomllib.loads(path.read_text())
    skips = []
    for number, entry in enumerate(data.get("skip", []), start=1):
        unknown = set(entry) - {"check", "reason", "resources", "stacks", "tags"}
        if unknown or not entry.get("check") or len(entry.get("reason", "").strip()) < 20:
            raise SystemExit(
                f"{path}: skip #{number} needs `check` and a written `reason` "
                f"(20+ characters); unknown keys: {sorted(unknown) or 'none'}"
            )
        skips.append(Skip(**entry))
    return skips


def scannable(stack_dir: Path, scratch: Path) -> Path:
    """A copy of the stack checkov can parse: its terraform_json parser (3.3.30) fails on any string in
    the `terraform` block ("this method receives only dicts"), so required_version is left out of
    the copy; checkov has no check on it, and the preflight checks it."""
    document = json.loads((stack_dir / "cdk.tf.json").read_text())
    document.get("terraform", {}).pop("required_version", None)
    target = scratch / stack_dir.name
    target.mkdir()
    (target / "cdk.tf.json").write_text(json.dumps(document))
    return target


def scan(stack_dir: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        return _scan(scannable(stack_dir, Path(scratch)), stack_dir)


def _scan(directory: Path, stack_dir: Path) -> dict[str, Any]:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "checkov.main",
            "--directory",
            str(directory),
            "--framework",
            "terraform_json",
            "--output",
            "json",
            "--skip-download",
            "--compact",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode not in (0, 1) or not completed.stdout.strip().startswith(("{", "[")):
        raise SystemExit(f"checkov failed on {stack_dir}:\n{completed.stderr[-3000:]}")
    report: Any = json.loads(completed.stdout)
    if isinstance(report, list):  # one report per framework; we ask for one
        (report,) = report
    summary = report.get("summary", {})
    if summary.get("passed", 0) + summary.get("failed", 0) == 0 or summary.get("parsing_errors"):
        raise SystemExit(f"checkov found no resources in {stack_dir}: is it a synthesized stack?")
    return dict(report)


def resource_types(stack_dir: Path) -> dict[str, str]:
    """Logical name → resource type, from the synthesized stack."""
    stack = json.loads((stack_dir / "cdk.tf.json").read_text())
    return {name: type_ for type_, bodies in stack.get("resource", {}).items() for name in bodies}


def resource_tags(stack_dir: Path) -> dict[str, dict[str, str]]:
    """`type.name` → the resource's own tags (not the provider's default tags), from the stack."""
    stack = json.loads((stack_dir / "cdk.tf.json").read_text())
    return {
        f"{type_}.{name}": body.get("tags") or {}
        for type_, bodies in stack.get("resource", {}).items()
        for name, body in bodies.items()
        if isinstance(body.get("tags"), dict)
    }


def address(resource: str, types: dict[str, str]) -> str:
    """`type.name` for a checkov resource id; for some checks checkov reports `resource.name`."""
    kind, _, name = resource.partition(".")
    return f"{types[name]}.{name}" if kind == "resource" and name in types else resource


def main(stack_dirs: list[str]) -> int:
    skips = load_skips()
    unsuppressed = 0
    for stack_dir in map(Path, stack_dirs):
        stack = stack_dir.name
        report = scan(stack_dir)
        passed = len(report["results"]["passed_checks"])
        suppressed = 0
        types, tags = resource_types(stack_dir), resource_tags(stack_dir)
        for failure in report["results"]["failed_checks"]:
            resource = address(failure["resource"], types)
            skip = next(
                (s for s in skips if s.covers(stack, failure["check_id"], resource, tags.get(resource))), None
            )
            if skip:
                skip.used += 1
                suppressed += 1
            else:
                unsuppressed += 1
                print(
                    f"FAILED {stack}: {failure['check_id']} {failure['check_name']}\n"
                    f"       resource {resource}"
                )
        failed = len(report["results"]["failed_checks"]) - suppressed
        print(f"{stack:>10}: {passed} passed, {suppressed} skipped (justified), {failed} failed")
    stale = [skip for skip in skips if skip.used == 0]
    for skip in stale:
        print(f"STALE skip {skip.check} on {skip.resources} in {skip.stacks}: matches no failure; remove it")
    print(f"skips: {len(skips)} rules in {SKIPS_FILE.name}, {sum(s.used for s in skips)} findings suppressed")
    return 1 if unsuppressed or stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
