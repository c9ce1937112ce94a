"""REST API (API Gateway REST, Lambda proxy; every path reaches this one function).

Routing, request validation and the OpenAPI 3.1 document are Powertools' APIGatewayRestResolver
with data validation. Checks run before it, because they must not depend on parsing the body:
who is calling and whether they may (401, 403: `engine.auth`, a layer of its own), oversized
bodies (413) and non-JSON content types (415). Every error is `{"error", "message", "details"}`.
"""

from __future__ import annotations

import base64
import json
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from engine import auth, runtime, views
from engine.definitions import TASK_ID_PATTERN, resolve_tasks
from engine.dispatch import Dispatcher
from engine.errors import (
    ContentionExhausted,
    InvalidCursor,
    InvalidDefinition,
    TransitionRejected,
    VersionConflict,
    WorkflowIdConflict,
    WorkflowNotFound,
)
from engine.flow import Dispatch
from engine.model import WorkflowStatus
from engine.observability import logger, metrics
from engine.schemas import (
    CreateWorkflowRequest,
    DefinitionList,
    ErrorBody,
    NotAnObject,
    NotJsonNumber,
    TooDeep,
    WorkflowList,
    WorkflowView,
    load_request_body,
)
from engine.service import CURSOR_PATTERN, Engine
from engine.store import Store

MAX_BODY_BYTES = 256 * 1024
TITLE, VERSION = "Orchestra", "1.0.0"


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, details: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or []


def error_response(
    status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": code, "message": message, "details": details or []},
    )


def _errors(*codes: int) -> dict[int, OpenAPIResponse]:
    described = {
        400: "Malformed JSON, invalid fields or an invalid definition",
        404: "No such workflow",
        409: "Conflict with the workflow's current state or an earlier request",
        413: "Body larger than 256 KiB",
        415: "Body is not JSON",
        429: "Throttled by the stage's rate limit (API Gateway): try again later",
        500: "Internal error (never for bad input)",
    }
    return {
        c: {"description": described[c], "content": {"application/json": {"model": ErrorBody}}} for c in codes
    }


def _ok(model: type[Any]) -> dict[int, OpenAPIResponse]:
    return {200: {"description": "OK", "content": {"application/json": {"model": model}}}}


# Pydantic names the member of a union in an error's location (definition.InlineDefinition.tasks);
# clients know no such field, so the path leaves it out.
_UNION_MEMBERS = {"str", "InlineDefinition"}


def _field(loc: tuple[Any, ...]) -> str:
    """Pydantic's error location as a JSON path relative to the body (or `query.x`, `path.x`)."""
    parts = [p for p in loc if p not in _UNION_MEMBERS]
    if parts and parts[0] == "body":
        parts = parts[1:]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def _engine() -> Engine:
    settings = runtime.settings("api")
    store = Store(runtime.clients().dynamodb, settings.table_name, ttl_days=settings.workflow_ttl_days)
    return Engine(store, settings, runtime.clock)


def _dispatch(dispatches: list[Dispatch]) -> None:
    """Writer dispatch: the API dispatches what its own write made READY (a create's roots, a retry's
    first tasks). A failure here is repaired by the stream or the sweep: the write is committed."""
    if not dispatches:
        return
    settings = runtime.settings("api")
    clients = runtime.clients()
    dispatcher = Dispatcher(
        clients.lambda_, clients.sqs, settings.worker_function_name, settings.retry_queue_url, runtime.clock
    )
    for dispatch in dispatches:
        try:
            dispatcher.dispatch(dispatch)
        except Exception:
            logger.exception("dispatch failed", extra={"task_id": dispatch.task_id})


