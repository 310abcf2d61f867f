"""The ``pconv`` command line: prune, compile, run, inspect, bench.

    pconv prune   MODEL --data SPEC -o OUT          pattern + connectivity pruning (ADMM)
    pconv compile MODEL -o ARTIFACT [--emit STAGE]  model / ExportedProgram / ONNX -> artifact
    pconv run     ARTIFACT IN.npy... -o OUT.npy     run an artifact on .npy inputs
    pconv inspect MODEL_OR_ARTIFACT [--plot PNG]    per-layer sparsity, patterns, kept MACs
    pconv bench   [ARGS...]                         the benchmark harness (python -m benchmarks.run)

MODEL is a file written by ``torch.save(module)`` (a pickle: load only files you
trust), an ExportedProgram saved by ``torch.export.save`` (``.pt2``), an ONNX
file (``.onnx``, compile only) or ``package.module:factory``, a Python reference
to an ``nn.Module`` or a function returning one (``--weights FILE`` loads a
state dict into it). Usage errors (bad arguments, missing files) exit with 2,
failures (a model PConv cannot compile, a corrupt artifact, wrong input shapes)
with 1; both print one line on stderr (``--debug``: the traceback too).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import shutil
import subprocess
import sys
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

__all__ = ["main"]

EMIT_STAGES = ("artifact", "linalg", "pconv", "llvm", "asm", "obj")


class UsageError(Exception):
    """Bad command-line input: exit status 2."""


# -- shared helpers -----------------------------------------------------------
def _progress(total: int, desc: str, quiet: bool) -> Any:
    from tqdm.auto import tqdm

    # disable=None: bars only on a terminal (no control characters in logs).
    return tqdm(total=total, desc=desc, unit="step", leave=False, disable=True if quiet else None,
                bar_format="{desc}: {n_fmt}/{total_fmt} [{elapsed}]")


def _step(bar: Any, desc: str) -> None:
    bar.set_description_str(desc)
    bar.refresh()


def parse_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(d) for d in text.replace("x", ",").split(","))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise UsageError(f"bad input shape '{text}': expected positive integers like 1,3,32,32")
    return shape


def _existing(path: str, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise UsageError(f"{path}: no such {what}")
    return p


@dataclass
class LoadedModel:
    """What MODEL named: ``kind`` is "module", "exported" or "onnx"."""

    kind: str
    obj: Any  # nn.Module, ExportedProgram, or the ONNX path

    def module(self) -> Any:
        """An nn.Module view (ExportedProgram.module() for .pt2); None for ONNX."""
        if self.kind == "exported":
            return self.obj.module()
        return self.obj if self.kind == "module" else None


def load_model(spec: str, weights: str | None = None) -> LoadedModel:
    """Resolve a MODEL argument (see the module documentation)."""
    import torch

    path = Path(spec)
    if path.is_file():
        if path.suffix == ".onnx":
            loaded = LoadedModel("onnx", path)
        elif path.suffix == ".pt2":
            try:
                loaded = LoadedModel("exported", torch.export.load(str(path)))
            except Exception as e:
                raise RuntimeError(f"{spec}: cannot load the ExportedProgram ({e})") from e
        else:
            try:
                obj = torch.load(str(path), map_location="cpu", weights_only=False)
            except Exception as e:
                raise RuntimeError(f"{spec}: not a model saved with torch.save ({type(e).__name__}: {e})") from e
            if isinstance(obj, torch.export.ExportedProgram):
                loaded = LoadedModel("exported", obj)
            elif isinstance(obj, torch.nn.Module):
                loaded = LoadedModel("module", obj)
            elif isinstance(obj, dict):
                raise UsageError(f"{spec} holds a state dict, not a model: give the architecture as "
                                 f"package.module:factory and this file with --weights")
            else:
                raise UsageError(f"{spec} holds a {type(obj).__name__}, not an nn.Module")
    elif path.is_dir():
        raise UsageError(f"{spec} is a directory, not a model file")
    elif ":" in spec and not spec.startswith((".", "/")):
        module_name, _, attr = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:
            raise UsageError(f"{spec}: cannot import '{module_name}' ({e})") from None
        if not hasattr(module, attr):
            raise UsageError(f"{spec}: module '{module_name}' has no attribute '{attr}'")
        obj = getattr(module, attr)
        if not isinstance(obj, torch.nn.Module):
            if not callable(obj):
                raise UsageError(f"{spec} is a {type(obj).__name__}, neither an nn.Module nor a factory")
            obj = obj()
        if not isinstance(obj, torch.nn.Module):
            raise UsageError(f"{spec} returned a {type(obj).__name__}, not an nn.Module")
        loaded = LoadedModel("module", obj)
    else:
        raise UsageError(f"{spec}: no such model file (nor a package.module:factory reference)")
    if weights is not None:
        if loaded.kind != "module":
            raise UsageError("--weights applies to nn.Module models only")
        state = torch.load(str(_existing(weights, "weights file")), map_location="cpu", weights_only=True)
        try:
            loaded.obj.load_state_dict(state)
        except Exception as e:
            raise RuntimeError(f"{weights} does not fit {spec}: {str(e).splitlines()[0]}") from e
    if loaded.kind == "module":
        loaded.obj.eval()
    return loaded


def example_inputs(model: LoadedModel, shapes: Sequence[tuple[int, ...]] | None) -> list[Any]:
    """Zero tensors of the given shapes; an ExportedProgram's own shapes by default."""
    import torch

    if not shapes and model.kind == "exported":
        names = set(model.obj.graph_signature.user_inputs)
        shapes = [tuple(n.meta["val"].shape) for n in model.obj.graph.nodes
                  if n.op == "placeholder" and n.name in names]
    if not shapes:
        raise UsageError("this model needs --input-shape (e.g. --input-shape 1,3,32,32)")
    return [torch.zeros(s) for s in shapes]


