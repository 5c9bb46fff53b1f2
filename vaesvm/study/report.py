"""Results folders: ``results.json`` (every number), ``results.md`` (tables) and figures.

``ResultsWriter`` rewrites ``results.json`` atomically after every finished cell, so an
interrupted run leaves a consistent file holding every cell it finished; the final
``results.json`` and ``results.md`` are written once, when the run ends (after the
figures), with one wall time. The files follow the umask, like the figures.

A folder never mixes two runs: the files of an earlier run (:func:`earlier_run_files`)
that a writer is told to replace are removed when it writes its first result, and
left untouched by a run that ends before that.
"""

from __future__ import annotations

import json
import os
import pathlib
import time
import uuid
from collections import defaultdict
from typing import Any

import numpy as np

__all__ = ["RUN_FILES", "ResultsWriter", "accuracies_by_method", "study_table",
           "suggestion_table",
           "ablation_tables", "earlier_run_files", "mean_std", "render_markdown",
           "write_document"]

#: The files a study or ablation writes into its folder (glob patterns): the results
#: and every figure of :mod:`vaesvm.study.figures`.
RUN_FILES = ("results.json", "results.md", "elbo_curves*.png", "reconstructions*.png",
             "samples*.png", "embedding*.png", "confusion_*.png", "accuracy_vs_labels.png",
             "ablation_*.png")


def earlier_run_files(out) -> list[pathlib.Path]:
    """The files of :data:`RUN_FILES` already in folder ``out``, sorted (none if absent)."""
    out = pathlib.Path(out)
    if not out.is_dir():
        return []
    return sorted({p for pattern in RUN_FILES for p in out.glob(pattern) if p.is_file()})


def mean_std(values: list[float]) -> str:
    """``"mean +- std"`` of accuracies, in percent (population std over seeds).

    Parameters
    ----------
    values : list of float
        Accuracies in [0, 1].

    Returns
    -------
    str
        Just the number for a single value.

    Examples
    --------
    >>> mean_std([0.7, 0.8])
    '75.00 +- 5.00'
    >>> mean_std([0.7774])
    '77.74'
    """
    if len(values) == 1:
        return f"{100 * values[0]:.2f}"
    return f"{100 * np.mean(values):.2f} +- {100 * np.std(values):.2f}"


def _several_seeds(cells: list[dict[str, Any]]) -> bool:
    """Whether any setting of ``cells`` was run with more than one seed."""
    return len({c["seed"] for c in cells}) > 1


def accuracies_by_method(cells: list[dict[str, Any]]) -> dict[str, dict[int, list[float]]]:
    """Group study cells: ``{method: {n_labels: [accuracy per seed, ...]}}``.

    Parameters
    ----------
    cells : list of dict
        Study cells (``method``, ``n_labels``, ``accuracy``).

    Returns
    -------
    dict
        Methods and label counts in the order they first appear.
    """
    acc: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for c in cells:
        acc[c["method"]][c["n_labels"]].append(c["accuracy"])
    return acc


def study_table(cells: list[dict[str, Any]], reference: dict[int, float]) -> str:
    """Markdown table: methods x label counts, test accuracy mean +- std over seeds.

    With one seed, the accuracies themselves.

    Parameters
    ----------
    cells : list of dict
        Study cells (``method``, ``n_labels``, ``accuracy``).
    reference : dict of int to float
        Reference accuracies per label count (last row).

    Returns
    -------
    str
    """
    acc = accuracies_by_method(cells)
    ns = sorted({c["n_labels"] for c in cells})
    several = _several_seeds(cells)
    lines = ["| method | " + " | ".join(f"{n} labels" for n in ns) + " |",
             "|---|" + "---|" * len(ns)]
    for method, by_n in acc.items():
        row = [(f"{mean_std(by_n[n])} (n={len(by_n[n])})" if several else mean_std(by_n[n]))
               if by_n.get(n) else "-" for n in ns]
        lines.append(f"| {method} | " + " | ".join(row) + " |")
    if reference:  # the published study's numbers (Fashion-MNIST only)
        ref = [f"{100 * reference[n]:.2f}" if n in reference else "not given" for n in ns]
        lines.append("| reference study (VAE + RBF SVM) | " + " | ".join(ref) + " |")
    return "\n".join(lines)


#: The study's row of the package default, which the verdict compares with the others.
DEFAULT_ROW = "SS-VAE + SVC"