@cache
def build_app() -> APIGatewayRestResolver:
    settings = runtime.settings("api")
    origins = list(settings.cors_allow_origins)
    cors = CORSConfig(allow_origin=origins[0], extra_origins=origins[1:], max_age=600) if origins else None
    # Bodies are parsed with a depth bound: deeply nested JSON would make json.loads raise RecursionError.
    app = APIGatewayRestResolver(cors=cors, enable_validation=True, json_body_deserializer=load_request_body)

    @app.get(
        "/workflows", summary="List workflows, newest first", responses={**_ok(WorkflowList), **_errors(400)}
    )
    def list_workflows(
        status: Annotated[WorkflowStatus | None, Query(description="Only workflows in this status")] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[
            str | None,
            Query(
                pattern=CURSOR_PATTERN,
                description="next_cursor of the previous page: the position (created_at~workflow_id) "
                "after which the list goes on",
            ),
        ] = None,
    ) -> WorkflowList:
        try:
            items, next_cursor = _engine().list_workflows(status.value if status else None, limit, cursor)
        except InvalidCursor as exc:
            raise ApiError(
                400, "validation_error", str(exc), [{"field": "query.cursor", "message": str(exc)}]
            ) from exc
        return WorkflowList.model_validate(
            {"items": [views.workflow_summary(w) for w in items], "next_cursor": next_cursor}
        )

    @app.post(
        "/workflows",
        summary="Start a workflow (idempotent on workflowId)",
        responses={
            201: {"description": "Created", "content": {"application/json": {"model": WorkflowView}}},
            200: {
                "description": "Already created with the same body",
                "content": {"application/json": {"model": WorkflowView}},
            },
            **_errors(400, 409, 413, 415),
        },
    )
    def create_workflow(
        request: Annotated[
            CreateWorkflowRequest | None, Body(description="May be empty: all fields are optional")
        ] = None,
    ) -> Response[dict[str, Any]]:
        request = request or CreateWorkflowRequest()
        if request.workflow_id:
            logger.set_correlation_id(request.workflow_id)
        created = _engine().create(request.workflow_id, request.definition, request.input)
        assert created.snapshot.state is not None
        logger.set_correlation_id(created.snapshot.state.workflow_id)
        _dispatch(created.dispatches)
        if created.created:
            metrics.add_metric(name="WorkflowsStarted", unit=MetricUnit.Count, value=1)
            logger.info("workflow created", extra={"definition": created.snapshot.state.definition_name})
        body = views.workflow_view(created.snapshot, settings.task_functions)
        return Response(
            status_code=int(HTTPStatus.CREATED if created.created else HTTPStatus.OK),
            content_type=content_types.APPLICATION_JSON,
            body=WorkflowView.model_validate(body).model_dump(mode="json"),
        )

    @app.get(
        "/workflows/<workflow_id>",
        summary="A workflow with its tasks",
        responses={**_ok(WorkflowView), **_errors(404)},
    )
    def get_workflow(workflow_id: str) -> WorkflowView:
        logger.set_correlation_id(workflow_id)
        snapshot = _engine().get(workflow_id)
        return WorkflowView.model_validate(views.workflow_view(snapshot, settings.task_functions))

    @app.post(
        "/workflows/<workflow_id>/cancel",
        summary="Cancel a workflow",
        responses={**_ok(WorkflowView), **_errors(404, 409)},
    )
    def cancel_workflow(workflow_id: str) -> WorkflowView:
        logger.set_correlation_id(workflow_id)
        snapshot = _engine().cancel(workflow_id)
        logger.info("workflow cancelled")
        return WorkflowView.model_validate(views.workflow_view(snapshot, settings.task_functions))

    @app.post(
        "/workflows/<workflow_id>/retry",
        summary="Rerun the failed, cancelled and skipped tasks of a FAILED or CANCELLED workflow",
        responses={**_ok(WorkflowView), **_errors(404, 409)},
    )
    def retry_workflow(workflow_id: str) -> WorkflowView:
        logger.set_correlation_id(workflow_id)
        snapshot, dispatches = _engine().retry(workflow_id)
        _dispatch(dispatches)
        logger.info("workflow retried")
        return WorkflowView.model_validate(views.workflow_view(snapshot, settings.task_functions))

    @app.get("/definitions", summary="The named workflow definitions, with their versions")
    def list_definitions() -> DefinitionList:
        items = []
        for named in sorted(settings.definitions.values(), key=lambda d: d.name):
            # The catalog was validated when the function started: resolving cannot fail here.
            resolved = resolve_tasks(named.name, named.tasks, settings.catalog.timeouts)
            items.append(
                {
                    "name": named.name,
                    "description": named.description,
                    "version": resolved.version,
                    "source": named.source,
                    "tasks": [t.model_dump() for t in resolved.tasks],
                }
            )
        return DefinitionList.model_validate({"items": items})

    @app.get("/openapi.json", summary="This document", include_in_schema=False)
    def openapi() -> Response[Any]:
        return Response(
            status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_document(app)
        )

    app.exception_handler(RequestValidationError)(invalid_request)
    app.exception_handler(RequestUnsupportedContentType)(unsupported_media_type)
    app.exception_handler(TooDeep)(too_deep)
    app.exception_handler(NotJsonNumber)(not_json_number)
    app.exception_handler(NotAnObject)(not_an_object)
    app.exception_handler(InvalidDefinition)(invalid_definition)
    app.exception_handler(WorkflowNotFound)(workflow_not_found)
    app.exception_handler([WorkflowIdConflict, TransitionRejected, VersionConflict, ContentionExhausted])(
        conflict
    )
    app.exception_handler(Exception)(internal_error)
    app.exception_handler(ApiError)(api_error)
    app.not_found(lambda exc: no_route(app))
    return app


