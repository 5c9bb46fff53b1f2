"""Validation of the accuracy levers of issue 30 (ahead of every peer on every image set).

    python benchmarks/validation/levers.py --sets digits --labels 50 100 --seeds 5 \
        --settings "30 epochs" "60 epochs" "100 epochs" "200 epochs" "300 epochs" \
        "batch 64" "batch 64, 100 epochs" "10 components" "no propagation"
    python benchmarks/validation/levers.py --sets digits --labels 50 100 --seeds 5 \
        --settings "30 epochs" "100 epochs" --propagations "alpha 0.97" \
        "alpha 0.97, 30 steps" "alpha 0.99, 50 steps" "5 neighbours" "20 neighbours" --tta
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 1000 \
        --seeds 3 --settings "30 epochs" --propagations "alpha 0.97" "alpha 0.97, 30 steps" \
        "alpha 0.99, 50 steps" "5 neighbours" "20 neighbours" --tta
    python benchmarks/validation/levers.py --sets fashion-mnist-2000 --labels 100 500 \
        --seeds 3 --settings "30 epochs" "500 steps" "1000 steps" "100 epochs"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 \
        --seeds 3 --settings "ensemble of 3" "consistency 0.7 x1" "consistency 0.7 x10"
    python benchmarks/validation/levers.py --sets digits --labels 50 100 --seeds 5 \
        --settings "ensemble of 3"
    python benchmarks/validation/levers.py --sets digits --labels 50 100 --seeds 5
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 \
        --seeds 3 --settings "40 epochs" "60 epochs"
    python benchmarks/validation/levers.py --sets digits --labels 50 100 --seeds 5 \
        --augmented-labels
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 1000 \
        --seeds 3 --augmented-labels
    python benchmarks/validation/levers.py --sets digits --labels 50 100 --seeds 5 \
        --pixel-graph
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 1000 \
        --seeds 3 --pixel-graph
    python benchmarks/validation/levers.py --sets fashion-mnist-14 \
        fashion-mnist-colour-undeclared --labels 100 --seeds 3 --pixel-graph
    python benchmarks/validation/levers.py --head-confidence
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "KL weight 0.5" "KL weight 2" "20 components" "100 components"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "KL weight 0.25" "KL weight 0.1"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 1000 --seeds 3 \
        --settings "KL weight 0.5" "KL weight 0.25" "KL weight 0.1"
    python benchmarks/validation/levers.py --sets digits --labels 50 100 --seeds 5 \
        --settings "KL weight 0.5" "KL weight 0.25" "KL weight 0.1"
    python benchmarks/validation/levers.py --sets fashion-mnist-14 \
        fashion-mnist-colour-undeclared --labels 100 --seeds 3 \
        --settings "KL weight 0.25" "KL weight 0.1"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 3000 --seeds 3 \
        --settings "default" "KL weight 0.25"
    python benchmarks/validation/levers.py --sets digits --labels 50 100 --seeds 5 \
        --settings "KL weight 0.25" "KL weight 0.1" --pixel-graph \
        --propagations "alpha 0.97" "5 neighbours"
    python benchmarks/validation/levers.py --sets digits --labels 50 100 --seeds 5 \
        --settings "KL 0.25, 50 epochs" "KL 0.25, 200 epochs" "KL 0.25, 20 components"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "KL 0.25, label weight 1" "KL 0.25, label weight 2" \
        "KL 0.25, label weight 4" "KL 0.25, alpha 0.97"
    python benchmarks/validation/levers.py --sets fashion-mnist-14 \
        fashion-mnist-colour-undeclared --labels 100 --seeds 3 \
        --settings "KL 0.25, label weight 2" "KL 0.25, label weight 4"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "KL 0.25, 60 epochs" "KL 0.25, 100 components"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "self-training x10"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "KL 0.25, labeled batch 32" "KL 0.25, labeled batch 128"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "KL 0.25, no KL warm-up" "KL 0.25, learning rate 0.002"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "KL 0.25, KL warm-up 5" "KL 0.25, KL warm-up 20"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "KL 0.25, KL warm-up 30" "KL 0.25, label weight 2, KL warm-up 20"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "KL 0.25, hidden 600" "KL 0.25, hidden 600-600-600"
    python benchmarks/validation/levers.py --sets digits --labels 50 100 --seeds 5 \
        --settings "self-training x5" "self-training x10"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "conv decoder" "conv decoder, lean" "encoder 16-32-32" "encoder 32-64"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "mixture prior"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "labeled mixup" "label smoothing 0.1"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "continuous Bernoulli"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "KL weight 0.25" --propagations "5 neighbours" "20 neighbours" "alpha 0.97"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "KL weight 0.25" --head-logits
    python benchmarks/validation/levers.py --sets digits --labels 50 --seeds 5 \
        --settings "KL weight 0.25" --head-logits
    python benchmarks/validation/levers.py --sets fashion-mnist-14 \
        fashion-mnist-colour-undeclared fashion-mnist-20000 --labels 100 --seeds 5 --first-seed 3 \
        --settings "KL weight 0.25" "KL 0.25, label weight 2"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "shift 3/28" "rotation 10, scale 0.1" "cutout 0.3" "shift 4/28"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "shift 1/28"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "cosine learning rate" "cosine learning rate, peak 0.002"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "head on sampled codes" "head dropout 0.5"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "KL weight 0.25" --propagations "codes graph" "cosine graph" \
        "standardized graph" "self-tuning weights"
    python benchmarks/validation/levers.py --sets digits --labels 50 100 --seeds 5 \
        --settings "KL weight 0.25" --propagations "codes graph" "cosine graph" \
        "standardized graph" "self-tuning weights"
    python benchmarks/validation/levers.py --sets fashion-mnist-14 \
        fashion-mnist-colour-undeclared --labels 100 --seeds 3 \
        --settings "KL weight 0.25" --propagations "codes graph" \
        "cosine graph" "standardized graph" "self-tuning weights"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "KL weight 0.25" --propagations "alpha 0.97 for labeled rows" \
        "alpha 0.5 for labeled rows" "alpha 0.97 for other rows"
    python benchmarks/validation/levers.py --sets digits --labels 50 100 --seeds 5 \
        --settings "KL weight 0.25" --propagations "alpha 0.97 for labeled rows" \
        "alpha 0.5 for labeled rows" "alpha 0.97 for other rows"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "KL 0.25, batch 128" "KL 0.25, batch 128, labeled batch 32"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "KL 0.25, no denoising"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "pixel dropout 0.2" "Gaussian noise 0.1"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "invariant codes x10" "invariant codes x100"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "KL weight 0.25" --features
    python benchmarks/validation/levers.py --sets digits --labels 50 100 --seeds 5 \
        --settings "KL weight 0.25" --features
    python benchmarks/validation/levers.py --sets fashion-mnist-14 \
        fashion-mnist-colour-undeclared --labels 100 --seeds 3 \
        --settings "KL weight 0.25" --features
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "KL 0.25, label weight 2, 60 epochs"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "weight decay 0.1" "weight decay 1"
    python benchmarks/validation/levers.py --sets fashion-mnist-colour --labels 100 --seeds 3 \
        --settings "KL weight 0.25" "KL weight 0.1" --propagations "codes graph" \
        "cosine graph" "self-tuning weights"
    python benchmarks/validation/levers.py --sets fashion-mnist-colour --labels 100 --seeds 3 \
        --settings "default" "KL 0.25, label weight 2"
    python benchmarks/validation/levers.py --sets fashion-mnist-colour --labels 100 --seeds 3 \
        --settings "KL weight 0.25" --features
    python benchmarks/validation/levers.py --sets digits-tinted --labels 50 100 --seeds 5 \
        --settings "KL weight 0.25" "default" --propagations "codes graph" "cosine graph"
    python benchmarks/validation/levers.py --sets fashion-mnist-14-tinted --labels 100 \
        --seeds 3 --settings "KL weight 0.25" "default" --propagations "codes graph" \
        "cosine graph"
    python benchmarks/validation/levers.py --sets fashion-mnist-colour --labels 100 --seeds 3 \
        --settings "default" --propagations "codes graph" "cosine graph"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "KL 0.25, ELU" "encoder kernels 5-5"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "KL 0.25, float32"
    python benchmarks/validation/levers.py --sets digits --labels 50 100 --seeds 5 \
        --settings "KL weight 0.25" --graph-heads
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 1000 \
        --seeds 3 --settings "KL weight 0.25" --graph-heads
    python benchmarks/validation/levers.py --sets fashion-mnist-14 fashion-mnist-colour \
        --labels 100 --seeds 3 --settings "KL weight 0.25" --graph-heads
    python benchmarks/validation/levers.py --sets fashion-mnist-60000 --labels 100 \
        --seeds 3 --settings "KL weight 0.25" --graph-heads
    python benchmarks/validation/levers.py --sets digits --labels 50 100 --seeds 5 \
        --settings "KL weight 0.25" --spectral --aligned
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 1000 \
        --seeds 3 --settings "KL weight 0.25" --spectral --aligned
    python benchmarks/validation/levers.py --sets fashion-mnist-14 fashion-mnist-colour \
        --labels 100 --seeds 3 --settings "KL weight 0.25" --spectral --aligned
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "entropy 0.1" "entropy 1"
    python benchmarks/validation/levers.py --sets digits --labels 50 100 --seeds 5 \
        --settings "entropy 0.1" "entropy 1"
    python benchmarks/validation/levers.py --sets digits --labels 50 100 --seeds 5 \
        --settings "KL weight 0.25" --propagations "alphas 0.5, 0.9 joined" \
        "alphas 0.9, 0.99 joined" "alphas 0.5, 0.9, 0.99 joined"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 600 1000 3000 \
        --seeds 3 --settings "KL weight 0.25" --propagations "alphas 0.5, 0.9 joined" \
        "alphas 0.9, 0.99 joined" "alphas 0.5, 0.9, 0.99 joined"
    python benchmarks/validation/levers.py --sets fashion-mnist-14 fashion-mnist-colour \
        --labels 100 --seeds 3 --settings "KL weight 0.25" --propagations \
        "alphas 0.5, 0.9 joined" "alphas 0.9, 0.99 joined" "alphas 0.5, 0.9, 0.99 joined"
    python benchmarks/validation/levers.py --sets fashion-mnist-60000 --labels 1000 100 \
        --seeds 3 --settings "KL weight 0.25" --propagations "alphas 0.5, 0.9 joined" \
        "alphas 0.9, 0.99 joined" "alphas 0.5, 0.9, 0.99 joined"
    python benchmarks/validation/levers.py --sets digits --labels 50 100 --seeds 5 \
        --settings "neighbour labels" "neighbour labels, 5 sampled"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 --seeds 3 \
        --settings "neighbour labels" "neighbour labels, 5 sampled"
    python benchmarks/validation/levers.py --sets digits --labels 50 100 --seeds 5 \
        --settings "KL weight 0.25" --propagations "refined graph"
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 1000 \
        --seeds 3 --settings "KL weight 0.25" --propagations "refined graph"
    python benchmarks/validation/levers.py --sets digits --labels 50 100 --seeds 5 \
        --settings "KL weight 0.25" --cluster-kernel
    python benchmarks/validation/levers.py --sets fashion-mnist-20000 --labels 100 1000 \
        --seeds 3 --settings "KL weight 0.25" --cluster-kernel
    python benchmarks/validation/levers.py --summary

For each set, label count, labeled subset and VAE setting, one ``VAETransformer``
is fitted as the study's pipeline fits it (the labeled subset with its labels, every
other train image unlabeled, the validation images included, unlabeled), and several
heads are scored on the codes of the validation images:

- ``SVC``: ``SVC()`` on the labeled codes, the default pipeline;
- ``SVC, scaled``: ``StandardScaler`` then ``SVC()`` (what the SVC sees);
- ``SVC, gamma x0.5`` / ``x2``, ``SVC, C 10``: the RBF width halved or doubled from
  ``gamma="scale"``, or C 10 instead of 1;
- ``LabelSpreading``: scikit-learn's ``LabelSpreading(kernel="knn")`` on the codes
  of the pool (the train images outside the validation split, unlabeled ones
  marked -1), at the study's settings for the set's size, predicting the
  validation codes (label information carried through the code graph);
- ``SVC on spread labels``: ``SVC()`` trained on the pool's codes with the labels
  LabelSpreading gives them (the labeled images keep theirs);
- ``SVC on codes + spread``: ``SVC()`` on the labeled codes joined with
  LabelSpreading's class probabilities (scaled to the codes' total variance);
- with ``--pixel-graph``, the setting's latent means propagated over the k-NN graph
  of the pixels instead of the codes', or over half of each (:func:`graph_scores`),
  every head again, and two measures of either space from the training data alone:
  the leave-one-out 1-NN hit rate of the labeled images and cross-validated label
  spreading over its graph (:func:`cv_spread`);
- with ``--augmented-labels``, ``SVC, shifted labels`` / ``SVC, moved labels``:
  ``SVC()`` trained on the labeled codes and the codes of moved copies of the
  labeled images (:func:`augmented_label_scores`).
- with ``--features``, every head on what the encoder computes before the latent
  means (its last hidden layer, its convolutions' output, or the hidden layer
  joined to the latent means), propagated over the code graph, and the latent means
  propagated over the hidden layer's graph (:func:`feature_codes`).
- with ``--graph-heads``, heads that carry the labels over the k-NN graph of the
  pool's codes: ``Poisson`` (Poisson learning, :func:`poisson_scores`), ``SVC,
  smoothed`` (the SVC's scores smoothed over the graph, :func:`smoothed_svc_scores`)
  and ``SVC + Poisson`` (the two heads' scores, each row standardized, summed).
- with ``--spectral``, every head on the Laplacian eigenmaps of the code graph (its
  10 or 20 leading eigenvectors), alone or joined to the codes (:func:`spectral_codes`).
- with ``--aligned``, ``SVC, pool-balanced`` / ``SVC, Sinkhorn-aligned``: ``SVC()``
  with class offsets that make its predictions on the unlabeled pool as balanced as
  the labeled subset (:func:`aligned_head_scores`).
- with ``--cluster-kernel``, ``SVC, bagged cluster kernel K`` (K clusters) and ``SVC,
  precomputed RBF`` (a check: ``SVC()`` again): an SVC on the bagged cluster kernel
  (:func:`cluster_kernel_scores`).

Besides each setting's own codes (``vae.transform``), ``--propagations`` scores
codes propagated otherwise over the same training codes (weight, neighbours,
steps: :data:`PROPAGATIONS`; the graph's metric or edge weights: :data:`GRAPHS`;
a weight of their own for the labeled rows: :data:`SPLIT_ALPHAS`; several weights
joined: :data:`MULTISCALE`; with ``"cosine
graph"`` each row also records :func:`cosine_measures`), and ``--tta``
the codes averaged over each image and its four 1-pixel shifts (test-time
augmentation, every image alike).

Three settings change training itself: ``"ensemble of K"`` joins the codes of K
default VAEs (``random_state`` seed, seed + 100, ...) side by side,
``"consistency T xF"`` adds a FixMatch-style term on the classifier head
(:data:`CONSISTENCY`; only where the images are augmented, so not on the digits),
and ``"self-training xF"`` fits a second VAE with pseudo-labels from the first
(:data:`SELF_TRAINING`). Others change the model or its loss (:data:`ARCHITECTURES`,
each at ``kl_weight=0.25``): other encoder convolutions, a convolutional decoder, a
prior with one Gaussian per class, mixup or label smoothing in the labeled term, weight
averaging, the continuous Bernoulli likelihood, a cosine learning-rate schedule, and
other augmentations of the training images (larger or smaller shifts, rotation and
scaling, cutout, pixel noise), codes made invariant to the augmentation, a noisy
classifier head, weight decay, entropy minimization on the head.

(Every ``"default"`` row was trained with ``kl_weight=1.0``, the default of those
runs, and ``"default"`` pins it; ``"KL weight W"`` sets ``kl_weight=W``, and
``"KL weight 0.25"`` is today's default with labels. The other settings of those runs
(epochs, batch, components, propagation off) pin ``kl_weight=1.0`` as well, so that
their commands still reproduce their rows; the settings named ``"KL 0.25, ..."``
(:data:`LIGHTER_KL`) start from the rule's weight with labels. ``"30 epochs"`` is the default
before ``max_epochs="auto"``; the runs above
predate the rule and were logged as ``"default"``, renamed since. On 20,000 images
``"auto"`` is 30 epochs too.)

Sets: scikit-learn's 8 x 8 ``digits`` (conv, no augmentation), the study's other
image sets by name (``fashion-mnist-14``, ``fashion-mnist-colour``: 12,000 images; each
given the image shape the study declares, see :func:`load_set`; the colour rows of
the runs above were fitted without it, on the MLP encoder, and are recorded as
``fashion-mnist-colour-undeclared``, the name that reproduces them) and
``fashion-mnist-<rows>``, the first rows of Fashion-MNIST's train images (augmented
from 20,000 rows on, as at 60,000). Labeled subsets come from the pool
(:func:`vaesvm.study.experiments.validation_split`); the test sets are never
loaded. One JSON line per set, label count, subset, setting and head in
``docs/results/validation/levers.jsonl``, with the seconds of the VAE fit.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import skorch.callbacks
import torch
from _common import print_cell, read_jsonl, record
from scipy.sparse.linalg import eigsh
from sklearn.cluster import KMeans
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from speed_levers import load

import vaesvm._augment
import vaesvm._net
import vaesvm._options
from vaesvm import VAETransformer, make_semi_supervised_split
from vaesvm._propagation import (EmbeddingPropagation, nearest_neighbors, propagate,
                                 search_space, smooth)
from vaesvm.study.experiments import label_spreading, validation_split
from vaesvm.study.image_sets import IMAGE_SETS, _tinted, load_image_set

OUT = Path(__file__).resolve().parents[2] / "docs" / "results" / "validation" / "levers.jsonl"

def _epochs_for_steps(steps: int):
    """Setting: 30 epochs, or as many more as ``steps`` optimizer steps need (batches of 256)."""
    return lambda n_rows: {"max_epochs": max(30, math.ceil(steps / math.ceil(n_rows / 256)))}


#: name -> VAETransformer parameters, or a function of the number of training rows
#: that returns them.
SETTINGS: dict[str, dict | Callable[[int], dict]] = {
    "default": {"kl_weight": 1.0},  # the library's default before kl_weight="auto"
    "30 epochs": {"max_epochs": 30},  # the default before max_epochs="auto"
    "500 steps": _epochs_for_steps(500),
    "1000 steps": _epochs_for_steps(1000),
    "40 epochs": {"max_epochs": 40},
    "60 epochs": {"max_epochs": 60},
    "100 epochs": {"max_epochs": 100},
    "200 epochs": {"max_epochs": 200},
    "300 epochs": {"max_epochs": 300},
    "batch 64": {"batch_size": 64},
    "batch 64, 100 epochs": {"batch_size": 64, "max_epochs": 100},
    "10 components": {"n_components": 10},
    "20 components": {"n_components": 20},
    "100 components": {"n_components": 100},
    "KL weight 0.1": {"kl_weight": 0.1},
    "KL weight 0.25": {"kl_weight": 0.25},
    "KL weight 0.5": {"kl_weight": 0.5},
    "KL weight 2": {"kl_weight": 2.0},
    "no propagation": {"propagation_alpha": 0.0},
}
# Every setting above was measured when the KL weight was 1 (before kl_weight="auto");
# it keeps that weight, so that its command reproduces its rows. The settings below
# start from the rule's weight with labels, 0.25.
for _name, _params in list(SETTINGS.items()):
    if _name != "default" and not _name.startswith("KL weight"):
        SETTINGS[_name] = ((lambda p: lambda n_rows: {"kl_weight": 1.0, **p(n_rows)})(_params)
                           if callable(_params) else {"kl_weight": 1.0, **_params})
#: The rule's weight with labels, 0.25, and one more change each.
LIGHTER_KL: dict[str, dict] = {
    "50 epochs": {"max_epochs": 50},
    "200 epochs": {"max_epochs": 200},
    "60 epochs": {"max_epochs": 60},
    "20 components": {"n_components": 20},
    "100 components": {"n_components": 100},
    "labeled batch 32": {"labeled_batch_size": 32},
    "labeled batch 128": {"labeled_batch_size": 128},
    "no KL warm-up": {"kl_warmup_epochs": 0},
    "KL warm-up 5": {"kl_warmup_epochs": 5},
    "KL warm-up 20": {"kl_warmup_epochs": 20},
    "KL warm-up 30": {"kl_warmup_epochs": 30},
    "label weight 2, KL warm-up 20": {"label_weight": 2.0, "kl_warmup_epochs": 20},
    "label weight 2, 60 epochs": {"label_weight": 2.0, "max_epochs": 60},
    "hidden 600": {"hidden_layer_sizes": (600,)},
    "hidden 600-600-600": {"hidden_layer_sizes": (600, 600, 600)},
    "learning rate 0.002": {"learning_rate": 0.002},
    "no denoising": {"denoising": False},
    "batch 128": {"batch_size": 128},
    "batch 128, labeled batch 32": {"batch_size": 128, "labeled_batch_size": 32},
    "alpha 0.97": {"propagation_alpha": 0.97},
    "label weight 1": {"label_weight": 1.0},
    "label weight 2": {"label_weight": 2.0},
    "label weight 4": {"label_weight": 4.0},
    "MLP encoder": {"encoder": "mlp"},
    "ELU": {"activation": "elu"},
    "float32": {"precision": "float32"},  # the arithmetic before bfloat16 autocast
}
SETTINGS.update({f"KL 0.25, {name}": {"kl_weight": 0.25, **params}
                 for name, params in LIGHTER_KL.items()})


class ConvDecoderVAE(vaesvm._model.VAE):
    """The library's VAE with the encoder's convolutions mirrored in the decoder.

    ``z -> dense widths reversed -> channels x (side / 4)^2 -> 3x3 stride-2 transposed
    convolutions back through the encoder's channels to the image``, each but the last
    followed by batch normalization and the activation; the last gives the logits.
    """

    lean = False  # True: no dense hidden layer, z -> channels x (side / 4)^2 directly

    def _build(self, n_features, n_components, hidden_layer_sizes, activation, batch_norm,
               likelihood, n_classes, encoder, image_shape) -> None:
        super()._build(n_features, n_components, hidden_layer_sizes, activation, batch_norm,
                       likelihood, n_classes, encoder, image_shape)
        if encoder != "conv":
            return
        channels = vaesvm._model.CONV_CHANNELS
        c_in, h, w = (1, *image_shape) if len(image_shape) == 2 else image_shape
        sides = [(h, w)]
        for _ in channels:
            sides.append(((sides[-1][0] + 1) // 2, (sides[-1][1] + 1) // 2))
        act = vaesvm._model.ACTIVATIONS[activation]
        dense = [] if self.lean else [int(s) for s in reversed(hidden_layer_sizes[1:])]
        sizes = [n_components, *dense, channels[-1] * sides[-1][0] * sides[-1][1]]
        layers = [*vaesvm._model.make_mlp(sizes, activation, batch_norm),
                  torch.nn.Unflatten(1, (channels[-1], *sides[-1]))]
        outs = [*reversed(channels[:-1]), c_in]
        for i, (c_out, (th, tw)) in enumerate(zip(outs, reversed(sides[:-1]))):
            ih, iw = sides[len(channels) - i]
            conv = torch.nn.ConvTranspose2d(
                channels[len(channels) - 1 - i], c_out, 3, stride=2, padding=1,
                output_padding=(th - (2 * ih - 1), tw - (2 * iw - 1)))
            if i == len(outs) - 1:
                self.output = torch.nn.Sequential(conv, torch.nn.Flatten())
            else:
                layers += [conv, torch.nn.BatchNorm2d(c_out) if batch_norm else
                           torch.nn.Identity(), act()]
        self.decoder = torch.nn.Sequential(*layers)

    @torch.no_grad()
    def reset_parameters(self, generator=None) -> None:
        super().reset_parameters(generator)
        for m in self.modules():  # PyTorch's default init, as for Conv2d
            if isinstance(m, torch.nn.ConvTranspose2d):
                torch.nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
                fan_in, _ = torch.nn.init._calculate_fan_in_and_fan_out(m.weight)
                torch.nn.init.uniform_(m.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in),
                                       generator=generator)


class LeanConvDecoderVAE(ConvDecoderVAE):
    """:class:`ConvDecoderVAE` without the dense hidden layer."""

    lean = True


class ContinuousBernoulliVAE(vaesvm._model.VAE):
    """The library's VAE with the continuous Bernoulli likelihood (Loaiza-Ganem &
    Cunningham, 2019): the Bernoulli's density normalized on [0, 1], so grey levels are
    data rather than probabilities; ``-log p = BCE(logits, x) - log C``, where in the
    logit ``t`` the normalizer is ``C = t / tanh(t / 2)`` (2 at ``t = 0``)."""

    def reconstruction_nll(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        bce = torch.nn.functional.binary_cross_entropy_with_logits(out, x, reduction="none")
        t = out.float()
        small = t.abs() < 1e-3
        safe = torch.where(small, torch.ones_like(t), t)
        log_c = torch.where(small, math.log(2.0) + t.pow(2) / 12,
                            torch.log(safe / torch.tanh(safe / 2)))
        return (bce - log_c).sum(dim=1)


class MixturePriorVAE(vaesvm._model.VAE):
    """The library's VAE with one learned prior mean per class, N(m_c, I) (all 0 at first)."""

    def _build(self, *args) -> None:
        super()._build(*args)
        self.class_means = torch.nn.Parameter(torch.zeros(self.n_classes, self.n_components))

    @torch.no_grad()
    def reset_parameters(self, generator=None) -> None:
        super().reset_parameters(generator)
        self.class_means.zero_()


