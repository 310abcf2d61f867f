"""The deployable C runtime (runtime/, examples/c/classify.c, docs/deploy.md).

Builds the runtime, the example and a thread-safety driver with the
documented one-line cc commands, then checks: results against PyTorch (host,
and AArch64 under qemu-aarch64), concurrent calls on one loaded model, and a
precise refusal of every kind of damaged or foreign artifact.
"""

import hashlib
import json
import shutil
import subprocess

import numpy as np
import pytest
import torch

import pconv
from pconv.runtime import emulated_command
from pconv.testing import random_cnn
from pconv.toolchain import get_target, repo_root

ROOT = repo_root()
HAS_QEMU = bool(shutil.which("qemu-aarch64") and shutil.which("aarch64-linux-gnu-gcc"))


def build_c(cc, out, *sources, libs=("-ldl",)):
    """The documented build: the runtime is one C99 file, compiled with the app."""
    cmd = [cc, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{ROOT / 'runtime' / 'include'}",
           *map(str, sources), str(ROOT / "runtime" / "pconv_runtime.c"), *libs, "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out


def build_tools(cc, folder):
    classify = build_c(cc, folder / "classify", ROOT / "examples" / "c" / "classify.c")
    concurrent = build_c(cc, folder / "concurrent_runs", ROOT / "test" / "runtime" / "concurrent_runs.c",
                         libs=("-ldl", "-lpthread"))
    return classify, concurrent


@pytest.fixture(scope="module")
def net():
    model, shape = random_cnn(3)
    return model.eval(), shape


@pytest.fixture(scope="module")
def host(net, tmp_path_factory):
    model, shape = net
    folder = tmp_path_factory.mktemp("c-runtime-host")
    art = pconv.compile(model, (torch.randn(*shape),), threads=2)
    classify, concurrent = build_tools("cc", folder)
    return art.save(folder / "net.pconv"), classify, concurrent


def run(argv, target=None, **kwargs):
    if target is not None and not target.is_host:
        argv, env = emulated_command(target, list(map(str, argv)))
        kwargs["env"] = env
    return subprocess.run(list(map(str, argv)), capture_output=True, text=True, timeout=120, **kwargs)


def check_classify(model, shape, artifact, classify, tmp_path, target=None):
    x = torch.randn(*shape)
    x.numpy().tofile(tmp_path / "x.bin")
    proc = run([classify, artifact, tmp_path / "x.bin", tmp_path / "y.bin"], target)
    assert proc.returncode == 0, proc.stderr
    expected = model(x).detach().numpy()
    y = np.fromfile(tmp_path / "y.bin", dtype=np.float32).reshape(expected.shape)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)
    assert f"class: {int(expected.argmax())}" in proc.stdout
    assert "input [" + "x".join(map(str, shape)) + "]" in proc.stdout


def check_concurrent(model, shape, artifact, driver, tmp_path, target=None, threads=8, rounds=10):
    xs = torch.randn(4, *shape)
    xs.numpy().tofile(tmp_path / "xs.bin")
    proc = run([driver, artifact, tmp_path / "xs.bin", 4, threads, rounds, tmp_path / "ys.bin"], target)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "all identical" in proc.stdout
    expected = np.stack([model(x).detach().numpy() for x in xs])
    ys = np.fromfile(tmp_path / "ys.bin", dtype=np.float32).reshape(expected.shape)
    np.testing.assert_allclose(ys, expected, rtol=1e-4, atol=1e-4)


def test_classify_example_matches_pytorch(net, host, tmp_path):
    artifact, classify, _ = host
    check_classify(*net, artifact, classify, tmp_path)


def test_concurrent_calls_on_one_model(net, host, tmp_path):
    # 8 threads share one pconv_model; every run equals the serial run bit for
    # bit, inputs stay untouched, and the serial runs match PyTorch.
    artifact, _, concurrent = host
    check_concurrent(*net, artifact, concurrent, tmp_path)


def test_generated_code_has_no_writable_globals(host):
    # What makes concurrent calls safe: weights are read-only, temporaries are
    # allocated per call. Only the C start files' own words are writable.
    artifact, _, _ = host
    crt = {"_DYNAMIC", "_GLOBAL_OFFSET_TABLE_", "__TMC_END__", "__dso_handle", "completed.0",
           "__do_global_dtors_aux_fini_array_entry", "__frame_dummy_init_array_entry",
           "__bss_start", "_edata", "_end"}
    out = subprocess.run(["nm", str(artifact / "model.so")], capture_output=True, text=True, check=True).stdout
    writable = [line.split()[-1] for line in out.splitlines()
                if len(line.split()) == 3 and line.split()[1] in "dDbBcC"]
    assert set(writable) <= crt, sorted(set(writable) - crt)


def test_wrong_input_size_is_refused(host, tmp_path):
    artifact, classify, _ = host
    np.zeros(7, dtype=np.float32).tofile(tmp_path / "x.bin")
    proc = run([classify, artifact, tmp_path / "x.bin"])
    assert proc.returncode == 1
    assert "has 28 bytes, the model's input needs" in proc.stderr


