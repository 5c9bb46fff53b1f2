"""Choose how ``suggest_labels`` picks images, on validation data (issue 32).

Four steps, each appending JSON lines (the rows of ``docs/results/validation/suggest_*``):

``codes SEED``
    Fit the default ``VAETransformer(random_state=SEED)`` without labels on the 50,000
    pool images (the validation images are left out); save its ``transform`` and
    ``encode`` codes of pool and validation images, its fit seconds, and the model.
``proxy SEED``
    Cold-start selections on those codes, scored by a plain ``SVC()`` on the
    ``transform`` codes of the picked images against the validation images (cheap: no
    VAE is trained again): a random class-balanced subset (what the study draws), a
    uniform random draw, the image nearest each k-means centre, the most typical image
    of each k-means cluster (TypiClust), on the propagated codes (``Z``) or the latent
    means (``M``); and two next rounds after 100 typical picks, clusters counted with
    the labeled images: the most typical image per uncovered cluster ("cover") or the
    least certain of its typical half ("uncertain", margin of an SVC fitted on the 100).
``fraction SEED``
    The next round again with the least certain image taken among the cluster's
    ``typical_fraction`` most typical (0.05, 0.1, 0.25, 1.0).
``pipeline SEED N[,N] METHOD[,METHOD]``
    The real default Pipeline fitted on the pool with the picked images labeled
    ("typical": ``suggest_labels`` with the VAE of ``codes``; "random": the
    class-balanced subset), scored on the validation images.

Labeled subsets and k-means use the selection seeds 0 and 1 (``proxy`` 0 to 2 where it
ran to the end). The official test set is never loaded.

Usage: python benchmarks/validation/suggest_labels.py STEP SEED [...] [--dir DIR]
"""

from __future__ import annotations

import argparse
import pathlib
import time
import warnings

import joblib
import numpy as np
import torch
from _common import append_jsonl, load_train
from sklearn.cluster import KMeans
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from vaesvm import VAETransformer, make_semi_supervised_split, suggest_labels
from vaesvm._options import SUGGEST
from vaesvm._suggest import pick, typicality

OUT = pathlib.Path("docs/results/validation")


def codes(seed: int, work: pathlib.Path) -> None:
    X, _, pool, val = load_train()
    start = time.perf_counter()
    vae = VAETransformer(random_state=seed).fit(X[pool])
    fit_s = time.perf_counter() - start
    np.savez(work / f"codes_{seed}.npz", pool=pool, val=val, Zp=vae.transform(X[pool]),
             Zv=vae.transform(X[val]), Mp=vae.encode(X[pool]), Mv=vae.encode(X[val]),
             fit_s=fit_s)
    joblib.dump(vae, work / f"vae_{seed}.joblib")
    print("seed", seed, "fit", fit_s, flush=True)


def _centre(km: KMeans, Z: np.ndarray) -> np.ndarray:
    """The image nearest each k-means centre."""
    out = []
    for c in range(km.n_clusters):
        members = np.flatnonzero(km.labels_ == c)
        out.append(members[np.argmin(((Z[members] - km.cluster_centers_[c]) ** 2).sum(1))])
    return np.array(out)


def _margin(clf: SVC, Z: np.ndarray) -> np.ndarray:
    s = np.sort(clf.decision_function(Z), axis=1)
    return s[:, -1] - s[:, -2]


