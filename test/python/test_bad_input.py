"""Bad input gets a precise error, never a crash, hang or silent wrong result."""

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

import pconv
from pconv.toolchain import tool


@pytest.fixture(scope="module")
def small_artifact(tmp_path_factory):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU()).eval()
    x = torch.randn(1, 3, 8, 8)
    art = pconv.compile(model, (x,))
    path = art.save(tmp_path_factory.mktemp("art") / "model.pconv")
    return path, x


@pytest.mark.parametrize(
    "text, message",
    [
        ("func.func @f( {", "expected"),
        ("%0 = pconv.conv2d", "expected"),
        ('func.func private @f() attributes {lib = #pconv.patterns<3x3, taps = 4, [[1, 2]]>}',
         "every pattern must keep exactly 4 taps"),
        ("func.func @f() { pconv.frobnicate }", "pconv.frobnicate"),
    ],
)
def test_malformed_mlir_gives_diagnostic_and_nonzero_exit(tmp_path, text, message):
    src = tmp_path / "bad.mlir"
    src.write_text(text)
    proc = subprocess.run([tool("pconv-opt"), str(src), "--pconv-to-llvm"], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "error:" in proc.stderr and message in proc.stderr


def test_unknown_library_option_is_an_error(tmp_path):
    src = tmp_path / "ok.mlir"
    src.write_text("func.func @f() { return }")
    proc = subprocess.run([tool("pconv-opt"), str(src), "--pconv-import-linalg=library=#pconv.nonsense"],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "error" in proc.stderr


def test_unsupported_op_names_the_op():
    class Sorts(torch.nn.Module):
        def forward(self, x):
            return torch.sort(x, dim=-1).values

    with pytest.raises(pconv.UnsupportedModelError, match="tm_tensor.sort"):
        pconv.compile(Sorts(), (torch.randn(1, 4),))


def test_wrong_shape_and_dtype_and_arity(small_artifact):
    path, x = small_artifact
    fn = pconv.load(path)
    with pytest.raises(ValueError, match=r"expected shape \(1, 3, 8, 8\), got \(1, 3, 9, 8\)"):
        fn(np.zeros((1, 3, 9, 8), np.float32))
    with pytest.raises(TypeError, match="expected dtype float32, got float64"):
        fn(np.zeros((1, 3, 8, 8)))
    with pytest.raises(TypeError, match="takes 1 input"):
        fn(x.numpy(), x.numpy())
    with pytest.raises(TypeError, match="numpy array or torch tensor"):
        fn([[1.0]])


def test_corrupt_artifacts_are_refused(small_artifact, tmp_path):
    path, _ = small_artifact
    bad = tmp_path / "bad.pconv"
    shutil.copytree(path, bad)
    lib = bad / "model.so"
    lib.write_bytes(lib.read_bytes()[:1000])  # truncated
    with pytest.raises(pconv.ArtifactError, match="checksum mismatch"):
        pconv.load(bad)
    (bad / "meta.json").write_text("{not json")
    with pytest.raises(pconv.ArtifactError, match="corrupt metadata"):
        pconv.load(bad)
    with pytest.raises(pconv.ArtifactError, match="no meta.json"):
        pconv.load(tmp_path)


def test_failing_stage_writes_repro(tmp_path, monkeypatch):
    # An op pconv-opt cannot parse makes the first stage fail.
    from pconv import compiler

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    model = torch.nn.Conv2d(1, 1, 3).eval()
    x = torch.randn(1, 1, 5, 5)
    imported = compiler.import_torch(model, (x,))
    imported.text = imported.text.replace("linalg.conv_2d_nchw_fchw", "linalg.conv_2d_nchw_fchw_bogus")
    with pytest.raises(pconv.CompileError) as info:
        compiler.compile_linalg(imported, pconv.CompileOptions())
    err = info.value
    assert err.stage == "pconv" and err.repro_dir and "pconv-opt" in err.command
    repro = Path(err.repro_dir)
    assert (repro / "linalg.mlir").exists() and (repro / "command.sh").exists()
    # The failed compilation's work directory (weights included) is gone; only
    # the repro directory stays.
    assert sorted(p.name for p in tmp_path.iterdir()) == [repro.name]
    # With keep_workdir the work directory stays too.
    with pytest.raises(pconv.CompileError):
        compiler.compile_linalg(imported, pconv.CompileOptions(keep_workdir=True))
    names = [p.name for p in tmp_path.iterdir()]
    assert len(names) == 3 and sum(n.startswith("pconv-repro-pconv-") for n in names) == 2
    # The command reproduces the failure.
    proc = subprocess.run(["sh", str(repro / "command.sh")], capture_output=True, text=True)
    assert proc.returncode != 0 and "conv_2d_nchw_fchw_bogus" in proc.stderr


@pytest.mark.parametrize("value", [-1, 2.5, "4", True])
def test_prefetch_distance_must_be_a_non_negative_int(value):
    with pytest.raises(ValueError, match="CompileOptions.prefetch_distance must be an int >= 0"):
        pconv.CompileOptions(prefetch_distance=value)


@pytest.mark.parametrize("name", ["tail_chunks", "aligned_loads", "import_pattern_convs"])
def test_compile_switches_must_be_bools(name):
    # Caught up front, not as a pipeline-option parse error inside pconv-opt.
    with pytest.raises(TypeError, match=f"CompileOptions.{name} must be a bool, got 'maybe'"):
        pconv.CompileOptions(**{name: "maybe"})
