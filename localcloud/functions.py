"""From the stack's aws_lambda_function (and its event invoke config) to a runnable FunctionSpec.

Zip functions come from `filename` (relative to the stack folder: cdktf assets); container-image
functions from their build context, found in the images manifest that `nox -s package` writes
(`build/images.json`: image name -> build context and handler). Settings the local cloud cannot
honour stop start-up, naming the function: layers, file systems, an SQS/SNS-less destination.
`logging_config` sets the log format (JSON or text) as Lambda does; `vpc_config`, `architectures`,
`tracing_config`, `kms_key_arn` and `ephemeral_storage` are accepted and have no effect here.
Each function gets credentials of its own (its role session's, see `iam.py`), and an asynchronous
destination its role cannot send to stops start-up, as it stops the deployment on AWS.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from localcloud import iam, runtimes
from localcloud.lambda_ import AsyncConfig, FunctionSpec
from localcloud.plan import Plan, PlanError, Resource

TYPES = (
    "aws_lambda_function",
    "aws_lambda_function_event_invoke_config",
    "aws_lambda_permission",
    "aws_lambda_event_source_mapping",
)


def _block(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        return value[0] if value else {}
    return value or {}


def read_images(root: Path) -> dict[str, dict[str, Any]]:
    """The images manifest: {image name: {"context": folder, "handler": "module.function", ...}}."""
    path = root / "build" / "images.json"
    if not path.is_file():
        return {}
    document = json.loads(path.read_text())
    if isinstance(document, dict) and isinstance(document.get("images"), (dict, list)):
        document = document["images"]
    if isinstance(document, list):
        return {str(item.get("name") or item.get("image")): item for item in document}
    return {str(k): v for k, v in document.items()}


def _image_entry(images: dict[str, dict[str, Any]], image_uri: str, function: str) -> dict[str, Any] | None:
    repository = image_uri.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
    tag = image_uri.rsplit(":", 1)[-1] if ":" in image_uri.rsplit("/", 1)[-1] else ""
    for name, entry in images.items():
        aliases = {name, str(entry.get("repository", "")), str(entry.get("tag", ""))}
        if (
            repository in aliases
            or (tag and tag in aliases)
            or function.endswith(name)
            or repository.endswith(name)
        ):
            return entry
    return None


def function_spec(
    plan: Plan,
    resource: Resource,
    *,
    root: Path,
    cache: Path,
    images: dict[str, dict[str, Any]],
    principal: iam.Principal | None = None,
) -> FunctionSpec:
    config = plan.resolved(resource.address)
    where = resource.address
    name = str(config["function_name"])
    for unsupported in ("layers", "file_system_config"):
        if config.get(unsupported):
            raise PlanError(f"{where}: {unsupported} cannot be reproduced by the local cloud")
    package_type = str(config.get("package_type") or "Zip")
    notes: list[str] = []
    try:
        if package_type == "Image":
            image_uri = str(config.get("image_uri", ""))
            entry = _image_entry(images, image_uri, name)
            if entry is None:
                raise PlanError(
                    f"{where}: image {image_uri} is not in build/images.json; "
                    "build it with `./noxw -s package`"
                )
            context = Path(str(entry.get("context") or entry.get("build_context") or ""))
            context = context if context.is_absolute() else root / context
            task_root, build = runtimes.assemble_image(context, cache, name)
            image_config = _block(config.get("image_config"))
            command = image_config.get("command") or []
            handler = str(command[0] if command else entry.get("handler") or build.handler or "")
            if not handler:
                raise PlanError(
                    f"{where}: the image names no handler (CMD, image_config.command or the manifest)"
                )
            if image_config.get("entry_point"):
                raise PlanError(f"{where}: image_config.entry_point cannot run locally")
            runtime = build.runtime
            shown = context.relative_to(root) if context.is_relative_to(root) else context
            notes.append(f"container image from {shown}")
        else:
            runtime = str(config.get("runtime") or "")
            handler = str(config.get("handler") or "")
            if not runtime or not handler:
                raise PlanError(f"{where}: a zip function needs runtime and handler")
            filename = config.get("filename")
            if not filename:
                raise PlanError(
                    f"{where}: only code from `filename` (a local zip) can run locally, not s3_bucket"
                )
            archive = Path(str(filename))
            archive = archive if archive.is_absolute() else plan.stack_dir / archive
            task_root = runtimes.unpack_zip(archive, cache, name)
        runtimes.family(runtime)
        overlay: list[Path] = []
        if runtime.startswith("python"):
            overlay, rebuilt = runtimes.python_overlay(task_root, cache, name)
            notes.extend(rebuilt)
    except runtimes.RuntimeSetupError as exc:
        raise PlanError(f"{where}: {exc}") from exc
    environment = {
        str(k): str(v) for k, v in (_block(config.get("environment")).get("variables") or {}).items()
    }
    logging = _block(config.get("logging_config"))
    reserved = config.get("reserved_concurrent_executions")
    reserved = None if reserved is None or int(reserved) < 0 else int(reserved)
    return FunctionSpec(
        name=name,
        arn=str(plan.attribute(resource.address, "arn")),
        code=runtimes.Code(task_root, runtime, handler, overlay, notes),
        environment={k: str(plan.localize(v)) for k, v in environment.items()},
        timeout=float(config.get("timeout") or 3),
        memory_size=int(config.get("memory_size") or 128),
        reserved_concurrency=reserved,
        async_config=_async_config(plan, name, principal),
        address=where,
        package_type=package_type,
        log_format=str(logging.get("log_format") or "Text"),
        log_level=str(logging["application_log_level"]) if logging.get("application_log_level") else None,
        credentials=iam.credentials(name),
    )


def _async_config(plan: Plan, function: str, principal: iam.Principal | None) -> AsyncConfig:
    for resource in plan.of_type("aws_lambda_function_event_invoke_config"):
        config = plan.resolved(resource.address)
        target = str(config.get("function_name", ""))
        if target.startswith("arn:"):
            found = plan.function_for_arn(target)
            target = str(plan.attribute(found.address, "function_name")) if found else target
        if target != function:
            continue
        if config.get("qualifier") not in (None, "", "$LATEST"):
            raise PlanError(
                f"{resource.address}: only $LATEST exists locally (qualifier {config['qualifier']})"
            )
        destinations = _block(config.get("destination_config"))
        arns = {}
        for kind in ("on_failure", "on_success"):
            arn = _block(destinations.get(kind)).get("destination")
            if arn and not str(arn).startswith("arn:aws:sqs:"):
                raise PlanError(f"{resource.address}: {kind} destination {arn}: only SQS queues are emulated")
            # Lambda sends with the function's execution role, and checks that it may when the
            # configuration is put.
            if arn and principal is not None and principal.check("sqs:SendMessage", str(arn)):
                raise PlanError(
                    f"{resource.address}: InvalidParameterValueException: The provided execution role "
                    "does not have permissions to call SendMessage on SQS"
                )
            arns[kind] = str(arn) if arn else None
        retries = config.get("maximum_retry_attempts")
        age = config.get("maximum_event_age_in_seconds")
        return AsyncConfig(
            maximum_retry_attempts=2 if retries is None else int(retries),
            maximum_event_age_in_seconds=21600 if age is None else int(age),
            on_failure=arns["on_failure"],
            on_success=arns["on_success"],
        )
    return AsyncConfig()
