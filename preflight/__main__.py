"""python -m preflight [DIR ...]: check stack directories (default: every synthesized stack).

Prints one line per violation (rule id, stack:resource, what AWS answers, the fix) and exits 1 when
there is any; 2 when a stack cannot be read. `--rules` lists the rules instead. Stacks named on the
command line are checked as they are; rules that need the whole app (the bootstrap stack's account
settings) run when the bootstrap stack is among them, as it is without arguments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from preflight.rules import RULES, check
from preflight.stack import StackError, load_all

ROOT = Path(__file__).resolve().parents[1]
STACKS = ROOT / "cdktf.out" / "stacks"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m preflight", description=__doc__.splitlines()[0])
    parser.add_argument("stacks", nargs="*", type=Path, help="stack directories holding a cdk.tf.json")
    parser.add_argument("--rules", action="store_true", help="list the rules (id, fact, source)")
    args = parser.parse_args(argv)
    if args.rules:
        for rule in RULES:
            print(f"{rule.id}\t{rule.fact}\t{rule.source}")
        return 0
    directories = args.stacks or sorted(p.parent for p in STACKS.glob("*/cdk.tf.json"))
    if not directories:
        print(f"preflight: no stacks under {STACKS} (run ./noxw -s synth)", file=sys.stderr)
        return 2
    try:
        stacks = load_all(directories)
    except StackError as error:
        print(f"preflight: {error}", file=sys.stderr)
        return 2
    # Rules that need the whole app (the bootstrap stack's account settings) need the bootstrap stack.
    violations = check(stacks, whole_app=any(stack.name == "bootstrap" for stack in stacks))
    for violation in violations:
        print(violation.line())
    names = ", ".join(s.name for s in stacks)
    print(f"preflight: {len(RULES)} rules, {len(stacks)} stacks ({names}): {len(violations)} violation(s)")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
