"""The command line checks what it can before training and never loses a run's results.

Label counts too small for a method, an ``--out`` holding an earlier run (refused
without ``--overwrite``), an ``--out`` that is a file, a second Ctrl-C while the
finished cells are saved, a final write that fails; and the study note, which must
say what the run did with the data it loaded.
"""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from vaesvm import cli
from vaesvm.datasets import DEBIAN_DATA_DIR
from vaesvm.study import experiments, report, runner
from vaesvm.study.config import label_count_problem

from cli_helpers import interrupt_cell, one_error_line, run


TINY = ["--labels", "20", "--seeds", "1", "--epochs", "1", "--n-train", "600"]
needs_fmnist = pytest.mark.skipif(not DEBIAN_DATA_DIR.exists(),
                                  reason="needs dataset-fashion-mnist")


def last_line(err: str) -> str:
    """The line a run that started (its progress bar on stderr) ends with."""
    assert "Traceback" not in err and err.endswith("\n")
    return err.splitlines()[-1]


@pytest.fixture
def no_data(monkeypatch):
    """Loading any data fails the test: the checks must come before."""
    from vaesvm import datasets
    from vaesvm.study import image_sets

    def refuse(*args, **kwargs):
        raise AssertionError("the data was loaded before the options were checked")

    monkeypatch.setattr(datasets, "load_fashion_mnist", refuse)
    monkeypatch.setattr(image_sets, "load_image_set", refuse)


# ------------------------------------------------------- labels, before any work
@pytest.mark.parametrize("dataset", ["fashion-mnist", "digits", "fashion-mnist-colour"])
def test_labels_below_the_cv_minimum_are_refused_before_loading(dataset, tmp_path, no_data,
                                                                capsys):
    out = tmp_path / "out"
    assert run(["study", "--dataset", dataset, "--labels", "10", "100",
                "--out", str(out)]) == 1
    err = one_error_line(capsys)
    # the other image sets also run the self-training peer, which tunes its SVC too
    tuned = ("SVC (pixels) and PCA + SVC" if dataset == "fashion-mnist"
             else "SVC (pixels), PCA + SVC and SelfTraining (pixels)")
    assert err == (f"vaesvm: error: --labels 10 gives 1 labeled image per class, but {tuned} "
                   "choose C and gamma by stratified cross-validation, "
                   "which needs at least 2 per class; use --labels 20 or more\n")
    assert not out.exists()


def test_the_minimum_follows_the_methods(monkeypatch):
    # each method states its own minimum; the tuned SVCs' is their fold count's floor
    assert {m.name for m in experiments.METHODS.values() if m.min_labels_per_class > 1} == {
        "SVC (pixels)", "PCA + SVC", "SelfTraining (pixels)"}
    runner.check_label_minimum([10], ["SS-VAE + SVC", "LogReg (pixels)"])  # no CV: fine
    with pytest.raises(ValueError, match="but PCA \\+ SVC choose"):
        runner.check_label_minimum([20, 10], ["PCA + SVC"])


def test_ablate_and_demo_accept_ten_labels():
    # their classifiers are plain SVCs: one labeled image per class is enough
    args = cli.build_parser().parse_args(["ablate", "--labels", "10", "--n-train", "600"])
    args.command_line = "vaesvm ablate"
    assert runner.make_config(args).n_labels == (10,)
    assert cli.build_parser().parse_args(["demo", "--labels", "10"]).labels == 10


def test_n_train_below_the_pca_components_is_refused(tmp_path, no_data, capsys):
    assert run(["study", "--dataset", "digits", "--labels", "20", "--n-train", "40",
                "--out", str(tmp_path / "o")]) == 1
    assert ("--n-train 40: PCA + SVC fits 50 PCA components, which needs at least 50 train "
            "images; use --n-train 50 or more") in one_error_line(capsys)


def test_n_train_beyond_an_image_set_is_refused_not_capped(tmp_path, capsys):
    out = tmp_path / "o"
    assert run(["study", "--dataset", "digits", "--n-train", "4000", "--out", str(out)]) == 1
    assert ("--n-train 4000: the digits image set has 1257 train images; lower --n-train "
            "or leave it out to use them all") in one_error_line(capsys)
    assert not out.exists()


def test_short_classes_are_named_by_the_image_sets_names():
    y = np.repeat(np.arange(10), 3)
    assert label_count_problem(y, 40, [str(d) for d in range(10)]) == (
        "only 3 images of class 0 (0)")
    y[y == 8] = 7
    assert label_count_problem(y[3:], 10, [str(d) for d in range(10)]) == (
        "no image of class 0 (0)")
    assert label_count_problem(np.r_[np.arange(10), 9], 20) == "only 1 image of class 0 " \
        "(T-shirt/top)"


# ------------------------------------------------------------- earlier runs
@pytest.mark.parametrize("earlier", ["results.json", "results.md", "confusion_100.png",
                                     "ablation_kl_weight.png"])
