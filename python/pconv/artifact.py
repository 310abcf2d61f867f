"""Compiled artifacts: a shared library plus metadata, saved and loaded as a folder.

A saved artifact is a directory holding ``model.so`` (code and weights) and
``meta.json`` (format version, target, entry symbol, input/output specs, the
SHA-256 of the library). Loading checks the version and the checksum, so a
truncated or altered artifact is refused with a clear error.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Artifact", "ArtifactError", "TensorSpec", "FORMAT_VERSION"]

FORMAT_VERSION = 1


def _replace_file(dest: Path, write) -> None:
    """Create ``dest`` by ``write(tmp)`` on a temporary file in its folder, then an atomic rename."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


class ArtifactError(RuntimeError):
    """An artifact on disk is missing, corrupt, or of another version."""


@dataclass(frozen=True)
class TensorSpec:
    shape: tuple[int, ...]
    dtype: str = "float32"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class Artifact:
    """The result of :func:`pconv.compile`."""

    directory: Path
    target: str
    triple: str
    symbol: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    stages: dict[str, str] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    #: The parallel regions in fork order: source op and label per region
    #: (``pconv-report-regions``; what ``benchmarks.regions`` names them by).
    regions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def library(self) -> Path:
        return Path(self.directory) / "model.so"

    def metadata(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "target": self.target,
            "triple": self.triple,
            "symbol": self.symbol,
            "inputs": [asdict(s) for s in self.inputs],
            "outputs": [asdict(s) for s in self.outputs],
            "stats": self.stats,
            "regions": self.regions,
            "library": "model.so",
            "sha256": _sha256(self.library),
        }

    def save(self, path: str | Path) -> Path:
        """Write the artifact folder (``model.so`` + ``meta.json``) to ``path``."""
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        # Written beside and renamed over: a process that loaded the previous
        # model.so of this folder keeps running its own (still mapped) file
        # instead of having its code rewritten under it.
        _replace_file(out / "model.so", lambda tmp: shutil.copyfile(self.library, tmp))
        _replace_file(out / "meta.json", lambda tmp: tmp.write_text(json.dumps(self.metadata(), indent=2)))
        return out

    def load(self):
        """Load this artifact for execution without saving it first."""
        from .runtime import load_library

        model = load_library(self.library, self.metadata())
        model.owner = self  # keeps the work directory alive while the model is used
        return model

    @staticmethod
    def read_metadata(path: str | Path) -> dict[str, Any]:
        """Read and validate ``meta.json`` of a saved artifact folder."""
        folder = Path(path)
        meta_path = folder / "meta.json"
        if not meta_path.is_file():
            raise ArtifactError(f"{folder}: not a PConv artifact (no meta.json)")
        try:
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as e:
            raise ArtifactError(f"{meta_path}: corrupt metadata ({e})") from None
        version = meta.get("format_version")
        if version != FORMAT_VERSION:
            raise ArtifactError(
                f"{folder}: artifact format version {version!r}, this PConv reads {FORMAT_VERSION}; recompile it"
            )
        lib = folder / meta.get("library", "model.so")
        if not lib.is_file():
            raise ArtifactError(f"{folder}: library {lib.name} is missing")
        if _sha256(lib) != meta.get("sha256"):
            raise ArtifactError(f"{lib}: checksum mismatch (truncated or altered); recompile or re-copy it")
        meta["inputs"] = [TensorSpec(tuple(s["shape"]), s["dtype"]) for s in meta["inputs"]]
        meta["outputs"] = [TensorSpec(tuple(s["shape"]), s["dtype"]) for s in meta["outputs"]]
        return meta
