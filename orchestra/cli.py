"""`orchestra`: start, follow and inspect the workflows of a deployment from a terminal or a script.

    orchestra start DEFINITION [--id ID] [--input JSON|@FILE] [--wait]
    orchestra list [--status S] [--limit N]        orchestra show ID        orchestra watch ID
    orchestra cancel ID        orchestra retry ID  orchestra definitions    orchestra validate FILE

Every read command takes --json (the API's own JSON; with --wait and watch, one JSON object per line).
Exit codes: 0 done (with --wait and watch: the workflow succeeded), 1 the workflow FAILED or was
CANCELLED, 2 a usage or input error, 3 the deployment refused or could not be reached. An error is
one line on stderr naming what was wrong, never a traceback.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from orchestra import output
from orchestra.client import REMOTE, TERMINAL, USAGE, Api, CliError, Credentials, Target, environment, target
from orchestra.watch import Follower, Tracker

STATUSES = ("PENDING", "RUNNING", "SUCCESS", "FAILED", "CANCELLED")
FAILED = 1
PAGE = 100  # the API's largest page


class Session:
    """The deployment and the caller, resolved the first time a command needs them."""

    def __init__(
        self,
        outputs: Path | None,
        stack: str | None,
        api_url: str | None,
        ws_url: str | None,
        user: str | None,
    ) -> None:
        self.args = (outputs, stack, api_url, ws_url)
        self.user = user
        self._target: Target | None = None
        self._api: Api | None = None

    @property
    def target(self) -> Target:
        if self._target is None:
            self._target = target(*self.args)
        return self._target

    @property
    def api(self) -> Api:
        if self._api is None:
            env = environment()
            credentials = Credentials(self.target, self.user, env)
            # A token signed in for here can be renewed when it expires; ORCHESTRA_TOKEN cannot.
            renew = None if env.get("ORCHESTRA_TOKEN") else credentials.token
            self._api = Api(self.target, credentials.token(), renew=renew)
        return self._api

    def follower(self, workflow_id: str, *, from_start: bool) -> Follower:
        return Follower(self.api, self.target.websocket_url, workflow_id, from_start=from_start)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    no_args_is_help=True,
)
@click.option(
    "--outputs",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The deployment's outputs file (cdktf --outputs-file format). Default: build/outputs.local.json, "
    "the local cloud's.",
)
@click.option("--stack", help="The stack of the outputs file (default: its first).")
@click.option("--api-url", help="The REST API's URL, instead of an outputs file (token: ORCHESTRA_TOKEN).")
@click.option("--websocket-url", help="The WebSocket API's URL (with --api-url).")
@click.option(
    "--user",
    envvar="ORCHESTRA_USERNAME",
    help="Sign in as this person (password: ORCHESTRA_PASSWORD; locally, the local user's). "
    "Default: the machine client (ORCHESTRA_MACHINE_CLIENT_SECRET; locally, from the endpoints file).",
)
@click.pass_context
def cli(
    ctx: click.Context,
    outputs: Path | None,
    stack: str | None,
    api_url: str | None,
    websocket_url: str | None,
    user: str | None,
) -> None:
    """Start, follow and inspect Orchestra workflows."""
    if websocket_url and not api_url:
        raise click.UsageError("--websocket-url goes with --api-url (an outputs file has both)")
    ctx.obj = Session(outputs, stack, api_url, websocket_url, user)


def _input(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    source = "--input"
    if text.startswith("@"):
        path = Path(text[1:])
        source = f"--input {text}"
        try:
            text = path.read_text()
        except OSError as exc:
            raise CliError(f"{source}: {exc.strerror}", USAGE) from None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise CliError(f"{source}: not JSON: {exc}", USAGE) from None
    if not isinstance(value, dict):
        raise CliError(f"{source}: must be a JSON object, not {type(value).__name__}", USAGE)
    return value


def _follow(session: Session, follower: Follower, as_json: bool) -> int:
    console = output.console()
    try:
        for transition in follower.transitions():
            if as_json:
                output.print_json_line(transition.to_json())
            else:
                console.print(output.transition_line(transition), markup=False)
    finally:
        follower.close()
    final = follower.final
    assert final is not None
    if as_json:
        output.print_json_line({"event": "workflow", "workflow": final})
    else:
        console.print(output.summary_line(final), markup=False)
    return 0 if final["status"] == "SUCCESS" else FAILED


@cli.command()
@click.argument("definition")
@click.option(
    "--id", "workflow_id", help="The workflow's id (default: wf-<random>); starting twice is idempotent."
)
@click.option(
    "--input", "input_text", metavar="JSON|@FILE", help="The workflow's input: a JSON object, or @file.json."
)
@click.option("--wait", is_flag=True, help="Follow it live, one line per task transition, until it ends.")
@json_option
@click.pass_obj
def start(
    session: Session,
    definition: str,
    workflow_id: str | None,
    input_text: str | None,
    wait: bool,
    as_json: bool,
) -> int:
    """Start a workflow of a named DEFINITION (orchestra definitions lists them)."""
    # The id is chosen here, so a retried POST (after a throttle) is the same workflow, never a second.
    workflow_id = workflow_id or f"wf-{uuid.uuid4().hex}"
    body = {"definition": definition, "input": _input(input_text), "workflowId": workflow_id}
    follower = None
    if wait:
        # Subscribed before it exists: the first transitions cannot be missed.
        follower = session.follower(workflow_id, from_start=True)
        follower.open()
    try:
        created = session.api.call("POST", "/workflows", body)
    except BaseException:
        if follower is not None:
            follower.close()
        raise
    existed = session.api.last_status == 200  # the same request again: that workflow, not a new one
    if follower is not None and existed:
        follower.tracker = Tracker(from_start=False)  # report what changes from here, not its past
    if as_json:
        if follower is None:
            output.print_json(created)
        else:
            output.print_json_line({"event": "existed" if existed else "started", "workflow": created})
    else:
        version = created.get("definition_version") or "-"
        output.console().print(
            f"{'already started' if existed else 'started'} {created['workflow_id']} "
            f"({created['definition_name']} version {version}, {len(created['tasks'])} tasks): "
            f"{created['status']}",
            markup=False,
        )
    if follower is None:
        return 0
    return _follow(session, follower, as_json)


@cli.command(name="list")
@click.option(
    "--status", type=click.Choice(STATUSES, case_sensitive=False), help="Only workflows in this status."
)
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=20,
    show_default=True,
    help="At most this many, newest first.",
)
@json_option
@click.pass_obj
def list_workflows(session: Session, status: str | None, limit: int, as_json: bool) -> int:
    """List workflows, newest first."""
    items: list[dict[str, Any]] = []
    cursor = None
    while len(items) < limit:
        page = session.api.call(
            "GET",
            "/workflows",
            status=status.upper() if status else None,
            limit=min(PAGE, limit - len(items)),
            cursor=cursor,
        )
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    if as_json:
        output.print_json({"items": items, "next_cursor": cursor})
    elif items:
        output.console().print(output.workflows_table(items))
    else:
        output.console().print("no workflows" + (f" with status {status.upper()}" if status else ""))
    return 0


@cli.command()
@click.argument("workflow_id", metavar="ID")
@json_option
@click.pass_obj
def show(session: Session, workflow_id: str, as_json: bool) -> int:
    """A workflow and its tasks: status, attempts, durations, errors."""
    workflow = session.api.workflow(workflow_id)
    if as_json:
        output.print_json(workflow)
    else:
        console = output.console()
        console.print(output.workflow_header(workflow))
        console.print(output.tasks_table(workflow))
    return 0


@cli.command()
@click.argument("workflow_id", metavar="ID")
@json_option
@click.pass_obj
def watch(session: Session, workflow_id: str, as_json: bool) -> int:
    """Follow a workflow live until it ends (exit 0 on SUCCESS, 1 on FAILED or CANCELLED)."""
    return _follow(session, session.follower(workflow_id, from_start=False), as_json)


def _change(session: Session, workflow_id: str, action: str, as_json: bool) -> int:
    from urllib.parse import quote

    workflow = session.api.call("POST", f"/workflows/{quote(workflow_id, safe='')}/{action}")
    if as_json:
        output.print_json(workflow)
    else:
        output.console().print(f"{workflow['workflow_id']}: {workflow['status']}", markup=False)
    return 0


@cli.command()
@click.argument("workflow_id", metavar="ID")
@json_option
@click.pass_obj
def cancel(session: Session, workflow_id: str, as_json: bool) -> int:
    """Cancel a PENDING or RUNNING workflow."""
    return _change(session, workflow_id, "cancel", as_json)


@cli.command()
@click.argument("workflow_id", metavar="ID")
@json_option
@click.pass_obj
def retry(session: Session, workflow_id: str, as_json: bool) -> int:
    """Rerun the failed, cancelled and skipped tasks of a FAILED or CANCELLED workflow."""
    return _change(session, workflow_id, "retry", as_json)


@cli.command()
@json_option
@click.pass_obj
def definitions(session: Session, as_json: bool) -> int:
    """The deployment's named definitions, with their versions."""
    answer = session.api.call("GET", "/definitions")
    if as_json:
        output.print_json(answer)
    else:
        output.console().print(output.definitions_table(answer["items"]))
    return 0