class MixturePriorNet(vaesvm._net.VAENet):
    """The KL term against a mixture prior, one Gaussian per class (a Gaussian-mixture VAE).

    A labeled row's KL term is KL(q(z | x) || N(m_y, I)); an unlabeled row's is the bound
    sum_c q(c | x) KL(q(z | x) || N(m_c, I)) + KL(q(c | x) || uniform), with q(c | x) the
    classifier head's softmax on the latent mean; both weighted by ``kl_weight``.
    """

    def loss_terms(self, y_pred, y_true, X):
        reconstruction, kl, _ = super().loss_terms(y_pred, None, X)  # the head's term below
        if y_true is None or self.module_.n_classes == 0:
            return reconstruction, kl, None
        mu = y_pred[1].float()
        m = self.module_.class_means
        logits = self.module_.classify(y_pred[1]).float()
        # KL(q || N(m_c, I)) = KL(q || N(0, I)) + |m_c|^2 / 2 - mu . m_c, for every c
        shift = 0.5 * m.pow(2).sum(1) - mu @ m.T
        labeled = y_true != -1
        q = torch.softmax(logits, 1)
        log_q = torch.log_softmax(logits, 1)
        unlabeled_extra = (q * (shift + log_q + math.log(m.shape[0]))).sum(1)
        labeled_extra = shift.gather(1, y_true.clamp(min=0)[:, None])[:, 0]
        kl = kl.float() + torch.where(labeled, labeled_extra, unlabeled_extra)
        classification = torch.nn.functional.cross_entropy(logits, y_true, ignore_index=-1)
        return reconstruction, kl, classification