def _meta(folder):
    return json.loads((folder / "meta.json").read_text())


def _write_meta(folder, meta):
    (folder / "meta.json").write_text(json.dumps(meta, indent=2))


def _truncate(folder):
    data = (folder / "model.so").read_bytes()
    (folder / "model.so").write_bytes(data[: len(data) // 2])


def _flip_byte(folder):
    data = bytearray((folder / "model.so").read_bytes())
    data[len(data) // 2] ^= 0x01
    (folder / "model.so").write_bytes(bytes(data))


def _edit(**changes):
    def apply(folder):
        meta = _meta(folder)
        for key, value in changes.items():
            if value is None:
                meta.pop(key)
            else:
                meta[key] = value
        _write_meta(folder, meta)
    return apply


def _dtype(folder):
    meta = _meta(folder)
    meta["inputs"][0]["dtype"] = "float16"
    _write_meta(folder, meta)


def _cut_meta(folder):
    text = (folder / "meta.json").read_text()
    (folder / "meta.json").write_text(text[: len(text) // 2])


DAMAGE = {
    "truncated library": (_truncate, "PCONV_ERR_CHECKSUM", "checksum mismatch"),
    "altered library": (_flip_byte, "PCONV_ERR_CHECKSUM", "truncated or altered"),
    "newer format": (_edit(format_version=2), "PCONV_ERR_VERSION",
                     "artifact format version 2, this runtime reads version 1"),
    "no format version": (_edit(format_version=None), "PCONV_ERR_VERSION", "no integer format_version"),
    "missing meta.json": (lambda f: (f / "meta.json").unlink(), "PCONV_ERR_IO", "meta.json: cannot open"),
    "cut meta.json": (_cut_meta, "PCONV_ERR_METADATA", "malformed JSON at line"),
    "missing library": (lambda f: (f / "model.so").unlink(), "PCONV_ERR_IO", "model.so: cannot open"),
    "library outside the folder": (_edit(library="../model.so"), "PCONV_ERR_METADATA",
                                   "must be a file name in the artifact"),
    "no checksum": (_edit(sha256=None), "PCONV_ERR_METADATA", 'missing "sha256"'),
    "unsupported dtype": (_dtype, "PCONV_ERR_UNSUPPORTED", "dtype float16 is not supported"),
    "foreign architecture": (_edit(triple="aarch64-unknown-linux-gnu", target="aarch64-linux-gnu"),
                             "PCONV_ERR_TARGET", "compiled for aarch64-unknown-linux-gnu"),
    "missing entry point": (_edit(symbol="_mlir_ciface_nothing"), "PCONV_ERR_SYMBOL",
                            "entry point _mlir_ciface_nothing is missing"),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_damaged_artifact_is_refused_with_a_clear_error(host, tmp_path, case):
    artifact, classify, _ = host
    damage, status, message = DAMAGE[case]
    copy = shutil.copytree(artifact, tmp_path / "net.pconv")
    damage(copy)
    np.zeros(1, dtype=np.float32).tofile(tmp_path / "x.bin")
    proc = run([classify, copy, tmp_path / "x.bin"])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"classify: {status}: " in proc.stderr and message in proc.stderr, proc.stderr


@pytest.mark.parametrize("size", [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 70000])
def test_checksum_agrees_with_hashlib(host, tmp_path, size):
    # A library that is not ELF but carries the right SHA-256 passes the
    # integrity check and is refused only by the dynamic loader: the C
    # SHA-256 equals hashlib's on every padding boundary.
    artifact, classify, _ = host
    copy = shutil.copytree(artifact, tmp_path / "net.pconv")
    data = bytes((i * 7 + 3) % 256 for i in range(size))
    (copy / "model.so").write_bytes(data)
    _write_meta(copy, dict(_meta(copy), sha256=hashlib.sha256(data).hexdigest()))
    proc = run([classify, copy, tmp_path / "x.bin"])
    assert proc.returncode == 2 and "classify: PCONV_ERR_LOAD: " in proc.stderr, proc.stderr


@pytest.mark.aarch64
@pytest.mark.skipif(not HAS_QEMU, reason="needs qemu-aarch64 and the AArch64 cross compiler")
def test_aarch64_example_under_qemu(net, host, tmp_path):
    # The deployment path: compile for AArch64, cross-compile the runtime and
    # the example, run them under qemu-aarch64 (sysroot + arm64 libomp).
    model, shape = net
    target = get_target("aarch64-linux-gnu")
    art = pconv.compile(model, (torch.randn(*shape),), target=target.name, threads=2)
    artifact = art.save(tmp_path / "net-arm64.pconv")
    classify, concurrent = build_tools(target.cc, tmp_path)
    check_classify(model, shape, artifact, classify, tmp_path, target)
    check_concurrent(model, shape, artifact, concurrent, tmp_path, target, threads=4, rounds=3)
    # The host runtime refuses the AArch64 artifact before dlopen.
    proc = run([host[1], artifact, tmp_path / "x.bin"])
    assert proc.returncode == 2 and "PCONV_ERR_TARGET" in proc.stderr
