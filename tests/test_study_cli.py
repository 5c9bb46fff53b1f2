"""``vaesvm study`` / ``vaesvm ablate`` end to end on a small slice of real data."""

import json

import numpy as np
import pytest
from sklearn.utils import Bunch

from vaesvm import cli
from vaesvm.datasets import DEBIAN_DATA_DIR
from vaesvm.study import experiments

pytestmark = pytest.mark.skipif(not DEBIAN_DATA_DIR.exists(),
                                reason="needs dataset-fashion-mnist")

TINY = ["--labels", "20", "--seeds", "1", "--epochs", "1", "--n-train", "600"]


@pytest.fixture
def small_data(monkeypatch):
    """600 train and 300 test real images instead of 60,000 / 10,000."""
    from vaesvm import datasets

    full = datasets.load_fashion_mnist(DEBIAN_DATA_DIR)
    small = Bunch(X_train=full.X_train[:600], y_train=full.y_train[:600],
                  X_test=full.X_test[:300], y_test=full.y_test[:300],
                  data_dir=full.data_dir, target_names=full.target_names)
    monkeypatch.setattr(datasets, "load_fashion_mnist", lambda *a, **k: small)
    return small


def test_study_writes_json_markdown_and_figures(small_data, tmp_path, capsys):
    out = tmp_path / "study"
    assert cli.main(["study", *TINY, "--out", str(out)]) == 0
    doc = json.loads((out / "results.json").read_text())
    assert doc["kind"] == "study" and doc["finished"] is True
    assert doc["command"].startswith("vaesvm study --labels 20")
    assert doc["config"]["n_labels"] == [20] and doc["config"]["seeds"] == [0]
    assert doc["config"]["vae_defaults"]["n_components"] == 50
    assert {"torch", "scikit-learn", "skorch", "vaesvm"} <= set(doc["versions"])
    assert doc["wall_seconds"] > 0 and doc["reference"] == {"100": 0.6985, "600": 0.772}
    # the shared M1 VAE of seed 0, and the semi-supervised VAE of (seed 0, 20 labels)
    assert [(v["seed"], v["n_labels"]) for v in doc["vaes"]] == [(0, None), (0, 20)]
    assert all(len(v["history"]) == 1 for v in doc["vaes"])
    assert "classification" in doc["vaes"][1]["history"][0]
    methods = {c["method"] for c in doc["cells"]}
    assert methods == set(experiments.METHODS)
    for cell in doc["cells"]:
        assert cell["seed"] == 0 and cell["n_labels"] == 20
        assert 0.0 <= cell["accuracy"] <= 1.0
        cm = np.array(cell["confusion_matrix"])
        assert cm.shape == (10, 10) and cm.sum() == 300
        assert np.trace(cm) / 300 == pytest.approx(cell["accuracy"])
        if cell["method"] == "SS-VAE + SVC":  # the user's Pipeline gives the same accuracy
            assert cell["pipeline_accuracy"] == pytest.approx(cell["accuracy"])
        if cell["method"] in ("SVC (pixels)", "PCA + SVC"):
            assert set(cell["chosen_params"]) == {"svc__C", "svc__gamma"}
    md = (out / "results.md").read_text()
    assert "| SS-VAE + SVC |" in md and "| VAE + SVC |" in md
    assert "reference study" in md and "complete" in md
    for name in ["elbo_curves", "reconstructions", "samples", "embedding", "confusion_20",
                 "accuracy_vs_labels", "elbo_curves_m1", "reconstructions_m1", "samples_m1",
                 "embedding_m1"]:
        assert (out / f"{name}.png").stat().st_size > 1000
    assert "| SVC (pixels) |" in capsys.readouterr().out


def test_ablate_one_factor(small_data, tmp_path):
    out = tmp_path / "abl"
    assert cli.main(["ablate", *TINY, "--factors", "batch_norm", "semi_supervision",
                     "--out", str(out)]) == 0
    doc = json.loads((out / "results.json").read_text())
    assert [c["value"] for c in doc["cells"]][:2] == ["on", "off"]
    # the default appears in both factors: trained once, reported twice
    assert doc["cells"][0]["test_elbo"] == doc["cells"][2]["test_elbo"]
    assert [c["vae_fits"] for c in doc["cells"][2:]] == [1, 1, 1, 1]  # one label count
    for cell in doc["cells"]:
        assert set(cell["accuracy"]) == {"20"} and np.isfinite(cell["test_elbo"])
        assert set(cell["val_accuracy"]) == {"20"} and 0 <= cell["val_accuracy"]["20"] <= 1
    assert "## batch_norm" in (out / "results.md").read_text()
    assert (out / "ablation_batch_norm.png").exists()


def test_ablate_plain_vae(small_data, tmp_path):
    out = tmp_path / "abl"
    assert cli.main(["ablate", *TINY, "--plain-vae", "--factors", "batch_norm",
                     "--out", str(out)]) == 0
    doc = json.loads((out / "results.json").read_text())
    defaults = doc["config"]["vae_defaults"]
    assert defaults["label_weight"] == 0.0 and defaults["augmentation"] == "none"
    assert [c["vae_fits"] for c in doc["cells"]] == [1, 1]


def test_interrupted_run_keeps_finished_cells(small_data, tmp_path, monkeypatch, capsys):
    real = experiments._evaluate
    calls = []

    def interrupt_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(experiments, "_evaluate", interrupt_third)
    out = tmp_path / "int"
    assert cli.main(["study", *TINY, "--out", str(out)]) == 130
    assert "interrupted; finished cells are kept" in capsys.readouterr().err
    doc = json.loads((out / "results.json").read_text())
    assert doc["finished"] is False and len(doc["cells"]) == 2
    assert "INCOMPLETE" in (out / "results.md").read_text()


def test_without_matplotlib_still_writes_json_and_markdown(small_data, tmp_path,
                                                           monkeypatch, capsys):
    from vaesvm.study import runner

    monkeypatch.setattr(runner, "_have_matplotlib", lambda: False)
    out = tmp_path / "noplot"
    assert cli.main(["study", *TINY, "--out", str(out)]) == 0
    assert "pip install 'vaesvm[plot]'" in capsys.readouterr().err
    assert (out / "results.json").exists() and (out / "results.md").exists()
    assert not list(out.glob("*.png"))


@pytest.mark.parametrize("argv, status, message", [
    (["study", "--labels", "15"], 1, "--labels must be multiples of 10"),
    (["study", "--seeds", "zero"], 2, "argument --seeds: must be a positive integer"),
    (["ablate", "--factors", "dropout"], 2, "argument --factors: invalid choice"),
    (["study", "--bogus"], 2, "unrecognized arguments: --bogus"),
])
def test_bad_usage_is_one_line(argv, status, message, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == status
    assert err.count("\n") == 1 and err.startswith("vaesvm: error: ") and message in err
    assert "Traceback" not in err


def test_unwritable_out_fails_before_training(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert cli.main(["study", *TINY, "--out", str(blocker / "sub")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vaesvm: error: ") and err.count("\n") == 1