@cli.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--environment",
    "environments",
    multiple=True,
    help="Check against this environment's task functions (default: every one).",
)
@json_option
def validate(file: Path, environments: Sequence[str], as_json: bool) -> int:
    """Check a definition file offline, with the validator synthesis uses."""
    from orchestra.validate import validate_file

    results = validate_file(file, environments)
    if as_json:
        output.print_json(
            [
                {"environment": r.environment, "name": r.name, "version": r.version, "tasks": r.tasks}
                for r in results
            ]
        )
    else:
        for r in results:
            output.console().print(
                f"{r.source}: valid for {r.environment}: {r.name} version {r.version}, {r.tasks} tasks",
                markup=False,
            )
    return 0


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in str(text).splitlines() if line.strip())


def main(argv: Sequence[str] | None = None) -> None:
    """The console script: exit codes and one-line errors (never a traceback)."""
    try:
        code = cli.main(
            args=list(argv) if argv is not None else None, prog_name="orchestra", standalone_mode=False
        )
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else "orchestra --help")
        code = USAGE
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else "orchestra"
        click.echo(f"error: {_one_line(exc.format_message())} (see {command} --help)", err=True)
        code = USAGE
    except click.ClickException as exc:
        click.echo(f"error: {_one_line(exc.format_message())}", err=True)
        code = exc.exit_code
    except CliError as exc:
        click.echo(f"error: {_one_line(str(exc))}", err=True)
        code = exc.code
    except (KeyboardInterrupt, click.Abort):
        click.echo("error: interrupted", err=True)
        code = 130
    except Exception as exc:  # a bug of ours: still one line, and say so
        click.echo(
            f"error: unexpected {type(exc).__name__}: {_one_line(str(exc))} (a bug: please report it)",
            err=True,
        )
        code = REMOTE if isinstance(exc, OSError) else 70
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()

__all__ = ["TERMINAL", "cli", "main"]