class MixupNet(vaesvm._net.VAENet):
    """The labeled term on mixed images too (input mixup, Zhang et al., 2018, as in MixMatch).

    The labeled rows of a batch (their augmented images) are mixed with a shuffle of
    themselves, ``lam * x_i + (1 - lam) * x_j`` with ``lam = max(l, 1 - l)``, ``l ~
    Beta(0.75, 0.75)``, one draw per row; the head's cross-entropy against the mixed
    one-hot labels is added to the labeled term at the same weight.
    """

    def initialize(self):
        super().initialize()
        self.mixup_generator_ = torch.Generator().manual_seed(0)
        return self

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        if not (training and y_true is not None and self.module_.n_classes > 0):
            return loss
        labeled = torch.nonzero(y_true != -1)[:, 0]
        if len(labeled) < 2:
            return loss
        x = (X["X"] if isinstance(X, Mapping) else X)[labeled]
        g = self.mixup_generator_
        beta = torch.distributions.Beta(0.75, 0.75)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(2**62, (1,), generator=g)))
            lam = beta.sample((len(labeled),))
        lam = torch.maximum(lam, 1 - lam)
        perm = torch.randperm(len(labeled), generator=g)
        mixed = lam[:, None] * x + (1 - lam[:, None]) * x[perm]
        onehot = torch.nn.functional.one_hot(y_true[labeled], self.module_.n_classes).float()
        target = lam[:, None] * onehot + (1 - lam[:, None]) * onehot[perm]
        autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if self.precision == "bfloat16"
                    else contextlib.nullcontext())
        with autocast:
            logits = self.module_.classify(self.module_.encode(mixed)[0])
        term = torch.nn.functional.cross_entropy(logits.float(), target)
        return loss + self.criterion_.label_weight * term


class HeadTermNet(vaesvm._net.VAENet):
    """The library's net with another labeled term: :meth:`head_term` replaces the
    head's cross-entropy where the library's loss has one (labels given, a head)."""

    def loss_terms(self, y_pred, y_true, X):
        reconstruction, kl, _ = super().loss_terms(y_pred, None, X)  # the head's term below
        if y_true is None or self.module_.n_classes == 0:
            return reconstruction, kl, None
        return reconstruction, kl, self.head_term(y_pred, y_true)

    def head_term(self, y_pred, y_true) -> torch.Tensor:
        raise NotImplementedError


class SmoothedLabelsNet(HeadTermNet):
    """The labeled term with label smoothing 0.1 (Szegedy et al., 2016)."""

    def head_term(self, y_pred, y_true) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(
            self.module_.classify(y_pred[1]), y_true, ignore_index=-1, label_smoothing=0.1)


class NoisyHeadNet(HeadTermNet):
    """The labeled term on noisy latent means: the head sees ``z`` drawn from q(z | x)
    (``"sample"``, as the decoder does) or the means with dropout (a rate, each kept
    entry scaled by 1 / (1 - rate)), so that the class is not carried by a few
    directions the RBF kernel of the SVC barely weighs."""

    noise: str | float = "sample"

    def head_term(self, y_pred, y_true) -> torch.Tensor:
        _, mu, logvar = y_pred
        g = self.module_.noise_generator
        if self.noise == "sample":
            eps = torch.randn(mu.shape, generator=g, dtype=mu.dtype, device=mu.device)
            z = mu + eps * torch.exp(0.5 * logvar)
        else:
            keep = torch.rand(mu.shape, generator=g, device=mu.device) >= self.noise
            z = mu * keep / (1 - self.noise)
        return torch.nn.functional.cross_entropy(self.module_.classify(z), y_true,
                                                 ignore_index=-1)


class EntropyNet(HeadTermNet):
    """The labeled term plus ``weight`` times the mean entropy of the head's class
    probabilities on the batch's unlabeled rows (entropy minimization, Grandvalet &
    Bengio, 2005): the head is pushed to be sure of every image, so its decision
    boundaries, and the codes under them, move to where the images are few."""

    weight = 0.1

    def head_term(self, y_pred, y_true) -> torch.Tensor:
        logits = self.module_.classify(y_pred[1]).float()
        labeled_term = torch.nn.functional.cross_entropy(logits, y_true, ignore_index=-1)
        unlabeled = y_true == -1
        if not unlabeled.any():
            return labeled_term
        log_p = torch.log_softmax(logits[unlabeled], 1)
        entropy = -(log_p.exp() * log_p).sum(1).mean()
        return labeled_term + self.weight * entropy


class NeighbourLabelNet(vaesvm._net.VAENet):
    """The labeled term carried one step through the code graph, as a graph convolution
    carries labels (Kipf & Welling, 2017): from a third of the epochs on, the head also
    classifies, with each labeled row's class, the mean latent mean of ``sampled`` of that
    row's ``neighbours`` nearest training images (latent means of every training image,
    taken at a third and two thirds of the epochs), weighted ``weight`` times the labeled
    term. The neighbours pass through the encoder in training mode (clean images), so a
    label shapes its neighbourhood's codes as it shapes its own: the neighbourhood the
    default's propagation averages over at ``transform``."""

    weight = 1.0
    sampled = 2
    neighbours = 10

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        epoch = len(self.history)  # skorch adds the epoch's row before this call
        refreshes = {self.max_epochs // 3 + 1, 2 * self.max_epochs // 3 + 1}
        if epoch in refreshes and dataset_train is not None and dataset_train.y is not None:
            self._refresh_graph(dataset_train)

    def _refresh_graph(self, dataset) -> None:
        X, labeled = dataset.X, torch.nonzero(dataset.y >= 0).flatten()
        if labeled.numel() == 0:
            return
        mu = torch.from_numpy(vaesvm._net.latent_means(self, dataset))  # in evaluation mode
        self._set_training(True)
        # each labeled row's nearest others: itself, the nearest, left out
        neighbours = nearest_neighbors(mu[labeled], mu, self.neighbours + 1)[:, 1:]
        if not hasattr(self, "neighbour_generator_"):
            seed = int(torch.randint(2**62, (1,), generator=self.module_.noise_generator))
            self.neighbour_generator_ = torch.Generator().manual_seed(seed)
        images = X.index_select(0, labeled)  # X may be TensorRows: slices and gathers only
        self.graph_ = {"row": {images[j].numpy().tobytes(): j for j in range(len(labeled))},
                       "neighbours": neighbours, "X": X}

    def loss_terms(self, y_pred, y_true, X):
        reconstruction, kl, classification = super().loss_terms(y_pred, y_true, X)
        graph = getattr(self, "graph_", None)
        if classification is None or graph is None or not self.module_.training:
            return reconstruction, kl, classification
        clean = X["target"] if isinstance(X, Mapping) else X
        rows = torch.nonzero(y_true >= 0).flatten()
        where = torch.tensor([graph["row"][clean[r].numpy().tobytes()] for r in rows.tolist()])
        pick = torch.randint(0, self.neighbours, (len(rows), self.sampled),
                             generator=self.neighbour_generator_)
        chosen = graph["neighbours"][where].gather(1, pick).flatten()
        autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if self.precision == "bfloat16"
                    else contextlib.nullcontext())
        with autocast:
            mu = self.module_.encode(graph["X"].index_select(0, chosen))[0]
        mean = mu.float().view(len(rows), self.sampled, -1).mean(1)
        term = torch.nn.functional.cross_entropy(self.module_.classify(mean), y_true[rows])
        return reconstruction, kl, classification + self.weight * term


