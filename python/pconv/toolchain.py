"""Where PConv's tools live: pconv-opt, the pinned MLIR/LLVM binaries, linkers.

Every lookup can be overridden by an environment variable (``PCONV_OPT``,
``PCONV_MLIR_TRANSLATE``, ``PCONV_LLC``, ``PCONV_HOST_CC``, ``PCONV_AARCH64_CC``,
``PCONV_AARCH64_SYSROOT``, ``PCONV_QEMU``) so the compiler also works from a
build tree that is not the repository's.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["ToolchainError", "Target", "TARGETS", "tool", "repo_root", "get_target"]


class ToolchainError(RuntimeError):
    """A tool PConv needs is missing; the message says how to get it."""


def repo_root() -> Path:
    """The source checkout this package lives in (python/pconv/ -> root)."""
    return Path(__file__).resolve().parents[2]


def _wheel_bin(package: str, name: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "bin" / name
        if candidate.exists():
            return candidate
    return None


_TOOL_ENV = {
    "pconv-opt": "PCONV_OPT",
    "pconv-translate": "PCONV_TRANSLATE",
    "mlir-translate": "PCONV_MLIR_TRANSLATE",
    "llc": "PCONV_LLC",
    "llvm-mca": "PCONV_LLVM_MCA",
}


def tool(name: str) -> str:
    """Absolute path of a tool by its usual name (``pconv-opt``, ``llc``, ...).

    Its environment variable (``PCONV_OPT``, ``PCONV_LLC``, ...) wins when set, read
    at every call: setting it later in a process takes effect (only the search
    below is cached)."""
    env = _TOOL_ENV.get(name)
    if env and os.environ.get(env):
        return os.environ[env]
    return _find_tool(name)


@lru_cache(maxsize=None)
def _find_tool(name: str) -> str:
    env = _TOOL_ENV.get(name)
    candidates: list[Path | None] = []
    if name in ("pconv-opt", "pconv-translate"):
        candidates += [Path(sys.executable).parent / name, repo_root() / "build" / "bin" / name]
    elif name in ("mlir-translate", "mlir-opt"):
        candidates.append(_wheel_bin("mlir", name))
    elif name in ("llc", "llvm-mca", "FileCheck", "opt"):
        candidates.append(_wheel_bin("llvm", name))
    for c in candidates:
        if c is not None and c.exists():
            return str(c)
    found = shutil.which(name)
    if found:
        return found
    raise ToolchainError(
        f"cannot find '{name}'. Run the project set-up (`make setup` in the repository) "
        f"or set {env or 'PATH'} to point at it."
    )


@dataclass(frozen=True)
class Target:
    """A code generation target: LLVM triple plus how to link and run."""

    name: str
    triple: str
    cc: str
    cpu: str
    # Directory holding libomp.so(.5) for this target.
    omp_dir: str
    # qemu binary and sysroot, for targets that cannot run natively here.
    qemu: str | None = None
    sysroot: str | None = None
    # f32 lanes of the vectorized pattern lowering (a native vector register).
    vector_width: int = 4

    @property
    def is_host(self) -> bool:
        return self.qemu is None


def _host_vector_width() -> int:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return 8
    return 16 if " avx512f" in flags else 8 if " avx2" in flags else 4


def _host_target() -> Target:
    return Target(
        name="host",
        triple="x86_64-unknown-linux-gnu",
        cc=os.environ.get("PCONV_HOST_CC", "cc"),
        cpu="native",
        omp_dir=os.environ.get("PCONV_HOST_OMP_DIR", "/usr/lib/llvm-14/lib"),
        vector_width=_host_vector_width(),
    )


def _aarch64_target() -> Target:
    # libomp for arm64 cannot be co-installed with the host's through Debian
    # multiarch, so set-up unpacks it into the build tree.
    default_omp = repo_root() / "build" / "aarch64-sysroot" / "usr" / "lib" / "llvm-14" / "lib"
    return Target(
        name="aarch64-linux-gnu",
        triple="aarch64-unknown-linux-gnu",
        cc=os.environ.get("PCONV_AARCH64_CC", "aarch64-linux-gnu-gcc"),
        cpu="cortex-a76",
        omp_dir=os.environ.get("PCONV_AARCH64_OMP_DIR", str(default_omp)),
        qemu=os.environ.get("PCONV_QEMU", "qemu-aarch64"),
        sysroot=os.environ.get("PCONV_AARCH64_SYSROOT", "/usr/aarch64-linux-gnu"),
        vector_width=4,  # NEON: 128-bit registers
    )


TARGETS = {"host": _host_target, "aarch64-linux-gnu": _aarch64_target}


def get_target(name: str) -> Target:
    """The Target called ``name`` ('host' or 'aarch64-linux-gnu')."""
    if name == "aarch64":
        name = "aarch64-linux-gnu"
    try:
        return TARGETS[name]()
    except KeyError:
        raise ValueError(f"unknown target '{name}'; choose one of {sorted(TARGETS)}") from None
