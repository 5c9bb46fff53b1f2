"""``vaesvm study`` / ``vaesvm ablate`` end to end on a small slice of real data."""

import json
import os
import re
import stat

import numpy as np
import pytest

from vaesvm import cli
from vaesvm.datasets import DEBIAN_DATA_DIR
from vaesvm.study import config, experiments, figures, report

from cli_helpers import interrupt_cell

pytestmark = pytest.mark.skipif(not DEBIAN_DATA_DIR.exists(),
                                reason="needs dataset-fashion-mnist")

TINY = ["--labels", "20", "--seeds", "1", "--epochs", "1", "--n-train", "600"]


def final_bar(err: str) -> tuple[int, int]:
    """The last ``done/total`` the progress bar showed."""
    done, total = re.findall(r"(\d+)/(\d+) \[", err)[-1]
    return int(done), int(total)


def test_study_writes_json_markdown_and_figures(small_data, tmp_path, monkeypatch, capsys):
    out = tmp_path / "study"
    drawn = []
    real_figures = figures.study_figures

    def figures_first(writer, *args, **kwargs):
        # results.md is written once, after the figures; results.json holds the cells
        assert not (out / "results.md").exists()
        assert json.loads((out / "results.json").read_text())["finished"] is False
        drawn.append(1)
        return real_figures(writer, *args, **kwargs)

    monkeypatch.setattr(figures, "study_figures", figures_first)
    old_umask = os.umask(0o022)
    try:
        assert cli.main(["study", *TINY, "--out", str(out)]) == 0
    finally:
        os.umask(old_umask)
    assert drawn == [1]
    printed = capsys.readouterr()
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
    # the peers, the transductive and the suggested-labels rows run on Fashion-MNIST
    # only when asked for (each costs about as much as the study's own VAEs there)
    assert methods == {n for n, m in experiments.METHODS.items()
                       if not (m.transductive or m.test_unlabeled or m.labels == "suggested")}
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
    assert "reference study" in md and "Status: complete;" in md
    assert "+-" not in md.split("| method |")[1] and "(n=1)" not in md  # one seed: plain
    for name in ["elbo_curves", "reconstructions", "samples", "embedding", "confusion_20",
                 "accuracy_vs_labels", "elbo_curves_m1", "reconstructions_m1", "samples_m1",
                 "embedding_m1"]:
        assert (out / f"{name}.png").stat().st_size > 1000
    assert "| SVC (pixels) |" in printed.out
    # the printed table is the saved one, with the saved wall time
    assert md in printed.out
    assert f"wall time {doc['wall_seconds']:.0f} s" in md
    assert "## Suggested labels" not in md
    # the bar counts every VAE epoch (2 VAEs x 1 epoch, +1 each), 7 classifiers and the
    # figures (2 VAEs x (3 + 4 for the t-SNE embedding), 1 confusion, 1 accuracy)
    assert final_bar(printed.err) == (2 * 2 + 7 + 2 * 7 + 1 + 1,) * 2
    assert "epoch 1/1" in printed.err
    for name in ("results.json", "results.md"):  # readable like the figures
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []


def test_suggested_row_on_fashion_mnist_when_asked_for(small_data, tmp_path, capsys):
    out = tmp_path / "suggested"
    assert cli.main(["study", *TINY, "--methods", experiments.SUGGESTED, "--no-figures",
                     "--out", str(out)]) == 0
    printed = capsys.readouterr()
    doc = json.loads((out / "results.json").read_text())
    assert {c["method"] for c in doc["cells"]} == {experiments.SUGGESTED}
    # the class counts of the picked images, in the report too
    assert sum(doc["cells"][0]["suggestion"]["class_counts"]) == 20
    assert "## Suggested labels" in (out / "results.md").read_text()
    # the bar: the picking VAE (1 epoch, +1), the choice, the SS-VAE (1 epoch, +1)
    assert final_bar(printed.err) == (2 + 1 + 2,) * 2


def test_ablate_one_factor(small_data, tmp_path, capsys):
    out = tmp_path / "abl"
    assert cli.main(["ablate", *TINY, "--factors", "batch_norm", "semi_supervision",
                     "--out", str(out)]) == 0
    # 5 distinct settings, each 1 VAE (one label count) of 1 epoch + 1; 2 figures
    assert final_bar(capsys.readouterr().err) == (5 * 2 + 2,) * 2
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
                     "--precision", "float32", "--out", str(out)]) == 0
    doc = json.loads((out / "results.json").read_text())
    defaults = doc["config"]["vae_defaults"]
    assert defaults["label_weight"] == 0.0 and defaults["augmentation"] == "none"
    assert doc["config"]["precision"] == defaults["precision"] == "float32"
    assert [c["vae_fits"] for c in doc["cells"]] == [1, 1]