class InvariantCodesNet(vaesvm._net.VAENet):
    """The loss plus ``weight`` times the squared distance between the latent mean of each
    augmented training image and that of its clean original, added to the row's
    reconstruction term (one more encoder pass over the clean batch, in training mode).
    ``transform`` encodes clean images, and the encoder otherwise trains on augmented
    ones only."""

    weight = 10.0

    def loss_terms(self, y_pred, y_true, X):
        reconstruction, kl, classification = super().loss_terms(y_pred, y_true, X)
        if self.module_.training and isinstance(X, Mapping):  # a denoising batch
            clean_mu, _ = self.module_.encode(X["target"])
            gap = (y_pred[1] - clean_mu).pow(2).sum(1)
            reconstruction = reconstruction + self.weight * gap
        return reconstruction, kl, classification


class AveragedNet(vaesvm._net.VAENet):
    """The model's weights (and batch-norm statistics) averaged over training steps.

    After every training batch ``avg <- decay * avg + (1 - decay) * weights`` (an
    exponential moving average, as in mean teacher, Tarvainen & Valpola, 2017); when
    training ends the average replaces the weights, so the codes come from it.
    """

    decay = 0.998

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.average_ = {k: v.detach().clone() for k, v in self.module_.state_dict().items()}

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        super().on_batch_end(net, batch=batch, training=training, **kwargs)
        if not training:
            return
        with torch.no_grad():
            for k, v in self.module_.state_dict().items():
                if v.is_floating_point():
                    self.average_[k].lerp_(v, 1 - self.decay)
                else:
                    self.average_[k].copy_(v)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.module_.load_state_dict(self.average_)
        del self.average_
        super().on_train_end(net, X=X, y=y, **kwargs)


class CosineLR(skorch.callbacks.Callback):
    """Set the learning rate of each epoch on a half cosine from ``peak`` times the net's
    ``lr`` at the first epoch towards 0 after the last (Loshchilov & Hutter, 2017)."""

    def __init__(self, peak: float = 1.0) -> None:
        self.peak = peak

    def on_epoch_begin(self, net, **kwargs) -> None:
        done = (len(net.history) - 1) / net.max_epochs  # the net opened this epoch's row
        lr = self.peak * net.lr * 0.5 * (1 + math.cos(math.pi * done))
        for group in net.optimizer_.param_groups:
            group["lr"] = lr


class CosineNet(vaesvm._net.VAENet):
    """The library's net with the learning rate on :class:`CosineLR`."""

    peak = 1.0

    @property
    def _default_callbacks(self):
        return [*super()._default_callbacks, ("cosine_lr", CosineLR(self.peak))]


class DecayedNet(vaesvm._net.VAENet):
    """The library's net with decoupled weight decay in its Adam (AdamW; Loshchilov &
    Hutter, 2019): each step shrinks every weight by ``lr * decay`` of itself."""

    decay = 0.1

    def initialize_optimizer(self, *args, **kwargs):
        super().initialize_optimizer(*args, **kwargs)
        for group in self.optimizer_.param_groups:
            group["weight_decay"], group["decoupled_weight_decay"] = self.decay, True
        return self


class AffineAugment(vaesvm._augment.ImageAugment):
    """The library's shifts (and flips), then a random rotation and scaling of each image.

    Each image turns by a uniform angle in ``[-degrees, degrees]`` and is scaled by a
    uniform factor in ``[1 - scale, 1 + scale]`` about its centre (bilinear, zeros
    outside), as the affine augmentations of semi-supervised image benchmarks do.
    """

    degrees = 10.0
    scale = 0.1

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
        x = super().__call__(x, generator)
        n = len(x)
        c, h, w = (1, *self.image_shape) if len(self.image_shape) == 2 else self.image_shape
        angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(self.degrees)
        factor = 1 + (torch.rand(n, generator=generator) * 2 - 1) * self.scale
        cos, sin = torch.cos(angle) / factor, torch.sin(angle) / factor
        zero = torch.zeros(n)
        theta = torch.stack([torch.stack([cos, -sin, zero], 1),
                             torch.stack([sin, cos, zero], 1)], 1).to(x)
        grid = torch.nn.functional.affine_grid(theta, (n, c, h, w), align_corners=False)
        out = torch.nn.functional.grid_sample(x.reshape(n, c, h, w), grid,
                                              padding_mode="zeros", align_corners=False)
        return out.reshape(n, -1)


class CutoutAugment(vaesvm._augment.ImageAugment):
    """The library's shifts (and flips), then a square of side ``fraction`` of the image's
    height set to 0 at a random centre of each image (cutout, DeVries & Taylor, 2017;
    the square may reach past the border)."""

    fraction = 0.3

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
        x = super().__call__(x, generator)
        n = len(x)
        c, h, w = (1, *self.image_shape) if len(self.image_shape) == 2 else self.image_shape
        half = max(1, round(self.fraction * h)) / 2
        cy = torch.randint(0, h, (n, 1), generator=generator)
        cx = torch.randint(0, w, (n, 1), generator=generator)
        inside_y = (torch.arange(h) - cy + 0.5).abs() <= half  # (n, h)
        inside_x = (torch.arange(w) - cx + 0.5).abs() <= half
        keep = ~(inside_y[:, :, None] & inside_x[:, None, :])
        return (x.reshape(n, c, h, w) * keep[:, None].to(x)).reshape(n, -1)


class PixelNoiseAugment(vaesvm._augment.ImageAugment):
    """The library's shifts (and flips), then pixel noise, the classic denoising corruption
    (Vincent et al., 2008): each pixel set to 0 with probability ``drop``, or Gaussian noise
    of standard deviation ``sigma`` added and the result clipped to [0, 1]."""

    drop = 0.0
    sigma = 0.0

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
        x = super().__call__(x, generator)
        if self.drop:
            x = x * (torch.rand(x.shape, generator=generator) >= self.drop).to(x)
        if self.sigma:
            x = (x + self.sigma * torch.randn(x.shape, generator=generator).to(x)).clamp(0, 1)
        return x


#: Other models and losses (kl_weight 0.25 as the rule gives with labels): the encoder's
#: convolutions (channels, kernels; :data:`vaesvm._model.CONV_CHANNELS`), a convolutional
#: decoder (:class:`ConvDecoderVAE`), a prior with one Gaussian per class
#: (:class:`MixturePriorNet`), mixup (:class:`MixupNet`) or label smoothing in the labeled
#: term, weight averaging (:class:`AveragedNet`), the continuous Bernoulli likelihood
#: (:class:`ContinuousBernoulliVAE`), the learning rate on a cosine (:class:`CosineNet`),
#: the training images' augmentation (the shift rule's fraction of the side,
#: :data:`vaesvm._options.SHIFT_FRACTION`; :class:`AffineAugment`, :class:`CutoutAugment`,
#: :class:`PixelNoiseAugment`), codes of augmented images pulled towards the clean ones
#: (:class:`InvariantCodesNet`), a noisy classifier head (:class:`NoisyHeadNet`), weight
#: decay (:class:`DecayedNet`), entropy minimization on the head (:class:`EntropyNet`).
#: name -> patches {name in a module: its value within the fit}; the module is the one
#: :data:`PATCHED` gives, :mod:`vaesvm._model` (its constants) for the others.
ARCHITECTURES: dict[str, dict] = {
    "encoder 32-64": {"CONV_CHANNELS": (32, 64)},
    "encoder 16-32-32": {"CONV_CHANNELS": (16, 32, 32), "CONV_KERNELS": (5, 3, 3)},
    "encoder kernels 5-5": {"CONV_KERNELS": (5, 5)},  # before the 3x3 speed change
    "conv decoder": {"VAE": ConvDecoderVAE},
    "conv decoder, lean": {"VAE": LeanConvDecoderVAE},
    "mixture prior": {"VAE": MixturePriorVAE, "VAENet": MixturePriorNet},
    "labeled mixup": {"VAENet": MixupNet},
    "label smoothing 0.1": {"VAENet": SmoothedLabelsNet},
    "weight averaging 0.995": {"VAENet": type("AveragedNet", (AveragedNet,), {"decay": 0.995})},
    "weight averaging 0.998": {"VAENet": type("AveragedNet", (AveragedNet,), {"decay": 0.998})},
    "continuous Bernoulli": {"VAE": ContinuousBernoulliVAE},
    "head on sampled codes": {"VAENet": NoisyHeadNet},
    "head dropout 0.5": {"VAENet": type("NoisyHeadNet", (NoisyHeadNet,), {"noise": 0.5})},
    "invariant codes x10": {"VAENet": InvariantCodesNet},
    "invariant codes x100": {"VAENet": type("InvariantCodesNet", (InvariantCodesNet,),
                                            {"weight": 100.0})},
    "cosine learning rate": {"VAENet": CosineNet},
    "cosine learning rate, peak 0.002": {"VAENet": type("CosineNet", (CosineNet,),
                                                        {"peak": 2.0})},
    "entropy 0.1": {"VAENet": EntropyNet},
    "entropy 1": {"VAENet": type("EntropyNet", (EntropyNet,), {"weight": 1.0})},
    "neighbour labels": {"VAENet": NeighbourLabelNet},
    "neighbour labels, 5 sampled": {"VAENet": type("NeighbourLabelNet", (NeighbourLabelNet,),
                                                   {"sampled": 5})},
    "weight decay 0.1": {"VAENet": DecayedNet},
    "weight decay 1": {"VAENet": type("DecayedNet", (DecayedNet,), {"decay": 1.0})},
    # the training images' augmentation (where "auto" augments: 20,000 rows and more)
    "shift 1/28": {"SHIFT_FRACTION": 1 / 28},
    "shift 3/28": {"SHIFT_FRACTION": 3 / 28},
    "shift 4/28": {"SHIFT_FRACTION": 4 / 28},
    "rotation 10, scale 0.1": {"ImageAugment": AffineAugment},
    "cutout 0.3": {"ImageAugment": CutoutAugment},
    "pixel dropout 0.2": {"ImageAugment": type("PixelNoiseAugment", (PixelNoiseAugment,),
                                               {"drop": 0.2})},
    "Gaussian noise 0.1": {"ImageAugment": type("PixelNoiseAugment", (PixelNoiseAugment,),
                                                {"sigma": 0.1})},
}
#: The module each patch of :data:`ARCHITECTURES` replaces a name of.
PATCHED = {"VAE": vaesvm._net, "VAENet": vaesvm._net, "ImageAugment": vaesvm._net,
           "SHIFT_FRACTION": vaesvm._options}


