"""The ``vaesvm`` command line."""

import subprocess
import sys
import urllib.error

import pytest

from vaesvm import cli
from vaesvm.datasets import DEBIAN_DATA_DIR


@pytest.mark.skipif(not DEBIAN_DATA_DIR.exists(), reason="needs dataset-fashion-mnist")
def test_demo_end_to_end(capsys):
    status = cli.main(["demo", "--n-train", "2000", "--epochs", "2", "--labels", "100"])
    out = capsys.readouterr().out
    assert status == 0
    assert "100 labeled + 1900 unlabeled" in out
    lines = {line.split("  ")[1].strip(): line for line in out.splitlines()
             if line.startswith("  ") and "%" in line}
    assert set(lines) == {"VAE + SVC", "SVC raw pixels"}
    for line in lines.values():
        assert 10.0 < float(line.split()[-1].rstrip("%")) <= 100.0


def test_missing_data_gives_one_clear_line(tmp_path, monkeypatch, capsys):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr("urllib.request.urlopen", offline)
    status = cli.main(["demo", "--data-home", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("vaesvm: error: ") and "dataset-fashion-mnist" in err
    assert "Traceback" not in err


def test_bad_option_values_exit_nonzero(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["demo", "--labels", "0"])
    assert exc.value.code == 2
    assert "must be a positive integer" in capsys.readouterr().err
    assert cli.main(["demo", "--labels", "15", "--n-train", "100"]) == 1
    assert "multiple" in capsys.readouterr().err


def test_python_dash_m_entry_point():
    out = subprocess.run([sys.executable, "-m", "vaesvm", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "demo" in out
