"""``pconv.compile``: PyTorch model -> stages -> shared library artifact.

The compiler drives named stages, each an external tool run on files in a work
directory, so that every intermediate is inspectable and every failure can be
reproduced with one command:

    linalg   torch-mlir's linalg-on-tensors (weights in a .pcw file)
    pconv    after pconv-import-linalg: pattern-sparse convs as pconv.conv2d
    llvm     after the rest of pconv-to-llvm: LLVM dialect
    (then pconv-translate -> bitcode, opt -O3, llc, and the target's linker)
"""

from __future__ import annotations

import contextlib
import re
import shlex
import shutil
import subprocess
import tempfile
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator, Sequence

from .artifact import Artifact, TensorSpec
from .frontend import ImportedModule, import_torch
from .patterns import PatternLibrary
from .toolchain import Target, get_target, tool
from .weights import write_weights

__all__ = ["CompileError", "CompileOptions", "compile", "compile_linalg", "compile_pconv"]

# Larger elements attributes / resources are elided in the stage texts.
_ELIDE = ["--mlir-elide-elementsattrs-if-larger=64", "--mlir-elide-resource-strings-if-larger=64"]


class CompileError(RuntimeError):
    """A compilation stage failed. ``stage``, ``command`` and ``repro_dir`` say where."""

    def __init__(self, stage: str, message: str, command: str = "", repro_dir: str | None = None):
        self.stage, self.command, self.repro_dir = stage, command, repro_dir
        text = f"pconv: stage '{stage}' failed: {message.strip()}"
        if repro_dir:
            text += f"\n  failing input and weights saved in: {repro_dir}"
        if command:
            text += f"\n  reproduce with: {command}"
        super().__init__(text)


