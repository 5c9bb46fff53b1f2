"""The commands' progress bar: one step per VAE epoch, heard through a context variable."""

import io
import threading

import pytest

from vaesvm import VAETransformer
from vaesvm._callbacks import EPOCH_LISTENER
from vaesvm.study.progress import Progress


def test_bar_counts_every_epoch_then_the_step(blobs, fast_params):
    X, _ = blobs
    epochs = fast_params["max_epochs"]
    out = io.StringIO()
    with Progress(epochs + 2, file=out) as progress:
        progress("training")  # counts 1 when the next step starts
        VAETransformer(**fast_params).fit(X)
        assert progress.bar.n == epochs and progress.bar.postfix == f"epoch {epochs}/{epochs}"
        progress("classifier")
        assert progress.bar.n == epochs + 1
    assert progress.bar.n == epochs + 2
    assert f"{epochs + 2}/{epochs + 2}" in out.getvalue()
    assert EPOCH_LISTENER.get() is None  # nobody listens once the bar is closed


def test_a_failed_step_is_not_counted(blobs):
    with pytest.raises(RuntimeError):
        with Progress(3, file=io.StringIO()) as progress:
            progress("doomed", 3)
            raise RuntimeError("boom")
    assert progress.bar.n == 0 and EPOCH_LISTENER.get() is None


def test_estimator_is_quiet_by_default(blobs, fast_params, capsys):
    X, _ = blobs
    VAETransformer(**fast_params).fit(X)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert "listener" not in " ".join(VAETransformer().get_params())


def test_listener_hears_its_own_thread_only(blobs, fast_params):
    X, _ = blobs
    heard = []
    token = EPOCH_LISTENER.set(lambda net: heard.append(len(net.history)))
    try:
        other = threading.Thread(target=lambda: VAETransformer(**fast_params).fit(X))
        other.start()
        other.join()
        assert heard == []
        VAETransformer(**fast_params).fit(X)
    finally:
        EPOCH_LISTENER.reset(token)
    assert heard == list(range(1, fast_params["max_epochs"] + 1))
