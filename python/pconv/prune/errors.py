"""Exceptions raised by :mod:`pconv.prune`.

Every error a caller can provoke with bad input subclasses :class:`ValueError`, so
``except ValueError`` catches them all; the subclasses let tests and tools tell
them apart.  A malformed pattern library raises
:class:`pconv.patterns.PatternLibraryError` (also a ``ValueError``), re-exported here.
"""

from __future__ import annotations

from pconv.patterns import PatternLibraryError

__all__ = [
    "CheckpointError",
    "InvalidRateError",
    "NoPrunableLayerError",
    "NotPatternSparseError",
    "PatternLibraryError",
    "PruneError",
    "UnknownLayerError",
]


class PruneError(ValueError):
    """Base class of the pruning library's input errors."""


class InvalidRateError(PruneError):
    """A connectivity keep rate (fraction of kernels kept) outside ``(0, 1]``."""


class NoPrunableLayerError(PruneError):
    """The model has no convolution the pruner can act on."""


class UnknownLayerError(PruneError):
    """A layer name in the configuration does not name a ``Conv2d`` of the model."""


class NotPatternSparseError(PruneError):
    """A kernel's non-zeros do not fit inside any pattern of the library."""


class CheckpointError(PruneError):
    """A checkpoint or pruner state does not match the model or the run it is loaded into."""
