"""Task functions declared once, and definitions as code: what loads, and the file/line/key of what
does not (workflows/tasks.py, workflows/definitions.py, workflows/catalog.py)."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import pytest
from engine import catalog as engine_catalog

from environments import ExternalTask, SettingsError, load
from workflows import catalog
from workflows.definitions import WORKFLOWS_DIR, DefinitionError, load_all, load_file
from workflows.tasks import TASKS_DIR, load_task, load_tasks

TODAY = dt.date(2026, 12, 1)


def task_folder(root: Path, name: str, manifest: str, files: dict[str, str] | None = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "task.toml").write_text(manifest)
    for file, text in (
        files if files is not None else {"handler.py": "def handler(event, context):\n    return {}\n"}
    ).items():
        (folder / file).write_text(text)
    return folder / "task.toml"


PYTHON_TASK = 'id = "geo"\ndescription = "Geocodes"\nruntime = "python3.12"\nhandler = "handler.handler"\n'


class TestTheRepositorysTasks:
    def test_every_folder_with_a_manifest_is_a_task_function(self) -> None:
        tasks = {t.id: t for t in load_tasks(TASKS_DIR, TODAY)}
        # The samples and the example at least: a team's own tasks are there too (README).
        assert set(tasks) >= {
            "task-a",
            "task-b1",
            "task-b2",
            "task-b3",
            "task-c",
            "report-split",
            "report-summarize",
            "report-aggregate",
        }
        assert set(tasks) == {load_task(p, TODAY).id for p in TASKS_DIR.glob("*/task.toml")}
        assert (tasks["task-a"].type, tasks["task-a"].runtime) == ("node", "nodejs24.x")
        assert (tasks["task-b3"].type, tasks["task-b3"].runtime, tasks["task-b3"].is_image) == (
            "container",
            None,
            True,
        )
        assert (tasks["report-summarize"].type, tasks["report-summarize"].timeout_seconds) == ("python", 30)
        assert str(tasks["report-aggregate"].folder) == "lambdas/tasks/report-aggregate"


class TestManifestErrors:
    """Every problem names the file, the line and the key, and says what Lambda would do."""

    @pytest.mark.parametrize(
        ("manifest", "files", "expected"),
        [
            (PYTHON_TASK + "memory = 512\n", None, r"task.toml:5: memory: unknown key \(a typo\?\)"),
            (
                PYTHON_TASK.replace("python3.12", "python3.9"),
                None,
                r"task.toml:3: runtime: Lambda's support for python3.9 ended on 2025-12-15",
            ),
            (
                PYTHON_TASK.replace("python3.12", "python3.13"),
                None,
                r"task.toml:3: runtime: python3.13 is not a runtime this project builds and tests tasks on",
            ),
            (
                PYTHON_TASK.replace("python3.12", "image"),
                {
                    "Dockerfile": 'FROM python:3.12 AS build\nCMD ["handler.handler"]\n'
                    'FROM public.ecr.aws/lambda/python:3.12\nCMD ["app.handler"]\n'
                },
                r"task.toml:4: handler: must equal the Dockerfile's CMD \(it has 'app.handler'\)",
            ),
            (
                PYTHON_TASK.replace("python3.12", "ruby3.3"),
                None,
                r"task.toml:3: runtime: String should match",
            ),
            (
                PYTHON_TASK.replace("handler.handler", "handler"),
                None,
                r"task.toml:4: handler: 'handler' is not a python3.12 handler",
            ),
            (
                PYTHON_TASK.replace("handler.handler", "app.main.run"),
                None,
                r"task.toml:4: handler: names app/main.py, which is not in",
            ),
            (
                PYTHON_TASK.replace("python3.12", "nodejs24.x").replace("handler.handler", "index.handler"),
                None,
                r"task.toml:4: handler: names index.js or index.mjs or index.cjs",
            ),
            (
                PYTHON_TASK + "timeout_seconds = 301\n",
                None,
                r"task.toml:5: timeout_seconds: 301 is above 300 s: the worker waits",
            ),
            (
                PYTHON_TASK.replace('"geo"', '"worker"'),
                None,
                r"task.toml:1: id: 'worker' is the id of one of the engine's own functions",
            ),
            (PYTHON_TASK.replace('"geo"', '"Geo_1"'), None, r"task.toml:1: id: String should match pattern"),
            (
                PYTHON_TASK.replace('"Geocodes"', '"' + "x" * 257 + '"'),
                None,
                r"task.toml:2: description: String should have at most 256",
            ),
            (
                PYTHON_TASK.replace("python3.12", "image"),
                {"Dockerfile": 'FROM public.ecr.aws/lambda/python:3.12\nCMD ["app.handler"]\n'},
                r"task.toml:4: handler: must equal the Dockerfile's CMD \(it has 'app.handler'\)",
            ),
            (
                PYTHON_TASK.replace("python3.12", "image"),
                None,
                r"task.toml:3: runtime: 'image' builds from .*Dockerfile, which does not exist",
            ),
        ],
    )
    def test_a_bad_manifest_is_refused_naming_file_line_and_key(
        self, tmp_path: Path, manifest: str, files: dict[str, str] | None, expected: str
    ) -> None:
        path = task_folder(tmp_path, "geo", manifest, files)
        with pytest.raises(SettingsError, match=expected):
            load_task(path, TODAY)

    def test_the_same_id_in_two_folders_is_refused(self, tmp_path: Path) -> None:
        task_folder(tmp_path, "one", PYTHON_TASK)
        task_folder(tmp_path, "two", PYTHON_TASK)
        with pytest.raises(
            SettingsError, match=r"two/task.toml:1: id: 'geo' is declared twice: also in .*one/task.toml"
        ):
            load_tasks(tmp_path, TODAY)

    def test_a_node_handler_file_may_be_an_es_module(self, tmp_path: Path) -> None:
        manifest = PYTHON_TASK.replace("python3.12", "nodejs24.x").replace(
            "handler.handler", "src/app.handler"
        )
        path = task_folder(tmp_path, "geo", manifest, files={})
        (path.parent / "src").mkdir()
        (path.parent / "src" / "app.mjs").write_text(
            "export const handler = async (event, context) => ({});\n"
        )
        assert load_task(path, TODAY).handler == "src/app.handler"


def definition_file(tmp_path: Path, text: str, name: str = "flow.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


FUNCTIONS = {"task-a": 60, "task-b1": 30}
GOOD = """\
description: Two steps.
tasks:
  - id: first
    function: task-a
  - id: second
    function: task-b1
    depends_on: [first]
    input: {mode: fast}