def checked_inputs(model: LoadedModel, shapes: Sequence[tuple[int, ...]] | None) -> list[Any]:
    """example_inputs(), after one eager run that shows the model accepts them."""
    import torch

    inputs = example_inputs(model, shapes)
    try:
        with torch.no_grad():
            model.module()(*inputs)
    except Exception as e:
        given = ", ".join(str(tuple(x.shape)) for x in inputs)
        raise UsageError(f"the model does not run on input shape(s) {given}: {_one_line(e)}") from e
    return inputs


def _compile_options(args: argparse.Namespace, keep_workdir: bool) -> Any:
    from .compiler import CompileOptions
    from .patterns import PatternLibrary

    library = None
    if args.library:
        library = PatternLibrary.from_json(_existing(args.library, "pattern library file").read_text())
    if args.threads < 0:
        raise UsageError(f"--threads must be >= 0, got {args.threads}")
    return CompileOptions(target=args.target, threads=args.threads, library=library,
                          import_pattern_convs=not args.dense, keep_workdir=keep_workdir)


# -- sparsity report (inspect, compile, prune) ----------------------------------
def sparsity_report(model: Any, input_shape: Sequence[int]) -> dict[str, Any]:
    """Per-layer report of any CNN (pattern-pruned or not) as a JSON-ready dict.

    The 3x3 convolutions whose non-zero kernels all keep the same number of
    taps (fewer than 9) are taken as pattern layers, with the library inferred
    from their weights; the others are reported as dense.
    """
    from .patterns import PatternLibrary
    from .prune import NotPatternSparseError, conv_layers, infer_library, prune_report

    taps: dict[str, int] = {}
    for name, conv in conv_layers(model):
        if tuple(conv.kernel_size) != (3, 3):
            continue
        nonzero = conv.weight.detach().reshape(-1, 9) != 0
        counts = set(nonzero.sum(dim=1)[nonzero.any(dim=1)].tolist())
        if len(counts) == 1 and (count := counts.pop()) < 9:
            taps[name] = count
    layers: list[str] = []
    if taps:
        common = Counter(taps.values()).most_common(1)[0][0]
        layers = [n for n, t in taps.items() if t == common]
        try:
            library = infer_library(model, layers)
        except NotPatternSparseError:
            layers = []
    if layers:
        report = prune_report(model, library, input_shape, layers=layers).to_dict()
    else:  # nothing pattern-sparse: every convolution is reported as dense
        report = prune_report(model, PatternLibrary([range(9)]), input_shape, layers=[], tables={}).to_dict()
        report["library"] = None
    return report


