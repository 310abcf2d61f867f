"""Pattern libraries: the K kernel masks shared by the pruner and the compiler.

A pattern is a mask over a ``kh x kw`` kernel that keeps exactly ``taps`` positions.
It is encoded as the sorted tuple of the kept positions in row-major order
(``row * kw + col``); for 3x3 kernels the centre is position 4.  A library is an
ordered sequence of distinct patterns: the pattern *id* used by the compiler
(``pconv.conv2d``'s kernel table) is the index in that sequence.  The same
encoding is printed as the MLIR attribute ``#pconv.patterns<...>`` so what the
pruner trained is exactly what the import pass consumes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

__all__ = ["PatternLibrary", "PatternLibraryError"]


class PatternLibraryError(ValueError):
    """A pattern library (or a kernel checked against one) is malformed."""


@dataclass(frozen=True)
class PatternLibrary:
    """An ordered set of kernel masks with the same number of kept taps.

    Attributes:
        kernel: ``(kh, kw)`` of the kernels the patterns apply to.
        taps: number of kept positions in every pattern.
        patterns: tuple of patterns; each is a sorted tuple of row-major positions.
    """

    kernel: tuple[int, int]
    taps: int
    patterns: tuple[tuple[int, ...], ...]

    def __init__(
        self,
        patterns: Iterable[Sequence[int]],
        kernel: Sequence[int] = (3, 3),
        taps: int | None = None,
    ) -> None:
        kernel_t = tuple(int(k) for k in kernel)
        if len(kernel_t) != 2 or min(kernel_t) < 1:
            raise PatternLibraryError(f"kernel must be (kh, kw) with kh, kw >= 1, got {kernel!r}")
        pats = tuple(tuple(sorted(int(p) for p in pat)) for pat in patterns)
        if not pats:
            raise PatternLibraryError("a pattern library needs at least one pattern")
        sizes = {len(p) for p in pats}
        if len(sizes) != 1:
            raise PatternLibraryError(
                f"all patterns of a library must keep the same number of taps, got sizes {sorted(sizes)}"
            )
        n = sizes.pop()
        if taps is not None and int(taps) != n:
            raise PatternLibraryError(f"taps={taps} but the patterns keep {n} taps")
        area = kernel_t[0] * kernel_t[1]
        if not 1 <= n <= area:
            raise PatternLibraryError(f"taps must be in [1, {area}], got {n}")
        for p in pats:
            if len(set(p)) != len(p):
                raise PatternLibraryError(f"pattern {list(p)} repeats a position")
            if p[0] < 0 or p[-1] >= area:
                raise PatternLibraryError(f"pattern {list(p)} has a position outside [0, {area})")
        if len(set(pats)) != len(pats):
            raise PatternLibraryError("the patterns of a library must be distinct")
        if len(pats) > 127:
            raise PatternLibraryError(f"at most 127 patterns per library, got {len(pats)}")
        object.__setattr__(self, "kernel", kernel_t)
        object.__setattr__(self, "taps", n)
        object.__setattr__(self, "patterns", pats)

    def __len__(self) -> int:
        return len(self.patterns)

    # -- masks -------------------------------------------------------------
    def masks(self) -> np.ndarray:
        """Boolean array ``[K, kh, kw]``; ``masks()[i]`` is pattern ``i``."""
        kh, kw = self.kernel
        out = np.zeros((len(self.patterns), kh * kw), dtype=bool)
        for i, p in enumerate(self.patterns):
            out[i, list(p)] = True
        return out.reshape(len(self.patterns), kh, kw)

    def index(self, mask: np.ndarray) -> int:
        """The id of the pattern equal to a ``[kh, kw]`` boolean mask (KeyError if absent)."""
        key = tuple(int(i) for i in np.flatnonzero(np.asarray(mask, dtype=bool).reshape(-1)))
        try:
            return self.patterns.index(key)
        except ValueError:
            raise KeyError(f"mask {list(key)} is not in the library") from None

    # -- serialization -----------------------------------------------------
    def to_dict(self) -> dict:
        return {"kernel": list(self.kernel), "taps": self.taps, "patterns": [list(p) for p in self.patterns]}

    @classmethod
    def from_dict(cls, d: dict) -> "PatternLibrary":
        try:
            return cls(d["patterns"], kernel=d.get("kernel", (3, 3)), taps=d.get("taps"))
        except (KeyError, TypeError) as e:
            raise PatternLibraryError(f"malformed pattern library dict: {e}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> "PatternLibrary":
        return cls.from_dict(json.loads(text))

    def to_mlir(self) -> str:
        """The ``#pconv.patterns<...>`` attribute text the import pass accepts."""
        kh, kw = self.kernel
        body = ", ".join("[" + ", ".join(str(t) for t in p) + "]" for p in self.patterns)
        return f"#pconv.patterns<{kh}x{kw}, taps = {self.taps}, [{body}]>"
