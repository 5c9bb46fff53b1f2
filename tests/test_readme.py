"""The README cannot drift from what it reports, and its examples cannot rot.

- The headline table ("## Results") is rendered here from the results JSON it comes
  from, with the study report's own formatting, and must match the README cell by cell.
- The "With scikit-learn" example runs as printed (scikit-learn's digits, seconds); the
  "Which images to label" recipe is the user guide's, tested there as a doctest.
- The "Quick start" example prints what the README says it prints (real Fashion-MNIST,
  about a minute: marked slow).
"""

import json
import pathlib
import re

import pytest

from vaesvm.datasets import DEBIAN_DATA_DIR
from vaesvm.study.report import accuracies_by_method, mean_std

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
COMMAND = "vaesvm study --out docs/results/study"

#: README row label -> the study's method name in results.json.
HEADLINE_ROWS = {
    "**vaesvm default**: `Pipeline([VAETransformer(), SVC()])`": "SS-VAE + SVC",
    "M1 recipe: plain VAE + SVC, unlabeled training": "VAE + SVC",
    "SVC on pixels, labeled images only (CV-tuned)": "SVC (pixels)",
    "logistic regression on pixels, labeled only": "LogReg (pixels)",
}
REFERENCE_ROW = "reference study (VAE + RBF SVM, published)"


def committed_run(folder: str) -> tuple[dict, str]:
    """A finished study run's ``results.json`` under ``docs/results/``, and its command.

    The command is the one printed next to the figures: ``--overwrite`` only lets a
    rerun replace the committed folder, so it is dropped.
    """
    results = json.loads((ROOT / "docs" / "results" / folder / "results.json").read_text())
    assert results["finished"]
    return results, results["command"].replace(" --overwrite", "")


def section(title: str) -> str:
    """The README's text under ``## title``, up to the next second-level heading."""
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def python_block(title: str) -> str:
    return re.search(r"```python\n(.*?)```", section(title), re.S).group(1)


