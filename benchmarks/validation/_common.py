"""What the validation scripts share: the train images, the validation split, subsets.

Validation = the 10,000 train images of :func:`vaesvm.study.experiments.validation_split`
(the same images the ablation's validation columns use). Their labels only score a
choice; labeled subsets are drawn from the other 50,000 train images (the pool) with
:func:`vaesvm.make_semi_supervised_split`. A VAE may still see every train image
unlabeled. The official test set is never loaded by these scripts.

Where the files under ``docs/results/validation/`` come from:

- ``propagation.jsonl``: ``propagation_validation.py`` (see its docstring).
- ``labeled_rows.jsonl``: ``speed_levers.py`` as of commit df967de, which left the
  labeled rows added to each batch out of the reconstruction (not adopted, reverted
  in the next commit; the command is on the docs page "How the defaults were
  chosen").
- ``conv_block.jsonl``: ``speed_levers.py --settings "conv ReLU, no batch norm"``,
  ``"conv no batch norm"`` (not adopted) and ``"conv ReLU"`` (a candidate; the docs
  page "How the defaults were chosen"). Its first nine rows say ``"fused_adam":
  false``: that setting did not patch ``torch.optim.Adam`` then, but ``fit`` trains
  with the fused kernel wherever torch has it, so those fits used it as every other
  row did.
- ``activation.jsonl``: ``speed_levers.py --settings "ReLU everywhere"``
  (``activation="relu"`` for every hidden layer; not adopted, same page).
- ``encoder.jsonl``, ``label_weight.jsonl``, ``label_weight_per_epoch.txt``: the
  bare-PyTorch prototype ``scripts/prototype_ssvae.py``, deleted since (``git show
  45c88bf:scripts/prototype_ssvae.py``); each JSON line records the prototype's
  arguments under ``"args"``, and the commands are quoted in the user guide
  (``python scripts/prototype_ssvae.py --aug --clean-target [--arch conv] --labels N
  --alpha A --seeds S``).
"""

from __future__ import annotations

import json

import numpy as np

from vaesvm import load_fashion_mnist, make_semi_supervised_split
from vaesvm.study.experiments import validation_split


def load_train(data_home: str | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The 60,000 train images and labels, then the ``(pool, val)`` indices."""
    data = load_fashion_mnist(data_home)
    pool, val = validation_split(len(data.X_train))
    return data.X_train, data.y_train, pool, val


def labeled_subset(y: np.ndarray, pool: np.ndarray, n_labels: int, seed: int) -> np.ndarray:
    """Indices of ``n_labels`` class-balanced rows drawn from ``pool`` with ``seed``."""
    return pool[make_semi_supervised_split(y[pool], n_labels, random_state=seed)[0]]


def append_jsonl(path: str, row: dict) -> None:
    """Append ``row`` to the JSON-lines file ``path``."""
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")


def record(path, row: dict) -> None:
    """Append ``row`` to the JSON-lines file ``path`` and print it (a run's log)."""
    append_jsonl(str(path), row)
    print(json.dumps(row), flush=True)


def read_jsonl(path) -> list[dict]:
    """The rows of the JSON-lines file ``path``."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def print_cell(key: tuple, acc: np.ndarray) -> None:
    """Print one table cell: its ``key``, then the accuracies ``acc`` (%, one per labeled
    subset) as mean +- std and one by one."""
    print(*key, f"{acc.mean():.2f} +- {acc.std():.2f}", "/".join(f"{a:.2f}" for a in acc),
          sep=" | ")
