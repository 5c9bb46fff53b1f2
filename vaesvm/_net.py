"""The skorch side: the net that trains a :class:`~vaesvm._model.VAE` and a batch
iterator that slices tensors instead of collating single samples (the callbacks are
in :mod:`vaesvm._callbacks`).

skorch owns the epoch/batch loop, device placement, history, printing and
(CUDA -> CPU) pickling; this module only customises the narrow hooks skorch
offers for that (``get_loss``, ``get_dataset``, callbacks, ``iterator_train``).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from skorch import NeuralNet
from skorch.callbacks import PassthroughScoring, ProgressBar
from skorch.dataset import unpack_data
from skorch.utils import is_dataset

from ._augment import ImageAugment
from ._callbacks import DivergenceGuard, EpochReporter, KLWarmup, divergence_advice
from ._options import STALLED_CHANGE, canonical_device, max_shift
from ._model import VAE, ELBOLoss
from ._rows import RowStack
from ._validation import as_tensor, user_stacklevel

__all__ = [
    "TensorBatchIterator",
    "TensorDataset",
    "VAENet",
    "build_net",
    "epoch_history",
    "fit_seeded",
    "latent_means",
    "loadable_device",
    "torch_threads",
]

#: Rows per batch at inference (encode, transform, inverse_transform, score_samples).
#: Larger batches were slower for the convolutional encoder and held more activations
#: at once, for no gain (figures: the performance record page, "Memory").
INFERENCE_BATCH_SIZE = 1024


class TensorDataset(torch.utils.data.Dataset):
    """Hold ``X`` (and optionally ``y``) as tensors already on the target device.

    Parameters
    ----------
    X : torch.Tensor of shape (n_samples, n_features)
        The data.
    y : torch.Tensor of shape (n_samples,) or None, default=None
        Optional per-sample targets.
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor | None = None) -> None:
        self.X = X
        self.y = y

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], (None if self.y is None else self.y[i])


class TensorBatchIterator:
    """Iterate over mini-batches of a :class:`TensorDataset` by tensor slicing.

    A drop-in ``iterator_train``/``iterator_valid`` for skorch: one
    ``randperm`` per epoch and one gather per batch replace the per-sample
    ``__getitem__`` + collation of ``torch.utils.data.DataLoader``.

    Parameters
    ----------
    dataset : TensorDataset
        The data.
    batch_size : int, default=128
        Rows per batch.
    shuffle : bool, default=False
        Draw a new permutation every epoch.
    seed : int or None, default=None
        Seed of the permutation generator; ``None`` draws one from torch's
        global generator (reproducible under ``torch.manual_seed``).
    min_batch_size : int, default=1
        A trailing batch smaller than this is merged into the previous one
        (BatchNorm cannot train on a batch of one sample).
    labeled_batch_size : int, default=0
        When positive and shuffling, every batch gets this many extra rows
        drawn with replacement from the labeled rows (``y >= 0``), so that a few
        labels among many unlabeled rows are seen at every step.
    augment : callable or None, default=None
        When shuffling, ``augment(X_batch, generator)`` replaces each batch
        (random label-preserving transformations, see :mod:`vaesvm._augment`).
    denoise : bool, default=False
        With ``augment``, yield ``{"X": augmented, "target": original}`` instead
        of the augmented tensor, so that :class:`VAENet` reconstructs the
        original images from their augmented copies (a denoising VAE).
    """

    def __init__(
        self,
        dataset: TensorDataset,
        batch_size: int = 128,
        shuffle: bool = False,
        seed: int | None = None,
        min_batch_size: int = 1,
        labeled_batch_size: int = 0,
        augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
        denoise: bool = False,
    ) -> None:
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.min_batch_size = min_batch_size
        self.labeled_batch_size = int(labeled_batch_size)
        self.augment = augment
        self.denoise = denoise
        if seed is None:
            seed = int(torch.randint(0, 2**62, (1,)).item())
        self._generator = torch.Generator().manual_seed(int(seed))

    def _bounds(self) -> list[int]:
        n = len(self.dataset)
        bounds = list(range(0, n, self.batch_size)) + [n]
        if len(bounds) > 2 and bounds[-1] - bounds[-2] < self.min_batch_size:
            del bounds[-2]
        return bounds

    def __len__(self) -> int:
        return len(self._bounds()) - 1

    def __iter__(self) -> Iterator[tuple[torch.Tensor | dict, torch.Tensor | None]]:
        X, y = self.dataset.X, self.dataset.y
        bounds = self._bounds()
        if self.shuffle:
            gen = self._generator
            labeled = None
            if y is not None and self.labeled_batch_size > 0:
                labeled = torch.nonzero(y >= 0).flatten()
                if labeled.numel() == 0:
                    labeled = None
            perm = torch.randperm(len(X), generator=gen).to(X.device)
            for a, b in zip(bounds[:-1], bounds[1:]):
                idx = perm[a:b]
                if labeled is not None:
                    pick = torch.randint(0, len(labeled), (self.labeled_batch_size,),
                                         generator=gen).to(X.device)
                    idx = torch.cat([idx, labeled[pick]])
                xb = X.index_select(0, idx)  # a faster gather than X[idx] on a CPU
                if self.augment is not None:
                    augmented = self.augment(xb, gen)
                    xb = {"X": augmented, "target": xb} if self.denoise else augmented
                yield xb, (None if y is None else y.index_select(0, idx))
        else:
            for a, b in zip(bounds[:-1], bounds[1:]):
                yield X[a:b], (None if y is None else y[a:b])


