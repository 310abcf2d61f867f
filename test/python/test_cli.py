"""The pconv command line: prune -> compile -> run -> inspect, every --emit stage,
ONNX and ExportedProgram inputs, and one-line errors with the right exit codes."""

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

from pconv import cli
from pconv.patterns import PatternLibrary
from pconv.testing import apply_random_patterns, random_library


class Sorts(torch.nn.Module):  # module level: torch.save pickles it by reference
    def forward(self, x):
        return torch.sort(x, dim=-1).values


def pconv(capsys, *argv):
    """Run the CLI in this process: (exit code, stdout, stderr)."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A small pattern-pruned CNN saved three ways, and an input."""
    import random

    d = tmp_path_factory.mktemp("cli")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
                              torch.nn.Conv2d(8, 8, 3, padding=1, stride=2), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 5)).eval()
    rng = random.Random(0)
    library = random_library(rng, k=4)
    apply_random_patterns(net[0], library, rng, keep=1.0)
    apply_random_patterns(net[3], library, rng, keep=0.5)
    x = torch.randn(1, 3, 10, 10)
    torch.save(net, d / "net.pt")
    torch.save(net.state_dict(), d / "state.pt")
    torch.export.save(torch.export.export(net, (x,)), d / "net.pt2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (x,), str(d / "net.onnx"), dynamo=False)
    np.save(d / "x.npy", x.numpy())
    with torch.no_grad():
        ref = net(x).numpy()
    return d, ref


def test_help_of_every_command(capsys):
    for command in ("prune", "compile", "run", "inspect", "bench"):
        with pytest.raises(SystemExit) as exit_info:
            cli.main([command, "--help"])
        assert exit_info.value.code == 0
        assert f"usage: pconv {command}" in capsys.readouterr().out
    proc = subprocess.run([sys.executable, "-m", "pconv", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "prune,compile,run,inspect,bench" in proc.stdout.replace(" ", "")


@pytest.mark.parametrize("model", ["net.pt", "net.pt2", "net.onnx"])
def test_compile_run_matches_pytorch(capsys, files, model):
    d, ref = files
    shape = ["--input-shape", "1,3,10,10"] if model == "net.pt" else []
    code, out, err = pconv(capsys, "compile", d / model, "-o", d / f"{model}.pconv", *shape, "--threads", 1)
    assert code == 0, err
    assert "2 pattern-sparse" in out
    code, out, err = pconv(capsys, "run", d / f"{model}.pconv", d / "x.npy", "-o", d / f"{model}.y.npy")
    assert code == 0, err
    np.testing.assert_allclose(np.load(d / f"{model}.y.npy"), ref, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("stage, check", [
    ("linalg", lambda p: "dense_resource<pconv_w" in p.read_text() and p.with_suffix(".pcw").is_file()),
    ("pconv", lambda p: "pconv.conv2d" in p.read_text()),
    ("asm", lambda p: "forward:" in p.read_text()),
    ("obj", lambda p: p.read_bytes()[:4] == b"\x7fELF"),
])
def test_emit_every_stage(capsys, files, stage, check):
    d, _ = files
    out_path = d / f"net.{stage}"
    code, _, err = pconv(capsys, "compile", d / "net.pt", "-o", out_path, "--input-shape", "1,3,10,10",
                         "--emit", stage)
    assert code == 0, err
    assert check(out_path)


def test_inspect_model_and_artifact_with_plot(capsys, files):
    d, _ = files
    code, out, err = pconv(capsys, "inspect", d / "net.pt", "--input-shape", "1,3,10,10", "--plot", d / "m.png",
                           "--json", d / "m.json")
    assert code == 0, err
    assert "conv layers        : 2 (2 pattern-sparse)" in out and "pattern library    : 4 patterns x 4 taps" in out
    report = json.loads((d / "m.json").read_text())
    assert [layer["kept_kernels"] for layer in report["layers"]][0] == 24  # keep=1.0: every kernel kept
    assert (d / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The artifact of the PyTorch model carries the same report.
    pconv(capsys, "compile", d / "net.pt", "-o", d / "inspect.pconv", "--input-shape", "1,3,10,10")
    code, out, err = pconv(capsys, "inspect", d / "inspect.pconv", "--plot", d / "a.png")
    assert code == 0, err
    assert "target host" in out and "2 pattern-sparse" in out and "| **total** |" in out
    assert (d / "a.png").is_file()


def test_prune_compile_run_on_digits(capsys, tmp_path):
    out = tmp_path / "pruned"
    code, stdout, err = pconv(capsys, "prune", "pconv.testing:digits_cnn", "--data", "sklearn-digits", "-o", out,
                              "--admm-epochs", 1, "--retrain-epochs", 1, "--patterns", 6, "--keep", 0.5)
    assert code == 0, err
    assert "conv layers        : 3 (3 pattern-sparse)" in stdout and "test accuracy" in stdout
    report = json.loads((out / "report.json").read_text())
    assert report["pruning"]["test_accuracy_after"] is not None and len(report["library"]["patterns"]) == 6
    library = PatternLibrary.from_json((out / "patterns.json").read_text())
    code, stdout, err = pconv(capsys, "compile", out / "pruned.pt", "-o", tmp_path / "digits.pconv",
                              "--input-shape", "1,1,8,8", "--library", out / "patterns.json")
    assert code == 0, err
    assert "3 pattern-sparse" in stdout and len(library) == 6
    x = np.random.default_rng(0).random((1, 1, 8, 8), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    assert pconv(capsys, "run", tmp_path / "digits.pconv", tmp_path / "x.npy", "-o", tmp_path / "y.npy")[0] == 0
    model = torch.load(out / "pruned.pt", weights_only=False)
    with torch.no_grad():
        np.testing.assert_allclose(np.load(tmp_path / "y.npy"), model(torch.from_numpy(x)).numpy(),
                                   atol=1e-4, rtol=1e-4)


def test_prune_npz_data(capsys, tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.random((40, 1, 8, 8), dtype=np.float32), y=rng.integers(0, 10, 40))
    code, stdout, err = pconv(capsys, "prune", "pconv.testing:digits_cnn", "--data", f"npz:{tmp_path / 'd.npz'}",
                              "-o", tmp_path / "p", "--admm-epochs", 1, "--retrain-epochs", 0, "--keep", 1)
    assert code == 0, err
    assert "test accuracy" not in stdout and (tmp_path / "p" / "pruned.pt").is_file()
    np.savez(tmp_path / "bad.npz", x=np.zeros((4, 1, 8, 8), np.float32))
    code, _, err = pconv(capsys, "prune", "pconv.testing:digits_cnn", "--data", f"npz:{tmp_path / 'bad.npz'}",
                         "-o", tmp_path / "q")
    assert code == 1 and "missing array(s) ['y']" in err


@pytest.mark.parametrize("argv, code, message", [
    (["compile", "{d}/nope.pt", "-o", "{d}/o"], 2, "no such model file"),
    (["compile", "{d}/net.pt", "-o", "{d}/o"], 2, "needs --input-shape"),
    (["compile", "{d}/net.pt", "-o", "{d}/o", "--input-shape", "1,3,ten"], 2, "bad input shape '1,3,ten'"),
    (["compile", "{d}/net.pt", "-o", "{d}/o", "--input-shape", "1,4,10,10"], 2,
     "does not run on input shape(s) (1, 4, 10, 10)"),
    (["compile", "{d}/state.pt", "-o", "{d}/o"], 2, "holds a state dict, not a model"),
    (["compile", "no_such_module:f", "-o", "{d}/o"], 2, "cannot import 'no_such_module'"),
    (["compile", "{d}/sorts.pt", "-o", "{d}/o", "--input-shape", "1,4"], 1, "tm_tensor.sort"),
    (["run", "{d}/net.pt.pconv", "{d}/nope.npy", "-o", "{d}/y.npy"], 2, "no such input file"),
    (["run", "{d}/net.pt.pconv", "{d}/net.pt", "-o", "{d}/y.npy"], 2, "not a .npy file"),
    (["run", "{d}/net.pt.pconv", "{d}/small.npy", "-o", "{d}/y.npy"], 1,
     "input 0: expected shape (1, 3, 10, 10), got (1, 3, 9, 9)"),
    (["run", "{d}/broken.pconv", "{d}/x.npy", "-o", "{d}/y.npy"], 1, "checksum mismatch"),
    (["prune", "{d}/net.pt", "--data", "mnist", "-o", "{d}/p"], 2, "unknown data set spec 'mnist'"),
    (["prune", "{d}/net.pt", "--data", "sklearn-digits", "-o", "{d}/p"], 1, "the model cannot run on the data"),
])
def test_errors_are_one_line_with_exit_codes(capsys, files, argv, code, message):
    import shutil

    d, _ = files
    torch.save(Sorts(), d / "sorts.pt")
    np.save(d / "small.npy", np.zeros((1, 3, 9, 9), np.float32))
    if not (d / "net.pt.pconv").exists():
        assert pconv(capsys, "compile", d / "net.pt", "-o", d / "net.pt.pconv", "--input-shape", "1,3,10,10")[0] == 0
    if not (d / "broken.pconv").exists():
        shutil.copytree(d / "net.pt.pconv", d / "broken.pconv")
        lib = d / "broken.pconv" / "model.so"
        lib.write_bytes(lib.read_bytes()[:-100])
    got, out, err = pconv(capsys, *[a.format(d=d) for a in argv])
    assert got == code, err
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_debug_shows_the_traceback(capsys, files):
    d, _ = files
    code, _, err = pconv(capsys, "compile", d / "nope.pt", "-o", d / "o", "--debug")
    assert code == 2 and "Traceback (most recent call last)" in err and "no such model file" in err


def test_bench_forwards_or_says_why(capsys, monkeypatch, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pconv", "bench", "--", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--quick" in proc.stdout and "--engines" in proc.stdout
    monkeypatch.setattr("pconv.toolchain.repo_root", lambda: tmp_path)
    code, _, err = pconv(capsys, "bench", "--quick")
    assert code == 1 and "needs the source checkout's benchmarks/ folder" in err
