"""The skorch callbacks of :class:`~vaesvm._net.VAENet`, one concern each.

- :class:`KLWarmup`: the KL weight's linear ramp.
- :class:`DivergenceGuard`: stop with a clear error when the loss diverges.
- :class:`EpochReporter`: tell :data:`EPOCH_LISTENER` (if anyone listens) of every epoch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from contextvars import ContextVar

from skorch import NeuralNet
from skorch.callbacks import Callback

__all__ = ["DivergenceGuard", "EPOCH_LISTENER", "EpochReporter", "KLWarmup",
           "divergence_advice"]


class KLWarmup(Callback):
    """Raise the KL weight linearly from 0 to ``kl_weight`` over ``warmup_epochs``.

    At the start of epoch ``e`` (0-based) the weight is
    ``kl_weight * min(1, e / warmup_epochs)``; ``warmup_epochs=0`` means the
    full weight from the first epoch. The weight used is recorded in the
    history under ``"kl_weight"``.

    Parameters
    ----------
    kl_weight : float, default=1.0
        Final weight (beta).
    warmup_epochs : int, default=0
        Length of the linear ramp in epochs.
    """

    def __init__(self, kl_weight: float = 1.0, warmup_epochs: int = 0) -> None:
        self.kl_weight = kl_weight
        self.warmup_epochs = warmup_epochs

    def weight_at(self, epoch: int) -> float:
        """Return the KL weight used in 0-based ``epoch``."""
        if self.warmup_epochs <= 0:
            return float(self.kl_weight)
        return float(self.kl_weight) * min(1.0, epoch / self.warmup_epochs)

    def on_epoch_begin(self, net: NeuralNet, **kwargs) -> None:
        weight = self.weight_at(len(net.history) - 1)
        net.criterion_.kl_weight = weight
        net.history.record("kl_weight", weight)


#: Who hears of every finished training epoch in the current context (thread, task):
#: a callable ``listener(net)``, or None (the default: nobody listens). A caller sets it
#: around ``fit`` (the study's progress bar); the estimator's parameters never see it.
EPOCH_LISTENER: ContextVar[Callable[[NeuralNet], None] | None] = ContextVar(
    "vaesvm_epoch_listener", default=None)


class EpochReporter(Callback):
    """Call :data:`EPOCH_LISTENER`, when one is set, with the net after each epoch."""

    def on_epoch_end(self, net: NeuralNet, **kwargs) -> None:
        listener = EPOCH_LISTENER.get()
        if listener is not None:
            listener(net)


class DivergenceGuard(Callback):
    """Stop training with a clear error when the loss diverges.

    Divergence is a non-finite batch loss, or a batch loss whose magnitude grew
    to more than ``growth`` times that of the first batch (the loss of the
    initial weights; at least ``growth``): a net that explodes without reaching
    NaN.

    Parameters
    ----------
    advice : str, default="Lower learning_rate."
        What the error message tells the user to change.
    growth : float, default=1e4
        Allowed growth of the loss magnitude over the first batch's.
    """

    def __init__(self, advice: str = "Lower learning_rate.", growth: float = 1e4) -> None:
        self.advice = advice
        self.growth = growth

    def on_train_begin(self, net: NeuralNet, **kwargs) -> None:
        self.limit_ = None

    def on_batch_end(self, net: NeuralNet, training: bool = False, **kwargs) -> None:
        if not training:
            return
        loss = net.history[-1, "batches", -1, "train_loss"]
        if self.limit_ is None and math.isfinite(loss):
            self.limit_ = self.growth * max(1.0, abs(loss))
        if not math.isfinite(loss) or abs(loss) > self.limit_:
            what = "became" if not math.isfinite(loss) else f"grew beyond {self.limit_:.3g}:"
            raise FloatingPointError(
                f"Training diverged: the loss {what} {loss:.4g} in epoch {len(net.history)}, "
                f"batch {len(net.history[-1, 'batches'])}. {self.advice}"
            )


def divergence_advice(params: Mapping) -> str:
    """What to change when training with ``params`` diverges."""
    tips = [f"Lower learning_rate (now {params['learning_rate']:g}, e.g. to "
            f"{params['learning_rate'] / 10:g})"]
    if params["likelihood"] == "gaussian":
        tips.append("standardize the features (sklearn.preprocessing.StandardScaler)")
    if not params["batch_norm"]:
        tips.append("use batch_norm=True")
    return ", ".join(tips[:-1]) + (" or " if len(tips) > 1 else "") + tips[-1] + "."
