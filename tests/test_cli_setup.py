"""A new user's first minutes (issue 18): what set-up installs and says, and the page's port."""

import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

from cli import main
from tests.conftest import ROOT, free_port

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_llm_client_is_a_default_dependency() -> None:
    assert any(dep.startswith("llama-index-llms-openai-like") for dep in PYPROJECT["project"]["dependencies"])
    assert PYPROJECT["project"]["optional-dependencies"].get("llm", []) == []  # an empty alias at most
    scripts = "".join(path.read_text(encoding="utf-8") for path in [*ROOT.glob("scripts/*.sh"), *ROOT.glob(".ci/*")])
    assert not re.search(r"setup\.sh \"[^\"]*\bllm\b(?!-)", scripts)
    assert '".[llm]"' not in (ROOT / "README.md").read_text(encoding="utf-8")


def test_an_editable_install_says_nothing_about_folders_of_the_same_name(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for name in ["pyproject.toml", "README.md", *(path.name for path in ROOT.glob("*.py"))]:
        shutil.copy(ROOT / name, project / name)
    for package in ("ingest", "rag", "eval"):
        shutil.copytree(ROOT / package, project / package, ignore=shutil.ignore_patterns("__pycache__", "data"))
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    build = f"from setuptools import build_meta; print(build_meta.build_editable({str(wheels)!r}))"
    done = subprocess.run([sys.executable, "-W", "always", "-c", build], cwd=project, capture_output=True,
                          text=True, timeout=300, check=False, env={**os.environ, "PYTHONWARNINGS": "always"})
    assert done.returncode == 0, done.stderr[-2000:]
    said = " ".join((done.stdout + done.stderr).split())  # the warning wraps its lines
    assert "meta path finder" not in said and "same name as your package" not in said
    assert "Editable install will be performed using .pth file" in said  # the project root, one path entry


def test_serve_takes_its_port_from_the_flag_or_newsqa_port(monkeypatch: pytest.MonkeyPatch) -> None:
    serve = main.commands["serve"]
    assert serve.make_context("serve", ["--port", "8123"]).params["port"] == 8123
    monkeypatch.setenv("NEWSQA_PORT", "8124")
    assert serve.make_context("serve", []).params["port"] == 8124
    assert serve.make_context("serve", ["--port", "8125"]).params["port"] == 8125  # the flag wins


def test_the_readme_says_what_demo_does_and_how_to_pick_a_port() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = readme[readme.index("## Set-up"):readme.index("## Using it")]
    demo = next(line for line in setup.splitlines() if line.startswith("bash scripts/demo.sh "))
    assert "open" not in demo and "print" in demo  # it serves the page and prints the address
    assert "bash scripts/demo.sh --port" in setup and "NEWSQA_PORT=" in setup
    assert '"$@"' in (ROOT / "scripts" / "demo.sh").read_text(encoding="utf-8")  # the flags reach `newsqa serve`


@pytest.mark.server
def test_serve_listens_on_the_port_newsqa_port_names(sample_index: Path, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen([str(Path(sys.executable).parent / "newsqa"), "serve", "--index", str(sample_index)],
                                  stdout=out, stderr=subprocess.STDOUT,
                                  env={**os.environ, "NEWSQA_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"})
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
                        assert page.status == 200
                        break
                except OSError:
                    assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                    time.sleep(1)
            # the page answers as soon as the server is up, a moment before launch() returns and the
            # address line is printed: wait for the line rather than race it
            while f"127.0.0.1:{port}" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.5)
        finally:
            server.terminate()
            server.wait(timeout=60)
    assert f"127.0.0.1:{port}" in log.read_text()  # the address is printed for the user to open
