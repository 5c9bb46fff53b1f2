"""Prototype for issue 5: Kingma et al.'s M2 trained on the latent means of our M1 VAE.

Development only (not part of the package). Reads the latent means of a VAE
trained on all 60,000 train images (``scripts/select_defaults.py --cache DIR``
writes them), trains M2 (classifier q(y|x), encoder q(z|x,y), Gaussian decoder
p(x|y,z)) with the labeled subsets of the study (seeds 0..2) and scores the
classifier on 10,000 held-out train images (validation; no test data).

Usage: python scripts/prototype_m1m2.py /path/to/default.npz [--labels 100] [--epochs 20]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from vaesvm import load_fashion_mnist, make_semi_supervised_split
from vaesvm._model import kl_divergence


class M2(nn.Module):
    def __init__(self, d: int, k: int = 10, z: int = 10, h: int = 500) -> None:
        super().__init__()
        self.k = k
        self.cls = nn.Sequential(nn.Linear(d, h), nn.Softplus(), nn.Linear(h, k))
        self.enc = nn.Sequential(nn.Linear(d + k, h), nn.Softplus(), nn.Linear(h, 2 * z))
        self.dec = nn.Sequential(nn.Linear(z + k, h), nn.Softplus(), nn.Linear(h, d))
        self.log_var = nn.Parameter(torch.zeros(d))

    def neg_elbo(self, x: torch.Tensor, y1h: torch.Tensor) -> torch.Tensor:
        mu, logvar = self.enc(torch.cat([x, y1h], 1)).chunk(2, 1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        mean = self.dec(torch.cat([z, y1h], 1))
        nll = 0.5 * ((x - mean) ** 2 * torch.exp(-self.log_var) + self.log_var).sum(1)
        return nll + kl_divergence(mu, logvar) + np.log(self.k)  # - log p(y), uniform

    def unlabeled_loss(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.cls(x)
        q = F.softmax(logits, 1)
        n = len(x)
        xs = x.repeat_interleave(self.k, 0)
        ys = torch.eye(self.k).repeat(n, 1)
        L = self.neg_elbo(xs, ys).view(n, self.k)
        entropy = -(q * F.log_softmax(logits, 1)).sum(1)
        return (q * L).sum(1) - entropy


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("latents")
    parser.add_argument("--labels", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--alpha", type=float, default=50.0)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--standardize", action="store_true")
    args = parser.parse_args()

    data = load_fashion_mnist()
    y = data.y_train
    Z = np.load(args.latents)["Z"]
    if args.standardize:
        Z = (Z - Z.mean(0)) / (Z.std(0) + 1e-6)
    val = np.random.RandomState(123).permutation(len(Z))[:10000]
    Zt, yt = torch.from_numpy(Z).float(), torch.from_numpy(y)
    for seed in range(args.seeds):
        torch.manual_seed(seed)
        lab, _ = make_semi_supervised_split(y, args.labels, random_state=seed)
        v = np.setdiff1d(val, lab)
        model = M2(Z.shape[1])
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        xl, yl = Zt[lab], yt[lab]
        start = time.time()
        for epoch in range(args.epochs):
            perm = torch.randperm(len(Zt))
            for a in range(0, len(Zt), 256):
                xu = Zt[perm[a:a + 256]]
                bl = torch.randint(0, len(xl), (100,))
                loss = (model.unlabeled_loss(xu).mean()
                        + model.neg_elbo(xl[bl], F.one_hot(yl[bl], 10).float()).mean()
                        + args.alpha * F.cross_entropy(model.cls(xl[bl]), yl[bl]))
                opt.zero_grad()
                loss.backward()
                opt.step()
            with torch.no_grad():
                acc = (model.cls(Zt[v]).argmax(1) == yt[v]).float().mean().item()
            print(f"seed {seed} epoch {epoch + 1}: val acc {acc:.4f} "
                  f"({time.time() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