class VAENet(NeuralNet):
    """skorch ``NeuralNet`` whose loss is the (beta-weighted) negative ELBO.

    The module must be a :class:`~vaesvm._model.VAE` and the criterion an
    :class:`~vaesvm._model.ELBOLoss`. Per batch, the mean reconstruction and KL
    terms are recorded; :class:`~skorch.callbacks.PassthroughScoring` turns them
    into the epoch values ``train_reconstruction`` and ``train_kl``.

    A batch may be a dict ``{"X": input, "target": images}`` (denoising, see
    :class:`TensorBatchIterator`): the module encodes ``input`` and the
    reconstruction term scores ``target``.

    Parameters
    ----------
    *args, **kwargs
        As for :class:`skorch.NeuralNet`.
    precision : {"float32", "bfloat16"}, default="float32"
        ``"bfloat16"``: the training forward passes run under
        ``torch.autocast`` with bfloat16 (matrix products and convolutions in
        bfloat16, the weights, gradients, optimizer and loss in float32).
        Inference is float32 either way.
    """

    def __init__(self, *args, precision: str = "float32", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.precision = precision

    @property
    def _default_callbacks(self):
        return [
            *super()._default_callbacks,
            ("train_reconstruction", PassthroughScoring("train_reconstruction", on_train=True)),
            ("train_kl", PassthroughScoring("train_kl", on_train=True)),
        ]

    def __setstate__(self, state: dict) -> None:
        """Load on the device of :func:`loadable_device`, then as skorch does.

        skorch maps the saved tensors to ``state["device"]``, or to the CPU when
        that is a CUDA device and CUDA is absent (with a ``DeviceWarning``).
        """
        state["device"] = loadable_device(state.get("device"))
        super().__setstate__(state)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch's loop; a KeyboardInterrupt leaves it as an error, not a quiet stop."""
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt as exc:
            raise _TrainingInterrupted from exc

    def get_dataset(self, X, y=None):
        """Wrap arrays into a :class:`TensorDataset` on ``self.device`` (one copy at most)."""
        if is_dataset(X):
            return X
        # the rows of X and X_unlabeled stay in the arrays the user passed
        X = X.tensors(self.device) if isinstance(X, RowStack) else as_tensor(X, self.device)
        if y is not None:
            y = as_tensor(y, self.device)
        return TensorDataset(X, y)

    def infer(self, x, **fit_params):
        """Run the module on a batch; a denoising batch feeds its ``"X"`` entry.

        In training under ``precision="bfloat16"`` the pass is autocast and its
        outputs are returned in float32, so the loss is computed in float32.
        """
        if isinstance(x, Mapping):
            x = x["X"]
        if self.precision != "bfloat16" or not self.module_.training:
            return super().infer(x, **fit_params)
        with torch.autocast(torch.device(self.device).type, dtype=torch.bfloat16):
            outputs = super().infer(x, **fit_params)
        return tuple(out.float() for out in outputs)

    def loss_terms(self, y_pred, y_true, X) -> tuple[torch.Tensor, torch.Tensor,
                                                      torch.Tensor | None]:
        """Return the batch's per-row reconstruction and KL terms and its classification term.

        The classification term is the cross-entropy of the module's classifier
        head on the rows whose ``y_true`` is not -1, when the module has a head and
        labels are given; None otherwise. (A subclass that changes a term of the
        loss overrides this; :meth:`get_loss` weighs and records what it returns.)
        """
        if isinstance(X, Mapping):
            X = X["target"]
        reconstruction, kl = self.module_.elbo_terms(X, y_pred)
        classification = None
        if y_true is not None and self.module_.n_classes > 0:
            logits = self.module_.classify(y_pred[1])
            # mean over labeled rows only; the iterator puts some in every batch
            classification = torch.nn.functional.cross_entropy(logits, y_true, ignore_index=-1)
        return reconstruction, kl, classification

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Return the batch loss; record its terms when training.

        The loss is the negative ELBO, plus ``label_weight`` times the
        classification term (:meth:`loss_terms`).
        """
        reconstruction, kl, classification = self.loss_terms(y_pred, y_true, X)
        loss = self.criterion_(reconstruction, kl, classification)
        if training:
            # one device->host transfer for all terms (a sync per batch on CUDA)
            terms = [reconstruction.mean(), kl.mean()]
            if classification is not None:
                terms.append(classification.detach())
            values = torch.stack(terms).tolist()
            self.history.record_batch("train_reconstruction", values[0])
            self.history.record_batch("train_kl", values[1])
            if classification is not None:
                self.history.record_batch("train_classification", values[2])
        return loss

    def map_batches(
        self, X, fn: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor]
    ) -> np.ndarray:
        """Apply ``fn(module, batch)`` to ``X`` in evaluation mode, batch by batch.

        Parameters
        ----------
        X : ndarray or Dataset
            The inputs (latent codes are fine too: ``fn`` decides what they are).
        fn : callable
            Maps the module and a batch tensor to an output tensor.

        Returns
        -------
        ndarray
            The outputs of all batches in one array, on the CPU.
        """
        self.check_is_fitted()
        self._set_training(False)
        dataset = self.get_dataset(X)
        out, start = None, 0
        with torch.no_grad():
            for batch in self.get_iterator(dataset, training=False):
                values = fn(self.module_, unpack_data(batch)[0])
                if out is None:
                    # One array allocated up front, written batch by batch: keeping
                    # each batch's output until a final concatenation scattered small
                    # long-lived blocks between the batches' large transient buffers,
                    # and the heap then grew by a buffer per batch in some runs
                    # (performance record page, "Memory").
                    out = torch.empty((len(dataset), *values.shape[1:]), dtype=values.dtype,
                                      device="cpu")
                out[start:start + len(values)] = values
                start += len(values)
                del values  # freed before the next batch allocates, not after
        return out.numpy()


def loadable_device(device: str | torch.device | None) -> str | None:
    """The device a saved net's tensors load onto on this machine.

    Every CPU spelling becomes ``"cpu"`` (torch cannot restore tensors whose
    location is ``"cpu:0"``: nets trained with ``device="cpu:0"`` before the
    device was normalized in ``fit`` were saved so). A CUDA device whose index
    this machine does not have becomes ``"cuda"`` (the current device), with a
    warning. Without CUDA, a CUDA device is returned unchanged: skorch then
    loads on the CPU and says so.
    """
    if device is None:
        return None
    try:
        device = canonical_device(device)
    except ValueError:
        return device  # not ours to fix: skorch reports it
    resolved = torch.device(device)
    if (resolved.type == "cuda" and resolved.index is not None and torch.cuda.is_available()
            and resolved.index >= torch.cuda.device_count()):
        warnings.warn(
            f"This model was trained on {device!r}, but this machine has "
            f"{torch.cuda.device_count()} CUDA device(s); it loads on 'cuda' (the current "
            "device) instead.", UserWarning, stacklevel=user_stacklevel())
        return "cuda"
    return device


def build_net(params: Mapping, options, n_features: int, n_classes: int) -> VAENet:
    """The (uninitialized) net that trains one ``VAETransformer``.

    Parameters
    ----------
    params : mapping
        The estimator's parameters (``get_params()``).
    options : FitOptions
        The resolved ``"auto"`` choices (:mod:`vaesvm._options`).
    n_features : int
        Features per row.
    n_classes : int
        Classes of the classifier head (0: no head, the plain VAE).

    Returns
    -------
    VAENet
    """
    p = params
    augment = options.augmentation  # "none", a built-in name, or the user's callable
    if augment == "none":
        augment = None
    elif isinstance(augment, str):
        augment = ImageAugment(options.image_shape, flip=augment == "shift_flip",
                               max_shift=max_shift(options.image_shape))
    callbacks = [("kl_warmup", KLWarmup(options.kl_weight, p["kl_warmup_epochs"])),
                 ("divergence_guard", DivergenceGuard(divergence_advice(p))),
                 ("epoch_reporter", EpochReporter())]
    if n_classes:
        callbacks.append(("train_classification",
                          PassthroughScoring("train_classification", on_train=True)))
    if p["verbose"] >= 2:
        callbacks.append(("progress_bar", ProgressBar()))
    return VAENet(
        module=VAE,
        module__n_features=n_features,
        module__n_components=p["n_components"],
        module__hidden_layer_sizes=options.hidden_layer_sizes,
        module__activation=p["activation"],
        module__batch_norm=p["batch_norm"],
        module__likelihood=p["likelihood"],
        module__n_classes=n_classes,
        module__encoder=options.encoder,
        module__image_shape=options.image_shape if options.encoder == "conv" else None,
        module__generator=torch.Generator().manual_seed(options.seed),
        criterion=ELBOLoss,
        criterion__kl_weight=options.kl_weight,
        criterion__label_weight=options.label_weight,
        optimizer=torch.optim.Adam,
        optimizer__fused=has_fused_adam(options.device),
        lr=p["learning_rate"],
        max_epochs=options.max_epochs,
        batch_size=p["batch_size"],
        iterator_train=TensorBatchIterator,
        iterator_train__shuffle=True,
        iterator_train__seed=options.seed,
        iterator_train__min_batch_size=2 if p["batch_norm"] else 1,
        iterator_train__labeled_batch_size=p["labeled_batch_size"],
        iterator_train__augment=augment,
        iterator_train__denoise=p["denoising"],
        iterator_valid=TensorBatchIterator,
        iterator_valid__batch_size=INFERENCE_BATCH_SIZE,
        iterator_valid__seed=0,  # never shuffles; no draw from torch's global RNG
        train_split=None,
        callbacks=callbacks,
        verbose=int(p["verbose"] > 0),
        device=options.device,
        precision=options.precision,
    )


@functools.lru_cache(maxsize=None)
def has_fused_adam(device: str) -> bool:
    """Whether this torch has Adam's fused kernel for ``device``.

    The fused kernel updates every weight and both moment estimates in one
    pass per step instead of a chain of elementwise operations (CPUs from
    torch 2.4 on, CUDA); the result equals the unfused update up to float
    rounding. Probed by one step on a one-element weight: torch raises on
    devices (and versions) without it, and on devices it was not built for
    (``AssertionError``); any of these means plain Adam.
    """
    try:
        weight = torch.zeros(1, device=device, requires_grad=True)
        weight.grad = torch.zeros_like(weight)
        torch.optim.Adam([weight], fused=True).step()
    except (RuntimeError, TypeError, AssertionError):
        return False
    return True


@contextmanager
def torch_threads(n_threads: int | None) -> Iterator[None]:
    """Cap torch's intra-op threads at ``n_threads`` inside the block (None: no change).

    torch's setting is restored on leaving, also after an error. The setting is
    process-wide: code running in other threads meanwhile shares the cap.
    """
    if n_threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)


class _TrainingInterrupted(BaseException):
    """Carries a KeyboardInterrupt past skorch, which would swallow it and carry on."""


def fit_seeded(net: VAENet, X: np.ndarray, y: np.ndarray | None, seed: int) -> VAENet:
    """Initialize and train ``net``; every random draw comes from generators seeded by ``seed``.

    The initial weights come from the module's own generator (``module__generator``,
    seeded in :func:`build_net`), the reparameterization noise continues that
    stream on the CPU (a generator of the training device elsewhere), and the
    batch iterator has its own: torch's global random state is neither read nor
    changed, so fits in threads equal serial fits bit for bit. Adam's moment
    estimates and the last batch's gradients are dropped after training
    (inference never uses them).

    Raises
    ------
    KeyboardInterrupt
        When training was interrupted (skorch alone would stop quietly and
        return a half-trained net).
    """
    net.initialize()
    module = net.module_
    start = _weights(module).clone()
    device = torch.device(net.device)
    module.noise_generator = (net.module__generator if device.type == "cpu"
                              else torch.Generator(device).manual_seed(seed))
    try:
        net.partial_fit(X, y)
    except _TrainingInterrupted:
        raise KeyboardInterrupt("VAETransformer.fit was interrupted; the estimator is "
                                "unchanged.") from None
    finally:
        module.noise_generator = None
    net.optimizer_.state.clear()
    net.optimizer_.zero_grad(set_to_none=True)
    _warn_if_stalled(net, start)
    return net


def _weights(module: torch.nn.Module) -> torch.Tensor:
    """All trainable weights of ``module`` in one flat tensor."""
    return torch.cat([p.detach().reshape(-1) for p in module.parameters()])


def _warn_if_stalled(net: VAENet, start: torch.Tensor) -> None:
    """Warn when training left the weights where they started (:data:`STALLED_CHANGE`)."""
    change = float((_weights(net.module_) - start).norm() / start.norm().clamp_min(1e-30))
    if change < STALLED_CHANGE:
        warnings.warn(
            f"Training did not move the network: after {len(net.history)} epoch(s) its "
            f"weights differ from their random initial values by {change:.2g} of their "
            "norm, so the codes are those of an untrained network. Raise learning_rate "
            f"(now {net.lr:g}; the default is 0.001) or max_epochs (now {net.max_epochs}).",
            ConvergenceWarning, stacklevel=user_stacklevel())


#: ``history_`` key -> skorch history key.
_HISTORY_KEYS = {"epoch": "epoch", "loss": "train_loss", "reconstruction": "train_reconstruction",
                 "kl": "train_kl", "kl_weight": "kl_weight", "dur": "dur"}


def epoch_history(net: VAENet, with_classification: bool) -> list[dict]:
    """The per-epoch numbers of a trained net, as ``VAETransformer.history_``."""
    keys = dict(_HISTORY_KEYS)
    if with_classification:
        keys["classification"] = "train_classification"
    return [{k: row[v] for k, v in keys.items()} for row in net.history]


def latent_means(net: VAENet, X) -> np.ndarray:
    """Posterior means mu(x) of validated rows ``X`` (float32, on the CPU)."""
    return net.map_batches(X, lambda m, x: m.encode(x)[0])
