"""The .pcw weights file: named raw tensors beside the IR text.

Layout: ``PCONVW01`` magic, little-endian u64 header length, a JSON header
``{"tensors": [{"name", "offset", "nbytes", "dtype", "shape"}]}``, then the data
section, which starts at the first 64-byte boundary after the header. Offsets
are relative to the data section and 64-byte aligned. ``pconv-attach-weights``
memory-maps the file.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Mapping

import numpy as np

MAGIC = b"PCONVW01"
ALIGN = 64


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def write_weights(path: str | Path, tensors: Mapping[str, np.ndarray]) -> None:
    """Write ``tensors`` (name -> array) to ``path``."""
    arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    entries, offset = [], 0
    for name, arr in arrays.items():
        entries.append({"name": name, "offset": offset, "nbytes": int(arr.nbytes),
                        "dtype": str(arr.dtype), "shape": list(arr.shape)})
        offset = _align(offset + arr.nbytes)
    header = json.dumps({"tensors": entries}).encode()
    data_start = _align(16 + len(header))
    with open(path, "wb") as f:
        f.write(MAGIC + struct.pack("<Q", len(header)) + header)
        for entry, arr in zip(entries, arrays.values()):
            f.seek(data_start + entry["offset"])
            f.write(memoryview(arr).cast("B"))
        f.truncate(data_start + offset)


def read_weights(path: str | Path) -> dict[str, np.ndarray]:
    """Read a .pcw file back (memory-mapped, read-only arrays)."""
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    if raw.size < 16 or bytes(raw[:8]) != MAGIC:
        raise ValueError(f"{path}: not a PConv weights file")
    (length,) = struct.unpack("<Q", bytes(raw[8:16]))
    header = json.loads(bytes(raw[16 : 16 + length]))
    data_start = _align(16 + length)
    out = {}
    for e in header["tensors"]:
        start = data_start + e["offset"]
        view = raw[start : start + e["nbytes"]]
        out[e["name"]] = view.view(np.dtype(e["dtype"])).reshape(e["shape"])
    return out