def test_interrupted_run_keeps_finished_cells(small_data, tmp_path, monkeypatch, capsys):
    interrupt_cell(monkeypatch, 3)

    out = tmp_path / "int"
    assert cli.main(["study", *TINY, "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert f"interrupted; finished cells are kept in {out / 'results.json'}" in err
    doc = json.loads((out / "results.json").read_text())
    assert doc["finished"] is False and len(doc["cells"]) == 2
    md = (out / "results.md").read_text()
    assert "Status: INCOMPLETE" in md and f"wall time {doc['wall_seconds']:.0f} s" in md


def test_interrupted_before_any_cell_leaves_nothing(small_data, tmp_path, monkeypatch,
                                                    capsys):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(experiments, "_evaluate", interrupt)
    out = tmp_path / "new" / "out"
    assert cli.main(["study", *TINY, "--out", str(out)]) == 130
    assert capsys.readouterr().err.endswith("vaesvm: interrupted\n")
    assert not (tmp_path / "new").exists()  # both folders it created are gone


def test_failed_run_removes_only_what_it_created(small_data, tmp_path, monkeypatch, capsys):
    def fail(*args, **kwargs):
        raise ValueError("the first cell failed")

    monkeypatch.setattr(experiments, "_evaluate", fail)
    created = tmp_path / "created"
    assert cli.main(["study", *TINY, "--out", str(created)]) == 1
    assert "the first cell failed" in capsys.readouterr().err
    assert not created.exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "notes.txt").write_text("mine")
    assert cli.main(["study", *TINY, "--out", str(existing)]) == 1
    assert [p.name for p in existing.iterdir()] == ["notes.txt"]


def test_labels_beyond_the_data_fail_before_training(small_data, tmp_path, capsys):
    out = tmp_path / "out"
    # 600 images: fewer than 60 of some class among the non-validation ones
    assert cli.main(["ablate", "--labels", "600", "--n-train", "600", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "--labels 600 needs 60 labeled images per class, but the first --n-train 600" in err
    assert "outside the held-out validation images; raise --n-train or lower --labels" in err
    assert cli.main(["study", "--labels", "100", "--n-train", "1000", "--out", str(out)]) == 1
    assert "--n-train 1000: there are only 600 train images" in capsys.readouterr().err
    assert not out.exists()


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
    (["study", "--labels", "15"], 2, "argument --labels: must be a multiple of 10"),
    (["study", "--labels", "3000", "--n-train", "2000"], 1,
     "--labels 3000 is more than the 2000 train images of --n-train"),
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
    assert f"--out {blocker / 'sub'}: cannot create or write this folder" in err
    assert "choose a folder you can write to" in err


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_out_in_proc_names_the_option(capsys):
    assert cli.main(["ablate", *TINY, "--out", "/proc/forbidden"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vaesvm: error: --out /proc/forbidden: cannot create or write")
    assert not os.path.exists("/proc/forbidden")


def test_factor_names_of_the_parser_are_the_ablations():
    assert tuple(experiments.ABLATIONS) == config.ABLATION_FACTORS
    assert tuple(experiments.METHODS) == config.STUDY_METHODS
    assert experiments.M1_PARAMS is config.M1_PARAMS


def test_one_seed_plain_several_seeds_mean_std():
    def cells(seeds):
        return [{"method": "VAE + SVC", "n_labels": 100, "seed": s, "accuracy": 0.7 + s / 10}
                for s in seeds]

    one = report.study_table(cells([0]), {})
    assert "| VAE + SVC | 70.00 |" in one and "+-" not in one
    two = report.study_table(cells([0, 1]), {})
    assert "| VAE + SVC | 75.00 +- 5.00 (n=2) |" in two


def test_peer_verdict_names_where_another_method_is_ahead():
    def cells(method, accuracies, n=100):
        return [{"method": method, "n_labels": n, "accuracy": a} for a in accuracies]

    ahead = cells("SS-VAE + SVC", [0.80, 0.82]) + cells("LogReg (pixels)", [0.70, 0.72])
    assert report.peer_verdict(ahead).startswith("The default (SS-VAE + SVC) is ahead")
    # the default's own variants are not peers
    variants = ahead + cells("SS-VAE means + SVC", [0.9, 0.9])
    assert "Another method" not in report.peer_verdict(variants)
    behind = ahead + cells("LabelSpreading (pixels)", [0.84, 0.86]) + cells(
        "SS-VAE + SVC", [0.60, 0.62], n=1000) + cells("LogReg (pixels)", [0.60, 0.60], n=1000)
    verdict = report.peer_verdict(behind)
    assert verdict.startswith("**Another method is ahead")
    assert "100 labels: LabelSpreading (pixels) 85.00 against 81.00" in verdict
    assert "within the seeds' spread at 1000 labels: LogReg (pixels) 60.00 against 61.00" \
        in verdict
    assert report.peer_verdict(cells("SS-VAE + SVC", [0.8])) == ""


def test_study_on_another_image_set(tmp_path, capsys):
    out = tmp_path / "digits"
    assert cli.main(["study", "--dataset", "digits", "--labels", "50", "--seeds", "1",
                 "--epochs", "1", "--no-figures", "--out", str(out)]) == 0
    doc = json.loads((out / "results.json").read_text())
    assert doc["dataset"] == "digits" and doc["reference"] == {}
    methods = {c["method"] for c in doc["cells"]}
    assert {"LabelSpreading (pixels)", "LabelSpreading (VAE codes)", "SelfTraining (pixels)",
            "SS-VAE + SVC"} <= methods
    assert "SelfTrainingClassifier(criterion='threshold', threshold=0.75" in doc["note"]
    assert experiments.TRANSDUCTIVE in methods
    assert "test images added to vae__X_unlabeled" in doc["note"]
    # 10 classes: chance is 0.1. The suggested row is left out: after one epoch the codes
    # barely spread, and an SVC with gamma="scale" fitted on 50 typical images of them can
    # fall to near chance (a model trained to the end does not)
    assert all(0.5 < c["accuracy"] <= 1 for c in doc["cells"]
               if c["method"] != experiments.SUGGESTED)
    suggested = [c for c in doc["cells"] if c["method"] == experiments.SUGGESTED]
    assert sum(suggested[0]["suggestion"]["class_counts"]) == 50
    text = (out / "results.md").read_text()
    assert "digits test set" in text and "| reference study" not in text


def test_self_training_peer_tunes_on_the_labels_then_pseudo_labels():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    y_partial = np.full_like(y, -1)
    labeled = np.concatenate([np.flatnonzero(y == c)[:10] for c in range(10)])
    y_partial[labeled] = y[labeled]
    model = experiments.self_training(X, 0).fit(X, y_partial)
    rounds = model.self_training_.labeled_iter_
    # the search saw the 100 labeled rows only, and later rounds added pseudo-labels
    assert model.search_.n_features_in_ == 64 and len(model.search_.cv_results_["params"]) == 9
    assert np.sum(rounds == 0) == 100 and np.sum(rounds > 0) > 100
    assert list(model.classes_) == list(range(10))
    assert np.mean(model.predict(X) == y) > 0.8  # chance: 0.1


def test_study_note_names_the_images_used(small_data, tmp_path):
    out = tmp_path / "few"
    assert cli.main(["study", *TINY, "--no-figures", "--out", str(out)]) == 0
    doc = json.loads((out / "results.json").read_text())
    note = doc["note"]
    assert "from all 600 train images" in note and "60,000" not in note
    assert doc["config"]["n_train"] == 600
    # 600 images are fewer than the augmentation rule's minimum: no shift/flip claimed
    assert "augmentation='auto' = none here" in note and "shifts and mirror flips here" not in note


def test_transductive_row_trains_its_vae_on_the_test_images_too(small_data):
    run = config.StudyConfig(n_labels=(20, 40), seeds=(0,), epochs=1, n_train=600,
                             methods=("SS-VAE + SVC", experiments.TRANSDUCTIVE, "VAE + SVC"))
    lab, unl = experiments.make_semi_supervised_split(small_data.y_train, 20, random_state=0)
    vaes = {flag: experiments._ssvae_features(small_data, run, 0, lab, unl, test_unlabeled=flag)
            for flag in (False, True)}
    codes = {flag: v[0].propagation_.codes_ for flag, v in vaes.items()}
    assert len(codes[False]) == 600 and len(codes[True]) == 900  # + the 300 test images
    cells = []
    experiments.run_study(small_data, run, on_cell=cells.append)
    # both label counts (the features of the other rows survive the transductive VAE)
    assert [(c["n_labels"], c["method"]) for c in cells] == [
        (n, m) for n in (20, 40) for m in ("SS-VAE + SVC", "VAE + SVC", experiments.TRANSDUCTIVE)]
    # the inductive row is the VAE that never saw the test images
    assert cells[0]["pipeline_accuracy"] == vaes[False][2]["pipeline_accuracy"]
    assert cells[2]["pipeline_accuracy"] == vaes[True][2]["pipeline_accuracy"]
