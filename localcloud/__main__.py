"""Command line of the local cloud.

python -m localcloud up   --stack dev [--outputs FILE] [--port-base N] ...   run it until Ctrl-C
python -m localcloud plan --stack dev                                       check it, run nothing
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
from pathlib import Path

from localcloud.cloud import EMULATED, LocalCloud, Options, endpoints_path
from localcloud.dynamodb_local import DynamoDBLocalError
from localcloud.iam import Identities
from localcloud.moto_server import MotoServerError
from localcloud.plan import Plan, PlanError

ROOT = Path(__file__).resolve().parents[1]


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m localcloud", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="run the synthesized stack on this machine until Ctrl-C or SIGTERM")
    check = commands.add_parser(
        "plan", help="read and check the stack; print what would run and what is inert"
    )
    for command in (up, check):
        command.add_argument("--stack", default="dev", help="stack in cdktf.out/stacks/ (default: dev)")
        command.add_argument(
            "--root", type=Path, default=ROOT, help="repository root (default: this checkout)"
        )
    up.add_argument(
        "--outputs",
        type=Path,
        help="outputs file, cdktf --outputs-file format (default: build/outputs.local.json)",
    )
    up.add_argument(
        "--port-base",
        type=int,
        default=0,
        help="first port: dashboard, REST, WebSocket, Lambda, ... (default: free ports)",
    )
    up.add_argument(
        "--concurrency",
        type=int,
        default=10,
        help="environments per function without reserved concurrency (default: 10)",
    )
    up.add_argument(
        "--async-retry-delays",
        default="60,120",
        help="seconds before the 1st and 2nd retry of a failed async invocation (Lambda: about 60,120)",
    )
    up.add_argument(
        "--started-at",
        type=float,
        help="when the command that started this began (Unix time): `ready in N s` counts from it",
    )
    up.add_argument("--no-warm", action="store_true", help="start no environment before the first invocation")
    up.add_argument("--meter", action="store_true", help="count DynamoDB requests and capacity (the bench)")
    up.add_argument(
        "--dispatch",
        choices=("writer", "stream"),
        help="run the engine in this dispatch mode, whatever the stack's orchestration.dispatch says",
    )
    up.add_argument("-v", "--verbose", action="store_true", help="log the local cloud's own activity")
    return parser.parse_args(argv)


def _print(message: str) -> None:
    print(message, flush=True)


def plan_command(args: argparse.Namespace) -> int:
    plan = Plan.load(args.root, args.stack)
    types = plan.types()
    _print(
        f"stack {args.stack}: {len(plan.resources)} resources; "
        f"account {plan.account_id}, region {plan.region}"
    )
    _print("emulated: " + ", ".join(sorted(types & EMULATED)))
    _print("inert:    " + ", ".join(sorted(types - EMULATED)))
    identities = Identities(plan)  # every function's role and policies, checked as `up` checks them
    for name, principal in sorted(identities.by_function.items()):
        _print(f"role:     {name} runs as {principal.role} ({len(principal.statements)} policy statements)")
    outputs = plan.outputs()
    _print(f"outputs:  {', '.join(outputs)}")
    return 0


async def up_command(args: argparse.Namespace) -> int:
    options = Options(
        root=args.root.resolve(),
        stack=args.stack,
        outputs=args.outputs.resolve() if args.outputs else None,
        port_base=args.port_base,
        local_concurrency=args.concurrency,
        async_retry_delays=tuple(float(x) for x in args.async_retry_delays.split(",") if x.strip()),
        warm=not args.no_warm,
        meter=args.meter,
        dispatch=args.dispatch,
    )
    cloud = LocalCloud(options, progress=_print)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    start = asyncio.create_task(cloud.start())
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({start, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if start not in done:  # stopped while starting: start() cleans up after itself when cancelled
        start.cancel()
        await asyncio.gather(start, return_exceptions=True)
        _print("stopped before the local cloud was ready")
        return 130
    waiter.cancel()
    start.result()  # raises a start-up error
    _print("")
    _print("inert (accepted, not emulated): " + (", ".join(cloud.inert) or "none"))
    for note in cloud.notes:
        _print(f"note: {note}")
    _print("")
    labels = {"dashboard_url": "Dashboard", "api_url": "REST API ", "websocket_url": "WebSocket"}
    for key, label in labels.items():
        if key in cloud.outputs:
            _print(f"  {label}  {cloud.outputs[key]}")
    identity = cloud.identity()
    if identity.get("users"):
        _print("\n  Sign in to the dashboard as (passwords are new on every start):")
        for key, user in identity["users"].items():
            _print(f"    {key:<9}  {user['username']}  password {user['password']}")
        machine = identity.get("machine_client")
        if machine:
            _print(
                f"  Machine client (client credentials, {identity['oauth2_domain']}/oauth2/token): "
                f"{machine['client_id']}, secret in {endpoints_path(options.outputs_path)}"
            )
    _print(f"  Logs       {options.work_dir / 'logs'}")
    _print(f"  Outputs    {options.outputs_path}")
    if args.started_at is not None:
        _print(f"\nready in {time.time() - args.started_at:.1f} s")
    _print("\nCtrl-C stops everything.")
    await stop.wait()
    _print("stopping ...")
    await cloud.stop()
    _print("stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    try:
        if args.command == "plan":
            return plan_command(args)
        return asyncio.run(up_command(args))
    except (PlanError, DynamoDBLocalError, MotoServerError) as exc:
        print(f"localcloud: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
