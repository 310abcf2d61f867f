"""Data set specs for ``pconv prune``: what to retrain a model on while pruning it.

``sklearn-digits``
    scikit-learn's bundled 8x8 handwritten digits (1,797 images, nothing
    downloaded): inputs ``[N, 1, 8, 8]`` scaled to [0, 1], labels 0-9, a fixed
    stratified 70/30 train/test split (``random_state=0``).
``npz:PATH``
    a NumPy ``.npz`` file with ``x`` (float inputs ``[N, ...]``, e.g. NCHW) and
    ``y`` (integer class labels ``[N]``); optional ``x_test`` / ``y_test`` are
    the held-out set the accuracy is reported on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DataSpecError", "LabelledData", "UnknownDataSpecError", "load_dataset"]


class DataSpecError(ValueError):
    """A data set file with the wrong content."""


class UnknownDataSpecError(DataSpecError):
    """A data set spec that names nothing known."""


@dataclass(frozen=True)
class LabelledData:
    """Training and (optional) held-out tensors of one data set."""

    train: Any  # torch TensorDataset
    test: Any | None
    classes: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input batch of size 1."""
        return (1, *self.train.tensors[0].shape[1:])


def _tensors(x: np.ndarray, y: np.ndarray, what: str) -> Any:
    import torch
    from torch.utils.data import TensorDataset

    if x.ndim < 2 or not np.issubdtype(x.dtype, np.number):
        raise DataSpecError(f"{what}: x must be a numeric array [N, ...], got dtype {x.dtype} shape {x.shape}")
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise DataSpecError(f"{what}: y must be integer class labels [N], got dtype {y.dtype} shape {y.shape}")
    if len(x) != len(y) or len(x) == 0:
        raise DataSpecError(f"{what}: x has {len(x)} samples, y has {len(y)} (need the same, at least one)")
    if y.min() < 0:
        raise DataSpecError(f"{what}: labels must be >= 0, got {int(y.min())}")
    return TensorDataset(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
                         torch.from_numpy(y.astype(np.int64)))


def _digits() -> LabelledData:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images.astype(np.float32) / 16.0)[:, None]
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, stratify=y, random_state=0)
    return LabelledData(_tensors(x_train, y_train, "sklearn-digits"), _tensors(x_test, y_test, "sklearn-digits"), 10)


def _npz(path: Path) -> LabelledData:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        data = np.load(path)
        arrays = {k: data[k] for k in data.files}
    except Exception as e:
        raise DataSpecError(f"{path}: not a readable .npz file ({e})") from None
    missing = [k for k in ("x", "y") if k not in arrays]
    if missing:
        raise DataSpecError(f"{path}: missing array(s) {missing} (has {sorted(arrays)})")
    train = _tensors(arrays["x"], arrays["y"], str(path))
    test = None
    if "x_test" in arrays or "y_test" in arrays:
        if not ("x_test" in arrays and "y_test" in arrays):
            raise DataSpecError(f"{path}: x_test and y_test go together")
        test = _tensors(arrays["x_test"], arrays["y_test"], f"{path} (test)")
        if tuple(test.tensors[0].shape[1:]) != tuple(train.tensors[0].shape[1:]):
            raise DataSpecError(f"{path}: x_test samples have shape {tuple(test.tensors[0].shape[1:])}, "
                                f"x samples {tuple(train.tensors[0].shape[1:])}")
    labels = [train.tensors[1]] + ([test.tensors[1]] if test is not None else [])
    return LabelledData(train, test, int(max(int(t.max()) for t in labels)) + 1)


def load_dataset(spec: str) -> LabelledData:
    """The data set a spec names (see the module documentation)."""
    if spec == "sklearn-digits":
        return _digits()
    if spec.startswith("npz:"):
        return _npz(Path(spec[4:]))
    raise UnknownDataSpecError(f"unknown data set spec {spec!r}; use 'sklearn-digits' or 'npz:PATH'")
