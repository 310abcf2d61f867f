"""find_package(PConv): install the build tree into a temporary prefix, then
configure, build and run the out-of-tree consumer in test/cmake-consumer/
(one .cpp: registers the dialect, parses a pconv.conv2d, reads its library,
runs pconv-lower-to-loops from a textual pipeline)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pconv.toolchain import repo_root

ROOT = repo_root()
BUILD = ROOT / "build"
BIN = Path(sys.executable).parent


def _run(cmd, **kwargs):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kwargs)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    if not (BUILD / "cmake_install.cmake").exists():
        pytest.skip("no configured build tree (run `make setup`)")
    out = tmp_path_factory.mktemp("pconv-prefix")
    _run([BIN / "cmake", "--install", BUILD, "--prefix", out])
    return out


def test_install_tree_has_the_package(prefix):
    cmake_dir = prefix / "lib" / "cmake" / "pconv"
    for name in ["PConvConfig.cmake", "PConvTargets.cmake", "PConvRuntimeTargets.cmake"]:
        assert (cmake_dir / name).is_file(), name
    include = prefix / "include" / "pconv"
    for header in ["dialect/PConvDialect.h", "dialect/PConvOps.h", "dialect/PConvOps.h.inc",
                   "dialect/PConvAttrs.h.inc", "dialect/PConvOps.td", "passes/Passes.h",
                   "passes/Passes.h.inc"]:
        assert (include / header).is_file(), header
    assert (prefix / "include" / "pconv_runtime.h").is_file()
    for lib in ["libMLIRPConv.a", "libMLIRPConvPasses.a", "PConvPlugin.so", "libpconv_runtime.so",
                "libPConvPythonCAPI.so", "pconv/python/_pconv_ops_gen.py"]:
        assert (prefix / "lib" / lib).is_file(), lib
    # The installed driver finds the wheel's libMLIR.so on its own.
    out = _run([prefix / "bin" / "pconv-opt", "--help"]).stdout
    assert "--pconv-lower-to-loops" in out
    # So do the Python bindings, pointed at the prefix.
    script = ("from mlir import ir; from pconv import dialect as d\n"
              "with ir.Context() as c: d.register_dialect(c); print(d.__name__, d.Conv2DOp.OPERATION_NAME)")
    env = dict(os.environ, PCONV_BUILD_DIR=str(prefix))
    assert "pconv.conv2d" in _run([sys.executable, "-c", script], env=env).stdout


def test_out_of_tree_consumer_builds_and_runs(prefix, tmp_path):
    build = tmp_path / "build"
    _run([BIN / "cmake", "-G", "Ninja", "-S", ROOT / "test" / "cmake-consumer", "-B", build,
          f"-DCMAKE_MAKE_PROGRAM={BIN / 'ninja'}", "-DCMAKE_BUILD_TYPE=Release",
          f"-DPConv_DIR={prefix / 'lib' / 'cmake' / 'pconv'}"])
    _run([BIN / "ninja", "-C", build])
    out = _run([build / "pconv-consumer"]).stdout
    assert "conv2d: 2 patterns of 4 taps" in out
    assert "pconv.conv2d after pconv-lower-to-loops: 0" in out