def report_markdown(report: dict[str, Any]) -> str:
    """The per-layer table of a report dict (the same columns as PruneReport.to_markdown)."""
    lines = ["| layer | weight | kept kernels | pattern histogram | kept weights | dense MACs | kept MACs "
             "| MAC reduction |", "|---|---|---|---|---|---|---|---|"]
    for r in report["layers"]:
        hist = " ".join(map(str, r["pattern_histogram"])) if r["pattern_pruned"] else "(dense)"
        reduction = f"{r['mac_reduction']:.2f}x" if r["kept_macs"] else "all pruned"
        lines.append(f"| {r['name']} | {'x'.join(map(str, r['weight_shape']))} | {r['kept_kernels']}/{r['kernels']}"
                     f" | {hist} | {r['kept_weights']}/{r['weights']} | {r['dense_macs']:,} | {r['kept_macs']:,}"
                     f" | {reduction} |")
    dense, kept = report["dense_macs"], report["kept_macs"]
    lines.append(f"| **total** | | | | | {dense:,} | {kept:,} | {dense / kept if kept else float('inf'):.2f}x |")
    return "\n".join(lines)


def report_summary(report: dict[str, Any]) -> str:
    library = report.get("library")
    pattern_layers = sum(r["pattern_pruned"] for r in report["layers"])
    lib = (f"{len(library['patterns'])} patterns x {library['taps']} taps" if library else "none found")
    dense, kept = report["dense_macs"], report["kept_macs"]
    return "\n".join([
        f"input shape        : {tuple(report['input_shape'])}",
        f"conv layers        : {len(report['layers'])} ({pattern_layers} pattern-sparse)",
        f"pattern library    : {lib}",
        f"conv MACs kept     : {kept:,} of {dense:,}"
        + (f" ({dense / kept:.2f}x fewer)" if kept else ""),
        f"weight compression : {report['weight_compression']:.2f}x",
    ])