@contextlib.contextmanager
def architecture(setting: str) -> Iterator[None]:
    """Within: every VAETransformer fit builds the VAE of ``setting`` (:data:`ARCHITECTURES`)."""
    # the classes are the names build_net uses; the constants are read by make_conv_encoder
    # (vaesvm._model) and the shift rule (vaesvm._options)
    patches = ARCHITECTURES[setting]
    owner = {k: PATCHED.get(k, vaesvm._model) for k in patches}
    saved = {k: getattr(owner[k], k) for k in patches}
    for k, v in patches.items():
        setattr(owner[k], k, v)
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(owner[k], k, v)


SETTINGS.update({name: {"kl_weight": 0.25} for name in ARCHITECTURES})

#: Consistency on the classifier head (FixMatch-style, Sohn et al., 2020): the head's
#: prediction on the clean image of each unlabeled row of a batch, where its
#: probability is at least ``threshold``, becomes that row's target for the head on
#: the augmented copy the encoder sees; the term's weight is ``factor`` times the
#: labeled term's. name -> (threshold, factor).
CONSISTENCY: dict[str, tuple[float, float]] = {
    "consistency 0.95 x1": (0.95, 1.0),
    "consistency 0.7 x1": (0.7, 1.0),
    "consistency 0.7 x10": (0.7, 10.0),
}

#: Ensembles of encoders: the codes of this many VAEs (random_state seed, seed + 100,
#: ...; otherwise the default), joined side by side. name -> number of VAEs.
ENSEMBLES: dict[str, int] = {"ensemble of 2": 2, "ensemble of 3": 3}

#: Self-training of the VAE: a default VAE (kl_weight 0.25) is fitted, LabelSpreading
#: on its codes (the study peer's settings) labels the unlabeled pool, and a second
#: VAE is fitted with the labeled subset plus the pool images LabelSpreading is
#: surest of, the same number per class, as many as make the labeled rows ``factor``
#: times the subset; the SVC still learns from the subset's true labels only.
#: name -> factor.
SELF_TRAINING: dict[str, int] = {"self-training x5": 5, "self-training x10": 10}


class ConsistencyNet(vaesvm._net.VAENet):
    """The library's net with the consistency term of :data:`CONSISTENCY` added."""

    consistency: tuple[float, float] = (0.95, 1.0)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        if not (training and isinstance(X, Mapping) and y_true is not None
                and self.module_.n_classes > 0):
            return loss
        unlabeled = y_true == -1
        if not unlabeled.any():
            return loss
        threshold, factor = self.consistency
        with torch.no_grad():
            clean_mu = self.module_.encode(X["target"][unlabeled])[0]
            confidence, pseudo = torch.softmax(self.module_.classify(clean_mu), 1).max(1)
            keep = (confidence >= threshold).float()
        ce = torch.nn.functional.cross_entropy(
            self.module_.classify(y_pred[1][unlabeled]), pseudo, reduction="none")
        term = (ce * keep).mean()
        self.history.record_batch("train_consistency_kept", float(keep.mean()))
        return loss + factor * self.criterion_.label_weight * term


@contextlib.contextmanager
def consistency(setting: str) -> Iterator[None]:
    """Within: every VAETransformer fit trains a :class:`ConsistencyNet` (``setting``)."""
    saved = vaesvm._net.VAENet
    net = type("Net", (ConsistencyNet,), {"consistency": CONSISTENCY[setting]})
    vaesvm._net.VAENet = net
    try:
        yield
    finally:
        vaesvm._net.VAENet = saved