@pytest.mark.parametrize("command", ["study", "ablate"])
def test_an_earlier_run_is_refused_untouched(command, earlier, tmp_path, no_data, capsys):
    out = tmp_path / "old"
    out.mkdir()
    (out / earlier).write_text("the earlier run")
    assert run([command, "--out", str(out)]) == 1
    err = one_error_line(capsys)
    assert err == (f"vaesvm: error: --out {out} holds the results of an earlier run "
                   f"({earlier}); pass --overwrite to replace them, or choose a new --out "
                   "folder\n")
    assert [p.name for p in out.iterdir()] == [earlier]
    assert (out / earlier).read_text() == "the earlier run"


def test_out_that_is_a_file_is_named(tmp_path, no_data, capsys):
    target = tmp_path / "results"
    target.write_text("mine")
    assert run(["study", "--out", str(target), "--overwrite"]) == 1
    assert one_error_line(capsys) == (f"vaesvm: error: --out {target} is a file, not a "
                                      "folder; choose a new --out folder\n")
    assert target.read_text() == "mine"


def test_help_documents_overwrite(capsys):
    for command in ("study", "ablate"):
        assert run([command, "--help"]) == 0
        text = " ".join(capsys.readouterr().out.split())
        assert "--overwrite" in text and "refused unless --overwrite is given" in text
    assert run(["demo", "--help"]) == 0  # demo writes no files
    assert "--overwrite" not in capsys.readouterr().out
    assert "--overwrite" in cli.__doc__ and "new ``--out`` folder" in cli.__doc__


def old_run(folder):
    """A folder holding an earlier run and a file of the user's."""
    folder.mkdir()
    for name in ("results.json", "results.md", "confusion_3000.png", "embedding.png"):
        (folder / name).write_text("old")
    (folder / "notes.txt").write_text("mine")
    return folder


def test_overwrite_replaces_the_whole_earlier_run(small_data, tmp_path, capsys):
    out = old_run(tmp_path / "old")
    assert run(["study", *TINY, "--no-figures", "--out", str(out), "--overwrite"]) == 0
    # no figure of the earlier run survives beside the new results; the user's file does
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "results.json",
                                                     "results.md"]
    assert json.loads((out / "results.json").read_text())["finished"] is True
    assert "--overwrite" in json.loads((out / "results.json").read_text())["command"]


def test_overwrite_keeps_the_earlier_run_until_the_first_result(small_data, tmp_path,
                                                                 monkeypatch, capsys):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(experiments, "_evaluate", interrupt)
    out = old_run(tmp_path / "old")
    assert run(["study", *TINY, "--out", str(out), "--overwrite"]) == 130
    assert capsys.readouterr().err.endswith("vaesvm: interrupted\n")
    assert sorted(p.name for p in out.iterdir()) == [
        "confusion_3000.png", "embedding.png", "notes.txt", "results.json", "results.md"]
    assert all((out / n).read_text() == "old" for n in ("results.json", "results.md"))


def test_interrupted_overwrite_leaves_only_the_new_cells(small_data, tmp_path, monkeypatch,
                                                          capsys):
    interrupt_cell(monkeypatch, 3)

    out = old_run(tmp_path / "old")
    assert run(["study", *TINY, "--out", str(out), "--overwrite"]) == 130
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "results.json",
                                                     "results.md"]
    doc = json.loads((out / "results.json").read_text())
    assert doc["finished"] is False and len(doc["cells"]) == 2
    assert "Status: INCOMPLETE" in (out / "results.md").read_text()


def test_second_ctrl_c_while_saving_still_one_line(small_data, tmp_path, monkeypatch,
                                                   capsys):
    interrupt_cell(monkeypatch, 3)

    def impatient(self, complete):
        raise KeyboardInterrupt  # Ctrl-C again while the partial results are written

    monkeypatch.setattr(report.ResultsWriter, "finish", impatient)
    out = tmp_path / "out"
    assert run(["study", *TINY, "--out", str(out)]) == 130
    assert last_line(capsys.readouterr().err) == (
        f"vaesvm: interrupted; finished cells are kept in {out / 'results.json'}")
    assert len(json.loads((out / "results.json").read_text())["cells"]) == 2


def test_failing_final_write_keeps_the_cells(small_data, tmp_path, monkeypatch, capsys):
    real = report.ResultsWriter.finish

    def disk_full_at_the_end(self, complete):
        if complete:
            raise OSError(28, "No space left on device")
        real(self, complete)

    monkeypatch.setattr(report.ResultsWriter, "finish", disk_full_at_the_end)
    out = tmp_path / "out"
    assert run(["study", *TINY, "--no-figures", "--out", str(out)]) == 1
    assert last_line(capsys.readouterr().err) == (
        "vaesvm: error: [Errno 28] No space left on device (finished cells are kept in "
        f"{out / 'results.json'})")
    doc = json.loads((out / "results.json").read_text())
    # every cell of the run: its seven Fashion-MNIST rows at one seed and label count
    assert doc["finished"] is False and len(doc["cells"]) == 7