def plot_report(report: dict[str, Any], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layers = report["layers"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    names = [r["name"] for r in layers]
    xs = range(len(layers))
    left.bar([x - 0.2 for x in xs], [r["dense_macs"] for r in layers], width=0.4, label="dense")
    left.bar([x + 0.2 for x in xs], [r["kept_macs"] for r in layers], width=0.4, label="kept")
    left.set_xticks(list(xs), names, rotation=45, ha="right", fontsize=8)
    left.set_ylabel("MACs per image")
    left.set_title("convolution MACs per layer")
    left.legend()
    hist = [0] * (len(report["library"]["patterns"]) if report.get("library") else 0)
    for r in layers:
        for i, n in enumerate(r["pattern_histogram"]):
            hist[i] += n
    if hist:
        right.bar(range(len(hist)), hist)
        right.set_xticks(range(len(hist)), [f"p{i}" for i in range(len(hist))])
        right.set_ylabel("kernels")
        right.set_title(f"pattern histogram ({report['library']['taps']} taps)")
    else:
        right.text(0.5, 0.5, "no pattern-sparse layer", ha="center", va="center")
        right.set_axis_off()
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


# -- subcommands ----------------------------------------------------------------
def cmd_prune(args: argparse.Namespace) -> int:
    import torch

    from .datasets import UnknownDataSpecError, load_dataset
    from .prune import ADMMPruner, FitConfig, PruneConfig, RhoSchedule, fit

    if not 0 < args.rho:
        raise UsageError(f"--rho must be > 0, got {args.rho}")
    if not 0 < args.keep <= 1:
        raise UsageError(f"--keep must be in (0, 1] (the fraction of kernels kept), got {args.keep}")
    model = load_model(args.model, args.weights)
    if model.kind != "module":
        raise UsageError("pconv prune needs a trainable nn.Module (torch.save'd or package.module:factory)")
    try:
        data = load_dataset(args.data)
    except (UnknownDataSpecError, FileNotFoundError) as e:
        raise UsageError(str(e)) from e
    net = model.obj
    with torch.no_grad():
        try:
            out = net.eval()(data.train.tensors[0][:2])
        except Exception as e:
            raise RuntimeError(f"the model cannot run on the data (samples of shape "
                               f"{tuple(data.train.tensors[0].shape[1:])}): {str(e).splitlines()[0]}") from e
    if out.ndim != 2 or out.shape[1] < data.classes:
        raise RuntimeError(f"the model outputs shape {tuple(out.shape)}; cross-entropy training needs "
                           f"[N, classes >= {data.classes}] logits")

    def accuracy() -> float | None:
        if data.test is None:
            return None
        net.eval()
        with torch.no_grad():
            x, y = data.test.tensors
            return float((net(x).argmax(dim=1) == y).float().mean())

    before = accuracy()
    # rho grows x10 per stage from --rho up to 1 over the ADMM epochs (docs/pruning.md).
    stages = max(1, round(-math.log10(args.rho)) + 1) if args.rho < 1 else 1
    rho = RhoSchedule(initial=args.rho, growth=10.0, epochs_per_stage=max(1, args.admm_epochs // stages),
                      stages=stages)
    config = PruneConfig(num_patterns=args.patterns, taps=args.taps, rho=rho,
                         connectivity_keep=None if args.keep >= 1 else args.keep)
    pruner = ADMMPruner(net, config=config)
    fit(pruner, data.train, torch.nn.functional.cross_entropy,
        FitConfig(admm_epochs=args.admm_epochs, retrain_epochs=args.retrain_epochs, batch_size=args.batch_size,
                  seed=args.seed, lr=args.lr, progress=not args.quiet and sys.stderr.isatty()),
        checkpoint_dir=args.checkpoint_dir)
    exported = pruner.export(input_shape=data.input_shape)
    after = accuracy()

    out = Path(args.output)
    exported.save(out)
    torch.save(exported.model, out / "pruned.pt")
    report = exported.report.to_dict()
    report["pruning"] = {"model": args.model, "data": args.data, "patterns": args.patterns, "taps": args.taps,
                         "keep": args.keep, "rho": args.rho, "admm_epochs": args.admm_epochs,
                         "retrain_epochs": args.retrain_epochs, "seed": args.seed,
                         "test_accuracy_before": before, "test_accuracy_after": after}
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    acc = (f"test accuracy      : {before:.4f} -> {after:.4f}\n" if before is not None else "")
    (out / "report.md").write_text(f"# Pruning report: {args.model} on {args.data}\n\n```\n{report_summary(report)}\n"
                                   f"{acc}```\n\n{exported.report.to_markdown()}\n")
    print(report_summary(report))
    if before is not None:
        print(acc, end="")
    print(f"wrote {out}/pruned.pt (the pruned model), patterns.json, tables.npz, report.json, report.md")
    return 0


def cmd_compile(args: argparse.Namespace) -> int:
    from .artifact import Artifact
    from .compiler import compile_linalg, llc_command
    from .frontend import import_torch
    from .onnx_frontend import import_onnx
    from .toolchain import get_target

    shapes = [parse_shape(s) for s in args.input_shape or []]
    keep = args.emit in ("linalg", "asm", "obj") or args.keep_workdir
    options = _compile_options(args, keep_workdir=keep)
    target = get_target(options.target)
    out = Path(args.output)
    if args.emit == "artifact" and out.is_file():
        raise UsageError(f"{out} is a file; an artifact is written as a folder")
    if args.emit != "artifact" and out.is_dir():
        raise UsageError(f"{out} is a directory; --emit {args.emit} writes a file")
    with _progress(4, "loading model", args.quiet) as bar:
        model = load_model(args.model, args.weights)
        bar.update()
        _step(bar, "importing (torch-mlir)")
        if model.kind == "onnx":
            imported = import_onnx(model.obj, shapes or None)
        else:
            inputs = checked_inputs(model, shapes)
            imported = import_torch(model.obj, inputs, fold_bn=options.fold_batchnorm)
        bar.update()
        _step(bar, f"compiling for {target.name} (pconv-opt, llc, link)")
        art: Artifact = compile_linalg(imported, options)
        bar.update()
        _step(bar, f"writing {args.emit}")
        try:
            note = _emit(args.emit, art, out, target, llc_command)
            if args.emit == "artifact" and model.kind == "module" and len(art.inputs) == 1:
                # For `pconv inspect ARTIFACT`: the weights are inside model.so.
                report = sparsity_report(model.obj, tuple(art.inputs[0].shape))
                (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        finally:
            if keep and not args.keep_workdir:
                shutil.rmtree(art.directory, ignore_errors=True)
        bar.update()
    stats = art.stats
    print(f"{args.model} -> {out} ({args.emit}, {target.name})")
    print(f"  convolutions: {stats['pconv_convs']} pattern-sparse, {stats['dense_pconv_convs']} dense (vectorized),"
          f" {stats['dense_convs']} dense (linalg loops)")
    if note:
        print(note)
    if args.keep_workdir:
        print(f"  work directory kept: {art.directory}")
    return 0


def _emit(stage: str, art: Any, out: Path, target: Any, llc_command: Any) -> str | None:
    """Write ``stage`` of ``art`` to ``out``; returns a note for the user, if any."""
    if stage == "artifact":
        art.save(out)
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(art.directory)
    if stage == "linalg":
        shutil.copy(workdir / "linalg.mlir", out)
        shutil.copy(workdir / "weights.pcw", out.with_suffix(".pcw"))
        return (f"  weights: {out.with_suffix('.pcw')} (pconv-opt {out} --pconv-to-llvm=\"weights="
                f"{out.with_suffix('.pcw')}\")")
    elif stage in ("pconv", "llvm"):
        out.write_text(art.stages[stage])
    elif stage == "asm":
        proc = subprocess.run(llc_command(target, workdir / "model.opt.bc", out, "asm"), capture_output=True,
                              text=True)
        if proc.returncode:
            raise RuntimeError(f"llc failed: {proc.stderr.strip()}")
    elif stage == "obj":
        shutil.copy(workdir / "model.o", out)
    return None


def cmd_run(args: argparse.Namespace) -> int:
    import numpy as np

    from .runtime import load

    artifact = _existing(args.artifact, "artifact")
    if not artifact.is_dir():
        raise UsageError(f"{args.artifact}: an artifact is a folder (written by pconv compile), got a file")
    arrays = []
    for path in args.inputs:
        with open(_existing(path, "input file"), "rb") as f:
            if f.read(6) != b"\x93NUMPY":
                raise UsageError(f"{path}: not a .npy file (save inputs with numpy.save)")
        try:
            arrays.append(np.load(path, allow_pickle=False))
        except Exception as e:
            raise RuntimeError(f"{path}: unreadable .npy file ({e})") from None
    model = load(artifact)
    outputs = model(*arrays)
    outputs = list(outputs) if isinstance(outputs, tuple) else [outputs]
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = [out] if len(outputs) == 1 else [out.with_name(f"{out.stem}_{i}{out.suffix or '.npy'}")
                                             for i in range(len(outputs))]
    for path, value in zip(paths, outputs):
        np.save(path, value)
        print(f"{path}: {value.dtype} {tuple(value.shape)}")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from .artifact import Artifact

    path = Path(args.model)
    if path.is_dir() and (path / "meta.json").exists():
        meta = Artifact.read_metadata(path)
        print(f"artifact {path}: target {meta['target']} ({meta['triple']}), entry {meta['symbol']}")
        for what in ("inputs", "outputs"):
            print(f"  {what}: " + ", ".join(f"{s.dtype}{list(s.shape)}" for s in meta[what]))
        st = meta.get("stats", {})
        print(f"  convolutions: {st.get('pconv_convs', 0)} pattern-sparse, {st.get('dense_pconv_convs', 0)} dense "
              f"(vectorized), {st.get('dense_convs', 0)} dense (linalg loops)")
        report_path = path / "report.json"
        report = json.loads(report_path.read_text()) if report_path.exists() else None
        if report is None:
            print("  (no report.json: compiled from ONNX or by the Python API)")
    else:
        model = load_model(args.model, args.weights)
        if model.kind == "onnx":
            raise UsageError("inspect reads PyTorch models and artifacts; compile the ONNX model first")
        inputs = checked_inputs(model, [parse_shape(s) for s in args.input_shape or []])
        report = sparsity_report(model.module(), tuple(inputs[0].shape))
    if report is not None:
        print(report_summary(report))
        print()
        print(report_markdown(report))
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
            print(f"wrote {args.json}")
    if args.plot:
        if report is None:
            raise RuntimeError("nothing to plot: the artifact has no report.json")
        plot_report(report, Path(args.plot), f"PConv: {args.model}")
        print(f"wrote {args.plot}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .toolchain import repo_root

    root = repo_root()
    if not (root / "benchmarks" / "run.py").is_file():
        raise RuntimeError(f"pconv bench needs the source checkout's benchmarks/ folder, not found under {root} "
                           "(an installed pconv without its repository cannot run the harness)")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), str(root / "python"), env.get("PYTHONPATH")]))
    forwarded = list(args.harness_args)
    if forwarded[:1] == ["--"]:
        forwarded = forwarded[1:]
    return subprocess.run([sys.executable, "-m", "benchmarks.run", *forwarded], cwd=root, env=env).returncode


# -- argument parsing -----------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="on error, show the traceback and the full message")
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bars")

    parser = argparse.ArgumentParser(prog="pconv", description=__doc__.split("\n\n")[0].strip(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Run 'pconv COMMAND --help' for the options of a command.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"pconv {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("prune", parents=[common], help="pattern + connectivity pruning with ADMM",
                       description="Prune a trained CNN: ADMM pattern + connectivity pruning, masked retraining "
                                   "(cross-entropy on the data set), export of the pattern-sparse model "
                                   "and a per-layer report. See docs/pruning.md.")
    p.add_argument("model", help="trained model: torch.save'd nn.Module or package.module:factory")
    p.add_argument("--data", required=True, metavar="SPEC",
                   help="training data: 'sklearn-digits' or 'npz:PATH' (arrays x, y; optional x_test, y_test)")
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="output folder: pruned.pt (the model), patterns.json, tables.npz, report.json/.md")
    p.add_argument("--weights", help="state dict to load into MODEL first")
    p.add_argument("--patterns", type=int, default=8, help="library size K (default 8)")
    p.add_argument("--taps", type=int, default=4, help="taps kept per 3x3 kernel (default 4)")
    p.add_argument("--keep", type=float, default=1 / 3.6,
                   help="fraction of 3x3 kernels kept by connectivity pruning (default 1/3.6; 1 disables it)")
    p.add_argument("--admm-epochs", type=int, default=10, help="ADMM epochs (default 10)")
    p.add_argument("--retrain-epochs", type=int, default=10, help="masked retraining epochs (default 10)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    p.add_argument("--rho", type=float, default=1e-3,
                   help="initial ADMM penalty; it grows x10 per stage up to 1 over the ADMM epochs (default 1e-3)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint-dir", help="checkpoint after every epoch; rerunning resumes exactly")
    p.set_defaults(func=cmd_prune)

    p = sub.add_parser("compile", parents=[common], help="compile a model to an artifact (or emit one stage)",
                       description="Compile a PyTorch model, ExportedProgram (.pt2) or ONNX model (.onnx). "
                                   "--emit artifact (default) writes a loadable artifact folder; linalg, pconv, "
                                   "llvm write that stage's IR (large constants elided; linalg also writes its "
                                   "weights beside as .pcw), asm/obj the target's code.")
    p.add_argument("model", help="model file (.pt, .pt2, .onnx) or package.module:factory")
    p.add_argument("-o", "--output", required=True, help="artifact folder, or the file of the emitted stage")
    p.add_argument("--input-shape", action="append", metavar="N,C,H,W",
                   help="shape of an input (repeat for several inputs); .pt2 and .onnx models know theirs")
    p.add_argument("--target", default="host", choices=["host", "aarch64-linux-gnu"])
    p.add_argument("--threads", type=int, default=0,
                   help="OpenMP threads per parallel region (default 0: OMP_NUM_THREADS at run time)")
    p.add_argument("--emit", default="artifact", choices=EMIT_STAGES)
    p.add_argument("--library", metavar="PATTERNS.json",
                   help="impose a pattern library (patterns.json from pconv prune); inferred per layer otherwise")
    p.add_argument("--dense", action="store_true", help="compile every convolution on the dense path")
    p.add_argument("--weights", help="state dict to load into MODEL first")
    p.add_argument("--keep-workdir", action="store_true", help="keep the compiler's work directory")
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("run", parents=[common], help="run an artifact on .npy inputs",
                       description="Run a compiled artifact (host: in this process; aarch64: under qemu-aarch64). "
                                   "Several outputs are written as OUT_0.npy, OUT_1.npy, ...")
    p.add_argument("artifact", help="artifact folder written by pconv compile")
    p.add_argument("inputs", nargs="+", metavar="INPUT.npy", help="one float32 .npy file per model input")
    p.add_argument("-o", "--output", required=True, metavar="OUT.npy")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("inspect", parents=[common], help="per-layer sparsity, pattern histogram, kept MACs",
                       description="Report a model's or an artifact's convolutions: kept kernels and weights, "
                                   "pattern histogram, dense and kept MACs per image.")
    p.add_argument("model", metavar="MODEL_OR_ARTIFACT")
    p.add_argument("--input-shape", action="append", metavar="N,C,H,W", help="input shape (for MAC counts)")
    p.add_argument("--weights", help="state dict to load into MODEL first")
    p.add_argument("--plot", metavar="PNG", help="write MACs per layer and the pattern histogram as a PNG")
    p.add_argument("--json", metavar="FILE", help="write the report as JSON")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("bench", help="the benchmark harness (forwards to python -m benchmarks.run)",
                       description="Runs the repository's benchmark harness with the given arguments, e.g. "
                                   "'pconv bench --quick' or 'pconv bench --networks tiny --engines pytorch,pconv'. "
                                   "'pconv bench -- --help' lists the harness's options.")
    p.add_argument("harness_args", nargs=argparse.REMAINDER, metavar="ARGS", help="arguments for benchmarks.run")
    p.set_defaults(func=cmd_bench, debug=False, quiet=False)
    return parser


def _one_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    if text.endswith(":") and len(lines) > 1:  # a header line: the detail follows
        text = f"{text} {lines[1]}"
    repro = getattr(error, "repro_dir", None)
    return f"{text} (repro files: {repro})" if repro else text


def main(argv: Sequence[str] | None = None) -> int:
    import warnings

    # torch.export's own deprecation noise, not actionable for a pconv user.
    warnings.filterwarnings("ignore", r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning)
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"] and argv[1:2] not in (["-h"], ["--help"]):
        # Everything after "bench" belongs to the harness (argparse would claim its options).
        args = argparse.Namespace(command="bench", func=cmd_bench, debug=False, quiet=False, harness_args=argv[1:])
    else:
        args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("pconv: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # one line for the user; --debug shows everything
        if args.debug:
            traceback.print_exc()
        print(f"pconv {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return 2 if isinstance(error, UsageError) else 1


if __name__ == "__main__":
    sys.exit(main())