def peer_verdict(cells: list[dict[str, Any]]) -> str:
    """One line: is the default ahead of the best other method at every label count?

    The other methods are the baselines and peers, on the same random labeled subsets;
    the default's own variants (the rows named "SS-VAE ...": its latent means, its
    suggested labels) are not compared. "Ahead within the spread": the margin between
    the means is at most the larger of the two standard deviations over seeds.

    Parameters
    ----------
    cells : list of dict
        Study cells (``method``, ``n_labels``, ``accuracy``).

    Returns
    -------
    str
        The line, or "" when the run has no default row or no other row.
    """
    acc = accuracies_by_method(cells)
    others = {m: by_n for m, by_n in acc.items() if not m.startswith("SS-VAE")}
    if DEFAULT_ROW not in acc or not others:
        return ""
    behind, within = [], []
    for n, ours in sorted(acc[DEFAULT_ROW].items()):
        best = max((m for m in others if others[m].get(n)),
                   key=lambda m: np.mean(others[m][n]), default=None)
        if best is None:
            continue
        theirs = others[best][n]
        margin = 100 * (np.mean(ours) - np.mean(theirs))
        words = (f"{n} labels: {best} {100 * np.mean(theirs):.2f} against "
                 f"{100 * np.mean(ours):.2f}")
        if margin < 0:
            behind.append(words)
        elif margin <= 100 * max(np.std(ours), np.std(theirs)):
            within.append(words)
    if behind:
        line = (f"**Another method is ahead of the default ({DEFAULT_ROW})** at "
                + "; ".join(behind) + ".")
    else:
        line = f"The default ({DEFAULT_ROW}) is ahead of every other method at every label count."
    if within:
        line += " Ahead only within the seeds' spread at " + "; ".join(within) + "."
    return line


def suggestion_table(cells: list[dict[str, Any]]) -> str:
    """Markdown table of the suggested labels: class balance and cost, per label count.

    Parameters
    ----------
    cells : list of dict
        Study cells; those with a ``suggestion`` (class counts of the images
        ``suggest_labels`` picked, its seconds, and its VAE's fit seconds) are used.

    Returns
    -------
    str
        Empty when no cell has a suggestion.
    """
    rows = [c for c in cells if "suggestion" in c]
    if not rows:
        return ""
    lines = ["| labels | images per class, fewest - most (each seed) | classes missed "
             "| choice s (mean) | its VAE's fit s (mean) |", "|---|---|---|---|---|"]
    for n in sorted({c["n_labels"] for c in rows}):
        cs = [c for c in rows if c["n_labels"] == n]
        counts = [c["suggestion"]["class_counts"] for c in cs]
        spread = ", ".join(f"{min(k)} - {max(k)}" for k in counts)
        missed = ", ".join(str(sum(1 for v in k if v == 0)) for k in counts)
        choice = np.mean([c["suggestion"]["seconds"] for c in cs])
        vae = np.mean([c["suggestion"]["vae_seconds"] for c in cs])
        lines.append(f"| {n} | {spread} | {missed} | {choice:.1f} | {vae:.0f} |")
    return "\n".join(lines)


def ablation_tables(cells: list[dict[str, Any]]) -> str:
    """One Markdown table per factor: test and validation accuracy, test ELBO, time.

    Parameters
    ----------
    cells : list of dict
        Ablation cells.

    Returns
    -------
    str
    """
    out = []
    for factor in dict.fromkeys(c["factor"] for c in cells):
        rows = [c for c in cells if c["factor"] == factor]
        ns = list(rows[0]["accuracy"])
        out += [f"## {factor}", "",
                f"| {factor} | " + " | ".join(f"test acc. {n} labels (%)" for n in ns)
                + " | " + " | ".join(f"val. acc. {n} (%)" for n in ns)
                + " | test ELBO (nats) | VAE train s |",
                "|---|" + "---|" * (2 * len(ns) + 2)]
        for value in dict.fromkeys(c["value"] for c in rows):
            cs = [c for c in rows if c["value"] == value]
            accs = [mean_std([c["accuracy"][n] for c in cs]) for n in ns]
            vals = [mean_std([c["val_accuracy"][n] for c in cs]) for n in ns]
            elbo = np.mean([c["test_elbo"] for c in cs])
            secs = np.mean([c["vae_train_seconds"] for c in cs])
            out.append(f"| {value} | " + " | ".join(accs + vals)
                       + f" | {elbo:.1f} | {secs:.0f} |")
        out.append("")
    return "\n".join(out)


