"""Settings from the environment: validated once, errors name the variable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from engine.config import REQUIRED, load_settings
from engine.errors import ConfigError

CATALOG = Path(__file__).parent / "data" / "catalog.json"
ENV = {
    "TABLE_NAME": "workflows",
    "CONNECTIONS_TABLE": "connections",
    "ARTIFACTS_BUCKET": "artifacts",
    "ARTIFACTS_KMS_KEY_ARN": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "WORKER_FUNCTION_NAME": "p-worker",
    "RETRY_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/q",
    "CATALOG_FILE": str(CATALOG),
    "WEBSOCKET_API_ENDPOINT": "https://abc.execute-api.eu-west-1.amazonaws.com/prod/",
    "CORS_ALLOW_ORIGINS": "https://d.example.com, http://localhost:5173",
    "WORKFLOW_TTL_DAYS": "30",
    "CONNECTION_TTL_SECONDS": "7200",
    "DISPATCH_MODE": "writer",
    "WORKER_PARALLEL_TASKS": "8",
    "SWEEP_HORIZON_SECONDS": "60",
    "AUTH_MODE": "cognito",
    "USER_POOL_ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
    "AUTHORIZER_SCOPES": "orchestra/read orchestra/operate",
    "AUTH_CLIENT_IDS": "dashboard-client cli-client machine-client",
}


class TestLoadSettings:
    def test_every_function_loads_from_a_complete_environment(self) -> None:
        for function in REQUIRED:
            settings = load_settings(function, ENV)
            assert settings.table_name == "workflows"
        settings = load_settings("api", ENV)
        assert settings.cors_allow_origins == ("https://d.example.com", "http://localhost:5173")
        assert settings.task_functions["task-a"].function_name == "p-task-a"
        assert list(settings.definitions) == ["single"]
        assert load_settings("orchestrator", ENV).websocket_api_endpoint.endswith("/prod")

    @pytest.mark.parametrize(
        ("function", "missing"), [(f, v) for f, names in REQUIRED.items() for v in names]
    )
    def test_a_missing_required_variable_is_named(self, function: str, missing: str) -> None:
        env = {k: v for k, v in ENV.items() if k != missing}
        with pytest.raises(ConfigError, match=f"{missing} is not set"):
            load_settings(function, env)

    def test_sign_in_is_on_unless_the_stack_says_none(self) -> None:
        assert load_settings("api", {k: v for k, v in ENV.items() if k != "AUTH_MODE"}).auth_mode == "cognito"
        assert load_settings("api", {**ENV, "AUTH_MODE": "none"}).auth_mode == "none"
        with pytest.raises(ConfigError, match="AUTH_MODE must be cognito or none"):
            load_settings("api", {**ENV, "AUTH_MODE": "off"})
        scopes = load_settings("authorizer", ENV).authorizer_scopes
        assert scopes == ("orchestra/read", "orchestra/operate")
        clients = load_settings("authorizer", ENV).auth_client_ids
        assert clients == ("dashboard-client", "cli-client", "machine-client")
        assert (
            load_settings("api", {k: v for k, v in ENV.items() if k != "AUTH_CLIENT_IDS"}).auth_client_ids
            == ()
        )

    def test_the_websocket_function_does_not_need_the_workflows_table(self) -> None:
        env = {k: ENV[k] for k in ("CONNECTIONS_TABLE", "CONNECTION_TTL_SECONDS")}
        assert load_settings("websocket", env).connections_table == "connections"

    @pytest.mark.parametrize(
        ("variable", "value", "message"),
        [
            (
                "CATALOG_FILE",
                "/nonexistent/catalog.json",
                "the catalog /nonexistent/catalog.json cannot be read",
            ),
            ("DISPATCH_MODE", "eventually", "DISPATCH_MODE must be one of writer, stream"),
            ("WORKER_PARALLEL_TASKS", "17", "WORKER_PARALLEL_TASKS must be at most 16"),
            ("WORKER_PARALLEL_TASKS", "0", "WORKER_PARALLEL_TASKS must be a positive integer"),
            ("WORKFLOW_TTL_DAYS", "soon", "WORKFLOW_TTL_DAYS must be a positive integer"),
            ("CONNECTION_TTL_SECONDS", "0", "CONNECTION_TTL_SECONDS must be a positive integer"),
            ("RETRY_QUEUE_URL", "queue", "RETRY_QUEUE_URL must be an http"),
            ("CORS_ALLOW_ORIGINS", "dashboard", "CORS_ALLOW_ORIGINS: 'dashboard' is not an origin"),
            ("TABLE_NAME", " ", "TABLE_NAME is empty"),
        ],
    )
    def test_a_malformed_variable_is_named(self, variable: str, value: str, message: str) -> None:
        with pytest.raises(ConfigError, match=message):
            load_settings(
                "orchestrator" if variable != "CORS_ALLOW_ORIGINS" else "api", {**ENV, variable: value}
            )

    def test_an_empty_origin_list_allows_no_cross_origin_caller(self) -> None:
        assert load_settings("api", {**ENV, "CORS_ALLOW_ORIGINS": ""}).cors_allow_origins == ()


def _catalog(tmp_path: Path, document: Any) -> dict[str, str]:
    path = tmp_path / "catalog.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return {**ENV, "CATALOG_FILE": str(path)}


TASK_A = {"function_name": "x", "type": "node", "timeout_seconds": 60}


class TestCatalog:
    """The catalog bundled into the engine's package (CATALOG_FILE): what synthesis would have refused
    stops the function at start-up, naming what is wrong."""

    @pytest.mark.parametrize(
        ("document", "message"),
        [
            ("{not json", "is not valid JSON"),
            ({"functions": []}, "functions must be a non-empty JSON object"),
            ({"functions": {"task-a": {**TASK_A, "type": "ruby"}}}, r"functions\['task-a'\].type"),
            (
                {"functions": {"task-a": {"function_name": "x", "type": "node"}}},
                r"functions\['task-a'\].timeout_seconds",
            ),
            (
                {
                    "functions": {"task-a": TASK_A},
                    "definitions": [{"name": "x", "description": "", "tasks": []}],
                },
                r"definitions\[0\].tasks",
            ),
            (
                {
                    "functions": {"task-a": TASK_A},
                    "definitions": [
                        {"name": "x", "description": "", "tasks": [{"id": "A", "function": "task-z"}]}
                    ],
                },
                "definition 'x' .*unknown function 'task-z'",
            ),
            (
                {
                    "functions": {"task-a": TASK_A},
                    "definitions": [
                        {"name": "x", "description": "", "tasks": [{"id": "A", "function": "task-a"}]},
                        {"name": "x", "description": "", "tasks": [{"id": "A", "function": "task-a"}]},
                    ],
                },
                "'x' is defined twice",
            ),
        ],
    )
    def test_a_bad_catalog_is_a_clear_error(self, tmp_path: Path, document: Any, message: str) -> None:
        with pytest.raises(ConfigError, match=message):
            load_settings("api", _catalog(tmp_path, document))

    def test_a_relative_catalog_file_is_found_at_the_root_of_the_code_package(self) -> None:
        # As on Lambda: catalog.json beside the engine package (lambdas/ here has none).
        with pytest.raises(ConfigError, match=r"lambdas/catalog.json cannot be read"):
            load_settings("api", {**ENV, "CATALOG_FILE": "catalog.json"})

    def test_external_functions_are_named_by_arn(self, tmp_path: Path) -> None:
        arn = "arn:aws:lambda:eu-west-1:210987654321:function:geocode:live"
        env = _catalog(
            tmp_path,
            {"functions": {"geo": {"function_name": arn, "type": "external", "timeout_seconds": 30}}},
        )
        assert load_settings("worker", env).task_functions["geo"].function_name == arn
