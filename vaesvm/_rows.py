"""The training rows of ``X`` and ``X_unlabeled`` as one array, without copying either.

``fit`` trains on the rows of ``X`` followed by those of ``X_unlabeled``. Joining them
with ``np.concatenate`` would hold the data twice (and read a memmap whole into
memory); :class:`RowStack` answers the few ways ``fit`` reads rows (a slice, a list of
row numbers, a mask) from the arrays the user passed, and :class:`TensorRows` does
the same for their tensors in the batch iterator. Rows are copied out batch by batch.
"""

from __future__ import annotations

import mmap

import numpy as np
import torch

__all__ = ["RowStack", "TensorRows", "drop_resident_pages"]


class _Stacked:
    """Parts with the same columns, one after the other: where each starts, and the shape.

    Parameters
    ----------
    parts : list of 2-D arrays or tensors
        The parts, in order.
    """

    ndim = 2

    def __init__(self, parts: list) -> None:
        self.parts = parts
        self.starts = [0]  # row number of each part's first row, then the total
        for p in parts:
            self.starts.append(self.starts[-1] + len(p))

    def __len__(self) -> int:
        return self.starts[-1]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self), self.parts[0].shape[1]


class RowStack(_Stacked):
    """The rows of 2-D arrays with the same columns, one after the other.

    Parameters
    ----------
    parts : list of ndarray of shape (n_i, n_features)
        The arrays (a ``np.memmap`` included), all of one dtype; never copied whole.
    """

    @property
    def dtype(self) -> np.dtype:
        return self.parts[0].dtype

    def __getitem__(self, key) -> np.ndarray:
        """Rows by a slice, an array of row numbers or a boolean mask, as a new array."""
        if isinstance(key, slice):
            key = np.arange(*key.indices(len(self)))
        key = np.asarray(key)
        if key.dtype == bool:
            key = np.flatnonzero(key)
        key = np.where(key < 0, key + len(self), key)
        out = np.empty((len(key), self.shape[1]), dtype=self.dtype)
        part = np.searchsorted(self.starts, key, side="right") - 1
        for i, rows in enumerate(self.parts):
            mine = part == i
            if mine.any():
                out[mine] = rows[key[mine] - self.starts[i]]
        return out

    def tensors(self, device=None) -> "TensorRows":
        """The parts as tensors on ``device`` (sharing their memory on the CPU)."""
        from ._validation import as_tensor
        return TensorRows([as_tensor(p, device) for p in self.parts])


class TensorRows(_Stacked):
    """The rows of 2-D tensors, one after the other: what :class:`TensorBatchIterator` reads.

    Parameters
    ----------
    parts : list of torch.Tensor of shape (n_i, n_features)
        On one device, of one dtype.
    """

    @property
    def device(self) -> torch.device:
        return self.parts[0].device

    def index_select(self, dim: int, index: torch.Tensor) -> torch.Tensor:
        """Rows ``index`` (``dim`` must be 0) gathered into a new tensor."""
        if dim != 0:
            raise ValueError("TensorRows selects rows only (dim=0).")
        first = self.parts[0]
        out = torch.empty(len(index), first.shape[1], dtype=first.dtype, device=first.device)
        for p, start, stop in zip(self.parts, self.starts[:-1], self.starts[1:]):
            mine = torch.nonzero((index >= start) & (index < stop)).flatten()
            if len(mine):
                out[mine] = p.index_select(0, index[mine] - start)
        return out

    def __getitem__(self, key: slice) -> torch.Tensor:
        """A run of consecutive rows (a view when it lies within one part)."""
        start, stop, step = key.indices(len(self))
        if step != 1:
            raise ValueError("TensorRows takes slices with step 1 only.")
        pieces = []
        for p, a, b in zip(self.parts, self.starts[:-1], self.starts[1:]):
            lo, hi = max(start, a), min(stop, b)
            if lo < hi:
                pieces.append(p[lo - a:hi - a])
        if len(pieces) == 1:
            return pieces[0]
        if not pieces:
            return self.parts[0][:0]
        return torch.cat(pieces)


def drop_resident_pages(X) -> None:
    """Drop the pages of ``X``'s shared file mappings from this process's resident memory.

    Reading a ``np.memmap`` maps its pages into the process, where they count in its
    resident set until the mapping is closed. Once ``fit`` has read the pool for the
    last time, ``madvise(MADV_DONTNEED)`` takes them out: the file's contents stay
    in the system's file cache, and a later read maps them in again, unchanged. Only
    shared mappings (memmap modes ``"r"``, ``"r+"``, ``"w+"``) are advised: in a
    copy-on-write one (``"c"``) it would discard the rows written since it was
    opened. Anything else (in-memory arrays, systems without ``madvise``) is left
    as it is.

    Parameters
    ----------
    X : ndarray or RowStack
        The training rows; each part is checked for a memmap among its bases.
    """
    advice = getattr(mmap, "MADV_DONTNEED", None)
    if advice is None:
        return
    for part in X.parts if isinstance(X, RowStack) else [X]:
        mapping, shared = None, False
        while part is not None:  # a view's bases lead to the memmap and its mmap
            if isinstance(part, np.memmap):
                shared = part.mode != "c"
            if isinstance(part, mmap.mmap):
                mapping = part
                break
            part = getattr(part, "base", None)
        if mapping is not None and shared:
            try:
                mapping.madvise(advice)
            except (OSError, ValueError):  # e.g. a closed mapping: nothing to drop
                pass
