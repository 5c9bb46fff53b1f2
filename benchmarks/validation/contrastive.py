"""Validation of a contrastive representation learner (issue 30): SimCLR codes of the
library's convolutional encoder against the VAE's, in the VAE's training budget.

    python benchmarks/validation/contrastive.py --epochs 30 --labels 100 1000
    python benchmarks/validation/contrastive.py --epochs 30 --labels 100 1000 \
        --temp 0.2 --lr 2e-3 --normalize

The encoder body of ``VAETransformer`` (:func:`vaesvm._model.make_conv_encoder`, 5x5
then 3x3 stride-2 convolutions, 600 units) and a linear 50-d code, trained with the
NT-Xent loss of SimCLR (Chen et al., 2020) through a 128-64 projection head on two
views of every image (random resized crop of 50-100 % of the area, aspect 3/4-4/3,
and a mirror with probability 1/2), batches of 512, Adam, on the first 20,000
Fashion-MNIST train images (the validation images among them, unlabeled, as the
levers' VAEs see them). Scored as the levers are: ``SVC()`` on the codes of the
labeled subset (raw, and propagated as the default does at 100 labels: alpha 0.9,
10 neighbours, 10 steps), accuracy on the validation images. One JSON line per label
count in ``docs/results/validation/contrastive.jsonl``.
"""
import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from _common import labeled_subset, record
from sklearn.svm import SVC
from speed_levers import load

from vaesvm._model import make_conv_encoder
from vaesvm._propagation import EmbeddingPropagation
from vaesvm.study.experiments import validation_split

OUT = Path(__file__).resolve().parents[2] / "docs" / "results" / "validation" / "contrastive.jsonl"


def crop_flip(x, side, gen, scale=(0.5, 1.0)):
    """Random resized crop (area in scale, aspect 3/4..4/3) + flip via affine_grid."""
    n = len(x)
    img = x.reshape(n, 1, side, side)
    area = torch.empty(n).uniform_(*scale, generator=gen)
    logr = torch.empty(n).uniform_(np.log(3 / 4), np.log(4 / 3), generator=gen)
    r = torch.exp(logr)
    sw = torch.sqrt(area * r).clamp(max=1.0)
    sh = torch.sqrt(area / r).clamp(max=1.0)
    tx = (torch.rand(n, generator=gen) * 2 - 1) * (1 - sw)
    ty = (torch.rand(n, generator=gen) * 2 - 1) * (1 - sh)
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = sw * flip
    theta[:, 0, 2] = tx
    theta[:, 1, 1] = sh
    theta[:, 1, 2] = ty
    grid = F.affine_grid(theta, img.shape, align_corners=False)
    return F.grid_sample(img, grid, align_corners=False, padding_mode="zeros").reshape(n, -1)


class Encoder(torch.nn.Module):
    """The VAE's encoder body, a linear ``d``-dimensional code, a projection head."""

    def __init__(self, side, d=50, proj=64):
        super().__init__()
        self.body, w = make_conv_encoder((side, side), (600, 600))
        self.code = torch.nn.Linear(w, d)
        self.head = torch.nn.Sequential(torch.nn.Linear(d, 128), torch.nn.ReLU(),
                                        torch.nn.Linear(128, proj))

    def forward(self, x):
        """The codes (before the projection head)."""
        return self.code(self.body(x))


def nt_xent(z1, z2, t):
    """SimCLR's NT-Xent loss of the paired views ``z1``, ``z2`` at temperature ``t``."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.T / t
    n = len(z1)
    sim.fill_diagonal_(-1e9)
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return F.cross_entropy(sim, target)


def codes_of(model, X):
    """The codes of every row of ``X``, in eval mode."""
    model.eval()
    with torch.no_grad():
        return torch.cat([model(torch.from_numpy(X[i:i + 4096]))
                          for i in range(0, len(X), 4096)]).numpy()


def main():
    """Train one encoder, score SVC on its codes for each label count and subset."""
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--temp", type=float, default=0.5)
    p.add_argument("--scale", type=float, default=0.5)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--labels", type=int, nargs="+", default=[100])
    p.add_argument("--tag", default="")
    p.add_argument("--normalize", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(2)
    X, y = load("fashion-mnist-20000")
    X = np.ascontiguousarray(X, dtype=np.float32)
    side = 28
    pool, val = validation_split(len(X))
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    model = Encoder(side)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    Xt = torch.from_numpy(X)
    start = time.perf_counter()
    for epoch in range(a.epochs):
        model.train()
        perm = torch.randperm(len(X), generator=gen)
        total = 0.0
        for i in range(0, len(X) - a.batch + 1, a.batch):
            xb = Xt[perm[i:i + a.batch]]
            v1 = crop_flip(xb, side, gen, (a.scale, 1.0))
            v2 = crop_flip(xb, side, gen, (a.scale, 1.0))
            loss = nt_xent(model.head(model(v1)), model.head(model(v2)), a.temp)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach())
        print(f"epoch {epoch} loss {total:.2f} {time.perf_counter() - start:.0f}s", flush=True)
    train_s = time.perf_counter() - start
    Z = codes_of(model, X)
    if a.normalize:
        Z = Z / np.linalg.norm(Z, axis=1, keepdims=True)
    prop = EmbeddingPropagation(0.9, 10, 10).fit(torch.from_numpy(Z))
    P = prop.transform(torch.from_numpy(Z)).numpy()
    for n in a.labels:
        raw, pr = [], []
        for seed in range(a.seeds):
            lab = labeled_subset(y, pool, n, seed)
            raw.append(SVC().fit(Z[lab], y[lab]).score(Z[val], y[val]))
            pr.append(SVC().fit(P[lab], y[lab]).score(P[val], y[val]))
        row = {"tag": a.tag, "args": vars(a), "labels": n, "raw": raw, "propagated": pr,
               "raw_mean": float(np.mean(raw)), "prop_mean": float(np.mean(pr)),
               "train_s": train_s}
        record(OUT, row)


if __name__ == "__main__":
    main()
