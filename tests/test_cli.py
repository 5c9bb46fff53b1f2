"""The ``vaesvm`` command line."""

import subprocess
import sys
import urllib.error

import numpy as np
import pytest
import torch
from sklearn.utils import Bunch

import vaesvm
from vaesvm import cli
from vaesvm.datasets import DEBIAN_DATA_DIR
from cli_helpers import one_error_line, run


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
    assert "--data-home DIR" in err and "data_home=" not in err  # the option, not the API
    assert "Traceback" not in err


def test_bad_option_values_exit_nonzero(capsys):
    assert run(["demo", "--labels", "0"]) == 2
    assert "argument --labels: must be a positive integer" in one_error_line(capsys)


@pytest.mark.parametrize("argv, message", [
    (["demo", "--labels", "5"], "argument --labels: must be a multiple of 10"),
    (["demo", "--labels", "15"], "got 15; e.g. 10"),
    (["study", "--labels", "100", "15"], "argument --labels: must be a multiple of 10"),
    (["demo", "--n-train", "70000"], "argument --n-train: must be at most 60000"),
    (["demo", "--device", "gpu"], "argument --device: must be auto, cpu, cuda or cuda:N"),
    (["ablate", "--device", "cuda0"], "argument --device: must be auto, cpu, cuda or cuda:N"),
    (["demo", "--seed", "-1"], "argument --seed: must be an integer from 0 to 2**32 - 1"),
])
def test_usage_errors_name_the_option(argv, message, capsys):
    assert run(argv) == 2
    err = one_error_line(capsys)
    assert message in err and "n_labels" not in err


def test_missing_data_home_is_refused_untouched(tmp_path, monkeypatch, capsys):
    def no_download(*args, **kwargs):
        raise AssertionError("no download may be attempted")

    monkeypatch.setattr("urllib.request.urlopen", no_download)
    missing = tmp_path / "nonexistent"
    for command in (["demo"], ["study", "--out", str(tmp_path / "out")]):
        assert run([*command, "--data-home", str(missing)]) == 2
        err = one_error_line(capsys)
        assert f"argument --data-home: {missing} does not exist" in err
        assert "data_home=" not in err
    assert not missing.exists() and not (tmp_path / "out").exists()
    (tmp_path / "file").write_text("")
    assert run(["demo", "--data-home", str(tmp_path / "file")]) == 2
    assert "is not a folder" in one_error_line(capsys)


def test_labels_beyond_n_train_name_both_options(capsys):
    assert run(["demo", "--n-train", "50"]) == 1  # before loading anything
    err = one_error_line(capsys)
    assert "--labels 100 is more than the 50 train images of --n-train" in err
    assert "np.int64" not in err and "n_labels" not in err


def test_classes_short_of_labels_name_both_options(monkeypatch, capsys):
    from vaesvm import datasets

    y = np.repeat(np.arange(10), 20)
    y[y == 8] = 3
    y[:2] = 8  # class 8 (Bag): only 2 images
    fake = Bunch(X_train=np.zeros((200, 784), np.float32), y_train=y,
                 X_test=np.zeros((10, 784), np.float32), y_test=np.arange(10),
                 data_dir="fake", target_names=list(datasets.CLASS_NAMES))
    monkeypatch.setattr(datasets, "load_fashion_mnist", lambda *a, **k: fake)
    assert run(["demo", "--n-train", "200", "--labels", "100"]) == 1
    err = one_error_line(capsys)
    assert ("--labels 100 needs 10 labeled images per class, but the first --n-train 200 "
            "train images hold only 2 images of class 8 (Bag)") in err
    assert "np.int64" not in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_unavailable_device_is_refused_before_work(monkeypatch, capsys):
    from vaesvm import datasets

    def no_data(*args, **kwargs):
        raise AssertionError("the device is checked before the data is loaded")

    monkeypatch.setattr(datasets, "load_fashion_mnist", no_data)
    assert run(["demo", "--device", "cuda"]) == 1
    err = one_error_line(capsys)
    assert "--device cuda: CUDA is not available on this machine" in err
    assert "use --device auto or --device cpu" in err and "device=" not in err


def test_version(capsys):
    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"vaesvm {vaesvm.__version__}"


def test_help_and_version_import_neither_torch_nor_sklearn():
    code = ("import sys\n"
            "from vaesvm import cli\n"
            "for argv in (['--help'], ['study', '--help'], ['ablate', '--help'],\n"
            "             ['demo', '--help'], ['--version']):\n"
            "    try:\n"
            "        cli.main(argv)\n"
            "    except SystemExit:\n"
            "        pass\n"
            "print(sorted(m for m in ('torch', 'sklearn', 'skorch') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.splitlines()[-1] == "[]"


def test_package_imports_lazily():
    code = ("import sys, vaesvm\n"
            "print('torch' in sys.modules)\n"
            "names = dir(vaesvm)\n"
            "print(all(n in names for n in vaesvm.__all__))\n"
            "from vaesvm import VAETransformer, LabeledOnlyClassifier\n"
            "print(VAETransformer.__module__, 'torch' in sys.modules)\n"
            "try:\n"
            "    vaesvm.no_such_name\n"
            "except AttributeError as exc:\n"
            "    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out == ["False", "True", "vaesvm._transformer True",
                   "module 'vaesvm' has no attribute 'no_such_name'"]


def test_python_dash_m_entry_point():
    out = subprocess.run([sys.executable, "-m", "vaesvm", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "demo" in out


def test_diverged_training_is_one_error_line(monkeypatch, capsys):
    def diverge(args):
        raise FloatingPointError("Training diverged: the loss became nan in epoch 2, batch 1."
                                 "\nLower learning_rate.")

    monkeypatch.setattr(cli, "run_demo", diverge)
    assert cli.main(["demo"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["vaesvm: error: Training diverged: the loss became nan in epoch 2, batch 1. "
                   "Lower learning_rate."]


def test_precision_choices_are_the_estimators():
    from vaesvm._options import PRECISIONS

    parser = cli.build_parser()
    for command in ("study", "ablate", "demo"):
        sub = parser._subparsers._group_actions[0].choices[command]
        action = next(a for a in sub._actions if a.dest == "precision")
        assert action.choices == ("auto", *PRECISIONS)
