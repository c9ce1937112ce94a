"""Packaging is deterministic, and so is synthesis: same sources, same bytes."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import main
from environments import load, load_bootstrap
from modules import cdk
from workflows.tasks import load_tasks

ROOT = Path(__file__).parents[2]
MANIFEST = ROOT / "build" / "lambda" / "manifest.json"


def package() -> dict[str, dict[str, object]]:
    subprocess.run([sys.executable, "scripts/package.py"], cwd=ROOT, check=True, capture_output=True)
    manifest: dict[str, dict[str, object]] = json.loads(MANIFEST.read_text())
    return manifest


def test_packaging_twice_gives_identical_zips() -> None:
    before = package()
    for entry in before.values():  # a rebuild must not just keep the old files
        (ROOT / str(entry["file"])).unlink()
    after = package()
    assert after == before
    # The engine, and every zip task function lambdas/tasks/*/task.toml declares (B3 is an image).
    assert set(after) == {"engine"} | {t.id for t in load_tasks() if not t.is_image}
    assert set(after) >= {"task-a", "task-b1", "task-b2", "task-c", "report-split", "report-summarize"}


def test_zips_have_fixed_timestamps_modes_and_sorted_entries() -> None:
    for entry in json.loads(MANIFEST.read_text()).values():
        with zipfile.ZipFile(ROOT / entry["file"]) as archive:
            infos = archive.infolist()
            assert [i.filename for i in infos] == sorted(i.filename for i in infos)
            assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
            assert {i.external_attr >> 16 for i in infos} == {0o100644}


def test_engine_zip_carries_the_engine_and_dependencies_for_lambdas_platform() -> None:
    with zipfile.ZipFile(ROOT / "build" / "lambda" / "engine.zip") as archive:
        names = set(archive.namelist())
    assert "engine/handlers/api.py" in names and "aws_lambda_powertools/__init__.py" in names
    assert any(
        n.startswith("pydantic_core/") and n.endswith("cpython-312-x86_64-linux-gnu.so") for n in names
    )
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_task_zips_hold_the_task_and_its_shared_code() -> None:
    for task in ("task-a", "task-b1", "task-c"):
        with zipfile.ZipFile(ROOT / "build" / "lambda" / f"{task}.zip") as archive:
            assert sorted(archive.namelist()) == ["index.js", "simulate.js"]
    with zipfile.ZipFile(ROOT / "build" / "lambda" / "task-b2.zip") as archive:
        assert sorted(archive.namelist()) == ["handler.py", "simulate.py"]
    # The manifest (task.toml) is read at synthesis, never shipped.
    with zipfile.ZipFile(ROOT / "build" / "lambda" / "report-aggregate.zip") as archive:
        assert archive.namelist() == ["index.js"]


def test_images_manifest_names_the_b3_build_context() -> None:
    images = json.loads((ROOT / "build" / "images.json").read_text())
    assert images["task-b3"]["context"] == "lambdas/tasks/b3"
    assert images["task-b3"]["handler"] == "handler.handler"
    assert (ROOT / "lambdas/tasks/b3/Dockerfile").exists()


def test_synthesizing_twice_gives_identical_json() -> None:
    def synth() -> str:
        return cdk.Testing.synth(main.OrchestraStack(cdk.Testing.app(), load("dev"), load_bootstrap()))

    assert synth() == synth()