def openapi_document(app: APIGatewayRestResolver) -> dict[str, Any]:
    """Powertools' OpenAPI 3.1 document, with its default 422 answers replaced by what this API sends
    (400 with the error body: see `invalid_request`)."""
    document: dict[str, Any] = json.loads(app.get_openapi_json_schema(title=TITLE, version=VERSION))
    add_security(document)
    for path in document.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            responses.pop("422", None)
            codes = [429, 500]  # any route: API Gateway's throttling, and our own fault
            if "requestBody" in operation or operation.get("parameters"):
                codes.append(400)
            for code in codes:
                if str(code) not in responses:
                    responses[str(code)] = _errors(code)[code] | {
                        "content": {"application/json": {"schema": _ERROR_REF}}
                    }
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    _exact_definitions(schemas)
    return document


def _exact_definitions(schemas: dict[str, Any]) -> None:
    """What this deployment accepts, as exactly as JSON Schema can say it: the definition names it
    knows, the task functions it has, their timeouts. (What JSON Schema cannot say, that depends_on
    names tasks of the same definition without a cycle, is a 400 invalid_definition.)"""
    functions = runtime.settings("api").task_functions
    task = schemas["TaskDefinition"]["properties"]
    task["function"] = {
        "type": "string",
        "enum": sorted(functions),
        "title": "Function",
        "description": "One of this deployment's task functions.",
    }
    # The longest: each function has its own (a longer one than its function's is a 400 naming the
    # field), and GET /definitions answers tasks with their functions' timeouts filled in.
    longest = max((f.timeout_seconds for f in functions.values()), default=900)
    timeouts = ", ".join(f"{k}: {f.timeout_seconds} s" for k, f in sorted(functions.items()))
    task["timeout_seconds"] = {
        "anyOf": [{"type": "integer", "minimum": 1, "maximum": longest}, {"type": "null"}],
        "title": "Timeout Seconds",
        "description": "The attempt's deadline: at most its function's own timeout "
        f"({timeouts}); absent, that timeout.",
    }
    # Each function's own bound, as JSON Schema can say it: one branch per timeout, naming the
    # functions that have it (so a schema-valid task is never refused for its timeout).
    by_timeout: dict[int, list[str]] = {}
    for key, function in sorted(functions.items()):
        by_timeout.setdefault(function.timeout_seconds, []).append(key)
    if len(by_timeout) > 1:
        schemas["TaskDefinition"]["anyOf"] = [
            {
                "properties": {
                    "function": {"enum": names},
                    "timeout_seconds": {
                        "anyOf": [{"type": "integer", "minimum": 1, "maximum": seconds}, {"type": "null"}]
                    },
                }
            }
            for seconds, names in sorted(by_timeout.items())
        ]
    task["depends_on"] |= {
        "items": {"type": "string", "pattern": TASK_ID_PATTERN},
        "uniqueItems": True,
        "description": "Ids of other tasks of this definition (no cycles; at most 20 tasks deep).",
    }
    request = schemas["CreateWorkflowRequest"]["properties"]
    names = sorted(runtime.settings("api").definitions)
    named: dict[str, Any] = {"type": "string", "enum": names} if names else {"not": {}}
    request["definition"]["anyOf"][0] = named
    request["definition"]["description"] = (
        "A named definition (GET /definitions; default `orchestra`) or an inline DAG."
    )
    request["workflow_id"] = {**request["workflowId"], "description": "The same as workflowId (snake case)."}
    schemas["CreateWorkflowRequest"]["not"] = {"required": ["workflowId", "workflow_id"]}  # one or the other


