"""The Makefile's set-up, checked offline with ``make -n`` (nothing is run or installed)."""

import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def dry_run(*args: str) -> str:
    """What ``make -n ARGS`` would run in the repository."""
    return subprocess.run(["make", "-n", "--no-print-directory", "-C", str(ROOT), *args],
                          capture_output=True, text=True, check=True).stdout


def test_test_target_builds_a_venv_and_runs_from_it(tmp_path):
    venv = tmp_path / "venv"  # not there yet: the whole set-up is shown
    out = dry_run("test", f"VENV={venv}")
    lines = out.splitlines()
    assert any(line.startswith(f"python3 -m venv {venv}") for line in lines)
    torch = next(i for i, line in enumerate(lines) if 'pip install -q "torch==' in line)
    extras = '-e ".[plot,test,docs,dask,large]"'
    package = next(i for i, line in enumerate(lines) if extras in line)
    assert torch < package  # torch first, pinned
    assert lines[torch].startswith(f"{venv}/bin/python -m pip install")
    assert '"torch==2.13.0"' in lines[torch] and "--index-url" not in lines[torch]
    assert lines[package].startswith(f"{venv}/bin/python -m pip install")
    assert lines[-1] == f"{venv}/bin/python -m pytest"
    assert "pip install" not in out.replace(f"{venv}/bin/python -m pip install", "")


def test_demo_with_torch_index_and_another_python(tmp_path):
    venv = tmp_path / "venv"
    index = "https://download.pytorch.org/whl/cpu"
    out = dry_run("demo", f"VENV={venv}", f"TORCH_INDEX={index}", "PYTHON=python3.12",
                  "TORCH_VERSION=2.5.1")
    assert f"python3.12 -m venv {venv}" in out
    torch = next(line for line in out.splitlines() if '"torch==' in line)
    assert torch.endswith(f'"torch==2.5.1" --index-url {index}')
    assert f"{venv}/bin/vaesvm study --quick --out results/quick" in out


def test_second_run_installs_nothing(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    for stamp in (".stamp-venv", ".stamp-torch-2.13.0", ".stamp-install"):
        (venv / stamp).touch()
    later = max((ROOT / name).stat().st_mtime for name in ("pyproject.toml", "setup.cfg")) + 10
    for stamp in venv.glob(".stamp-*"):
        os.utime(stamp, (later, later))
    out = dry_run("test", f"VENV={venv}")
    assert "venv" not in out.replace(str(venv), "") and "pip install" not in out
    assert f"{venv}/bin/python -m pytest" in out


def test_lint_and_docs_use_the_venv(tmp_path):
    venv = tmp_path / "venv"
    out = dry_run("lint", "docs", f"VENV={venv}")
    assert f"{venv}/bin/python -m ruff check vaesvm tests benchmarks" in out
    assert f'SPHINXBUILD="{venv}/bin/sphinx-build"' in out


def test_ci_runs_the_readme_commands():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make demo" in readme
    commands = [line.strip() for line in ci.splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert "make test" in commands and "make lint" in commands and "make docs" in commands
    assert not any("pip install" in c for c in commands)  # everything goes through make
