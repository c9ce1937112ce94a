"""Build every Lambda artifact into build/, deterministically: the engine, and every task function
declared in lambdas/tasks/*/task.toml (workflows/tasks.py).

Same sources → byte-identical zips: entries sorted, timestamps fixed at 1980-01-01, modes fixed,
symlinks followed. Python dependencies come from uv.lock's `lambda` group, installed for Lambda's
platform (manylinux x86_64, CPython 3.12) with their hashes checked. Writes:

  build/lambda/<artifact>.zip      one zip per artifact
  build/lambda/manifest.json       artifact → {file, sha256 (base64, as Terraform's source_code_hash), bytes}
  build/images.json                container images → {context, dockerfile, handler, tag}

Usage: python scripts/package.py
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the declarations' loader is a package of the repository

from environments import SettingsError  # noqa: E402
from workflows.tasks import MANIFEST, PackagedTask, load_tasks  # noqa: E402

BUILD = ROOT / "build"
LAMBDA_BUILD = BUILD / "lambda"
LAMBDA_PLATFORM = ("--python-platform", "x86_64-manylinux_2_17", "--python-version", "3.12")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
SKIP = {"__pycache__", ".DS_Store", "node_modules"}


@dataclass(frozen=True)
class Artifact:
    """A zip made of source trees (archive prefix → folder) and, optionally, the locked Lambda deps."""

    sources: tuple[tuple[str, str], ...]
    with_dependencies: bool = False
    # The manifest is read at synthesis, not by the function.
    exclude_suffixes: tuple[str, ...] = (".pyc", ".test.js", ".test.mjs", MANIFEST)


# The engine's handlers share one package: one zip, one handler string each.
ENGINE = Artifact(sources=(("engine", "lambdas/engine"),), with_dependencies=True)


def artifacts(tasks: tuple[PackagedTask, ...]) -> dict[str, Artifact]:
    """The zips: the engine, and each zip task function from its folder."""
    found = {"engine": ENGINE}
    for task in tasks:
        if not task.is_image:
            found[task.artifact] = Artifact(sources=(("", str(task.folder)),))
    return found


def images(tasks: tuple[PackagedTask, ...]) -> dict[str, dict[str, str]]:
    """The container-image task functions: their build contexts (pushed by hand, README: Deploying)."""
    return {
        task.artifact: {"context": str(task.folder), "dockerfile": "Dockerfile", "handler": task.handler}
        for task in tasks
        if task.is_image
    }


def files_of(folder: Path, prefix: str, exclude_suffixes: tuple[str, ...]) -> dict[str, Path]:
    """Archive name → file, following symlinks (shared task code is symlinked into each task)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if (
            any(part in SKIP for part in relative.parts)
            or path.is_dir()
            or path.name.endswith(exclude_suffixes)
        ):
            continue
        found[str(Path(prefix) / relative) if prefix else str(relative)] = path.resolve()
    return found


def lambda_dependencies() -> Path:
    """The `lambda` dependency group installed for Lambda's platform, cached by the lock's content."""
    requirements = subprocess.run(
        [
            "uv",
            "export",
            "--frozen",
            # Only the group: not the project's own dependencies (the command line's).
            "--only-group",
            "lambda",
            "--no-emit-project",
            "--no-header",
            "--no-annotate",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    key = hashlib.sha256(requirements.encode()).hexdigest()[:16]
    target = BUILD / "cache" / f"lambda-deps-{key}"
    if not target.exists():
        with tempfile.TemporaryDirectory(dir=BUILD) as scratch:
            requirements_file = Path(scratch) / "requirements.txt"
            requirements_file.write_text(requirements)
            staging = Path(scratch) / "site-packages"
            subprocess.run(
                [
                    "uv",
                    "pip",
                    "install",
                    "--quiet",
                    "--no-deps",
                    "--require-hashes",
                    "--only-binary",
                    ":all:",
                    *LAMBDA_PLATFORM,
                    "--target",
                    str(staging),
                    "-r",
                    str(requirements_file),
                ],
                cwd=ROOT,
                check=True,
            )
            # Installer bookkeeping differs between machines and is not needed at run time.
            for leftover in [*staging.rglob("__pycache__"), *staging.glob("bin")]:
                shutil.rmtree(leftover, ignore_errors=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            staging.rename(target)
    return target


def write_zip(destination: Path, entries: dict[str, Path]) -> None:
    with zipfile.ZipFile(destination, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.create_system = 3  # unix, so the mode below is honoured
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name].read_bytes(), compresslevel=9)


def source_code_hash(path: Path) -> str:
    """Base64 of the file's SHA-256, the form Terraform's filebase64sha256() gives."""
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def build_artifact(name: str, artifact: Artifact) -> dict[str, object]:
    entries: dict[str, Path] = {}
    if artifact.with_dependencies:
        entries.update(files_of(lambda_dependencies(), "", (".pyc",)))
    for prefix, folder in artifact.sources:
        entries.update(files_of(ROOT / folder, prefix, artifact.exclude_suffixes))
    destination = LAMBDA_BUILD / f"{name}.zip"
    write_zip(destination, entries)
    return {
        "file": str(destination.relative_to(ROOT)),
        "sha256": source_code_hash(destination),
        "bytes": destination.stat().st_size,
    }


def image_tag(context: Path) -> str:
    """A content hash of the build context: the tag is immutable, so it must change with the code."""
    digest = hashlib.sha256()
    for name, path in sorted(files_of(context, "", (".pyc", MANIFEST)).items()):
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return f"src-{digest.hexdigest()[:16]}"


def main() -> int:
    if shutil.which("uv") is None:
        print("package.py: uv is not on PATH; run it through `./noxw -s package`", file=sys.stderr)
        return 2
    LAMBDA_BUILD.mkdir(parents=True, exist_ok=True)
    try:
        tasks = load_tasks()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    manifest = {name: build_artifact(name, artifact) for name, artifact in artifacts(tasks).items()}
    (LAMBDA_BUILD / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    built = {
        name: {**image, "tag": image_tag(ROOT / image["context"])} for name, image in images(tasks).items()
    }
    (BUILD / "images.json").write_text(json.dumps(built, indent=2, sort_keys=True) + "\n")
    for entry in manifest.values():
        print(f"{entry['file']:<32} {int(str(entry['bytes'])):>10,} bytes  sha256 {entry['sha256']}")
    for name, image in built.items():
        print(f"image {name:<26} context {image['context']}  tag {image['tag']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
