"""Prototype for issue 5: semi-supervised objectives inside the VAE (development only).

Pure PyTorch loop around ``vaesvm._model.VAE`` plus a linear classifier head on the
latent mean. Trains on all 60,000 train images (the labeled subset drawn from the
50,000-image pool of ``experiments.validation_split``), scores an RBF SVC on the
latent means and the head itself on the 10,000 held-out validation images every
few epochs. The official test set is never loaded.

Usage: python scripts/prototype_ssvae.py --alpha 1 --cons 1 --aug [--labels 100]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from sklearn.svm import SVC
from torch import nn
from torch.nn import functional as F

from vaesvm import load_fashion_mnist, make_semi_supervised_split
from vaesvm._model import VAE, kl_divergence
from vaesvm.study.experiments import validation_split


def shift_flip(x: torch.Tensor, max_shift: int, flip: bool, erase: int = 0) -> torch.Tensor:
    """Random per-image translation (zero padding) and horizontal flip of flat 28x28."""
    n = len(x)
    img = x.view(n, 28, 28)
    if flip:
        mask = torch.rand(n) < 0.5
        img = torch.where(mask[:, None, None], img.flip(2), img)
    if max_shift:
        p = max_shift
        pad = F.pad(img, (p, p, p, p))
        dy = torch.randint(0, 2 * p + 1, (n,))
        dx = torch.randint(0, 2 * p + 1, (n,))
        ar = torch.arange(28)
        rows = (dy[:, None] + ar)[:, :, None]
        cols = (dx[:, None] + ar)[:, None, :]
        img = pad[torch.arange(n)[:, None, None], rows, cols]
    if erase:
        y0 = torch.randint(0, 28 - erase + 1, (n,))[:, None, None]
        x0 = torch.randint(0, 28 - erase + 1, (n,))[:, None, None]
        ar = torch.arange(28)
        inside = ((ar[None, :, None] >= y0) & (ar[None, :, None] < y0 + erase)
                  & (ar[None, None, :] >= x0) & (ar[None, None, :] < x0 + erase))
        img = img.masked_fill(inside, 0.0)
    return img.reshape(n, 784)


def pseudo_labels(Z, lab, y, args):
    """LabelSpreading on the latent kNN graph; the most confident rows per class."""
    from sklearn.semi_supervised import LabelSpreading

    yy = np.full(len(Z), -1)
    yy[lab] = y[lab]
    ls = LabelSpreading(kernel="knn", n_neighbors=args.pl_k, alpha=0.2, max_iter=30).fit(Z, yy)
    dist = ls.label_distributions_
    pred = ls.classes_[dist.argmax(1)]
    conf = dist.max(1)
    conf[lab] = -1
    chosen = []
    for c in range(10):
        idx = np.flatnonzero(pred == c)
        chosen.append(idx[np.argsort(-conf[idx])[: args.pl_per_class]])
    chosen = np.concatenate(chosen)
    acc = float((pred[chosen] == y[chosen]).mean())
    return (torch.from_numpy(_X[chosen]), torch.from_numpy(pred[chosen]).long(), round(acc, 4))


_X = None


def main() -> None:
    global _X
    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", type=int, default=100)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--eval-every", type=int, default=10)
    ap.add_argument("--alpha", type=float, default=1.0, help="labeled CE weight (per image)")
    ap.add_argument("--lab-batch", type=int, default=64)
    ap.add_argument("--cons", type=float, default=0.0, help="consistency weight")
    ap.add_argument("--tau", type=float, default=0.0, help="pseudo-label threshold (0=soft)")
    ap.add_argument("--aug", action="store_true", help="train the VAE on weak augmentations")
    ap.add_argument("--strong-shift", type=int, default=3)
    ap.add_argument("--ent", type=float, default=0.0, help="entropy minimisation weight")
    ap.add_argument("--nc", type=int, default=50)
    ap.add_argument("--kl", type=float, default=1.0)
    ap.add_argument("--head", default="linear", choices=["linear", "mlp"])
    ap.add_argument("--pl-epochs", type=int, nargs="*", default=[])
    ap.add_argument("--pl-per-class", type=int, default=1000)
    ap.add_argument("--pl-weight", type=float, default=1.0)
    ap.add_argument("--pl-k", type=int, default=30)
    ap.add_argument("--vat", type=float, default=0.0)
    ap.add_argument("--vat-eps", type=float, default=2.0)
    ap.add_argument("--clean-target", action="store_true",
                    help="reconstruct the un-augmented image (denoising VAE)")
    ap.add_argument("--shift", type=int, default=2)
    ap.add_argument("--erase", type=int, default=0, help="side of a random erased square")
    ap.add_argument("--arch", default="mlp", choices=["mlp", "conv"])
    ap.add_argument("--channels", type=int, nargs=2, default=[16, 32])
    ap.add_argument("--svc-c", type=float, nargs="*", default=[],
                    help="also score SVCs with these C values (gamma='scale')")
    ap.add_argument("--save-codes", default=None,
                    help="folder: save the latent means of all train images at every evaluation")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    data = load_fashion_mnist()
    X = torch.from_numpy(data.X_train)
    _X = data.X_train
    y = data.y_train
    pool, val = validation_split(len(X))
    results = []
    for seed in args.seeds:
        torch.manual_seed(seed)
        lab_rel, _ = make_semi_supervised_split(y[pool], args.labels, random_state=seed)
        lab = pool[lab_rel]
        Xl, yl = X[lab], torch.from_numpy(y[lab]).long()
        model = VAE(784, args.nc)
        if args.arch == "conv":
            c1, c2 = args.channels
            model.encoder = nn.Sequential(
                nn.Unflatten(1, (1, 28, 28)), nn.Conv2d(1, c1, 5, 2, 2, bias=False),
                nn.BatchNorm2d(c1), nn.Softplus(), nn.Conv2d(c1, c2, 5, 2, 2, bias=False),
                nn.BatchNorm2d(c2), nn.Softplus(), nn.Flatten(),
                nn.Linear(c2 * 49, 600, bias=False), nn.BatchNorm1d(600), nn.Softplus())
        head = (nn.Linear(args.nc, 10) if args.head == "linear" else
                nn.Sequential(nn.Linear(args.nc, 200), nn.Softplus(), nn.Linear(200, 10)))
        params = list(model.parameters()) + list(head.parameters())
        opt = torch.optim.Adam(params, lr=1e-3)
        start = time.time()
        Xp = yp = None
        for epoch in range(1, args.epochs + 1):
            model.train()
            head.train()
            beta = args.kl * min(1.0, epoch / 10)
            perm = torch.randperm(len(X))
            for a in range(0, len(X), 256):
                xb0 = X[perm[a:a + 256]]
                xb = shift_flip(xb0, args.shift, True, args.erase) if args.aug else xb0
                li = torch.randint(0, len(Xl), (args.lab_batch,))
                xl0 = Xl[li]
                xl = shift_flip(xl0, args.shift, True, args.erase) if args.aug else xl0
                xin = torch.cat([xb, xl])
                rtarget = torch.cat([xb0, xl0]) if args.clean_target else xin
                out, mu, logvar = model(xin)
                rec = F.binary_cross_entropy_with_logits(out, rtarget, reduction="none").sum(1)
                loss = (rec + beta * kl_divergence(mu, logvar)).mean()
                logits = head(mu)
                nb = len(xb)
                loss = loss + args.alpha * F.cross_entropy(logits[nb:], yl[li])
                if args.ent:
                    p = F.softmax(logits[:nb], 1)
                    loss = loss - args.ent * (p * F.log_softmax(logits[:nb], 1)).sum(1).mean()
                if args.cons:
                    target = F.softmax(logits[:nb].detach(), 1)
                    xs = shift_flip(xb, args.strong_shift, True)
                    mu_s, _ = model.encode(xs)
                    ls = F.log_softmax(head(mu_s), 1)
                    if args.tau:
                        conf, yhat = target.max(1)
                        m = (conf >= args.tau).float()
                        c = (F.nll_loss(ls, yhat, reduction="none") * m).mean()
                    else:
                        c = -(target * ls).sum(1).mean()
                    loss = loss + args.cons * c
                if args.vat:
                    p_clean = F.softmax(logits[:nb].detach(), 1)
                    d = torch.randn_like(xb)
                    d = 1e-6 * d / d.norm(dim=1, keepdim=True)
                    d.requires_grad_(True)
                    lp = F.log_softmax(head(model.encode(xb + d)[0]), 1)
                    adv = F.kl_div(lp, p_clean, reduction="batchmean")
                    g, = torch.autograd.grad(adv, d)
                    r = args.vat_eps * g / (g.norm(dim=1, keepdim=True) + 1e-12)
                    lp = F.log_softmax(head(model.encode(xb + r.detach())[0]), 1)
                    loss = loss + args.vat * F.kl_div(lp, p_clean, reduction="batchmean")
                if Xp is not None:
                    pi = torch.randint(0, len(Xp), (args.lab_batch,))
                    xp = Xp[pi]
                    if args.aug:
                        xp = shift_flip(xp, 2, True)
                    mu_p, _ = model.encode(xp)
                    loss = loss + args.pl_weight * F.cross_entropy(head(mu_p), yp[pi])
                opt.zero_grad()
                loss.backward()
                opt.step()
            if epoch in args.pl_epochs:
                model.eval()
                with torch.no_grad():
                    Z = torch.cat([model.encode(X[i:i + 4096])[0] for i in range(0, len(X), 4096)])
                Xp, yp, pl_acc = pseudo_labels(Z.numpy(), lab, y, args)
                print(json.dumps(dict(epoch=epoch, pl_acc=pl_acc, n=len(yp))), flush=True)
            if epoch % args.eval_every == 0 or epoch == args.epochs:
                model.eval()
                head.eval()
                with torch.no_grad():
                    Z = torch.cat([model.encode(X[i:i + 4096])[0] for i in range(0, len(X), 4096)])
                    h_acc = (head(Z[val]).argmax(1).numpy() == y[val]).mean()
                Z = Z.numpy()
                if args.save_codes:
                    import os
                    os.makedirs(args.save_codes, exist_ok=True)
                    np.savez(os.path.join(args.save_codes, f"L{args.labels}_s{seed}_e{epoch}.npz"),
                             Z=Z, lab=lab, val=val)
                svc = SVC().fit(Z[lab], y[lab])
                s_acc = svc.score(Z[val], y[val])
                row = dict(seed=seed, epoch=epoch, svc=round(100 * s_acc, 2),
                           head=round(100 * h_acc, 2), t=round(time.time() - start, 1))
                for c in args.svc_c:
                    acc_c = SVC(C=c).fit(Z[lab], y[lab]).score(Z[val], y[val])
                    row[f"svc_C{c:g}"] = round(100 * acc_c, 2)
                print(json.dumps(row), flush=True)
                if epoch == args.epochs:
                    results.append(row)
    svc = [r["svc"] for r in results]
    head = [r["head"] for r in results]
    summary = dict(args=vars(args), svc_mean=float(np.mean(svc)), svc_std=float(np.std(svc)),
                   head_mean=float(np.mean(head)), per_seed=results)
    print(json.dumps(summary), flush=True)
    if args.out:
        with open(args.out, "a") as fh:
            fh.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