_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
SECURITY_SCHEME = "cognito"


def add_security(document: dict[str, Any]) -> None:
    """Declare the bearer token every operation but this document needs, and the 401 and 403
    answers (engine.auth decides which operations need the operate permission)."""
    document.setdefault("components", {})["securitySchemes"] = {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A Cognito access token: a person's (groups operators or viewers) or a "
            "machine's (client credentials, scopes orchestra/read and orchestra/operate).",
        }
    }
    document["security"] = [{SECURITY_SCHEME: []}]
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            needed = auth.required_permission(method, path)
            if needed is None:
                operation["security"] = []
                continue
            responses = operation.setdefault("responses", {})
            responses["401"] = {
                "description": "No access token, or a malformed or expired one",
                "content": {"application/json": {"schema": _ERROR_REF}},
            }
            if needed == auth.OPERATE:
                responses["403"] = {
                    "description": "The caller may read but not operate (a viewer, or a machine "
                    "token without orchestra/operate)",
                    "content": {"application/json": {"schema": _ERROR_REF}},
                }


def invalid_request(exc: RequestValidationError) -> Response[Any]:
    errors = list(exc.errors())
    malformed = [e for e in errors if e.get("type") == "json_invalid"]
    if malformed:
        reason = (malformed[0].get("ctx") or {}).get("error", "")
        return error_response(400, "invalid_json", f"request body is not valid JSON: {reason}".rstrip(": "))
    details = []
    for e in errors:
        loc = tuple(e.get("loc", ()))
        if loc[-1:] == ("str",) and any(
            len(o.get("loc", ())) > len(loc) and o.get("loc", ())[: len(loc) - 1] == loc[:-1] for o in errors
        ):
            continue  # "not a string" for a union that also tried the object form: the other errors say more
        field = _field(loc)
        message = f"unknown field {field!r}" if e.get("type") == "extra_forbidden" else str(e.get("msg"))
        details.append({"field": field, "message": message})
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:3])
    return error_response(400, "validation_error", f"invalid request: {summary}", details)


def too_deep(exc: TooDeep) -> Response[Any]:
    detail = {"field": exc.field, "message": str(exc)}
    return error_response(400, "validation_error", f"invalid request: {exc.field}: {exc}", [detail])


def not_json_number(exc: NotJsonNumber) -> Response[Any]:
    detail = {"field": exc.field, "message": str(exc)}
    return error_response(400, "validation_error", f"invalid request: {exc.field}: {exc}", [detail])


def not_an_object(exc: NotAnObject) -> Response[Any]:
    return error_response(400, "validation_error", str(exc), [{"field": "body", "message": str(exc)}])