@dataclass
class CompileOptions:
    """Options of one compilation.

    Attributes:
        target: ``"host"`` or ``"aarch64-linux-gnu"``.
        threads: OpenMP threads per parallel region; 0 lets the runtime decide
            (``OMP_NUM_THREADS`` at run time).
        library: pattern library to impose on every pattern conv; ``None`` infers
            one per layer from its weights.
        import_pattern_convs: set False to compile everything on the dense path:
            no sparsity is exploited, pruned kernels are computed too (as a dense
            engine would; for comparisons).
        vectorize_dense_convs: compute convolutions that are not pattern-sparse
            with the vectorized pconv lowering too (as one full kernel pattern);
            False leaves them to upstream linalg loops.
        import_depthwise: compute depthwise convolutions with the pconv lowering
            too (one kernel per filter, pattern-pruned or dense); False leaves
            them to the dense path's vectorized depthwise loops.
        fuse_residual: add a residual block's shortcut in the epilogue of the
            conv that produces the other summand (``relu(conv(x) + shortcut)`` in
            one op, the conv's sum never stored and re-read).
        fuse_pool: take a max-pool of a conv's result into the conv (VGG's 2x2 /
            2 pools: pattern tiles pool in registers; ResNet's 3x3 / 2 stem pool
            with padding 1: the dense conv pools in its epilogue), so the
            full-resolution map is never written; elsewhere it is split off again.
        fold_batchnorm: fold eval-mode BatchNorm into the preceding conv before
            import (weights and bias), so it costs nothing at run time.
        vector_width: f32 lanes of the vectorized pattern lowering; ``None`` takes
            the target's (16 with AVX-512, 4 on NEON), 0 keeps the reference loops.
        shifted_copies: stride-1 pattern convs read aligned vectors from one copy of
            the padded input per kernel column shift (no cache-line-split loads, but
            3x the copying and input footprint; off: measured 10% slower on ResNet-18).
        aligned_loads: pattern convs read their padded input with aligned vectors
            only; a tap vector that straddles two aligned ones is a lane shuffle of
            both (``valignd``) instead of a load split across two cache lines.
            Applies with 512-bit vectors (AVX-512) only; dense convs never use it.
        mixed_shifts: with ``aligned_loads``, stride-1 pattern convs whose tile is at
            most 4 vectors wide load every other straddling tap vector unaligned
            instead of shuffling it, splitting the work between the load units and
            the shuffle/FMA pipes (Zen 4: 1.11-1.17x on single layers of 7x7 to 56x56).
        streaming_bytes: a conv result (pattern or dense) that the model returns,
            of at least this many bytes, is stored with non-temporal (streaming)
            stores, around the caches and without reading each line first, where
            its buffer is vector-aligned at run time (checked per call); x86
            targets only; 0 turns them off.
        direct_loads: convs whose filters keep at most one kernel (depthwise) read
            their input in place with masked loads (at column stride 2, two loads
            deinterleaved) instead of first copying it into a padded buffer.
        write_padded: a conv (pattern or dense) whose result only feeds a
            stride-1 conv that reads a zero-padded copy of it writes straight
            into that padded buffer (its tiles zero the halo beside the rows
            they write), and the consumer copies nothing.
        tail_chunks: dense convs (and convs whose filters share kernels in
            blocks) whose output row is not a multiple of the register tile's
            vectors end it in a narrower tile instead of masked whole vectors
            past its end (a 14x14 1x1 conv: 5 + 5 + 3 vectors, not 3 x 5).
        filter_lanes: dense 1x1 convs whose pixel count fills vectors badly
            (7x7 = 49 pixels in 4 vectors of 16) put filters along the vector
            lanes instead, where the tile model scores that better (the tile is
            transposed into the output through a small buffer).
        sparse_linear: linear layers whose constant weights are block-sparse (at
            least half of the 16-wide blocks of each row's inputs all zero, see
            :func:`pconv.prune.prune_linear`) store and read only the kept blocks.
            Off by default: pruning linear layers is a separate accuracy trade-off.
        steal_tasks: parallel loops keep OpenMP's static shares, but a thread
            that finishes its share takes the remaining tasks of the others'
            (one atomic add per claim; ``pconv-steal-tasks``). Neutral on a quiet
            machine; it helps a loop whose thread is delayed mid-share, not one
            whose thread misses the closing barrier. False: the static schedule.
        prefetch_distance: a pattern conv's kernel prefetches (into L1) the tile
            input rows of the kernel this many entries ahead in its schedule:
            a filter's kernels visit channels in no order the hardware
            prefetcher follows. Per-kernel patterns at stride 1 (VGG-16's layers
            0.91-0.97x the time, the whole network 0.97x; stride 2 ran slower
            with it) and shared-kernel blocks. Any non-zero value also prefetches
            weights that come from memory on every call (pattern convs with at
            least 512 KiB of kept weights, filter-lane 1x1 convs' next filter
            group; ResNet-50 0.97x the time); 0 turns all of it off.
        band_rows: a chain of convs whose intermediate maps (each at least
            ``band_min_bytes``) feed only the next conv (VGG-16's first two, 12.8 MB
            at 224x224) runs band by band of at most this many output rows of its
            last conv (``pconv-fuse-row-bands``), so the maps never exist in full
            and a band's rows stay in L2; each conv recomputes the halo rows its
            consumer reads, and the chain's kept weights are stored once per
            emitted band body (first band, the loop, the last; up to two edge
            bands each side). 0 turns it off. Not applied with ``tiles`` or
            ``tune``, whose tiles name the convs as imported.
        band_min_bytes: the smallest intermediate map ``band_rows`` fuses
            (default 8 MiB: MobileNet-V2's 1-5 MB blocks ran no faster in bands on
            the benchmark host, see docs/rationale.md).
        band_max_bytes: the largest intermediate map of one band; bands get
            fewer rows than ``band_rows`` until it fits (default 1 MiB, this
            host's L2).
        reorder_filters: filter kernel reorder (pconv-reorder-filters): sort filters
            by length and pattern mix, absorbing the permutation into consumer convs.
        tune: measure candidate tiles of every pattern conv on this machine and keep
            the fastest (cached per layer shape and sparsity, see
            :mod:`pconv.tuning`); host targets only. Off: a model picks the tiles.
        tiles: fixed tiles ``{conv index: (rows, vectors, channel_block,
            filter_groups[, filter_block[, filter_lanes]])}``, overriding both
            (what the tuner passes on); 0 lets the model pick a field;
            ``filter_block`` (filters per register tile) applies to dense convs
            only, ``filter_lanes = 1`` (filters along the vector lanes: rows
            then count pixels, vectors filter vectors) to dense 1x1 convs.
        keep_workdir: keep the work directory (its path is ``Artifact.directory``).
    """

    target: str = "host"
    threads: int = 0
    library: PatternLibrary | None = None
    import_pattern_convs: bool = True
    vectorize_dense_convs: bool = True
    import_depthwise: bool = True
    fuse_residual: bool = True
    fuse_pool: bool = True
    vector_width: int | None = None
    reorder_filters: bool = True
    shifted_copies: bool = False
    aligned_loads: bool = True
    mixed_shifts: bool = True
    direct_loads: bool = True
    write_padded: bool = True
    tail_chunks: bool = True
    filter_lanes: bool = True
    sparse_linear: bool = False
    steal_tasks: bool = True
    prefetch_distance: int = 4
    streaming_bytes: int = 4 << 20
    band_rows: int = 16
    band_min_bytes: int = 8 << 20
    band_max_bytes: int = 1 << 20
    tune: bool = False
    tiles: dict[int, Sequence[int]] | None = None
    fold_batchnorm: bool = True
    keep_workdir: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The switches reach pconv-opt as pipeline options; a non-bool would
        # only fail there, late and cryptically ('maybe' is invalid value...).
        for name in ("import_pattern_convs", "vectorize_dense_convs", "import_depthwise", "fuse_residual", "fuse_pool",
                     "reorder_filters", "shifted_copies", "aligned_loads", "mixed_shifts", "direct_loads", "write_padded", "tail_chunks", "filter_lanes",
                     "sparse_linear", "steal_tasks", "tune", "fold_batchnorm", "keep_workdir"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise TypeError(f"CompileOptions.{name} must be a bool, got {value!r}")
        if (isinstance(self.prefetch_distance, bool) or not isinstance(self.prefetch_distance, int)
                or self.prefetch_distance < 0):
            raise ValueError(f"CompileOptions.prefetch_distance must be an int >= 0, got {self.prefetch_distance!r}")
        if (isinstance(self.band_rows, bool) or not isinstance(self.band_rows, int) or self.band_rows < 0
                or self.band_rows == 1):
            raise ValueError(f"CompileOptions.band_rows must be 0 (off) or an int >= 2, got {self.band_rows!r}")
        for name in ("band_min_bytes", "band_max_bytes", "streaming_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"CompileOptions.{name} must be an int >= 0, got {value!r}")


def compile(model: Any, example_inputs: Sequence[Any], target: str | None = None,
            options: CompileOptions | None = None, **kwargs: Any) -> Artifact:
    """Compile a ``torch.nn.Module`` (or ExportedProgram) for ``target``.

    ``kwargs`` are :class:`CompileOptions` fields (``threads=2``, ...), used when
    ``options`` is not given. Returns an :class:`Artifact`: ``art.stages`` maps
    stage names to IR text, ``art.save(path)`` writes a loadable artifact.
    """
    opts = resolve_options(target, options, kwargs)
    imported = import_torch(model, tuple(example_inputs), fold_bn=opts.fold_batchnorm)
    return compile_linalg(imported, opts)


def resolve_options(target: str | None, options: CompileOptions | None, kwargs: dict[str, Any]) -> CompileOptions:
    """``options`` (or CompileOptions(**kwargs)) with ``target`` applied when given."""
    opts = options or CompileOptions(**kwargs)
    return opts if target is None else replace(opts, target=target)


_TENSOR_RE = re.compile(r"tensor<([0-9x]*?)x?(f32|f64|i64|i32|f16|bf16|i1)>")


def _func_signature(text: str, func_name: str) -> tuple[list[TensorSpec], list[TensorSpec]]:
    m = re.search(rf"func\.func @{re.escape(func_name)}\((.*?)\)\s*(?:->\s*(\(.*?\)|tensor<[^>]*>))?\s*(?:attributes.*?)?\{{",
                  text, re.S)
    if not m:
        raise CompileError("linalg", f"no function @{func_name} in the imported module")

    def specs(s: str | None) -> list[TensorSpec]:
        out = []
        for dims, dtype in _TENSOR_RE.findall(s or ""):
            shape = tuple(int(d) for d in dims.split("x") if d) if dims else ()
            out.append(TensorSpec(shape=shape, dtype={"f32": "float32"}.get(dtype, dtype)))
        return out

    return specs(m.group(1)), specs(m.group(2))


class _Session:
    """A work directory plus the tool invocations of one compilation."""

    def __init__(self, workdir: Path):
        self.workdir = workdir

    def run(self, stage: str, argv: list[str], inputs: Sequence[Path] = ()) -> subprocess.CompletedProcess:
        proc = subprocess.run(argv, capture_output=True, text=True)
        if proc.returncode == 0:
            return proc
        repro = Path(tempfile.mkdtemp(prefix=f"pconv-repro-{stage}-"))
        mapping = {}
        for p in inputs:
            if p.exists():
                dst = repro / p.name
                shutil.copy(p, dst)
                mapping[str(p)] = str(dst)
        cmd = " ".join(shlex.quote(mapping.get(a, a)) for a in argv)
        for old, new in mapping.items():
            cmd = cmd.replace(old, new)
        # Outputs too: the work directory is removed after a failure.
        cmd = cmd.replace(str(self.workdir), str(repro))
        (repro / "command.sh").write_text("#!/bin/sh\n" + cmd + "\n")
        raise CompileError(stage, without_region_remarks(proc.stderr) or proc.stdout or f"exit code {proc.returncode}",
                           command=cmd, repro_dir=str(repro))

    def print_stage(self, path: Path) -> str:
        proc = subprocess.run([tool("pconv-opt"), str(path), *_ELIDE], capture_output=True, text=True)
        return proc.stdout if proc.returncode == 0 else f"// could not print {path.name}:\n{proc.stderr}"


@contextlib.contextmanager
def _work_directory(opts: CompileOptions) -> Iterator[Path]:
    """A fresh work directory, removed again if the compilation fails (a failing
    tool leaves its inputs in a ``pconv-repro-*`` directory instead) unless
    ``keep_workdir``."""
    workdir = Path(tempfile.mkdtemp(prefix="pconv-"))
    try:
        yield workdir
    except BaseException:
        if not opts.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        raise


def compile_linalg(imported: ImportedModule, opts: CompileOptions) -> Artifact:
    """Compile an already imported linalg-on-tensors module."""
    target = get_target(opts.target)
    with _work_directory(opts) as workdir:
        session = _Session(workdir)
        stages: "OrderedDict[str, str]" = OrderedDict()
        inputs, outputs = _func_signature(imported.text, imported.func_name)

        linalg = workdir / "linalg.mlir"
        linalg.write_text(imported.text)
        weights = workdir / "weights.pcw"
        write_weights(weights, imported.weights)
        stages["linalg"] = imported.text if len(imported.text) < 4_000_000 else "// (large module elided)"

        # Stage pconv: attach the weights, import pattern-sparse convolutions,
        # fuse their ReLUs, reorder their filters.
        pconv_bc = workdir / "pconv.mlirbc"
        # Quoted: the attribute text contains spaces and commas.
        library = f'library="{opts.library.to_mlir()}"' if opts.library else ""
        import_options = " ".join(filter(None, [
            library, f"patterns={str(opts.import_pattern_convs).lower()}",
            f"dense={str(opts.vectorize_dense_convs).lower()}",
            f"depthwise={str(opts.import_depthwise).lower()}"]))
        reorder = ",pconv-reorder-filters" if opts.reorder_filters else ""
        fuse = (f"pconv-fuse-activation{{residual={str(opts.fuse_residual).lower()} "
                f"pool={str(opts.fuse_pool).lower()}}}")
        import_pass = f",func.func(pconv-import-linalg{{{import_options}}},{fuse}{reorder})"
        session.run("pconv", [tool("pconv-opt"), str(linalg),
                              f"--pass-pipeline=builtin.module(pconv-attach-weights{{file={weights}}}{import_pass})",
                              "--emit-bytecode", "-o", str(pconv_bc)], inputs=[linalg, weights])
        stages["pconv"] = session.print_stage(pconv_bc)

        tiles = opts.tiles
        if opts.tune and tiles is None and vector_width_of(opts, target) > 0:
            from .tuning import tune_module

            tiles = tune_module(pconv_bc, opts)
        library_path, regions = _lower_to_library(session, pconv_bc, opts, target, stages, tiles)
        if not opts.keep_workdir:
            _remove_all_but(workdir, library_path)
        artifact = Artifact(
            directory=workdir,
            target=target.name,
            triple=target.triple,
            symbol=f"_mlir_ciface_{imported.func_name}",
            inputs=inputs,
            outputs=outputs,
            stages=stages,
            stats=_stage_stats(stages["pconv"]),
            regions=describe_regions(regions, {linalg.name: imported.text}),
        )
        if tiles:
            artifact.stats["tuned_convs"] = len(tiles)
        if not opts.keep_workdir:
            # The work directory lives as long as the artifact (and what it loaded).
            weakref.finalize(artifact, shutil.rmtree, workdir, True)
        return artifact


def _remove_all_but(workdir: Path, keep: Path) -> None:
    for path in workdir.iterdir():
        if path != keep:
            path.unlink()


def vector_width_of(opts: CompileOptions, target: Target) -> int:
    """Lanes of the vector lowering for ``opts`` on ``target`` (0: reference loops)."""
    return target.vector_width if opts.vector_width is None else opts.vector_width


def format_tiles(tiles: dict[int, Sequence[int]]) -> str:
    """``{index: (rows, vectors, channel_block, filter_groups[, filter_block[, filter_lanes]])}``
    as the pipeline's ``tiles`` option."""
    return ";".join(f"{i}={','.join(str(int(v)) for v in t)}" for i, t in sorted(tiles.items()))


def _lower_to_library(session: "_Session", pconv_input: Path, opts: CompileOptions, target: Target,
                      stages: "OrderedDict[str, str] | None" = None,
                      tiles: dict[int, Sequence[int]] | None = None) -> tuple[Path, list[RegionRemark]]:
    """The rest of pconv-to-llvm (import already done), then LLVM: bitcode
    (weights stay binary), IR optimizations, code generation, link. Also
    returns the parallel regions in fork order (``pconv-report-regions``)."""
    workdir = session.workdir
    llvm_bc = workdir / "llvm.mlirbc"
    tile_option = f' tiles="{format_tiles(tiles)}"' if tiles else ""
    proc = session.run("llvm", [tool("pconv-opt"), str(pconv_input), "--mlir-print-op-on-diagnostic=false",
                         f"--pass-pipeline=builtin.module(pconv-to-llvm{{import=false import-dense=false "
                         f"num-threads={opts.threads} "
                         f"fuse-residual={str(opts.fuse_residual).lower()} "
                         f"fuse-pool={str(opts.fuse_pool).lower()} "
                         f"vector-width={vector_width_of(opts, target)} target={target.triple}{tile_option} "
                         f"shifted-copies={str(opts.shifted_copies).lower()} "
                         f"aligned-loads={str(opts.aligned_loads).lower()} "
                         f"mixed-shifts={str(opts.mixed_shifts).lower()} "
                         f"direct-loads={str(opts.direct_loads).lower()} "
                         f"write-padded={str(opts.write_padded).lower()} "
                         f"tail-chunks={str(opts.tail_chunks).lower()} "
                         f"filter-lanes={str(opts.filter_lanes).lower()} "
                         f"steal-tasks={str(opts.steal_tasks).lower()} "
                         f"prefetch-distance={opts.prefetch_distance} "
                         f"streaming-bytes={opts.streaming_bytes} "
                         f"band-rows={opts.band_rows} band-min-bytes={opts.band_min_bytes} "
                         f"band-max-bytes={opts.band_max_bytes} "
                         f"sparse-linear={str(opts.sparse_linear).lower()} report-regions=true}})",
                         "--emit-bytecode", "-o", str(llvm_bc)], inputs=[pconv_input])
    regions = parse_region_remarks(proc.stderr)
    if len(regions) > _MAX_RECORDED_REGIONS:
        regions = []  # meta.json stays small (the C runtime reads at most 1 MiB of it)
    if stages is not None:
        stages["llvm"] = session.print_stage(llvm_bc)

    bitcode, optimized, obj = workdir / "model.bc", workdir / "model.opt.bc", workdir / "model.o"
    session.run("translate", [tool("pconv-translate"), str(llvm_bc), "-o", str(bitcode)], inputs=[llvm_bc])
    cpu = ["-mcpu=" + target.cpu]
    session.run("opt", [tool("opt"), "-O3", f"-mtriple={target.triple}", *cpu, str(bitcode),
                        "-o", str(optimized)], inputs=[bitcode])
    session.run("llc", llc_command(target, optimized, obj), inputs=[optimized])
    library_path = workdir / "model.so"
    session.run("link", _link_command(target, obj, library_path), inputs=[obj])
    return library_path, regions


_MAX_RECORDED_REGIONS = 2000


@dataclass(frozen=True)
class RegionRemark:
    """One ``pconv-report-regions`` remark: the region's fork-order index, its
    source location (file name, line; None where unknown) and the vector
    FMAs in its IR."""

    index: int
    file: str | None
    line: int | None
    vector_fmas: int


_REGION_REMARK = r": remark: parallel region (?P<index>\d+): (?P<fmas>\d+) vector FMAs"
_REGION_REMARK_RE = re.compile(r"^(?P<loc>.*?)" + _REGION_REMARK + "$", re.M)
# A remark, then (for a location in a file) the source line and a caret line.
_REGION_REMARK_BLOCK_RE = re.compile(
    r"^[^\n]*" + _REGION_REMARK + r"\n(?:[^\n]*\n[ \t]*\^[^\n]*(?:\n|$))?", re.M)
_FILE_LINE_RE = re.compile(r"^(?P<file>.+):(?P<line>\d+):\d+$")


def without_region_remarks(stderr: str) -> str:
    """``stderr`` without the ``pconv-report-regions`` remarks (each with its
    source excerpt): what a failing stage reports is its error."""
    return _REGION_REMARK_BLOCK_RE.sub("", stderr)


def parse_region_remarks(stderr: str) -> list[RegionRemark]:
    """The remarks of ``pconv-report-regions`` in ``stderr``, in fork order."""
    regions = []
    for m in _REGION_REMARK_RE.finditer(stderr):
        loc = _FILE_LINE_RE.match(m["loc"])
        regions.append(RegionRemark(int(m["index"]), Path(loc["file"]).name if loc else None,
                                    int(loc["line"]) if loc else None, int(m["fmas"])))
    regions.sort(key=lambda r: r.index)
    return regions


_OP_RE = re.compile(r"\b((?:linalg|tensor|pconv|memref|arith)\.[a-z_0-9]+)")
_STRIDES_RE = re.compile(r"strides(?: =)? (?:dense<(\d+)>|\[(\d+), (\d+)\])")
_SHAPE_RE = re.compile(r"tensor<([0-9x?]+)x[a-z0-9]+>")
_INS_RE = re.compile(r"\bins\([^:]*:([^)]*)\)")
_FUNCTIONAL_RE = re.compile(r":\s*\(([^)]*)\)\s*->")
_RESULT_RE = re.compile(r"-> (?:\()?tensor<([0-9x?]+)x[a-z0-9]+>")


def describe_regions(regions: Sequence[RegionRemark], sources: dict[str, str]) -> list[dict[str, Any]]:
    """JSON-ready region records: index, source (``file:line``), the source
    op's name and a short label (its tensor shapes, its strides), and the
    IR's vector FMA count (0: a copy or a fill, not a kernel). ``sources``
    maps file names to their text."""
    lines = {name: text.splitlines() for name, text in sources.items()}
    records = []
    for r in regions:
        text = ""
        if r.file in lines and r.line is not None and 0 < r.line <= len(lines[r.file]):
            text = lines[r.file][r.line - 1]
        op = _OP_RE.search(text)
        label = op[1] if op else "?"
        ins, result = _INS_RE.search(text), _RESULT_RE.search(text)
        if ins:
            operands = _SHAPE_RE.findall(ins[1])
        else:  # generic form (`: (input, weights, ...) -> result`): the input
            functional = _FUNCTIONAL_RE.search(text)
            operands = _SHAPE_RE.findall(functional[1])[:1] if functional else []
        shapes = ", ".join(operands) + (" -> " + result[1] if result else "")
        if shapes:
            label += " " + shapes.strip()
        strides = _STRIDES_RE.search(text)
        if strides and op and "conv" in op[1]:
            label += f" stride {strides[1] or strides[2]}"
        records.append({"index": r.index, "source": f"{r.file}:{r.line}" if r.file else None,
                        "op": op[1] if op else None, "label": label, "vector_fmas": r.vector_fmas})
    return records


def compile_pconv(text: str, opts: CompileOptions | None = None, func_name: str = "forward",
                  tiles: dict[int, Sequence[int]] | None = None) -> Artifact:
    """Compile a module already in the pconv dialect (e.g. one layer written by
    hand or by the auto-tuner) whose weights are inline constants."""
    opts = opts or CompileOptions()
    target = get_target(opts.target)
    with _work_directory(opts) as workdir:
        session = _Session(workdir)
        source = workdir / "pconv.mlir"
        source.write_text(text)
        inputs, outputs = _func_signature(text, func_name)
        library_path, regions = _lower_to_library(session, source, opts, target, tiles=tiles)
        if not opts.keep_workdir:
            _remove_all_but(workdir, library_path)
        artifact = Artifact(directory=workdir, target=target.name, triple=target.triple,
                            symbol=f"_mlir_ciface_{func_name}", inputs=inputs, outputs=outputs,
                            regions=describe_regions(regions, {source.name: text}))
        if not opts.keep_workdir:
            weakref.finalize(artifact, shutil.rmtree, workdir, True)
        return artifact


def llc_command(target: Target, bitcode: Path, out: Path, filetype: str = "obj") -> list[str]:
    """llc on optimized bitcode, as the compiler runs it (``filetype``: obj or asm)."""
    return [tool("llc"), "-O3", f"-mtriple={target.triple}", f"-mcpu={target.cpu}", "-relocation-model=pic",
            f"-filetype={filetype}", str(bitcode), "-o", str(out)]


def _link_command(target: Target, obj: Path, out: Path) -> list[str]:
    omp = Path(target.omp_dir)
    lib = "libomp.so.5" if (omp / "libomp.so.5").exists() else "libomp.so"
    return [target.cc, "-shared", "-o", str(out), str(obj), f"-L{omp}", f"-l:{lib}",
            f"-Wl,-rpath,{omp}", "-lm"]


_PCONV_RE = re.compile(r"pconv\.conv2d .*?#pconv\.patterns<(\d+)x(\d+), taps = (\d+)")


def _stage_stats(pconv_text: str) -> dict[str, int]:
    """Convs on the pattern path, dense convs on the pconv vector lowering,
    convs left to upstream linalg loops, convs with a fused residual add, and
    convs with a fused max-pool."""
    full = sum(int(kh) * int(kw) == int(taps) for kh, kw, taps in _PCONV_RE.findall(pconv_text))
    total = len(_PCONV_RE.findall(pconv_text))
    return {
        "pconv_convs": total - full,
        "dense_pconv_convs": full,
        "dense_convs": len(re.findall(r"\blinalg\.conv_2d_nchw_fchw\b", pconv_text)),
        "residual_convs": len(re.findall(r"pconv\.conv2d [^\n]*? residual\(", pconv_text)),
        "pooled_convs": len(re.findall(r"pconv\.conv2d [^\n]*? max_pool \[", pconv_text)),
    }
