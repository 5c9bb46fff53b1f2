"""The README's Python example runs, on a small subsample, so that it cannot rot.

The fenced ``python`` block of the README's "Usage" section is executed with these
substitutions (each must occur exactly once, so that a changed example fails here
instead of running something else):

- ``load_fashion_mnist()`` -> the first 1,000 train and 300 test images of the real
  data (Debian's dataset-fashion-mnist);
- ``max_epochs=10`` -> ``max_epochs=1``.

It runs in a temporary folder (it writes ``model.joblib``).
"""

import pathlib
import re

import pytest
from sklearn.utils import Bunch

from vaesvm.datasets import DEBIAN_DATA_DIR

ROOT = pathlib.Path(__file__).resolve().parents[1]

SUBSTITUTIONS = [
    ("data = load_fashion_mnist()", "data = small_fashion_mnist()"),
    ("max_epochs=10", "max_epochs=1"),
]


def usage_example() -> str:
    """The first fenced python block of the README's "Usage" section."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Usage\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.skipif(not DEBIAN_DATA_DIR.exists(), reason="needs dataset-fashion-mnist")
def test_readme_usage_example_runs(tmp_path, monkeypatch, capsys):
    from vaesvm import load_fashion_mnist

    full = load_fashion_mnist(DEBIAN_DATA_DIR)

    def small_fashion_mnist():
        return Bunch(X_train=full.X_train[:1000], y_train=full.y_train[:1000],
                     X_test=full.X_test[:300], y_test=full.y_test[:300],
                     target_names=full.target_names)

    code = usage_example()
    for old, new in SUBSTITUTIONS:
        assert code.count(old) == 1, f"the README example no longer contains {old!r}"
        code = code.replace(old, new)
    monkeypatch.chdir(tmp_path)
    namespace = {"small_fashion_mnist": small_fashion_mnist, "__name__": "readme_example"}
    exec(compile(code, "README.md (Usage)", "exec"), namespace)
    assert (tmp_path / "model.joblib").stat().st_size > 0
    assert 0.0 <= namespace["pipe"].score(namespace["data"].X_test[:50],
                                          namespace["data"].y_test[:50]) <= 1.0
    assert "epoch" in capsys.readouterr().out  # verbose=1: a line per epoch