def proxy(seed: int, work: pathlib.Path) -> None:
    _, y, _, _ = load_train()
    f = np.load(work / f"codes_{seed}.npz")
    pool, val = f["pool"], f["val"]
    yp, yv = y[pool], y[val]
    feats = {"Z": f["Zp"], "M": f["Mp"]}
    typ = {k: typicality(np.ascontiguousarray(v, dtype=np.float32), 20, 0)
           for k, v in feats.items()}
    none = np.zeros(len(pool), bool)

    def score(idx):
        return SVC().fit(f["Zp"][idx], yp[idx]).score(f["Zv"], yv)

    for sseed in (0, 1, 2):
        first = None
        for n in (100, 600, 1000, 3000):
            sel = {"random_balanced": make_semi_supervised_split(yp, n, random_state=sseed)[0],
                   "random": np.random.RandomState(sseed).choice(len(pool), n, replace=False)}
            for fk in ("Z", "M"):
                km = KMeans(n, n_init=1, random_state=sseed).fit(feats[fk])
                sel[f"centre_{fk}"] = _centre(km, feats[fk])
                sel[f"typical_{fk}"] = pick(km.labels_, typ[fk], none, n)
            if n == 100:
                first = sel["typical_Z"]
            else:  # a next round from the 100 typical ones
                lab = np.zeros(len(pool), bool)
                lab[first] = True
                cert = _margin(SVC().fit(f["Zp"][first], yp[first]), f["Zp"])
                km = KMeans(n, n_init=1, random_state=sseed).fit(feats["Z"])
                sel["round2_cover"] = np.concatenate(
                    [first, pick(km.labels_, typ["Z"], lab, n - 100)])
                sel["round2_uncertain"] = np.concatenate(
                    [first, pick(km.labels_, typ["Z"], lab, n - 100, cert)])
            for name, idx in sel.items():
                counts = np.bincount(yp[idx], minlength=10)
                append_jsonl(OUT / "suggest_proxy.jsonl", dict(
                    vae_seed=seed, n=n, sel_seed=sseed, method=name,
                    n_sel=len(np.unique(idx)), val_acc=float(score(idx)),
                    min_class=int(counts.min()), max_class=int(counts.max())))


def fraction(seed: int, work: pathlib.Path) -> None:
    _, y, _, _ = load_train()
    f = np.load(work / f"codes_{seed}.npz")
    pool, val = f["pool"], f["val"]
    yp, yv = y[pool], y[val]
    Z = np.ascontiguousarray(f["Zp"], dtype=np.float32)
    typ = typicality(Z, 20, 0)
    none = np.zeros(len(pool), bool)
    for sseed in (0, 1):
        first = pick(KMeans(100, n_init=1, random_state=sseed).fit(Z).labels_, typ, none, 100)
        lab = np.zeros(len(pool), bool)
        lab[first] = True
        cert = _margin(SVC().fit(Z[first], yp[first]), Z)
        for n in (600, 1000):
            labels = KMeans(n, n_init=1, random_state=sseed).fit(Z).labels_
            for frac in (0.05, 0.1, 0.25, 1.0):
                SUGGEST["typical_fraction"] = frac
                idx = np.concatenate([first, pick(labels, typ, lab, n - 100, cert)])
                acc = SVC().fit(Z[idx], yp[idx]).score(f["Zv"], yv)
                append_jsonl(OUT / "suggest_fraction.jsonl", dict(
                    vae_seed=seed, sel_seed=sseed, n=n, frac=frac, val_acc=float(acc)))


def pipeline(seed: int, ns: list[int], methods: list[str], work: pathlib.Path) -> None:
    X_all, y_all, pool, val = load_train()
    X, y = X_all[pool], y_all[pool]
    vae = joblib.load(work / f"vae_{seed}.joblib")
    for n in ns:
        for method in methods:
            start = time.perf_counter()
            if method == "typical":
                lab = np.sort(suggest_labels(X, n, estimator=vae, random_state=seed))
            else:
                lab = make_semi_supervised_split(y, n, random_state=seed)[0]
            pick_s = time.perf_counter() - start
            unl = np.setdiff1d(np.arange(len(X)), lab)
            pipe = Pipeline([("vae", VAETransformer(random_state=seed)), ("svc", SVC())])
            pipe.fit(X[lab], y[lab], vae__X_unlabeled=X[unl])
            append_jsonl(OUT / "suggest_pipeline.jsonl", dict(
                seed=seed, n=n, method=method, val_acc=float(pipe.score(X_all[val], y_all[val])),
                pick_s=pick_s, counts=np.bincount(y[lab], minlength=10).tolist()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("codes", "proxy", "fraction", "pipeline"))
    parser.add_argument("seed", type=int)
    parser.add_argument("ns", nargs="?", default="100")
    parser.add_argument("methods", nargs="?", default="typical,random")
    parser.add_argument("--dir", default="suggest_work", help="where codes and VAEs are kept")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(1 if args.step in ("proxy", "fraction") else 2)
    work = pathlib.Path(args.dir)
    work.mkdir(exist_ok=True)
    if args.step == "pipeline":
        pipeline(args.seed, [int(n) for n in args.ns.split(",")], args.methods.split(","), work)
    else:
        {"codes": codes, "proxy": proxy, "fraction": fraction}[args.step](args.seed, work)


if __name__ == "__main__":
    main()
