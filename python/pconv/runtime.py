"""Running compiled artifacts: in-process on the host, under qemu for AArch64.

Needs only numpy and ctypes: running a host artifact does not import torch
(a torch tensor passed in is converted, and a torch tensor comes back).
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import struct
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .artifact import Artifact, TensorSpec
from .toolchain import Target, get_target

__all__ = ["load", "load_library", "CompiledModel", "emulated_command", "tune_malloc"]


@functools.lru_cache(maxsize=None)
def _descriptor_type(rank: int) -> type[ctypes.Structure]:
    # Cached: a ctypes class per call cost ~9 us and left ~17 objects in
    # reference cycles (class dicts, fields), so a model called in a loop
    # triggered the cyclic garbage collector every ~40 calls, and a full
    # collection in a process that imported torch took ~90 ms.
    fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p), ("offset", ctypes.c_int64)]
    if rank:
        fields += [("sizes", ctypes.c_int64 * rank), ("strides", ctypes.c_int64 * rank)]
    return type(f"MemRef{rank}D", (ctypes.Structure,), {"_fields_": fields})


# glibc mallopt parameters.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_malloc_tuned = False


def tune_malloc() -> bool:
    """Keep freed memory in the heap for the next run.

    A compiled model allocates its intermediate buffers on every call. With
    glibc's defaults every free of a large buffer goes back to the kernel (trim
    or munmap), and the next call page-faults it in again: on ResNet-18 that
    was 40% of the run time. This raises the trim threshold to 1 GiB and fixes
    the mmap threshold at its maximum (32 MiB), for the whole process. Done
    once, at the first load of a host model; ``PCONV_MALLOC_TUNING=0`` turns it
    off. Returns whether the settings are in effect.
    """
    global _malloc_tuned
    if _malloc_tuned or os.environ.get("PCONV_MALLOC_TUNING", "1") == "0":
        return _malloc_tuned
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _malloc_tuned = bool(mallopt(_M_TRIM_THRESHOLD, 1 << 30) and mallopt(_M_MMAP_THRESHOLD, 32 << 20))
    return _malloc_tuned


def gomp_place_cpus() -> set[int] | None:
    """The CPUs of GNU libgomp's places, if libgomp is loaded in this process.

    libgomp computes its places from the process's CPU mask when it loads, so
    their union is the set it was allowed before it bound this thread.
    """
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "libgomp" in line and line.rstrip().endswith(".so.1")}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            gomp = ctypes.CDLL(path)
            places = gomp.omp_get_num_places()
            cpus: set[int] = set()
            for place in range(places):
                count = gomp.omp_get_place_num_procs(place)
                ids = (ctypes.c_int * count)()
                gomp.omp_get_place_proc_ids(place, ids)
                cpus.update(ids)
        except (OSError, AttributeError):
            continue
        if cpus:
            return cpus
    return None


def unpin_for_openmp() -> bool:
    """Undo GNU libgomp's binding of this thread before LLVM libomp reads it.

    With ``OMP_PROC_BIND`` / ``OMP_PLACES`` set, libgomp (loaded by PyTorch)
    binds the thread that loads it to its first place, one CPU. The LLVM libomp
    that compiled models use takes the calling thread's mask as the machine when
    it initializes, so every model thread then ran on that one CPU (ResNet-50
    at 2 threads: as slow as at 1). Called before a host model's first run:
    when libgomp is loaded and this thread may run on fewer CPUs than
    libgomp's places cover, it gets those CPUs back (libomp then binds its
    threads to the places it computes, the calling thread to the first). A
    mask set from outside (``taskset``) is kept: libgomp's places lie inside
    it. ``PCONV_UNPIN=0`` turns this off. Returns whether the mask was widened.
    """
    if os.environ.get("PCONV_UNPIN", "1") == "0" or not hasattr(os, "sched_getaffinity"):
        return False
    if not any(os.environ.get(v) for v in ("OMP_PROC_BIND", "OMP_PLACES", "GOMP_CPU_AFFINITY")):
        return False
    places = gomp_place_cpus()
    try:
        current = os.sched_getaffinity(0)
        if not places or places <= current:
            return False
        os.sched_setaffinity(0, places | current)
    except OSError:
        return False
    return True


def _is_torch(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


class CompiledModel:
    """A loaded artifact; call it like the original model."""

    def __init__(self, library: Path, meta: dict[str, Any]):
        self.library = Path(library)
        self.meta = meta
        self.inputs: list[TensorSpec] = [s if isinstance(s, TensorSpec) else TensorSpec(tuple(s["shape"]), s["dtype"]) for s in meta["inputs"]]
        self.outputs: list[TensorSpec] = [s if isinstance(s, TensorSpec) else TensorSpec(tuple(s["shape"]), s["dtype"]) for s in meta["outputs"]]
        self.target = get_target(meta["target"])
        self.owner: Any = None

    # -- argument checking ---------------------------------------------------
    def _prepare(self, args: Sequence[Any]) -> tuple[list[np.ndarray], bool]:
        if len(args) != len(self.inputs):
            raise TypeError(f"model takes {len(self.inputs)} input(s), got {len(args)}")
        arrays, as_torch = [], False
        for i, (x, spec) in enumerate(zip(args, self.inputs)):
            if _is_torch(x):
                as_torch = True
                x = x.detach().cpu().numpy()
            if not isinstance(x, np.ndarray):
                raise TypeError(f"input {i}: expected a numpy array or torch tensor, got {type(x).__name__}")
            if x.dtype != np.dtype(spec.dtype):
                raise TypeError(f"input {i}: expected dtype {spec.dtype}, got {x.dtype}")
            if tuple(x.shape) != tuple(spec.shape):
                raise ValueError(f"input {i}: expected shape {tuple(spec.shape)}, got {tuple(x.shape)}")
            arrays.append(np.ascontiguousarray(x))
        return arrays, as_torch

    def __call__(self, *args: Any):
        arrays, as_torch = self._prepare(args)
        results = self._run(arrays)
        if as_torch:
            import torch

            results = [torch.from_numpy(r) for r in results]
        return results[0] if len(results) == 1 else tuple(results)

    def _run(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        raise NotImplementedError


_opened_lock = threading.Lock()
_opened: dict[str, tuple[int, int, int, int]] = {}


def _open_library(path: Path) -> ctypes.CDLL:
    """dlopen ``path``, also when another file was opened under that name before.

    The dynamic loader hands back the library already open under the same path
    (and, for another name, under the same inode), so loading a model saved
    over one this process had loaded would run the old code against the new
    model's shapes. A changed file is therefore opened through a private copy
    (a new inode, unlinked once mapped).
    """
    real = Path(path).resolve()
    st = real.stat()
    identity = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
    with _opened_lock:
        first = _opened.setdefault(str(real), identity)
        if first == identity:
            return ctypes.CDLL(str(real), mode=os.RTLD_LOCAL)
        fd, copy = tempfile.mkstemp(prefix="pconv-model-", suffix=".so")
        os.close(fd)
        try:
            shutil.copyfile(real, copy)
            return ctypes.CDLL(copy, mode=os.RTLD_LOCAL)
        finally:
            os.unlink(copy)


def _aligned_empty(shape, dtype, alignment: int = 64) -> np.ndarray:
    """An uninitialized C-contiguous array whose data starts on an
    ``alignment``-byte boundary (numpy's own are 16-byte aligned)."""
    dtype = np.dtype(dtype)
    count = int(np.prod(shape, dtype=np.int64))
    raw = np.empty(count * dtype.itemsize + alignment, dtype=np.uint8)
    start = (-raw.ctypes.data) % alignment
    return raw[start:start + count * dtype.itemsize].view(dtype).reshape(shape)


class HostModel(CompiledModel):
    """Runs in this process through the C interface of the entry point."""

    def __init__(self, library: Path, meta: dict[str, Any]):
        super().__init__(library, meta)
        tune_malloc()
        unpin_for_openmp()
        self._lib = _open_library(self.library)
        try:
            self._fn = getattr(self._lib, meta["symbol"])
        except AttributeError:
            raise RuntimeError(f"{library}: entry point {meta['symbol']} is missing") from None
        self._fn.restype = None

    @staticmethod
    def _descriptor(arr: np.ndarray) -> ctypes.Structure:
        desc = _descriptor_type(arr.ndim)()
        ptr = arr.ctypes.data
        desc.allocated = desc.aligned = ptr
        desc.offset = 0
        for d in range(arr.ndim):
            desc.sizes[d] = arr.shape[d]
            desc.strides[d] = arr.strides[d] // arr.itemsize
        return desc

    def _run(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        outs = [_aligned_empty(s.shape, s.dtype) for s in self.outputs]
        descs = [self._descriptor(a) for a in [*arrays, *outs]]
        self._fn(*[ctypes.byref(d) for d in descs])
        return outs


_runner_lock = threading.Lock()


def _build_runner(cc: str) -> Path:
    """Cross-compile pconv_runner.c once per compiler (cached beside the build)."""
    cache = Path(os.environ.get("PCONV_CACHE", Path.home() / ".cache" / "pconv"))
    cache.mkdir(parents=True, exist_ok=True)
    src = Path(__file__).with_name("pconv_runner.c")
    out = cache / f"pconv_runner-{Path(cc).name}-{int(src.stat().st_mtime)}"
    with _runner_lock:
        if not out.exists():
            tmp = out.with_suffix(".tmp")
            subprocess.run([cc, "-O2", "-o", str(tmp), str(src), "-ldl"], check=True, capture_output=True)
            tmp.replace(out)
    return out


def emulated_command(target: Target, argv: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that run ``argv`` (a program built for
    ``target``) under qemu-user, with the target's sysroot and libomp."""
    env = dict(os.environ, QEMU_LD_PREFIX=target.sysroot or "")
    # The sysroot's libc first: a host with Debian's libc6:arm64 also
    # installed would otherwise mix two libcs (threads then hang).
    env["LD_LIBRARY_PATH"] = ":".join([target.omp_dir, f"{target.sysroot}/lib"])
    return [target.qemu, "-L", target.sysroot or "/", *argv], env


class EmulatedModel(CompiledModel):
    """Runs each call in a fresh qemu-user process (the artifact's target is not the host)."""

    def __init__(self, library: Path, meta: dict[str, Any]):
        super().__init__(library, meta)
        self._runner = _build_runner(self.target.cc)

    def _run(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        specs = [(a.shape, False) for a in arrays] + [(s.shape, True) for s in self.outputs]
        with tempfile.TemporaryDirectory(prefix="pconv-run-") as tmp:
            io_path = Path(tmp) / "io.bin"
            with open(io_path, "wb") as f:
                f.write(b"PCIO" + struct.pack("<I", len(specs)))
                for shape, is_out in specs:
                    f.write(struct.pack("<II", len(shape), int(is_out)))
                    f.write(struct.pack(f"<{len(shape)}q", *shape))
                for a in arrays:
                    f.write(a.astype(np.float32, copy=False).tobytes())
            command, env = emulated_command(
                self.target, [str(self._runner), str(self.library), self.meta["symbol"], str(io_path)])
            proc = subprocess.run(command, capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                raise RuntimeError(f"{self.target.name} run under {self.target.qemu} failed "
                                   f"(exit {proc.returncode}): {proc.stderr.strip()}")
            raw = np.fromfile(str(io_path) + ".out", dtype=np.float32)
        outs, offset = [], 0
        for s in self.outputs:
            n = int(np.prod(s.shape)) if s.shape else 1
            outs.append(raw[offset:offset + n].reshape(s.shape).copy())
            offset += n
        return outs


def load_library(library: Path, meta: dict[str, Any]) -> CompiledModel:
    target = get_target(meta["target"])
    return HostModel(library, meta) if target.is_host else EmulatedModel(library, meta)


def load(path: str | Path) -> CompiledModel:
    """Load a saved artifact folder; checks its version and checksum first."""
    meta = Artifact.read_metadata(path)
    return load_library(Path(path) / meta.get("library", "model.so"), meta)
