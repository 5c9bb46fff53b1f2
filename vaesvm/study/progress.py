"""The progress bar of ``vaesvm study``, ``vaesvm ablate`` and ``vaesvm demo``.

One bar over the whole run, counted in the steps users wait on: every VAE training
epoch (the estimator's net reports each finished epoch to
:data:`vaesvm._net.EPOCH_LISTENER`, which the bar sets while it is open, in this
context only), then one step for each VAE's features, each classifier and each
figure. An embedding figure (t-SNE of 2,000 codes) counts :data:`EMBEDDING_STEPS`.
The total is known before the run starts, so the bar's ETA covers the whole run,
figures included.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["EMBEDDING_STEPS", "Progress"]

#: Steps of one t-SNE embedding figure: it takes about as long as this many epochs
#: of the default VAE on the full Fashion-MNIST train set, so the ETA stays even.
EMBEDDING_STEPS = 4


class Progress:
    """A tqdm bar over ``total`` steps; call it with a description when a step starts.

    Parameters
    ----------
    total : int
        Steps of the whole run.
    file : file object, default=sys.stderr
        Where the bar is drawn.

    Notes
    -----
    ``progress(description, steps)`` starts a step that counts ``steps`` when it ends
    (when the next one starts, or when the bar closes after a run that ended
    normally). VAE epochs count one each as they finish, whatever step is running.
    Used as a context manager, it listens to the epochs and closes the bar however
    the run ends.
    """

    def __init__(self, total: int, file: Any = None) -> None:
        from tqdm.auto import tqdm

        # smoothing=0: the rate is the average since the start, so the ETA does not
        # jump between long epochs and short classifier steps
        self.bar = tqdm(total=total, unit="step", file=file or sys.stderr,
                        dynamic_ncols=True, smoothing=0)
        self._pending = 0
        self._token = None

    def __call__(self, description: str, steps: int = 1) -> None:
        self._count_pending()
        self._pending = steps
        self.bar.set_postfix_str("", refresh=False)
        self.bar.set_description(description)

    def epoch_done(self, net: Any) -> None:
        """Count one finished VAE epoch (the listener of :data:`EPOCH_LISTENER`)."""
        self.bar.set_postfix_str(f"epoch {len(net.history)}/{net.max_epochs}", refresh=False)
        self.bar.update(1)

    def _count_pending(self) -> None:
        if self._pending:
            self.bar.update(self._pending)
            self._pending = 0

    def __enter__(self) -> Progress:
        from .._callbacks import EPOCH_LISTENER

        self._token = EPOCH_LISTENER.set(self.epoch_done)
        return self

    def __exit__(self, exc_type, *exc_info: Any) -> None:
        from .._callbacks import EPOCH_LISTENER

        EPOCH_LISTENER.reset(self._token)
        if exc_type is None:
            self._count_pending()
        self.bar.close()