"""


class TestDefinitionFiles:
    def test_the_repositorys_definitions_load_against_dev(self) -> None:
        functions = catalog.task_functions(load("dev"))
        loaded = load_all({k: f.timeout_seconds for k, f in functions.items()}, WORKFLOWS_DIR)
        assert set(loaded) >= {"orchestra", "report"}
        report = loaded["report"]
        assert [t.id for t in report.resolved.tasks] == [
            "split",
            "summarize-1",
            "summarize-2",
            "summarize-3",
            "aggregate",
        ]
        assert [t.input for t in report.resolved.tasks[1:4]] == [{"chunk": 0}, {"chunk": 1}, {"chunk": 2}]
        assert {t.timeout_seconds for t in report.resolved.tasks} == {30}, "the report tasks declare 30 s"
        assert report.source == "workflows/report.yaml"

    def test_a_valid_file_is_named_after_itself_and_versioned(self, tmp_path: Path) -> None:
        loaded = load_file(definition_file(tmp_path, GOOD), FUNCTIONS)
        assert (loaded.name, loaded.description, len(loaded.version)) == ("flow", "Two steps.", 12)
        assert [t.timeout_seconds for t in loaded.resolved.tasks] == [60, 30]

    def test_changing_the_file_changes_the_version(self, tmp_path: Path) -> None:
        before = load_file(definition_file(tmp_path, GOOD), FUNCTIONS).version
        after = load_file(definition_file(tmp_path, GOOD.replace("fast", "slow")), FUNCTIONS).version
        assert before != after

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (
                GOOD.replace("    depends_on: [first]", "    depends_on: [ghost]"),
                r"flow.yaml:7: tasks\[1\].depends_on\[0\]: task 'second' depends on unknown task 'ghost'",
            ),
            (
                GOOD.replace("function: task-b1", "function: task-z"),
                r"flow.yaml:6: tasks\[1\].function: "
                r"task 'second' uses unknown function 'task-z' \(known: task-a, task-b1\)",
            ),
            (
                GOOD.replace("depends_on: [first]", "depends_on: [first]\n    retries: 3"),
                r"flow.yaml:8: tasks\[1\].retries: unknown key \(a typo\?\)",
            ),
            (
                GOOD.replace("  - id: first", "  - id: 12"),
                r"flow.yaml:3: tasks\[0\].id: Input should be a valid string \(got 12\)",
            ),
            (
                GOOD + "    timeout_seconds: 45\n",
                r"flow.yaml:9: tasks\[1\].timeout_seconds: task 'second': timeout_seconds 45 is longer "
                r"than the timeout of its function 'task-b1' \(30 s\)",
            ),
            (
                GOOD.replace(
                    "  - id: first\n    function: task-a\n",
                    "  - id: first\n    function: task-a\n    depends_on: [second]\n",
                ),
                r"flow.yaml:\d+: tasks\[0\].depends_on: cycle: first -> second -> first",
            ),
            (
                GOOD.replace("description: Two steps.\n", ""),
                r"flow.yaml:1: description: required key is missing",
            ),
            (GOOD + "description: again\n", r"flow.yaml:9: description: given twice in one mapping"),
            (GOOD.replace("input: {mode: fast}", "input: {mode: fast"), r"flow.yaml:9: not valid YAML"),
            ("- just\n- a list\n", r"flow.yaml:1: the file must be a mapping"),
            ("", r"flow.yaml:1: the file is empty"),
            (
                GOOD.replace("input: {mode: fast}", "input: !!python/object:os.system {}"),
                r"flow.yaml:8: could not determine a constructor",
            ),
        ],
    )
    def test_a_bad_file_names_the_line_and_the_reason(self, tmp_path: Path, text: str, expected: str) -> None:
        with pytest.raises(DefinitionError, match=expected):
            load_file(definition_file(tmp_path, text), FUNCTIONS)

    def test_a_small_file_cannot_expand_into_a_huge_one(self, tmp_path: Path) -> None:
        # Each alias multiplies: ten levels of ten would be 10^10 values for a few hundred bytes.
        levels = "".join(f"      l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 10))
        bomb = GOOD.replace("    input: {mode: fast}\n", "    input:\n      l0: &l0 [1, 2]\n" + levels)
        with pytest.raises(DefinitionError, match=r"flow.yaml:10: aliases \(\*l0\) are not allowed"):
            load_file(definition_file(tmp_path, bomb), FUNCTIONS)
        deep = GOOD.replace("input: {mode: fast}", "input: {x: " + "[" * 5000 + "]" * 5000 + "}")
        with pytest.raises(DefinitionError, match=r"flow.yaml:8: nested more than 64 levels deep"):
            load_file(definition_file(tmp_path, deep), FUNCTIONS)

    def test_a_definition_fits_one_dynamodb_item_beside_the_largest_input(self, tmp_path: Path) -> None:
        big = GOOD.replace("input: {mode: fast}", "input: {mode: " + "x" * 66_000 + "}")
        with pytest.raises(
            DefinitionError, match=r"flow.yaml:1: tasks: \d+ bytes as JSON, at most 65536: a workflow stores"
        ):
            load_file(definition_file(tmp_path, big), FUNCTIONS)
        fits = GOOD.replace("input: {mode: fast}", "input: {mode: " + "x" * 60_000 + "}")
        assert load_file(definition_file(tmp_path, fits), FUNCTIONS).name == "flow"

    def test_a_json_file_may_be_indented_with_tabs(self, tmp_path: Path) -> None:
        document = {"description": "j", "tasks": [{"id": "a", "function": "task-a", "input": {"s": "a\tb"}}]}
        loaded = load_file(definition_file(tmp_path, json.dumps(document, indent="\t"), "j.json"), FUNCTIONS)
        assert loaded.resolved.tasks[0].input == {"s": "a\tb"}, "an escaped tab in a string stays a tab"

    def test_the_file_name_is_the_definitions_name(self, tmp_path: Path) -> None:
        with pytest.raises(DefinitionError, match=r"My_Flow.yaml:1: the file name is the definition's name"):
            load_file(definition_file(tmp_path, GOOD, "My_Flow.yaml"), FUNCTIONS)
        with pytest.raises(DefinitionError, match=r"inline.yaml:1: .*not 'inline'"):
            load_file(definition_file(tmp_path, GOOD, "inline.yaml"), FUNCTIONS)

    def test_json_files_are_definitions_too_and_every_bad_file_is_reported(self, tmp_path: Path) -> None:
        definition_file(
            tmp_path, json.dumps({"description": "j", "tasks": [{"id": "a", "function": "task-a"}]}), "j.json"
        )
        definition_file(tmp_path, GOOD.replace("task-b1", "nope"), "bad-one.yaml")
        definition_file(tmp_path, GOOD.replace("[first]", "[none]"), "bad-two.yaml")
        with pytest.raises(DefinitionError) as raised:
            load_all(FUNCTIONS, tmp_path)
        assert [line.split(":")[0].rsplit("/", 1)[-1] for line in str(raised.value).splitlines()] == [
            "bad-one.yaml",
            "bad-two.yaml",
        ]
        (tmp_path / "bad-one.yaml").unlink()
        (tmp_path / "bad-two.yaml").unlink()
        assert list(load_all(FUNCTIONS, tmp_path)) == ["j"]


class TestCatalog:
    def test_dev_has_every_declared_task_function_with_its_timeout(self) -> None:
        built = catalog.build(load("dev"))
        functions = built.functions
        assert functions["task-a"].function_name == "orchestra-dev-task-a"
        assert functions["task-a"].timeout_seconds == 60, "the environment's functions.timeout_seconds"
        assert functions["report-split"].timeout_seconds == 30, "its task.toml's"
        assert (
            functions["task-b3"].arn
            == "arn:aws:lambda:eu-central-1:123456789012:function:orchestra-dev-task-b3"
        )
        assert set(built.definitions) >= {"orchestra", "report"}

    def test_an_existing_function_joins_by_arn(self) -> None:
        arn = "arn:aws:lambda:eu-central-1:210987654321:function:geocode:live"
        settings = load("dev").model_copy(
            update={"external_tasks": {"geocode": ExternalTask(arn=arn, timeout_seconds=20)}}
        )
        geocode = catalog.build(settings).functions["geocode"]
        assert (geocode.function_name, geocode.arn, geocode.type, geocode.timeout_seconds) == (
            arn,
            arn,
            "external",
            20,
        )

    def test_a_packaged_id_used_again_for_an_existing_function_is_refused(self) -> None:
        arn = "arn:aws:lambda:eu-central-1:210987654321:function:geocode"
        settings = load("dev").model_copy(
            update={"external_tasks": {"task-a": ExternalTask(arn=arn, timeout_seconds=20)}}
        )
        with pytest.raises(
            SettingsError,
            match=r"dev.toml:\d+: external_tasks.task-a: 'task-a' is already a packaged task function",
        ):
            catalog.build(settings)

    def test_a_task_whose_function_name_would_not_fit_the_prefix_names_its_manifest(
        self, tmp_path: Path
    ) -> None:
        path = task_folder(tmp_path, "long", PYTHON_TASK.replace('"geo"', '"' + "g" * 40 + '"'))
        settings = load("dev").model_copy(update={"name_prefix": "orchestra-development-team"})
        with pytest.raises(
            SettingsError,
            match=r"long/task.toml:1: id: .* too long for environment dev: its lambda function name",
        ):
            catalog.task_functions(settings, (load_task(path, TODAY),))

    def test_the_bundle_is_deterministic_and_the_engine_reads_it(self, tmp_path: Path) -> None:
        engine_zip = tmp_path / "engine.zip"
        with zipfile.ZipFile(engine_zip, "w") as archive:
            archive.writestr("engine/__init__.py", "")
        built = catalog.build(load("dev"))
        first = built.bundle(engine_zip, tmp_path / "a")
        second = built.bundle(engine_zip, tmp_path / "b")
        assert first.name == second.name and first.read_bytes() == second.read_bytes()
        with zipfile.ZipFile(first) as archive:
            assert archive.namelist() == ["engine/__init__.py", "catalog.json"]
            read = engine_catalog.parse(json.loads(archive.read("catalog.json")))
        assert read.functions["report-aggregate"].type == "node"
        assert set(read.definitions) >= {"orchestra", "report"}
        assert read.definitions["report"].source == "workflows/report.yaml"

    def test_a_digest_for_a_task_that_is_not_an_image_is_refused(self) -> None:
        settings = load("dev")
        functions = settings.functions.model_copy(update={"image_digests": {"task-a": "sha256:" + "0" * 64}})
        with pytest.raises(
            SettingsError, match=r"functions.image_digests.task-a: 'task-a' is not a container-image task"
        ):
            catalog.build(settings.model_copy(update={"functions": functions}))