# ----------------------------------------------------------------- the note
def test_note_and_settings_are_those_of_the_digits_run(tmp_path):
    out = tmp_path / "digits"
    assert run(["study", "--dataset", "digits", "--labels", "50", "--seeds", "1",
                "--epochs", "1", "--no-figures", "--out", str(out)]) == 0
    doc = json.loads((out / "results.json").read_text())
    note = doc["note"]
    assert doc["config"]["n_train"] == 1257
    assert "1,257 train / 540 test images" in note and "from all 1,257 train images" in note
    assert "60,000" not in note and "shift/flip" not in note
    # digits: 8 x 8 is too small to shift and 1,257 rows too few: no augmentation
    assert "augmentation='auto' = none here" in note
    assert "convolutional encoder on 8 x 8 images" in note
    assert "The test set (540 images)" in note
    # the note's choices are the ones the trained VAE made
    ss = [v for v in doc["vaes"] if v["n_labels"] is not None]
    assert [(v["options"]["augmentation"], v["options"]["encoder"], v["options"]["image_shape"])
            for v in ss] == [("none", "conv", [1, 8, 8])]
    assert doc["note"] in (out / "results.md").read_text()

    # re-rendering from the recorded command gives the same note and keeps every number
    before = json.loads((out / "results.json").read_text())
    doc["note"], doc["config"]["n_train"] = "stale", 60000
    (out / "results.json").write_text(json.dumps(doc))
    after = runner.rerender_study_note(out)
    assert after["note"] == before["note"] and after["config"] == before["config"]
    assert after["cells"] == before["cells"] and after["vaes"] == before["vaes"]
    assert after["note_rerendered_by"].startswith("vaesvm ")
    assert (out / "results.md").read_text().replace(
        before["note"], "") == report.render_markdown(before).replace(before["note"], "")


def test_predicted_options_match_the_fitted_ones_with_flips(small_data, tmp_path,
                                                            monkeypatch):
    # on a set large enough to augment (the threshold lowered to these 600 images),
    # the flip rule runs on each labeled subset before training, as fit runs it
    import vaesvm._options as options

    monkeypatch.setattr(options, "AUGMENT_MIN_ROWS", 100)
    out = tmp_path / "aug"
    assert run(["study", *TINY, "--no-figures", "--out", str(out)]) == 0
    doc = json.loads((out / "results.json").read_text())
    fitted = [v["options"] for v in doc["vaes"] if v["n_labels"] is not None]
    assert fitted[0]["augmentation"] == "shift_flip"  # clothes keep their class mirrored
    assert "augmentation='auto' = shifts and mirror flips here" in doc["note"]
    assert "convolutional encoder on 28 x 28 images" in doc["note"]


@pytest.mark.parametrize("folder, images, shape", [
    ("study_digits", "all 1,257 train images", "8 x 8"),
    ("study_fmnist14", "all 12,000 train images", "14 x 14"),
    ("study_colour", "all 12,000 train images", "3 x 28 x 28"),
])
def test_committed_image_set_reports_state_what_ran(folder, images, shape):
    import pathlib

    path = pathlib.Path(__file__).parents[1] / "docs" / "results" / folder
    doc = json.loads((path / "results.json").read_text())
    note = doc["note"]
    assert f"from {images}" in note and f"on {images} without labels" in note
    assert doc["config"]["n_train"] == int(images.split()[1].replace(",", ""))
    assert "augmentation='auto' = none here" in note and "all 60,000" not in note
    assert f"convolutional encoder on {shape} images" in note
    assert "note_rerendered_by" in doc or "--overwrite" in doc["command"]
    # results.md is the rendering of results.json: same table, same note
    assert (path / "results.md").read_text() == report.render_markdown(doc)


@needs_fmnist
def test_rerendering_a_committed_report_changes_nothing_it_recorded(tmp_path):
    """The committed run's note is already the one this release renders."""
    import pathlib

    from vaesvm import __version__

    src = pathlib.Path(__file__).parents[1] / "docs" / "results" / "study_fmnist14"
    shutil.copytree(src, tmp_path / "f14")
    committed = json.loads((src / "results.json").read_text())
    committed.pop("note_rerendered_by", None)
    again = runner.rerender_study_note(tmp_path / "f14")
    assert again.pop("note_rerendered_by") == f"vaesvm {__version__}"
    assert again == committed
    assert (tmp_path / "f14" / "results.md").read_text() == (src / "results.md").read_text()


def test_help_still_imports_neither_torch_nor_sklearn():
    code = ("import sys\nfrom vaesvm import cli\n"
            "try:\n    cli.main(['study', '--help'])\nexcept SystemExit:\n    pass\n"
            "print([m for m in ('torch', 'sklearn') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.splitlines()[-1] == "[]"