def unsupported_media_type(exc: RequestUnsupportedContentType) -> Response[Any]:
    return error_response(415, "unsupported_media_type", "request body must be application/json")


def invalid_definition(exc: InvalidDefinition) -> Response[Any]:
    return error_response(400, "invalid_definition", f"invalid definition: {exc.reason}", exc.details)


def workflow_not_found(exc: WorkflowNotFound) -> Response[Any]:
    return error_response(404, "not_found", str(exc))


def conflict(exc: Exception) -> Response[Any]:
    return error_response(409, "conflict", str(exc))


def internal_error(exc: Exception) -> Response[Any]:
    # Bad input never lands here (it is a 4xx above); this is our fault, logged with its trace.
    logger.exception("unhandled error")
    return error_response(500, "internal_error", "internal error; the request id is in the logs")


def api_error(exc: ApiError) -> Response[Any]:
    return error_response(exc.status, exc.code, exc.message, exc.details)


def no_route(app: APIGatewayRestResolver) -> Response[Any]:
    method, path = app.current_event.http_method.upper(), app.current_event.path
    allowed = _allowed_methods(app, path)
    if allowed:
        response = error_response(405, "method_not_allowed", f"{method} is not allowed on {path}")
        response.headers["Allow"] = ", ".join(sorted(allowed))
        return response
    return error_response(404, "not_found", f"no route for {method} {path}")


def _allowed_methods(app: APIGatewayRestResolver, path: str) -> set[str]:
    # Powertools answers an unmatched method with its 404 handler; telling 405 from 404 needs the
    # registered routes (their compiled rules), which the resolver keeps on these two lists.
    routes = app._static_routes + app._dynamic_routes
    return {r.method for r in routes if r.rule.match(path)}


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def _authorize(event: dict[str, Any]) -> ApiError | None:
    """401 or 403 before anything else: the caller from API Gateway's claims, and the permission
    this method needs. A request API Gateway let through without claims is refused, not trusted."""
    needed = auth.required_permission(str(event.get("httpMethod") or ""), str(event.get("path") or ""))
    if needed is None:
        return None
    settings = runtime.settings("api")
    caller = auth.rest_caller(event, settings.auth_mode, settings.auth_client_ids)
    if caller is None:
        return ApiError(401, "unauthorized", "sign in: this request carries no verified access token")
    logger.append_keys(caller=caller.principal, role=caller.role)
    if not caller.may(needed):
        return ApiError(
            403,
            "forbidden",
            f"{caller.principal} ({caller.role}) may not {needed}: "
            + ("operators may" if needed == auth.OPERATE else "operators and viewers may"),
        )
    return None


def _precheck(event: dict[str, Any]) -> ApiError | None:
    """413 and 415 before any parsing: API Gateway passes bodies up to 10 MB to us."""
    body = event.get("body")
    if not body:
        return None
    size = len(base64.b64decode(body)) if event.get("isBase64Encoded") else len(body.encode())
    if size > MAX_BODY_BYTES:
        return ApiError(
            413, "payload_too_large", f"request body is {size} bytes; the limit is {MAX_BODY_BYTES}"
        )
    content_type = (_header(event, "content-type") or "application/json").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        return ApiError(
            415, "unsupported_media_type", f"request body must be application/json, not {content_type}"
        )
    return None


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    app = build_app()
    problem = _authorize(event) or _precheck(event)
    if problem is not None:
        return _reject(app, event, problem)
    return app.resolve(event, context)


def _reject(app: APIGatewayRestResolver, event: dict[str, Any], problem: ApiError) -> dict[str, Any]:
    headers = {"Content-Type": content_types.APPLICATION_JSON}
    if app._cors is not None:
        headers.update(app._cors.to_dict(_header(event, "origin")))
    return {
        "statusCode": problem.status,
        "headers": headers,
        "body": json.dumps({"error": problem.code, "message": problem.message, "details": problem.details}),
        "isBase64Encoded": False,
    }