def table_rows(text: str) -> dict[str, list[str]]:
    """``{first cell: [other cells]}`` of the Markdown table rows in ``text``."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[cells[0]] = [c.strip("*") for c in cells[1:]]
    return rows


def test_headline_table_matches_the_results_json():
    results, command = committed_run("study")
    assert command == COMMAND
    text = section("Results")
    assert f"`{COMMAND}`" in text  # the command that reproduces it, next to the table
    rows = table_rows(text)
    header = rows.pop("method")
    labels = results["config"]["n_labels"]
    assert header == [f"{n} labels" for n in labels]
    acc = accuracies_by_method(results["cells"])
    expected = {row: [mean_std(acc[method][n]) for n in labels]
                for row, method in HEADLINE_ROWS.items()}
    expected[REFERENCE_ROW] = [f"{100 * results['reference'][str(n)]:.2f}"
                               if str(n) in results["reference"] else "not given"
                               for n in labels]
    assert rows == expected
    # The default leads every other row of the table at every label count.
    for i in range(len(labels)):
        others = [float(cells[i].split()[0]) for row, cells in expected.items()
                  if row != next(iter(HEADLINE_ROWS)) and cells[i] != "not given"]
        assert float(expected[next(iter(HEADLINE_ROWS))][i].split()[0]) > max(others)


def test_readme_suggested_labels_figure_matches_its_json():
    text = section("Which images to label")
    command = "vaesvm study --methods 'SS-VAE + SVC, suggested labels' " \
        "--out docs/results/study_suggested"
    assert f"```bash\n{command}\n```" in text  # the figure's command, next to it
    results, run_command = committed_run("study_suggested")
    assert run_command == command
    accuracy = accuracies_by_method(results["cells"])["SS-VAE + SVC, suggested labels"][100]
    assert len(accuracy) == 3
    assert "100 suggested labels" in text and f"{mean_std(accuracy)} %" in text


def test_readme_scikit_learn_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # it writes model.joblib
    namespace = {"__name__": "readme_example"}
    exec(compile(python_block("With scikit-learn"), "README.md (With scikit-learn)", "exec"),
         namespace)
    assert (tmp_path / "model.joblib").stat().st_size > 0
    search, pipe = namespace["search"], namespace["pipe"]
    assert search.best_score_ > 0.7 and search.score(namespace["X_test"],
                                                     namespace["y_test"]) > 0.8
    assert pipe.score(namespace["X_test"], namespace["y_test"]) > 0.8
    # the SVC behind y = -1 learned the ten digits, not an eleventh class -1
    assert list(pipe[-1].classes_) == list(range(10))
    assert capsys.readouterr().out.count("\n") == 2  # the two print() lines


@pytest.mark.slow
@pytest.mark.skipif(not DEBIAN_DATA_DIR.exists(), reason="needs dataset-fashion-mnist")
def test_readme_quick_start_prints_what_the_readme_says(capsys):
    printed = re.search(r"It prints `(.*?)`", section("Quick start")).group(1)
    exec(compile(python_block("Quick start"), "README.md (Quick start)", "exec"),
         {"__name__": "readme_example"})
    out = capsys.readouterr().out.strip()
    label, value = printed.rsplit(": ", 1)
    assert out.startswith(label + ": ")
    # bit-identical for the same threads and training precision; tests run torch on one
    # thread, the README on the machine's default, so allow a few test images of change
    assert abs(float(out.rsplit(": ", 1)[1]) - float(value)) <= 0.005


#: Columns of the results page's "Other image sets" table -> (results folder, labels).
OTHER_SETS = {
    "digits 50 labels": ("study_digits", 50),
    "digits 100 labels": ("study_digits", 100),
    "F-MNIST 14 x 14, 100 labels": ("study_fmnist14", 100),
    "F-MNIST colour, 100 labels": ("study_colour", 100),
}
OTHER_ROWS = {
    "SS-VAE + SVC (default Pipeline)": "SS-VAE + SVC",
    "VAE + SVC (M1)": "VAE + SVC",
    "SVC (pixels, CV-tuned)": "SVC (pixels)",
    "LogReg (pixels)": "LogReg (pixels)",
    "LabelSpreading (pixels)": "LabelSpreading (pixels)",
    "LabelSpreading (VAE codes)": "LabelSpreading (VAE codes)",
    "SelfTraining (pixels)": "SelfTraining (pixels)",
    "SS-VAE + SVC, transductive (test images seen unlabeled)": "SS-VAE + SVC, transductive",
}


def test_results_page_other_image_sets_match_their_json():
    page = (ROOT / "docs" / "results.md").read_text()
    text = page.split("\n## Other image sets\n", 1)[1].split("\n## ", 1)[0]
    rows = table_rows(text)
    assert rows.pop("method") == list(OTHER_SETS)
    expected = {}
    for row, method in OTHER_ROWS.items():
        expected[row] = []
        for folder, n in OTHER_SETS.values():
            results, command = committed_run(folder)
            # its command is on the page
            assert f"vaesvm study {command.split('vaesvm study ', 1)[1]}" in text
            expected[row].append(mean_std(accuracies_by_method(results["cells"])[method][n]))
    assert rows == expected


#: Columns of the results page's "Suggested labels" table -> (folder of the random row,
#: folder of the suggested row, labels). Fashion-MNIST's suggested row has its own run.
SUGGESTED_COLUMNS = {
    "F-MNIST 100": ("study", "study_suggested", 100),
    "F-MNIST 600": ("study", "study_suggested", 600),
    "F-MNIST 1000": ("study", "study_suggested", 1000),
    "F-MNIST 3000": ("study", "study_suggested", 3000),
    "digits 50": ("study_digits", "study_digits", 50),
    "digits 100": ("study_digits", "study_digits", 100),
    "F-MNIST 14 x 14, 100": ("study_fmnist14", "study_fmnist14", 100),
    "F-MNIST colour, 100": ("study_colour", "study_colour", 100),
}
SUGGESTED_ROWS = {"random class-balanced labels": ("SS-VAE + SVC", 0),
                  "labels suggested by vaesvm": ("SS-VAE + SVC, suggested labels", 1)}


def test_results_page_suggested_labels_match_their_json():
    page = (ROOT / "docs" / "results.md").read_text()
    text = page.split("\n## Suggested labels\n", 1)[1].split("\n## ", 1)[0]
    rows = table_rows(text.split("| labels |")[0])  # the accuracy table, before the counts
    assert rows.pop("method") == list(SUGGESTED_COLUMNS)
    expected = {}
    for row, (method, which) in SUGGESTED_ROWS.items():
        expected[row] = []
        for folders in SUGGESTED_COLUMNS.values():
            folder, n = folders[which], folders[2]
            results, command = committed_run(folder)
            assert command in page  # every run's command is on the page
            expected[row].append(mean_std(accuracies_by_method(results["cells"])[method][n]))
    assert rows == expected
    # the class counts of the picks: the Fashion-MNIST run's report table, included
    assert "results/study_suggested/results.md" in text


#: Rows of the results page's "Semi-supervised peers on Fashion-MNIST" table -> (folder,
#: method): the default's row is the label-count study's, the peers' their own run's.
PEER_ROWS = {
    "SS-VAE + SVC (default Pipeline)": ("study", "SS-VAE + SVC"),
    "LabelSpreading (pixels)": ("study_peers", "LabelSpreading (pixels)"),
    "LabelSpreading (VAE codes)": ("study_peers", "LabelSpreading (VAE codes)"),
    "SS-VAE + SVC, transductive (test images seen unlabeled)": (
        "study_transductive", "SS-VAE + SVC, transductive"),
}


def test_results_page_fashion_mnist_peers_match_their_json():
    page = (ROOT / "docs" / "results.md").read_text()
    text = page.split("\n## Semi-supervised peers on Fashion-MNIST\n", 1)[1].split("\n## ", 1)[0]
    rows = table_rows(text)
    assert rows.pop("method") == [f"{n} labels" for n in (100, 600, 1000, 3000)]
    expected = {}
    for row, (folder, method) in PEER_ROWS.items():
        results, command = committed_run(folder)
        assert command in page  # its command is there
        by_n = accuracies_by_method(results["cells"])[method]
        # a label count a run left out is "--"
        expected[row] = [mean_std(by_n[n]) if n in by_n else "--"
                         for n in (100, 600, 1000, 3000)]
    assert rows == expected
