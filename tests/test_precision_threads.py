"""``precision`` (bfloat16 autocast in training) and ``n_threads`` (a cap inside fit)."""

import numpy as np
import pytest
import torch

from vaesvm import VAETransformer
from vaesvm import _net, _options
from vaesvm._net import fit_seeded, torch_threads


def _images(n=120, side=8, seed=0):
    rng = np.random.RandomState(seed)
    return rng.rand(n, side * side).astype(np.float32), np.repeat([0, 1, -1], n // 3)


@pytest.fixture
def image_params(fast_params):
    return {**fast_params, "image_shape": (8, 8), "encoder": "conv", "augmentation": "shift"}


def test_bfloat16_trains_reproducibly_and_infers_in_float32(image_params):
    X, y = _images()
    runs = [VAETransformer(precision="bfloat16", **image_params).fit(X, y) for _ in range(2)]
    full = VAETransformer(precision="float32", **image_params).fit(X, y)
    assert [r.precision_ for r in runs] == ["bfloat16", "bfloat16"]
    assert full.precision_ == "float32"
    codes = [r.transform(X) for r in runs]
    assert codes[0].dtype == np.float32
    np.testing.assert_array_equal(codes[0], codes[1])  # bit-identical under random_state
    # same model, other arithmetic: close, not equal
    assert not np.array_equal(codes[0], full.transform(X))
    assert np.isfinite(runs[0].history_[-1]["loss"])
    # the weights and the optimizer stay float32; only the forward pass is autocast
    assert all(p.dtype == torch.float32 for p in runs[0].net_.module_.parameters())


def test_adam_is_fused_where_torch_has_the_kernel(monkeypatch, blobs, fast_params):
    X, y = blobs
    # torch runs fused Adam on CPUs from 2.4 on
    assert _net.has_fused_adam("cpu") is (torch.torch_version.TorchVersion(torch.__version__)
                                          >= "2.4")
    fused = VAETransformer(**fast_params).fit(X, y)
    assert fused.net_.optimizer_.param_groups[0]["fused"] is _net.has_fused_adam("cpu")
    again = VAETransformer(**fast_params).fit(X, y)
    np.testing.assert_array_equal(fused.transform(X), again.transform(X))
    # without the kernel: plain Adam, the same update up to rounding
    monkeypatch.setattr(_net, "has_fused_adam", lambda device: False)
    plain = VAETransformer(**fast_params).fit(X, y)
    assert not plain.net_.optimizer_.param_groups[0]["fused"]
    np.testing.assert_allclose(plain.transform(X), fused.transform(X), atol=1e-3)


@pytest.mark.parametrize("error", [
    RuntimeError("`fused=True` requires all the params to be on supported devices"),
    TypeError("__init__() got an unexpected keyword argument 'fused'"),
    AssertionError("Torch not compiled with CUDA enabled")])
def test_has_fused_adam_is_false_where_torch_raises(monkeypatch, error):
    def no_kernel(*args, fused=None, **kwargs):
        raise error

    monkeypatch.setattr(torch.optim, "Adam", no_kernel)
    assert _net.has_fused_adam.__wrapped__("cpu") is False


@pytest.mark.parametrize("auto_on, native, expected", [
    (True, True, "bfloat16"), (True, False, "float32"), (False, True, "float32")])
def test_auto_precision_follows_the_rule(monkeypatch, blobs, fast_params, auto_on, native,
                                         expected):
    monkeypatch.setattr(_options, "AUTO_BFLOAT16", auto_on)
    monkeypatch.setattr(_options, "bfloat16_is_native", lambda device: native)
    X, y = blobs
    assert VAETransformer(**fast_params).fit(X, y).precision_ == expected
    assert _options.resolve_precision("float32", "cpu") == "float32"
    assert _options.resolve_precision("bfloat16", "cpu") == "bfloat16"


def test_n_threads_caps_torch_inside_fit_only(monkeypatch, blobs, fast_params):
    X, y = blobs
    seen = []

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return fit_seeded(*args, **kwargs)

    monkeypatch.setattr("vaesvm._transformer.fit_seeded", spy)
    before = torch.get_num_threads()
    capped = VAETransformer(n_threads=2, **fast_params).fit(X, y)
    assert seen == [2] and torch.get_num_threads() == before
    np.testing.assert_array_equal(  # reproducible under the cap
        capped.transform(X), VAETransformer(n_threads=2, **fast_params).fit(X, y).transform(X))
    VAETransformer(**fast_params).fit(X, y)
    assert seen == [2, 2, before]  # None leaves torch's setting alone


def test_torch_threads_restores_the_setting_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(KeyboardInterrupt):
        with torch_threads(before + 1):
            assert torch.get_num_threads() == before + 1
            raise KeyboardInterrupt
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("avx512_bf16, amx, expected", [
    (True, False, True), (False, True, True), (False, False, False)])
def test_bfloat16_is_native_on_cpus_with_bfloat16_instructions(monkeypatch, avx512_bf16, amx,
                                                               expected):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    assert _options.bfloat16_is_native("cpu") is expected
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported")  # an older torch
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported")
    assert _options.bfloat16_is_native("cpu") is False
