"""Every build, test and run entry point of Orchestra. `./noxw -l` lists them; `./noxw -s ci` runs CI."""

from __future__ import annotations

import os
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


def sync(session: nox.Session, *groups: str) -> None:
    """Install exactly the locked dependency groups into the session's virtualenv."""
    flags = [f"--group={group}" for group in groups]
    session.run_install(
        "uv", "sync", "--frozen", "--no-default-groups", *flags,
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