def pseudo_labels(Z: np.ndarray, y: np.ndarray, lab: np.ndarray, candidates: np.ndarray,
                  n_per_class: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n_per_class`` rows of ``candidates`` per class that LabelSpreading on the
    codes ``Z`` (trained on ``lab``'s labels) is surest of, and the labels it gives them."""
    rows = np.concatenate([lab, candidates])
    y_rows = np.concatenate([y[lab], np.full(len(candidates), -1)])
    spread = label_spreading(Z, 0).fit(Z[rows], y_rows)
    P = np.nan_to_num(spread.label_distributions_[len(lab):])
    picks, labels = [], []
    for j, c in enumerate(spread.classes_):
        mine = np.flatnonzero(P.argmax(1) == j)
        best = mine[np.argsort(-P[mine, j], kind="stable")[:n_per_class]]
        picks.append(candidates[best])
        labels.append(np.full(len(best), c))
    return np.concatenate(picks), np.concatenate(labels)


def self_trained(setting: str, seed: int, X: np.ndarray, y: np.ndarray, lab: np.ndarray,
                 rest: np.ndarray, candidates: np.ndarray, declared: Mapping | None = None
                 ) -> tuple[np.ndarray, VAETransformer, float]:
    """Self-training (:data:`SELF_TRAINING`): the second VAE's codes of every row of X,
    that VAE, and the share of its pseudo-labels that are right. Pseudo-labels are drawn
    from ``candidates`` (the unlabeled pool, never the validation images)."""
    first, _ = fit_setting("KL weight 0.25", seed, X, y, lab, rest, declared)
    n_classes = len(np.unique(y[lab]))
    extra = (SELF_TRAINING[setting] - 1) * len(lab) // n_classes
    picks, picked = pseudo_labels(first, y, lab, candidates, extra)
    vae = VAETransformer(random_state=seed, **{**(declared or {}), **SETTINGS["KL weight 0.25"]})
    vae.fit(X[np.concatenate([lab, picks])], np.concatenate([y[lab], picked]),
            X_unlabeled=X[np.setdiff1d(rest, picks)])
    return vae.transform(X), vae, float((y[picks] == picked).mean())


def fit_setting(setting: str, seed: int, X: np.ndarray, y: np.ndarray, lab: np.ndarray,
                rest: np.ndarray, declared: Mapping | None = None
                ) -> tuple[np.ndarray, VAETransformer]:
    """Fit ``setting`` as the study's pipeline fits the VAE on the rows ``lab`` (with
    their labels) and ``rest`` (unlabeled); the codes of every row of X.

    For an ensemble, the first VAE (the default one at ``seed``) is returned.
    """
    if setting in ENSEMBLES:
        fitted = [fit_setting("default", seed + 100 * j, X, y, lab, rest, declared)
                  for j in range(ENSEMBLES[setting])]
        return np.hstack([Z for Z, _ in fitted]), fitted[0][1]
    params = SETTINGS.get(setting, {})
    params = params(len(lab) + len(rest)) if callable(params) else params  # training rows
    patch = (consistency(setting) if setting in CONSISTENCY else
             architecture(setting) if setting in ARCHITECTURES else contextlib.nullcontext())
    with patch:
        vae = VAETransformer(random_state=seed, **{**(declared or {}), **params})
        vae.fit(X[lab], y[lab], X_unlabeled=X[rest])
    return vae.transform(X), vae


def consistency_kept(vae: VAETransformer) -> float | None:
    """The share of unlabeled rows the consistency term kept in the last epoch."""
    kept = [b["train_consistency_kept"] for b in vae.net_.history[-1]["batches"]
            if "train_consistency_kept" in b]
    return float(np.mean(kept)) if kept else None


def heads(Z: np.ndarray, y: np.ndarray, pool: np.ndarray, val: np.ndarray,
          lab: np.ndarray) -> dict[str, float]:
    """Validation accuracy of each head on the codes ``Z`` of every train image."""
    y_pool = np.where(np.isin(pool, lab), y[pool], -1)
    spread = label_spreading(Z, 0).fit(Z[pool], y_pool)  # the study peer's settings
    scores = {
        "SVC": SVC().fit(Z[lab], y[lab]).score(Z[val], y[val]),
        "SVC, scaled": make_pipeline(StandardScaler(), SVC()).fit(Z[lab], y[lab])
        .score(Z[val], y[val]),
        "LabelSpreading": spread.score(Z[val], y[val]),
        "SVC on spread labels": SVC().fit(Z[pool], spread.transduction_)
        .score(Z[val], y[val]),
    }
    # the RBF width and the margin the SVC works with: gamma="scale" is
    # 1 / (n_features * variance of the training codes)
    scale = 1.0 / (Z.shape[1] * Z[lab].var())
    others = {"SVC, gamma x0.5": SVC(gamma=scale / 2), "SVC, gamma x2": SVC(gamma=2 * scale),
              "SVC, C 10": SVC(C=10.0)}
    for name, svc in others.items():
        scores[name] = svc.fit(Z[lab], y[lab]).score(Z[val], y[val])
    # the codes joined with LabelSpreading's class probabilities, scaled to carry as
    # much variance as the codes; images no labeled image reaches get 0 (not NaN)
    P = np.nan_to_num(spread.predict_proba(Z))
    both = np.hstack([Z, P * np.sqrt(Z.var(axis=0).sum() / max(P.var(axis=0).sum(), 1e-12))])
    scores["SVC on codes + spread"] = SVC().fit(both[lab], y[lab]).score(both[val], y[val])
    return {head: float(s) for head, s in scores.items()}


#: Embedding propagations rebuilt on a fitted VAE's training codes: (alpha, k, steps).
PROPAGATIONS: dict[str, tuple[float, int, int]] = {
    "alpha 0.97": (0.97, 10, 10),
    "alpha 0.97, 30 steps": (0.97, 10, 30),
    "alpha 0.99, 50 steps": (0.99, 10, 50),
    "5 neighbours": (0.9, 5, 10),
    "20 neighbours": (0.9, 20, 10),
}


def propagated(vae: VAETransformer, X: np.ndarray, alpha: float, k: int,
               steps: int) -> np.ndarray:
    """``vae.transform(X)`` with another propagation over the same training codes."""
    graph = EmbeddingPropagation(alpha, k, steps, random_state=0)
    graph.fit(torch.from_numpy(vae.propagation_.codes_))
    return graph.transform(torch.from_numpy(vae.encode(X))).numpy()


def _standardized(train: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    mean, std = train.mean(0), train.std(0).clamp_min(1e-12)
    return lambda codes: (codes - mean) / std


#: Other graphs over a fitted VAE's training codes, with its own weight, neighbours and
#: steps: name -> (given the training codes and the VAE's fitted propagation, the map
#: into the space the neighbours are searched in; whether the neighbours are weighted,
#: see :func:`edge_weights`). ``"refined graph"`` searches the neighbours among the
#: propagated codes (the VAE's own ``transform``), whose neighbourhoods the first
#: propagation has already made more alike, and propagates the latent means over them.
GRAPHS: dict[str, tuple[Callable[[torch.Tensor, EmbeddingPropagation], Callable], bool]] = {
    "codes graph": (lambda train, g: lambda codes: codes, False),  # = transform (a check)
    "cosine graph": (lambda train, g: lambda codes: search_space(codes, "cosine"), False),
    "standardized graph": (lambda train, g: _standardized(train), False),
    "self-tuning weights": (lambda train, g: lambda codes: codes, True),
    "refined graph": (lambda train, g: g.transform, False),
}


#: The propagation's weight for the labeled rows (those the SVC learns from) apart from
#: the other rows' (those it predicts), the same training graph, neighbours and steps:
#: name -> (labeled rows' alpha, other rows' alpha); None: the VAE's own.
SPLIT_ALPHAS: dict[str, tuple[float | None, float | None]] = {
    "alpha 0.97 for labeled rows": (0.97, None),
    "alpha 0.5 for labeled rows": (0.5, None),
    "alpha 0.97 for other rows": (None, 0.97),
}


#: Propagations at several weights over the same training graph, joined side by side
#: (each scaled to the total variance of the setting's codes, so that each weighs alike
#: in the SVC's RBF kernel; multi-scale features as in SIGN, Rossi et al., 2020): the
#: SVC finds its own mix of the codes' own detail and their neighbourhood's.
#: name -> ((alpha, steps), ...), 10 neighbours as the VAE's.
MULTISCALE: dict[str, tuple[tuple[float, int], ...]] = {
    "alphas 0.5, 0.9 joined": ((0.5, 10), (0.9, 10)),
    "alphas 0.9, 0.99 joined": ((0.9, 10), (0.99, 50)),
    "alphas 0.5, 0.9, 0.99 joined": ((0.5, 10), (0.9, 10), (0.99, 50)),
}


def multiscale_propagated(vae: VAETransformer, X: np.ndarray, Z: np.ndarray,
                          name: str) -> np.ndarray:
    """The propagations of :data:`MULTISCALE` ``name`` of every row of X, each scaled
    like the codes ``Z`` (:func:`scaled_like`), joined."""
    k = vae.propagation_.n_neighbors
    return np.hstack([scaled_like(propagated(vae, X, alpha, k, steps), Z)
                      for alpha, steps in MULTISCALE[name]])


def cosine_measures(vae: VAETransformer, X: np.ndarray, y: np.ndarray,
                    lab: np.ndarray) -> dict[str, float]:
    """The measures of :func:`graph_scores` from the training data alone for the graph of
    the latent means and for that of the unit-length means (``"cosine graph"``): would
    they pick the cosine graph where it wins?"""
    latent, k = vae.encode(X), vae.propagation_.n_neighbors
    unit = latent / np.linalg.norm(latent, axis=1, keepdims=True).clip(1e-12)
    return {"one_nn_codes": one_nn_hit_rate(latent[lab], y[lab]),
            "one_nn_cosine": one_nn_hit_rate(unit[lab], y[lab]),
            "cv_spread_codes": cv_spread(knn_graph(latent, k), y, lab),
            "cv_spread_cosine": cv_spread(knn_graph(unit, k), y, lab)}


def split_propagated(vae: VAETransformer, X: np.ndarray, lab: np.ndarray,
                     name: str) -> np.ndarray:
    """``vae.transform(X)`` with the weights of :data:`SPLIT_ALPHAS` ``name``."""
    g = vae.propagation_
    labeled_alpha, other_alpha = (g.alpha if a is None else a for a in SPLIT_ALPHAS[name])
    Z = propagated(vae, X, other_alpha, g.n_neighbors, g.steps)
    Z[lab] = propagated(vae, X[lab], labeled_alpha, g.n_neighbors, g.steps)
    return Z


def edge_weights(queries: torch.Tensor, reference: torch.Tensor, neighbors: torch.Tensor,
                 weighted: bool) -> torch.Tensor:
    """Each query's weights of its ``neighbors`` among the ``reference`` rows: 1 / k, or
    ``exp(-d^2 / s^2)`` normalized, ``s`` the distance to its farthest neighbour (a
    self-tuning Gaussian kernel, Zelnik-Manor & Perona, 2004)."""
    if not weighted:
        return torch.full(neighbors.shape, 1 / neighbors.shape[1])
    d2 = ((queries[:, None, :] - reference[neighbors]) ** 2).sum(-1)
    w = torch.exp(-d2 / d2.max(1, keepdim=True).values.clamp_min(1e-12))
    return w / w.sum(1, keepdim=True)


def graph_propagated(vae: VAETransformer, X: np.ndarray, name: str) -> np.ndarray:
    """``vae.transform(X)`` with the training codes' graph of :data:`GRAPHS` ``name``:
    the neighbours searched in its space, the codes propagated as they are."""
    g = vae.propagation_
    train, new = torch.from_numpy(g.codes_), torch.from_numpy(vae.encode(X))
    make_space, weighted = GRAPHS[name]
    space = make_space(train, g)
    train_space, new_space = space(train), space(new)
    train_nb = nearest_neighbors(train_space, train_space, g.n_neighbors).long()
    new_nb = nearest_neighbors(new_space, train_space, g.n_neighbors).long()
    train_w = edge_weights(train_space, train_space, train_nb, weighted)
    new_w = edge_weights(new_space, train_space, new_nb, weighted)
    F = train
    for _ in range(g.steps):
        F = (1 - g.alpha) * train + g.alpha * (train_w[..., None] * F[train_nb]).sum(1)
    return ((1 - g.alpha) * new + g.alpha * (new_w[..., None] * F[new_nb]).sum(1)).numpy()


def shifted(X: np.ndarray, side: int, dx: int, dy: int) -> np.ndarray:
    """Square grey images ``X`` moved by ``dx``, ``dy`` pixels, the border filled with 0."""
    images = X.reshape(len(X), side, side)
    out = np.zeros_like(images)
    rows = slice(max(dy, 0), side + min(dy, 0))
    cols = slice(max(dx, 0), side + min(dx, 0))
    out[:, rows, cols] = images[:, max(-dy, 0):side - max(dy, 0),
                                max(-dx, 0):side - max(dx, 0)]
    return out.reshape(len(X), -1)


#: Scales of the classifier head's logits joined to the codes (``--head-logits``), each
#: relative to the codes' standard deviation.
HEAD_LOGIT_SCALES: tuple[float, ...] = (1.0, 3.0, 10.0)


def head_logits(vae: VAETransformer, Z: np.ndarray) -> np.ndarray:
    """The VAE's classifier head on the codes ``Z``. The head is linear, so on propagated
    codes this is its logits propagated over the graph."""
    with torch.no_grad():
        return vae.net_.module_.classify(torch.as_tensor(Z, dtype=torch.float32)).numpy()


def head_scores(vae: VAETransformer, X: np.ndarray, y: np.ndarray, val: np.ndarray,
                Z: np.ndarray) -> dict[str, float]:
    """Validation accuracy of the VAE's own head on the codes ``Z`` and on the latent means."""
    return {name: float((vae.classes_[head_logits(vae, codes[val]).argmax(1)] == y[val]).mean())
            for name, codes in (("VAE head", Z), ("VAE head on latent means", vae.encode(X)))}


def with_head_logits(vae: VAETransformer, Z: np.ndarray, setting: str) -> dict[str, np.ndarray]:
    """The codes ``Z`` with the head's logits on them joined as extra columns, at each of
    :data:`HEAD_LOGIT_SCALES` (label information carried into what the SVC sees)."""
    logits = head_logits(vae, Z)
    logits *= Z.std() / logits.std()
    return {f"{setting}, codes + head logits x{s:g}": np.hstack([Z, s * logits])
            for s in HEAD_LOGIT_SCALES}


def test_time_augmented(vae: VAETransformer, X: np.ndarray) -> np.ndarray:
    """The mean of ``vae.transform`` over ``X`` and its four 1-pixel shifts."""
    side = int(round(np.sqrt(X.shape[1])))
    moves = [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)]
    return np.mean([vae.transform(shifted(X, side, dx, dy)) for dx, dy in moves], axis=0)


def augmented_label_scores(vae: VAETransformer, X: np.ndarray, y: np.ndarray,
                           lab: np.ndarray, val: np.ndarray, Z: np.ndarray) -> dict[str, float]:
    """``SVC()`` trained on the codes of the labeled images and of moved copies of them.

    The copies: 1-pixel shifts in the four directions ("shifted labels"), and on
    images of 28 pixels also 2-pixel ones and the mirror image ("moved labels"),
    each with its image's label; the validation codes are ``Z`` as they are.
    """
    side = int(round(np.sqrt(X.shape[1])))
    moves = [(1, 0), (-1, 0), (0, 1), (0, -1)]
    copies = {"SVC, shifted labels": [shifted(X[lab], side, dx, dy) for dx, dy in moves]}
    if side >= 28:
        far = [(2, 0), (-2, 0), (0, 2), (0, -2)]
        mirrored = X[lab].reshape(len(lab), side, side)[:, :, ::-1].reshape(len(lab), -1)
        copies["SVC, moved labels"] = [*copies["SVC, shifted labels"],
                                       *[shifted(X[lab], side, dx, dy) for dx, dy in far],
                                       mirrored]
    scores = {}
    for head, images in copies.items():
        Z_train = np.vstack([Z[lab], *[vae.transform(im) for im in images]])
        y_train = np.tile(y[lab], len(images) + 1)
        scores[head] = float(SVC().fit(Z_train, y_train).score(Z[val], y[val]))
    return scores


def knn_graph(F: np.ndarray, k: int) -> torch.Tensor:
    """The ``k`` nearest rows of ``F`` to each of its rows (itself included)."""
    F = torch.from_numpy(np.ascontiguousarray(F, dtype=np.float32))
    return nearest_neighbors(F, F, k)


def propagated_over(codes: np.ndarray, neighbors: torch.Tensor,
                    graph: EmbeddingPropagation) -> np.ndarray:
    """``codes`` propagated over another graph of the same rows, with the weight and
    steps of the VAE's own propagation ``graph``; every row is a node."""
    codes = torch.from_numpy(codes)
    spread = propagate(codes, neighbors, graph.alpha, graph.steps)
    return smooth(codes, neighbors, spread, graph.alpha).numpy()


def cv_spread(neighbors: torch.Tensor, y: np.ndarray, lab: np.ndarray, folds: int = 5,
              alpha: float = 0.99, steps: int = 50) -> float:
    """Cross-validated label spreading over the graph ``neighbors`` of every row: each fold
    of the labeled rows ``lab`` hidden in turn, the others' one-hot labels propagated
    (:func:`propagate`), the hidden rows scored by their largest class."""
    classes, codes = np.unique(y[lab], return_inverse=True)
    hits = 0
    for fold in range(folds):
        hidden = np.arange(len(lab)) % folds == fold
        Y = torch.zeros(len(neighbors), len(classes))
        Y[lab[~hidden], codes[~hidden]] = 1.0
        spread = propagate(Y, neighbors, alpha, steps)
        hits += int((spread[lab[hidden]].argmax(1).numpy() == codes[hidden]).sum())
    return hits / len(lab)


def poisson_weights(queries: np.ndarray, reference: np.ndarray,
                    neighbors: np.ndarray) -> np.ndarray:
    """Poisson learning's edge weights ``exp(-4 |q - r|^2 / d_k(q)^2)`` from each query
    to its ``neighbors`` among the ``reference`` rows (d_k: the distance to the last)."""
    d2 = ((queries[:, None, :] - reference[neighbors]) ** 2).sum(-1)
    return np.exp(-4 * d2 / np.maximum(d2[:, -1:], 1e-12))


def poisson_graph(F: np.ndarray, k: int) -> sp.csr_matrix:
    """The k-NN graph of the rows of ``F`` (each node's k nearest others) with the edge
    weights of :func:`poisson_weights`, symmetrized: ``W + W^T``, sparse n x n."""
    n = len(F)
    nb = knn_graph(F, k + 1)[:, 1:].numpy()  # the node itself left out
    w = poisson_weights(F, F, nb)
    W = sp.csr_matrix((w.ravel(), (np.repeat(np.arange(n), k), nb.ravel())), shape=(n, n))
    return W + W.T


def poisson_scores(Z: np.ndarray, y: np.ndarray, pool: np.ndarray, val: np.ndarray,
                   lab: np.ndarray, val_neighbors: np.ndarray, steps: int = 500) -> np.ndarray:
    """Poisson learning (Calder et al., 2020) on the k-NN graph of the pool's codes
    (:func:`poisson_graph`; k as in ``val_neighbors``): the labeled rows
    are sources ``e_y - mean(e_y)``, ``u <- D^-1 (B + W u)`` for ``steps`` iterations
    from 0. Each validation image gets the weighted mean of the scores of its
    ``val_neighbors`` (its k nearest pool rows: the graph is the pool's, as
    LabelSpreading's is). Returns the validation rows' class scores."""
    n = len(pool)
    W = poisson_graph(Z[pool], val_neighbors.shape[1])
    degree = np.asarray(W.sum(1)).ravel()
    classes = np.unique(y[lab])
    where = np.searchsorted(pool, lab)
    B = np.zeros((n, len(classes)))
    B[where, np.searchsorted(classes, y[lab])] = 1.0
    B[where] -= B[where].mean(0)
    u = np.zeros_like(B)
    for _ in range(steps):
        u = (B + W @ u) / degree[:, None]
    wv = poisson_weights(Z[val], Z[pool], val_neighbors)
    return (wv[:, :, None] * u[val_neighbors]).sum(1) / wv.sum(1, keepdims=True)


def smoothed_svc_scores(svc: SVC, svc_val: np.ndarray, Z: np.ndarray, y: np.ndarray,
                        pool: np.ndarray, lab: np.ndarray, val_neighbors: np.ndarray,
                        alpha: float = 0.9, steps: int = 10) -> np.ndarray:
    """The smoothing step of Correct and Smooth (Huang et al., 2021): the fitted
    ``svc``'s one-vs-rest decision values on the pool, the labeled rows' replaced by
    their one-hot labels scaled to the values' range, propagated over the pool's code
    graph (:func:`propagate`, the VAE's own weight, neighbours and steps); each
    validation image gets ``(1 - alpha)`` its own values ``svc_val`` plus ``alpha`` those
    of its ``val_neighbors``. Returns the validation rows' class scores."""
    G = svc.decision_function(Z[pool])
    where = np.searchsorted(pool, lab)
    G[where] = G.min() + (G.max() - G.min()) * (svc.classes_[None, :] == y[lab][:, None])
    graph = knn_graph(Z[pool], val_neighbors.shape[1])
    spread = propagate(torch.from_numpy(G), graph, alpha, steps)
    return smooth(torch.from_numpy(svc_val), torch.from_numpy(val_neighbors), spread,
                  alpha).numpy()


def graph_head_scores(Z: np.ndarray, y: np.ndarray, pool: np.ndarray, val: np.ndarray,
                      lab: np.ndarray, k: int = 10) -> dict[str, float]:
    """Validation accuracy of the graph heads (``--graph-heads``) on the codes ``Z``: the
    held-out images' ``k`` nearest pool codes are searched once, the SVC fitted once."""
    P = torch.from_numpy(np.ascontiguousarray(Z[pool], dtype=np.float32))
    V = torch.from_numpy(np.ascontiguousarray(Z[val], dtype=np.float32))
    val_neighbors = nearest_neighbors(V, P, k).numpy()
    svc = SVC().fit(Z[lab], y[lab])
    svc_val = svc.decision_function(Z[val])
    poisson = poisson_scores(Z, y, pool, val, lab, val_neighbors)
    scores = {"Poisson": poisson,
              "SVC, smoothed": smoothed_svc_scores(svc, svc_val, Z, y, pool, lab,
                                                   val_neighbors),
              # each row of either head's scores standardized, then summed
              "SVC + Poisson": standardized_rows(svc_val) + standardized_rows(poisson)}
    return {head: float((svc.classes_[S.argmax(1)] == y[val]).mean())
            for head, S in scores.items()}


def standardized_rows(S: np.ndarray) -> np.ndarray:
    """Each row of ``S`` less its mean, over its standard deviation."""
    S = S - S.mean(1, keepdims=True)
    return S / np.maximum(S.std(1, keepdims=True), 1e-12)


def graph_scores(vae: VAETransformer, X: np.ndarray, y: np.ndarray,
                 lab: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """The VAE's latent means propagated over the k-NN graph of the pixels instead of the
    codes' (same weight, neighbours and steps), and over each row's nearest half of its
    neighbours in the pixels and nearest half in the codes; with the measures of either
    space from the training data alone (:func:`one_nn_hit_rate`, :func:`cv_spread`)."""
    graph, latent = vae.propagation_, vae.encode(X)
    k = graph.n_neighbors
    pixel_neighbors, code_neighbors = knn_graph(X, k), knn_graph(latent, k)
    half_each = torch.cat([knn_graph(X, k // 2), knn_graph(latent, k - k // 2)], dim=1)
    codes = {"pixel graph": propagated_over(latent, pixel_neighbors, graph),
             "pixel + code graph": propagated_over(latent, half_each, graph)}
    measures = {"one_nn_pixels": one_nn_hit_rate(X[lab], y[lab]),
                "one_nn_codes": one_nn_hit_rate(latent[lab], y[lab]),
                "cv_spread_pixels": cv_spread(pixel_neighbors, y, lab),
                "cv_spread_codes": cv_spread(code_neighbors, y, lab)}
    return codes, measures


def encoder_layers(vae: VAETransformer, X: np.ndarray) -> dict[str, np.ndarray]:
    """The encoder's own features of every row of X, before the latent layer: the
    convolutions' output (flattened; convolutional encoders only) and the last hidden
    layer (the input of the latent means)."""
    body, rows = vae.net_.module_.encoder, vae._check_X(X)
    layers = {"hidden layer": vae.net_.map_batches(rows, lambda m, x: m.encoder(x))}
    flat = [i for i, layer in enumerate(body) if isinstance(layer, torch.nn.Flatten)]
    if flat:
        layers["conv features"] = vae.net_.map_batches(
            rows, lambda m, x: m.encoder[:flat[0] + 1](x))
    return layers


def scaled_like(F: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """``F`` scaled to the total variance of ``Z`` (so that joined, each weighs as much in
    the RBF kernel with ``gamma="scale"``)."""
    return F * np.sqrt(Z.var(axis=0).sum() / max(F.var(axis=0).sum(), 1e-12))


def feature_codes(vae: VAETransformer, X: np.ndarray) -> dict[str, np.ndarray]:
    """What the SVC sees, from the encoder's other layers (``--features``): each row of X a
    node of the k-NN graph of the latent means (the VAE's weight, neighbours and steps),
    over which are propagated the latent means themselves (the reference, every row a
    node as in :func:`graph_scores`), the last hidden layer, the convolutions' output,
    or the latent means joined with the hidden layer (scaled to the same total
    variance); and the latent means propagated over the hidden layer's k-NN graph."""
    graph, latent = vae.propagation_, vae.encode(X)
    layers = encoder_layers(vae, X)
    code_graph = knn_graph(latent, graph.n_neighbors)
    values = {"latent means": latent, **layers,
              "latent means + hidden layer": np.hstack(
                  [latent, scaled_like(layers["hidden layer"], latent)])}
    codes = {f"{name} over the code graph": propagated_over(v, code_graph, graph)
             for name, v in values.items()}
    hidden_graph = knn_graph(layers["hidden layer"], graph.n_neighbors)
    codes["latent means over the hidden-layer graph"] = propagated_over(latent, hidden_graph,
                                                                        graph)
    return codes


def eigenmaps(F: np.ndarray, k: int, m: int) -> np.ndarray:
    """Laplacian eigenmaps (Belkin & Niyogi, 2004) of the rows of ``F``: the ``m``
    leading non-trivial eigenvectors of the random-walk matrix of their k-NN graph
    (:func:`poisson_graph`), one column each."""
    n = len(F)
    W = poisson_graph(F, k)
    root = np.asarray(W.sum(1)).ravel() ** -0.5
    A = sp.diags(root) @ W @ sp.diags(root)  # symmetric, same eigenvalues
    values, vectors = eigsh(A, k=m + 1, which="LA", tol=1e-6, v0=np.ones(n))
    vectors = vectors[:, np.argsort(-values)]
    return (root[:, None] * vectors)[:, 1:]  # the constant vector dropped


def spectral_codes(vae: VAETransformer, X: np.ndarray, Z: np.ndarray) -> dict[str, np.ndarray]:
    """What the SVC sees from the code graph's spectrum (``--spectral``): the Laplacian
    eigenmaps of the latent means of every row of X (the VAE's neighbours), alone or
    joined to the codes ``Z`` (scaled to the same total variance)."""
    latent, k = vae.encode(X), vae.propagation_.n_neighbors
    E = eigenmaps(latent, k, 20)
    return {**{f"eigenmaps {m}": E[:, :m] for m in (10, 20)},
            **{f"codes + eigenmaps {m}": np.hstack([Z, scaled_like(E[:, :m], Z)])
               for m in (10, 20)}}


def aligned_head_scores(Z: np.ndarray, y: np.ndarray, pool: np.ndarray, val: np.ndarray,
                        lab: np.ndarray, steps: int = 2000, rate: float = 0.05,
                        temperature: float = 0.3) -> dict[str, float]:
    """Validation accuracy of ``SVC()`` with class offsets that align its predictions on
    the unlabeled pool with the labeled subset's balanced classes (``--aligned``; the
    distribution alignment of ReMixMatch, Berthelot et al., 2020): offsets that make the
    pool's argmax classes equally frequent, or Sinkhorn scaling of the softmax of the
    one-vs-rest scores (``temperature``) to equal class totals."""
    svc = SVC().fit(Z[lab], y[lab])
    S, S_val = svc.decision_function(Z[np.setdiff1d(pool, lab)]), svc.decision_function(Z[val])
    classes = len(svc.classes_)
    hard = np.zeros(classes)
    for _ in range(steps):
        share = np.bincount((S + hard).argmax(1), minlength=classes) / len(S)
        hard -= rate * S.std() * (share - 1 / classes)
    P, scale = np.exp((S - S.max(1, keepdims=True)) / temperature), np.ones(classes)
    for _ in range(50):
        Q = P * scale
        scale /= Q.sum(0) / Q.sum() * classes
    offsets = {"SVC, pool-balanced": hard, "SVC, Sinkhorn-aligned": temperature * np.log(scale)}
    return {head: float((svc.classes_[(S_val + b).argmax(1)] == y[val]).mean())
            for head, b in offsets.items()}


def cluster_kernel_scores(Z: np.ndarray, y: np.ndarray, pool: np.ndarray, val: np.ndarray,
                          lab: np.ndarray, runs: int = 10,
                          clusters: tuple[int, ...] = (10, 30)) -> dict[str, float]:
    """Validation accuracy of an SVC on the bagged cluster kernel (``--cluster-kernel``;
    Weston et al., 2005, after the cluster kernels of Chapelle, Weston & Schoelkopf,
    2003): the RBF kernel of ``SVC()`` (gamma ``"scale"`` on the labeled codes) times the
    share of ``runs`` k-means clusterings of the pool's codes (one seed each) that put
    the two rows in one cluster. Rows outside the pool (the validation images) join the
    cluster of their nearest centroid, as new images would. Two images the RBF kernel
    finds alike count as alike only where the pool's clusters agree: the cluster
    assumption of semi-supervised learning, put in the SVC's kernel."""
    rows = np.concatenate([lab, val])
    gamma = 1 / (Z.shape[1] * Z[lab].var())
    rbf = rbf_kernel(Z[rows].astype(np.float64), Z[lab].astype(np.float64), gamma=gamma)
    kernels = {"SVC, precomputed RBF": rbf}
    for k in clusters:
        same = np.zeros_like(rbf)
        for r in range(runs):
            assigned = KMeans(k, n_init=1, random_state=r).fit(Z[pool]).predict(Z[rows])
            same += assigned[:, None] == assigned[None, :len(lab)]
        kernels[f"SVC, bagged cluster kernel {k}"] = rbf * same / runs
    n = len(lab)
    return {head: float(SVC(kernel="precomputed").fit(K[:n], y[lab]).score(K[n:], y[val]))
            for head, K in kernels.items()}


def one_nn_hit_rate(F: np.ndarray, y: np.ndarray) -> float:
    """Leave-one-out 1-NN accuracy among the rows of ``F`` (the labeled images)."""
    D = ((F[:, None, :] - F[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(D, np.inf)
    return float((y[D.argmin(1)] == y).mean())


#: The suffix of a set name whose images are given without the image shape the study
#: declares for them (``image_shape="auto"`` then finds no square grey image in the
#: 2,352 features of the colour set: MLP encoder, no augmentation).
UNDECLARED = "-undeclared"
#: The suffix of a grey set tinted with a random colour per image, as the study's colour
#: set is made from Fashion-MNIST (``digits-tinted``: 3 x 8 x 8, declared).
TINTED = "-tinted"


def load_set(name: str) -> tuple[np.ndarray, np.ndarray, dict]:
    """Train images and labels of ``name`` (:func:`speed_levers.load`), and the
    parameters the study's pipeline is given for them: the image shape it declares (the
    colour set's 3 x 28 x 28), none for sets whose shape ``"auto"`` finds, or with
    :data:`UNDECLARED` after the name; a grey set tinted with :data:`TINTED` after it."""
    if name.endswith(UNDECLARED):
        return (*load(name.removesuffix(UNDECLARED)), {})
    if name.endswith(TINTED):  # a second colour set, as the study's colour set is made
        X, y, _ = load_set(name.removesuffix(TINTED))
        side = math.isqrt(X.shape[1])
        return _tinted(X, 0), y, {"image_shape": (3, side, side)}
    if name not in IMAGE_SETS:
        return (*load(name), {})
    data = load_image_set(name)
    declared = {} if data.image_shape is None else {"image_shape": tuple(data.image_shape)}
    return data.X_train, data.y_train, declared


def run(name: str, labels: list[int], seeds: int, settings: list[str],
        propagations: list[str], tta: bool = False, augmented_labels: bool = False,
        pixel_graph: bool = False, head_logits_too: bool = False, first_seed: int = 0,
        features: bool = False, graph_heads: bool = False, spectral: bool = False,
        aligned: bool = False, cluster_kernel: bool = False) -> None:
    X, y, declared = load_set(name)
    pool, val = validation_split(len(X))
    for n in labels:
        for seed in range(first_seed, seeds):
            lab = pool[make_semi_supervised_split(y[pool], n, random_state=seed)[0]]
            rest = np.setdiff1d(np.arange(len(X)), lab)
            for setting in settings:
                start = time.perf_counter()
                extra = {}
                if setting in SELF_TRAINING:
                    Z, vae, extra["pseudo_label_precision"] = self_trained(
                        setting, seed, X, y, lab, rest, np.setdiff1d(pool, lab), declared)
                else:
                    Z, vae = fit_setting(setting, seed, X, y, lab, rest, declared)
                seconds = time.perf_counter() - start
                codes = {setting: Z}
                if setting in ENSEMBLES:  # its first member is the default
                    codes["default"] = Z[:, :vae.n_components]
                if pixel_graph and vae.propagation_ is not None:
                    other_graphs, extra = graph_scores(vae, X, y, lab)
                    codes.update({f"{setting}, {g}": Z for g, Z in other_graphs.items()})
                if setting in CONSISTENCY:
                    extra["consistency_kept"] = consistency_kept(vae)
                if tta:
                    codes[f"{setting}, test-time shifts"] = test_time_augmented(vae, X)
                if head_logits_too:
                    codes.update(with_head_logits(vae, Z, setting))
                if features and vae.propagation_ is not None:
                    codes.update({f"{setting}, {f}": F
                                  for f, F in feature_codes(vae, X).items()})
                if spectral and vae.propagation_ is not None:
                    codes.update({f"{setting}, {f}": F
                                  for f, F in spectral_codes(vae, X, Z).items()})
                if "cosine graph" in propagations and vae.propagation_ is not None:
                    extra.update(cosine_measures(vae, X, y, lab))
                if propagations and vae.propagation_ is not None:
                    codes.update({f"{setting}, {p}": graph_propagated(vae, X, p) if p in GRAPHS
                                  else split_propagated(vae, X, lab, p) if p in SPLIT_ALPHAS
                                  else multiscale_propagated(vae, X, Z, p) if p in MULTISCALE
                                  else propagated(vae, X, *PROPAGATIONS[p])
                                  for p in propagations})
                for label, Z in codes.items():
                    scores = heads(Z, y, pool, val, lab)
                    if augmented_labels and label == setting and setting not in ENSEMBLES:
                        scores.update(augmented_label_scores(vae, X, y, lab, val, Z))
                    if head_logits_too and label == setting:
                        scores.update(head_scores(vae, X, y, val, Z))
                    if graph_heads:
                        scores.update(graph_head_scores(Z, y, pool, val, lab))
                    if aligned and label == setting:
                        scores.update(aligned_head_scores(Z, y, pool, val, lab))
                    if cluster_kernel and label == setting:
                        scores.update(cluster_kernel_scores(Z, y, pool, val, lab))
                    for head, accuracy in scores.items():
                        row = {"set": name, "labels": n, "seed": seed, "setting": label,
                               "head": head, "val_accuracy": accuracy,
                               "vae_seconds": seconds}
                        row.update(extra)
                        record(OUT, row)


def head_confidence(rows: int = 3000, labels: int = 100, epochs: int = 30) -> None:
    """Print how many unlabeled images the default head gives each probability, and how
    many of those it gets right (the first ``rows`` Fashion-MNIST images, augmented)."""
    X, y = load(f"fashion-mnist-{rows}")
    lab, rest = np.arange(labels), np.arange(labels, rows)
    vae = VAETransformer(random_state=0, augmentation="shift", max_epochs=epochs)
    vae.fit(X[lab], y[lab], X_unlabeled=X[rest])
    with torch.no_grad():
        logits = vae.net_.module_.classify(torch.from_numpy(vae.encode(X[rest])))
    confidence, predicted = torch.softmax(logits, 1).max(1)
    for threshold in (0.5, 0.7, 0.8, 0.9, 0.95):
        kept = (confidence >= threshold).numpy()
        right = (predicted.numpy()[kept] == y[rest][kept]).mean() if kept.any() else np.nan
        print(f"p >= {threshold}: {100 * kept.mean():.1f} % of the unlabeled images, "
              f"{100 * right:.1f} % of them right")


def summary() -> None:
    cells = defaultdict(dict)
    for r in read_jsonl(OUT):
        cells[(r["set"], r["labels"], r["setting"], r["head"])][r["seed"]] = r["val_accuracy"]
    for key in sorted(cells):
        print_cell(key, 100 * np.array([cells[key][s] for s in sorted(cells[key])]))


#: The optional scorings of :func:`run`, each a flag of the command line: run's keyword
#: -> (the flag, its help).
SCORINGS: dict[str, tuple[str, str]] = {
    "tta": ("--tta", "also codes averaged over 1-pixel shifts of each image"),
    "augmented_labels": ("--augmented-labels",
                         "also SVC() on the codes of shifted (and mirrored) labeled images"),
    "pixel_graph": ("--pixel-graph", "also the codes propagated over the pixels' k-NN graph"),
    "head_logits_too": ("--head-logits", "also the VAE's own head, and SVC() on the codes "
                        "joined with the head's logits"),
    "features": ("--features", "also SVC() on the encoder's hidden layers, propagated over "
                 "the code graph"),
    "graph_heads": ("--graph-heads", "also heads over the pool's code graph: Poisson "
                    "learning, the SVC's scores smoothed, and the SVC's and Poisson's scores "
                    "summed"),
    "spectral": ("--spectral", "also SVC() on the Laplacian eigenmaps of the code graph, "
                 "alone and joined to the codes"),
    "aligned": ("--aligned", "also SVC() with class offsets that balance its predictions on "
                "the unlabeled pool"),
    "cluster_kernel": ("--cluster-kernel",
                       "also an SVC on the bagged cluster kernel of the pool's codes"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["digits"])
    parser.add_argument("--labels", type=int, nargs="+", default=[50, 100])
    parser.add_argument("--seeds", type=int, default=3, help="labeled subsets 0..N-1")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="skip the subsets before this one (already run)")
    parser.add_argument("--settings", nargs="+", default=["default"],
                        choices=[*SETTINGS, *CONSISTENCY, *ENSEMBLES, *SELF_TRAINING])
    parser.add_argument("--propagations", nargs="*", default=[],
                        choices=[*PROPAGATIONS, *GRAPHS, *SPLIT_ALPHAS, *MULTISCALE],
                        help="other propagations or graphs over each setting's training codes")
    for keyword, (flag, text) in SCORINGS.items():
        parser.add_argument(flag, dest=keyword, action="store_true", help=text)
    parser.add_argument("--summary", action="store_true")
    parser.add_argument("--head-confidence", action="store_true",
                        help="the default head's probabilities on 3,000 images, 100 labels")
    args = parser.parse_args()
    if args.summary:
        summary()
        return
    if args.head_confidence:
        head_confidence()
        return
    for name in args.sets:
        run(name, args.labels, args.seeds, args.settings, args.propagations,
            first_seed=args.first_seed, **{k: getattr(args, k) for k in SCORINGS})


if __name__ == "__main__":
    main()
