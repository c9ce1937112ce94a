"""Schemathesis against the REST API of a local cloud, with every check, from its own OpenAPI document.

    python scripts/fuzz.py [--stack dev] [--max-examples 30]

Fails (exit 1) on any finding: a 5xx, a status code the document does not list, a response that
breaks its schema, a schema-valid request rejected or a schema-violating one accepted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from run_local import ROOT, local_cloud, machine_token


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--max-examples", type=int, default=30)
    args, extra = parser.parse_known_args()
    with local_cloud(args.stack) as (outputs, endpoints):
        api = str(outputs["api_url"]).rstrip("/")
        token = machine_token(endpoints)
        auth = ["--header", f"Authorization: Bearer {token}"] if token else []
        command = [
            str(Path(sys.executable).with_name("st")),
            "run",
            f"{api}/openapi.json",
            "--url",
            api,
            "--checks",
            "all",
            "--max-examples",
            str(args.max_examples),
            "--seed",
            "1",
            "--workers",
            "2",
            *auth,
            *extra,
        ]
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "hooks", "PYTHONPATH": str(ROOT / "tests" / "fuzz")}
        return subprocess.run(command, env=env, cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