class ResultsWriter:
    """Collect cells, keep ``results.json`` up to date, write both files at the end.

    Parameters
    ----------
    out : path-like
        Output folder; created if needed. Raises ``OSError`` at once when it cannot
        be created or is not writable, before any computation (and removes the
        folders it created). Nothing is written into it before the first cell.
    kind : {"study", "ablation"}
        What the cells are.
    meta : dict
        Settings, versions and the command line, stored under their own keys.
    reference : dict, optional
        Reference accuracies per label count, for the study table.
    replace : list of path, optional
        Files of an earlier run in ``out`` (:func:`earlier_run_files`), removed when
        the first result is written; a run that ends before that leaves them as
        they were.
    """

    def __init__(self, out, kind: str, meta: dict[str, Any],
                 reference: dict[int, float] | None = None,
                 replace: list[pathlib.Path] | None = None) -> None:
        self.out = pathlib.Path(out)
        self._replace = [p for p in replace or [] if p.name != "results.json"]
        self._created = _missing_folders(self.out)  # deepest first
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            probe = self.out / f".write-test-{uuid.uuid4().hex}"
            probe.write_text("ok")  # fail now, not after an hour of training
            probe.unlink()
        except OSError:
            self.discard()
            raise
        self.kind = kind
        self.meta = meta
        self.reference = reference or {}
        self.cells: list[dict[str, Any]] = []
        self.vaes: list[dict[str, Any]] = []
        self.start = time.time()
        self.finished = False
        self.wall_seconds: float | None = None  # set when the run ends

    def add(self, cell: dict[str, Any]) -> None:
        """Record one finished cell and rewrite ``results.json``."""
        self.cells.append(cell)
        self._write_json()

    def add_vae(self, info: dict[str, Any]) -> None:
        """Record a trained VAE's history and timing (written with the next cell)."""
        self.vaes.append(info)

    def finish(self, complete: bool) -> None:
        """End the run: fix its wall time, write ``results.json`` and ``results.md``."""
        self.finished = complete
        self.wall_seconds = time.time() - self.start
        self._write_json()
        self._atomic_write("results.md", self.markdown())

    def discard(self) -> None:
        """Remove the folders this writer created, where they are still empty."""
        for folder in self._created:
            try:
                folder.rmdir()
            except OSError:
                break

    def _elapsed(self) -> float:
        return time.time() - self.start if self.wall_seconds is None else self.wall_seconds

    def _atomic_write(self, name: str, text: str) -> None:
        _atomic_write(self.out / name, text)

    def _document(self) -> dict[str, Any]:
        return {"kind": self.kind, "finished": self.finished, "wall_seconds": self._elapsed(),
                **self.meta, "reference": {str(k): v for k, v in self.reference.items()},
                "vaes": self.vaes, "cells": self.cells}

    def _write_json(self) -> None:
        for path in self._replace:  # the earlier run's files, before the first result
            path.unlink(missing_ok=True)
        self._replace = []
        write_document(self.out, self._document())

    def markdown(self) -> str:
        """The Markdown report of the cells so far."""
        return render_markdown(self._document())


def render_markdown(doc: dict[str, Any]) -> str:
    """The Markdown report of a ``results.json`` document.

    Parameters
    ----------
    doc : dict
        The document: ``kind``, ``finished``, ``wall_seconds``, ``command``,
        ``versions``, ``note``, ``dataset``, ``reference`` and ``cells``.

    Returns
    -------
    str
    """
    cells = doc["cells"]
    status = "complete" if doc["finished"] else "INCOMPLETE (interrupted or failed)"
    head = [f"# vaesvm {doc['kind']} results", "",
            f"Command: `{doc.get('command', '')}`  ",
            f"Status: {status}; wall time {doc['wall_seconds']:.0f} s; "
            f"vaesvm {doc.get('versions', {}).get('vaesvm', '?')}", ""]
    verdict = peer_verdict(cells) if doc["kind"] == "study" else ""
    if verdict:
        head += [verdict, ""]
    if doc.get("note"):
        head += [doc["note"], ""]
    if not cells:
        return "\n".join(head + ["No finished cells yet."])
    seeds = ("mean +- std over seeds (n = number of seeds)"
             if _several_seeds(cells) else "one seed")
    if doc["kind"] == "study":
        dataset = doc.get("dataset", "fashion-mnist")
        where = ("the official 10,000-image test set" if dataset == "fashion-mnist"
                 else f"the {dataset} test set")
        reference = {int(k): v for k, v in doc.get("reference", {}).items()}
        body = [f"Test accuracy (%) on {where}, {seeds}.", "", study_table(cells, reference)]
        suggested = suggestion_table(cells)
        if suggested:
            body += ["", "## Suggested labels", "",
                     "What vaesvm.suggest_labels picked (true classes of the picked images) "
                     "and what picking cost on top of training its VAE.", "", suggested]
    else:
        body = ["VAE + SVC accuracy (%) on the official test set and on 10,000 held-out "
                "train images (validation; the labeled subsets are drawn from the "
                f"other train images), {seeds}, mean test ELBO and VAE training time; one "
                "factor varied at a time, the others at their defaults. Choose settings "
                "by the validation columns.", "", ablation_tables(cells)]
    return "\n".join(head + body) + "\n"


def write_document(out, doc: dict[str, Any], *, markdown: bool = False) -> None:
    """Write ``doc`` as ``out/results.json`` (and ``results.md`` too with ``markdown``)."""
    out = pathlib.Path(out)
    _atomic_write(out / "results.json", json.dumps(doc, indent=1, default=_jsonable))
    if markdown:
        _atomic_write(out / "results.md", render_markdown(doc))


def _atomic_write(path: pathlib.Path, text: str) -> None:
    """Replace ``path`` by ``text`` in one step: readers see the old file or the new one."""
    # open() creates the file with the umask's mode (0644 usually), as the figures
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _missing_folders(path: pathlib.Path) -> list[pathlib.Path]:
    """``path`` and its ancestors that do not exist yet, deepest first."""
    missing = []
    path = path.absolute()
    while not os.path.lexists(path) and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (tuple, set)):
        return list(obj)
    return str(obj)
