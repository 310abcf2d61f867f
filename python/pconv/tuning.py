"""Auto-tuning of pattern convolutions: per layer, measure candidate tiles on
this machine and keep the fastest.

A tile is ``(rows, vectors, channel_block, filter_groups, filter_block)`` of
``pconv-lower-to-vectors`` (see ``pconv-choose-tiles``; 0 lets the model pick
that field; ``filter_block`` only for filter-blocked convs: dense ones, and
those whose filters share their kernels in blocks). For every
``pconv.conv2d`` of a module the tuner

1. writes a one-layer module per candidate (same shape, same kernel table,
   i.e. the same sparsity, constant weights: timing does not depend on their
   values), all candidates as functions of one module, compiled once;
2. runs each candidate on random input (best of a few runs, in this process);
3. keeps the fastest if it beats the model's own tile (measured alongside)
   by more than ``TUNING_MARGIN`` (3 %) in two separate rounds, else the model's; and caches the
   choice under a key made of the layer's shape,
   strides, padding, kernel table and library, the target and the vector
   width, so the next compile of the same layer (or the same layer in another
   model) costs nothing.

Without tuning the model-based default of ``pconv-choose-tiles`` applies;
that is also what cross-compiles (AArch64) get, since candidates cannot be
timed on the target here. The cache lives in ``$PCONV_CACHE_DIR`` (default
``~/.cache/pconv``), file ``tiles.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from .toolchain import get_target, tool

if TYPE_CHECKING:
    from .compiler import CompileOptions

__all__ = ["ConvLayer", "TuningError", "cache_path", "candidates", "conv_layers", "layer_module",
           "tune_layers", "tune_module"]

Tile = tuple[int, ...]  # (rows, vectors, channel_block, filter_groups[, filter_block[, filter_lanes]])


# The tile that leaves every field to the compiler's cost model.
MODEL_TILE: Tile = (0, 0, 0, 0, 0)
# Filter blocks tried on filter-blocked convs, and the accumulator budgets the
# lowering's model keeps them within (pconv-lower-to-vectors
# dense-accumulators / max-accumulators).
FILTER_BLOCKS = (1, 2, 4, 8, 16)
DENSE_ACCUMULATORS, SHARED_ACCUMULATORS = 24, 16
# A measured tile replaces the model's only if it is this much faster.
TUNING_MARGIN = 0.03


class TuningError(RuntimeError):
    """The tuner could not measure a layer (the message says which and why)."""


_CONV_RE = re.compile(
    r"^\s*%\S+ = pconv\.conv2d %[\w.#]+, %[\w.#]+(?P<bias> bias\(%[\w.#]+\))?"
    r"(?P<residual> residual\(%[\w.#]+\))? "
    r"(?P<rest>library .*?)(?P<attrs> \{[^{}]*(?:\{[^{}]*\}[^{}]*)*\})? : "
    r"\((?P<types>[^)]*)\) -> (?P<result>tensor<[^>]*>)\s*$", re.M)
_SHAPE_RE = re.compile(r"tensor<([0-9x]+)xf32>")
_LIBRARY_RE = re.compile(r"#pconv\.patterns<(\d+)x(\d+), taps = (\d+), (\[[\[\]\d,\s]*\])>")
_KERNELS_RE = re.compile(r'kernels dense<("0x[0-9A-Fa-f]*"|\[[\[\]\d,\s-]*\]|-?\d+)> : tensor<(\d+)x(\d+)xi8>')


@dataclass(frozen=True)
class ConvLayer:
    """One ``pconv.conv2d`` of a module, enough to rebuild it alone."""

    index: int
    body: str  # from `library` to the end of the relu flag: shape + sparsity
    input_type: str
    weight_type: str
    bias_type: str | None
    result_type: str
    residual: bool = False  # adds a residual (of the result type) in its epilogue

    def shape(self, type_text: str) -> list[int]:
        m = _SHAPE_RE.fullmatch(type_text.strip())
        if not m:
            raise TuningError(f"conv {self.index}: unexpected type {type_text}")
        return [int(d) for d in m.group(1).split("x")]

    def kernel_table(self) -> np.ndarray:
        """The ``F x C`` pattern ids (-1: pruned kernel) of the op's kernel table."""
        m = _KERNELS_RE.search(self.body)
        if not m:
            raise TuningError(f"conv {self.index}: cannot read its kernel table")
        values, filters, channels = m.group(1), int(m.group(2)), int(m.group(3))
        if values.startswith('"0x'):
            table = np.frombuffer(bytes.fromhex(values[3:-1]), dtype=np.int8)
        elif values.startswith("["):
            table = np.array(json.loads(values), dtype=np.int8)
        else:
            table = np.full(filters * channels, int(values), dtype=np.int8)
        return table.reshape(filters, channels)

    def filter_block_limit(self) -> tuple[int, bool]:
        """``(G, dense)``: the lowering takes filter blocks dividing ``G`` (all
        filters of a dense conv, the shared-kernel block size otherwise; 1:
        not filter-blocked), as ``isDenseConv`` / ``sharedKernelBlock`` decide."""
        lib = _LIBRARY_RE.search(self.body)
        if not lib:
            raise TuningError(f"conv {self.index}: cannot read its pattern library")
        kh, kw, taps = (int(lib.group(i)) for i in (1, 2, 3))
        patterns = len(json.loads(lib.group(4)))
        ids = self.kernel_table()
        filters = ids.shape[0]
        if patterns == 1 and taps == kh * kw and (ids == 0).all():
            return filters, True
        if (ids < 0).all():
            return 1, False
        for g in (16, 8, 4, 2):
            if filters % g == 0 and (ids.reshape(filters // g, g, -1) == ids[::g, None, :]).all():
                return g, False
        return 1, False

    def key(self, target: str, vector_width: int, threads: int) -> str:
        fields = [self.body, self.input_type, self.weight_type, str(self.bias_type),
                  self.result_type, target, str(vector_width), str(threads)]
        text = "|".join(fields + ["residual"] * self.residual)
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def conv_layers(pconv_text: str) -> list[ConvLayer]:
    """The ``pconv.conv2d`` ops of a module's text, in walk order."""
    layers = []
    for i, m in enumerate(_CONV_RE.finditer(pconv_text)):
        types = [t.strip() for t in m.group("types").split(", tensor")]
        types = [types[0]] + ["tensor" + t for t in types[1:]]
        has_bias, has_residual = bool(m.group("bias")), bool(m.group("residual"))
        if len(types) != 2 + has_bias + has_residual or "__elided__" in m.group("rest"):
            raise TuningError(f"conv {i}: cannot read the op back from the module text")
        layers.append(ConvLayer(index=i, body=m.group("rest"), input_type=types[0], weight_type=types[1],
                                bias_type=types[2] if has_bias else None,
                                result_type=m.group("result"), residual=has_residual))
    # Tiles are keyed by walk order: every conv must have been read.
    total = len(re.findall(r"= pconv\.conv2d ", pconv_text))
    if total != len(layers):
        raise TuningError(f"read {len(layers)} of the module's {total} pconv.conv2d ops back from its text")
    return layers


def layer_module(layer: ConvLayer, tiles: Sequence[Tile]) -> str:
    """A module with one function ``@candidate<i>`` per tile, each computing
    ``layer`` with that tile (weights, bias and residual are constants)."""
    funcs = []
    for i, tile in enumerate(tiles):
        fields = [f"{name} = {v}" for name, v in
                  zip(("rows", "vectors", "channel_block", "filter_groups", "filter_block", "filter_lanes"), tile)
                  if v > 0]
        bias_def = f"    %b = arith.constant dense<1.000000e-02> : {layer.bias_type}\n" if layer.bias_type else ""
        bias_use = " bias(%b)" if layer.bias_type else ""
        residual_def = (f"    %r = arith.constant dense<5.000000e-01> : {layer.result_type}\n"
                        if layer.residual else "")
        residual_use = " residual(%r)" if layer.residual else ""
        types = ", ".join(filter(None, [layer.input_type, layer.weight_type, layer.bias_type,
                                        layer.result_type if layer.residual else None]))
        funcs.append(
            f"  func.func @candidate{i}(%x: {layer.input_type}) -> {layer.result_type} {{\n"
            f"    %w = arith.constant dense<3.000000e-02> : {layer.weight_type}\n{bias_def}{residual_def}"
            f"    %y = pconv.conv2d %x, %w{bias_use}{residual_use} {layer.body} {{pconv.tile = {{{', '.join(fields)}}}}}"
            f" : ({types}) -> {layer.result_type}\n"
            f"    return %y : {layer.result_type}\n  }}\n")
    return "module {\n" + "".join(funcs) + "}\n"


def _grid_pitch(layer: ConvLayer, in_w: int, out_h: int, out_w: int, vector_width: int,
                limit: int, dense: bool) -> int:
    """The pitch of the lowering's pitched flat form for ``layer`` (0: rows),
    as ``pitchFor`` / ``densePitchFor`` in LoweringUtils.cpp choose it: short
    rows (at most half a vector) at stride 1, or at stride 2 undilated on
    phase planes (not for pattern convs whose filters keep one kernel); dense
    convs at stride 1 also where the grid fills more lanes than rows do."""
    strides = re.search(r"strides \[(\d+), (\d+)\]", layer.body)
    padding = re.search(r"padding \[(\d+), (\d+), (\d+), (\d+)\]", layer.body)
    dilations = re.search(r"dilations \[(\d+), (\d+)\]", layer.body)
    lib = _LIBRARY_RE.search(layer.body)
    if not (strides and padding and lib) or strides.group(1) != strides.group(2):
        return 0
    stride, left, right = int(strides.group(1)), int(padding.group(2)), int(padding.group(4))
    dil = tuple(int(d) for d in dilations.groups()) if dilations else (1, 1)
    stride1 = max(in_w + left, out_w + (int(lib.group(2)) - 1) * dil[1] - left)
    if 2 * out_w <= vector_width:
        if stride == 1:
            return stride1
        one_kernel = limit == 1 and bool(((layer.kernel_table() >= 0).sum(axis=1) <= 1).all())
        if stride == 2 and dil == (1, 1) and not one_kernel:
            return -(-(in_w + left + right) // 2)
        return 0
    if stride == 1 and dense:
        def used(useful: int, positions: int) -> float:
            return useful / (-(-positions // vector_width) * vector_width)
        if used(out_h * out_w, out_h * stride1) > used(out_w, out_w) + 0.01:
            return stride1
    return 0


def candidates(layer: ConvLayer, vector_width: int, max_accumulators: int = 28) -> list[Tile]:
    """Tiles worth measuring for ``layer``: rows x vectors per row (within the
    register budget) x channel blocks around the cache model's choice; on
    filter-blocked convs also rows x vectors x filter blocks (within the
    lowering's accumulator budget); on dense 1x1 convs without padding whose
    filters fill whole vectors also filters-along-lanes tiles (pixels x
    filter vectors, ``filter_lanes = 1``; at most ``vector_width`` pixels)."""
    _, channels, _, in_w = layer.shape(layer.input_type)
    filters = layer.shape(layer.result_type)[1]
    _, _, out_h, out_w = layer.shape(layer.result_type)
    padding = re.search(r"padding \[(\d+), (\d+), (\d+), (\d+)\]", layer.body)
    limit, dense = layer.filter_block_limit()
    one_by_one = re.search(r"#pconv\.patterns<1x1,", layer.body) is not None
    if limit > 1 and one_by_one and padding and set(padding.groups()) == {"0"}:
        # A filter-blocked 1x1 conv without padding is one flat row of
        # out_h * out_w pixels (the lowering's matmul form).
        out_w, out_h = out_h * out_w, 1
    elif pitch := _grid_pitch(layer, in_w, out_h, out_w, vector_width, limit, dense):
        # The lowering's pitched form: one flat row of out_h * pitch grid positions.
        out_w, out_h = out_h * pitch, 1
    per_row = -(-out_w // vector_width)
    vectors = sorted({min(per_row, v) for v in (per_row, 4, 2)})
    tiles: list[Tile] = []
    for v in vectors:
        chunks = -(-per_row // v)
        v = -(-per_row // chunks)
        # The model's balanced choice (16 accumulators, up to 16 rows) besides fixed heights.
        most = max(1, min(16 // v, 16, out_h))
        balanced = -(-out_h // -(-out_h // most))
        for rows in sorted({2, 4, 6, balanced}) if out_h > 1 else (1,):
            if rows * v > max_accumulators or rows > out_h:
                continue
            for block in sorted({min(channels, b) for b in (16, 32, channels)}):
                tiles.append((rows, v, block, 0, 0))
            budget = DENSE_ACCUMULATORS if dense else SHARED_ACCUMULATORS
            for fb in FILTER_BLOCKS if limit > 1 else ():
                if limit % fb == 0 and rows * v * fb <= budget:
                    tiles.append((rows, v, 0, 0, fb))
    if dense and one_by_one and padding and set(padding.groups()) == {"0"} and filters % vector_width == 0:
        pixels = out_h * out_w
        for fv in (1, 2, 3, 4, 6):
            if filters % (fv * vector_width):
                continue
            most = min(pixels, vector_width, DENSE_ACCUMULATORS // fv)
            for rows in sorted({most, max(1, most - 2), min(most, 4)}):
                tiles.append((rows, fv, 0, 0, fv * vector_width, 1))
    return sorted(set(tiles))


def cache_path() -> Path:
    return Path(os.environ.get("PCONV_CACHE_DIR", Path.home() / ".cache" / "pconv")) / "tiles.json"


def _load_cache() -> dict[str, list[int]]:
    try:
        return json.loads(cache_path().read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def _store_cache(cache: dict[str, list[int]]) -> None:
    path = cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(cache, indent=1, sort_keys=True))
    tmp.replace(path)


def _time(fn, x: np.ndarray, budget_s: float = 0.15, max_runs: int = 20) -> float:
    """Best CPU time of the process over a few runs: on a shared machine,
    wall time mostly measures the other jobs; CPU time measures the code."""
    fn(x)  # warm-up (page faults, OpenMP start)
    best, start, runs = float("inf"), time.perf_counter(), 0
    while runs < 3 or (time.perf_counter() - start < budget_s and runs < max_runs):
        t = time.process_time()
        fn(x)
        best = min(best, time.process_time() - t)
        runs += 1
    return best


def measure(layer: ConvLayer, tiles: Sequence[Tile], opts: "CompileOptions") -> list[float]:
    """Seconds per run (best of several) of ``layer`` with each tile."""
    from .artifact import Artifact
    from .compiler import compile_pconv  # here: compiler imports this module

    # Plain stores, as in the network, where the next layer reads the result
    # (each candidate returns it, which would let a large one stream).
    art = compile_pconv(layer_module(layer, tiles), replace(opts, tune=False, tiles=None, streaming_bytes=0),
                        func_name="candidate0")
    x = np.random.default_rng(0).standard_normal(layer.shape(layer.input_type)).astype(np.float32)
    times = []
    for i in range(len(tiles)):
        candidate = Artifact(directory=art.directory, target=art.target, triple=art.triple,
                             symbol=f"_mlir_ciface_candidate{i}", inputs=art.inputs, outputs=art.outputs)
        times.append(_time(candidate.load(), x))
    return times


def _beats(candidate: float, model: float) -> bool:
    """Whether a candidate's time beats the model tile's by more than the margin."""
    return candidate < (1 - TUNING_MARGIN) * model


def tune_layers(layers: Sequence[ConvLayer], opts: "CompileOptions", progress: bool = False) -> dict[int, Tile]:
    """The fastest measured tile of every layer (from the cache where known)."""
    from .compiler import vector_width_of

    target = get_target(opts.target)
    if target.name != "host":
        raise TuningError(f"tuning measures on this machine; it cannot time target '{target.name}' "
                          "(cross-compiles use the model-based tiles)")
    width = vector_width_of(opts, target)
    cache = _load_cache()
    chosen: dict[int, Tile] = {}
    iterator = layers
    if progress:
        from tqdm import tqdm

        iterator = tqdm(layers, desc="tuning convs", unit="conv")
    # The load scheme changes which tile is fastest: part of the key.
    codegen = (f"{target.triple}:{target.cpu}:aligned={int(opts.aligned_loads)}:mixed={int(opts.mixed_shifts)}"
               f":shifted={int(opts.shifted_copies)}:tail={int(opts.tail_chunks)}"
               f":lanes={int(opts.filter_lanes)}")
    for layer in iterator:
        key = layer.key(codegen, width, opts.threads)
        if key in cache:
            chosen[layer.index] = tuple(cache[key])  # type: ignore[assignment]
            continue
        # The model's own tile is measured too and kept unless a candidate
        # beats it clearly: on a busy machine the fastest of a dozen noisy
        # timings is often a worse tile that happened to run in a quiet moment.
        tiles = [MODEL_TILE] + [t for t in candidates(layer, width) if t != MODEL_TILE]
        times = measure(layer, tiles, opts)
        fastest = int(np.argmin(times))
        best = tiles[fastest] if _beats(times[fastest], times[0]) else MODEL_TILE
        # Confirm against the model's tile in a second, separate round: the
        # first round's winner of a dozen noisy timings won a lottery as often
        # as not (the ablation measured tuned tiles at 0.90-0.97x of the
        # model's with a single round).
        if best != MODEL_TILE:
            model_time, best_time = measure(layer, [MODEL_TILE, best], opts)
            if not _beats(best_time, model_time):
                best = MODEL_TILE
        chosen[layer.index] = best
        cache[key] = list(best)
        _store_cache(cache)
    return chosen


def tune_module(pconv_module: Path, opts: "CompileOptions") -> dict[int, Tile]:
    """Tiles for every pattern conv of a compiled module's pconv stage."""
    # The stage text elides large tables; print the kernel tables in full (the
    # weights, resources, stay elided).
    proc = subprocess.run([tool("pconv-opt"), str(pconv_module), "--mlir-elide-resource-strings-if-larger=16"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise TuningError(f"cannot print {pconv_module}: {proc.stderr.strip()}")
    return tune_layers(conv_layers(proc.stdout), opts, progress=True)
