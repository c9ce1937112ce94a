"""The Python sample tasks (B2 as a zip function, B3 as a container image) tested as code."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

TASKS = Path(__file__).resolve().parents[2] / "lambdas" / "tasks"


def load(folder: str) -> ModuleType:
    """Import <folder>/handler.py as Lambda would: the folder is the import root."""
    sys.path.insert(0, str(TASKS / folder))
    try:
        sys.modules.pop("simulate", None)
        spec = importlib.util.spec_from_file_location(f"task_{folder}_handler", TASKS / folder / "handler.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(TASKS / folder))


def event(
    task_id: str, attempt: int = 1, simulate: dict[str, Any] | None = None, data: Any = None
) -> dict[str, Any]:
    return {
        "workflow_id": "wf-1",
        "task_id": task_id,
        "attempt": attempt,
        "idempotency_key": f"wf-1:{task_id}:{attempt}",
        "input": {"simulate": {task_id: simulate or {}}},
        "dependencies": {"A": {"data": [4, 8, 15] if data is None else data}},
    }


@pytest.fixture(scope="module")
def b2() -> ModuleType:
    return load("b2")


@pytest.fixture(scope="module")
def b3() -> ModuleType:
    return load("b3")


class TestB2:
    def test_computes_statistics_of_as_data(self, b2: ModuleType) -> None:
        out = b2.handler(event("B2"), None)
        assert out == {"task": "B2", "count": 3, "mean": 9, "median": 8, "min": 4, "max": 15}

    def test_empty_data(self, b2: ModuleType) -> None:
        assert b2.handler(event("B2", data=[]), None)["mean"] is None


class TestB3:
    def test_fingerprints_as_data(self, b3: ModuleType) -> None:
        out = b3.handler(event("B3"), None)
        assert len(out["sha256"]) == 64
        assert out["histogram"] == {"15": 1, "4": 1, "8": 1}

    def test_dockerfile_builds_from_the_public_lambda_python_image_with_the_handler_as_cmd(self) -> None:
        dockerfile = (TASKS / "b3" / "Dockerfile").read_text()
        assert "FROM public.ecr.aws/lambda/python:3.12" in dockerfile
        assert 'CMD ["handler.handler"]' in dockerfile
        assert "COPY simulate.py handler.py" in dockerfile


@pytest.mark.parametrize("folder", ["b2", "b3"])
class TestSimulateControls:
    def test_fail_attempts_fails_the_first_n_attempts(self, folder: str) -> None:
        module = load(folder)
        task_id = folder.upper()
        for attempt in (1, 2):
            with pytest.raises(Exception, match=f"simulated failure of {task_id} attempt {attempt}"):
                module.handler(event(task_id, attempt, {"fail_attempts": 2}), None)
        assert module.handler(event(task_id, 3, {"fail_attempts": 2}), None)["task"] == task_id

    def test_output_bytes_pads_to_about_n_bytes(self, folder: str) -> None:
        out = load(folder).handler(event(folder.upper(), simulate={"output_bytes": 70_000}), None)
        assert 69_000 <= len(json.dumps(out, separators=(",", ":"))) <= 71_000

    def test_sleep_ms_sleeps(self, folder: str, monkeypatch: pytest.MonkeyPatch) -> None:
        module = load(folder)
        slept: list[float] = []
        monkeypatch.setattr(sys.modules["simulate"].time, "sleep", slept.append)
        module.handler(event(folder.upper(), simulate={"sleep_ms": 250}), None)
        assert slept == [0.25]

    def test_sleep_attempts_limits_the_sleep_to_attempts_1_to_n(
        self, folder: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        module = load(folder)
        slept: list[float] = []
        monkeypatch.setattr(sys.modules["simulate"].time, "sleep", slept.append)
        for attempt in (1, 2, 3):
            module.handler(event(folder.upper(), attempt, {"sleep_ms": 250, "sleep_attempts": 2}), None)
        assert slept == [0.25, 0.25]
        with pytest.raises(TypeError, match=r"simulate\.\w+\.sleep_attempts"):
            module.handler(event(folder.upper(), simulate={"sleep_attempts": "once"}), None)

    def test_malformed_controls_are_a_clear_error(self, folder: str) -> None:
        with pytest.raises(TypeError, match=r"simulate\.\w+\.fail_attempts"):
            load(folder).handler(event(folder.upper(), simulate={"fail_attempts": "lots"}), None)


class TestSharedCode:
    @pytest.mark.parametrize(
        ("link", "target"),
        [
            ("a/simulate.js", "shared/simulate.js"),
            ("b1/simulate.js", "shared/simulate.js"),
            ("c/simulate.js", "shared/simulate.js"),
            ("b2/simulate.py", "b3/simulate.py"),
        ],
    )
    def test_each_task_folder_links_the_one_shared_implementation(self, link: str, target: str) -> None:
        # Zip tools follow these links, so every package carries the code; B3's copy is the real file
        # because a container build context cannot reach outside its folder.
        assert (TASKS / link).is_symlink()
        assert (TASKS / link).resolve() == (TASKS / target).resolve()
