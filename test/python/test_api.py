"""The Python API: stages, save/load, OpenMP threads, torch-free runtime, libraries."""

import json
import os
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import pconv
from pconv.patterns import PatternLibrary
from pconv.testing import apply_random_patterns, random_cnn, random_library


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    model, shape = random_cnn(3)
    x = torch.randn(*shape)
    art = pconv.compile(model, (x,), threads=2)
    path = art.save(tmp_path_factory.mktemp("saved") / "net.pconv")
    return model, x, art, path


def test_stages_are_ordered_and_show_each_step(compiled):
    _, _, art, _ = compiled
    assert list(art.stages) == ["linalg", "pconv", "llvm"]
    assert "linalg.conv_2d_nchw_fchw" in art.stages["linalg"]
    assert "pconv.conv2d" in art.stages["pconv"] and "#pconv.patterns<3x3, taps = 4" in art.stages["pconv"]
    assert "llvm.func @_mlir_ciface_forward" in art.stages["llvm"]
    assert "omp.parallel num_threads" in art.stages["llvm"]


def test_save_load_round_trip(compiled):
    model, x, _, path = compiled
    meta = json.loads((path / "meta.json").read_text())
    assert meta["target"] == "host" and meta["inputs"][0]["shape"] == list(x.shape)
    y = pconv.load(path)(x.numpy())
    np.testing.assert_allclose(y, model(x).detach().numpy(), rtol=1e-4, atol=1e-4)


def test_calls_leave_no_garbage_cycles(compiled):
    # The C descriptors' ctypes classes are made once, not per call (a class
    # per call left cycles that woke the cyclic collector every ~40 calls).
    import gc

    _, x, _, path = compiled
    model, xn = pconv.load(path), x.numpy()
    model(xn)
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(20):
            model(xn)
        assert gc.collect() == 0
    finally:
        if enabled:
            gc.enable()


def test_saving_over_a_loaded_artifact_then_loading_it_again(tmp_path):
    # Once a segfault: save() rewrote the mapped model.so in place, and the
    # loader would have handed back the library already open under that path.
    script = textwrap.dedent(f"""
        import numpy as np, torch, pconv
        from pconv.testing import random_cnn
        (a, sa), (b, sb) = random_cnn(3), random_cnn(4)
        xa, xb = torch.randn(*sa), torch.randn(*sb)
        path = {str(tmp_path / "net")!r}
        pconv.compile(a, (xa,)).save(path); ma = pconv.load(path); ya = ma(xa.numpy())
        pconv.compile(b, (xb,)).save(path); mb = pconv.load(path); yb = mb(xb.numpy())
        ra, rb = a(xa).detach().numpy(), b(xb).detach().numpy()
        for y, r in ((ya, ra), (yb, rb), (ma(xa.numpy()), ra), (pconv.load(path)(xb.numpy()), rb)):
            np.testing.assert_allclose(y, r, rtol=1e-4, atol=1e-4)
        print("ok")
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and run.stdout.strip().endswith("ok"), run.stderr[-2000:]


def test_host_runtime_needs_no_torch_and_uses_several_threads(compiled):
    _, x, _, path = compiled
    np.save(path.parent / "x.npy", x.numpy())
    script = textwrap.dedent(
        f"""
        import os, sys, numpy as np
        import pconv
        fn = pconv.load({str(path)!r})
        before = len(os.listdir('/proc/self/task'))
        fn(np.load({str(path.parent / 'x.npy')!r}))
        after = len(os.listdir('/proc/self/task'))
        assert 'torch' not in sys.modules, 'running a host artifact imported torch'
        print(before, after)
        """
    )
    env = dict(os.environ, OMP_NUM_THREADS="2")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    before, after = map(int, out.stdout.split())
    # libomp starts its worker thread at the first parallel region.
    assert after > before


def test_prefetch_distance_changes_no_result():
    """Stride-1 pattern convs prefetch the tile input of the kernel
    `prefetch_distance` entries ahead (default 4); any distance, including one
    past the end of a filter's kernels (clamped), and 0 (no prefetches) give
    the same result."""
    model = torch.nn.Sequential(torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(),
                                torch.nn.Conv2d(16, 16, 3, padding=1)).eval()
    rng = random.Random(0)
    library = random_library(rng, k=4)
    for conv in (model[0], model[2]):
        apply_random_patterns(conv, library, rng, keep=0.5)
    x = torch.randn(1, 8, 20, 20)
    ref = model(x).detach().numpy()
    for distance in (4, 0, 1, 1000):
        art = pconv.compile(model, (x,), prefetch_distance=distance)
        assert ("llvm.intr.prefetch" in art.stages["llvm"]) == (distance > 0), distance
        np.testing.assert_allclose(art.load()(x.numpy()), ref, rtol=1e-4, atol=1e-4)


def test_stolen_tasks_give_the_same_result_at_any_team_size(tmp_path):
    """Task stealing (the default) sizes its counters by the team the runtime
    will give (threads=0: omp_get_max_threads() at run time); with 1, 3 or 5
    threads on this machine's cores every task still runs exactly once. With
    steal_tasks=False the loops keep OpenMP's static schedule (no atomics)."""
    model, shape = random_cnn(5)
    x = torch.randn(*shape)
    art = pconv.compile(model, (x,), threads=0)
    assert "llvm.atomicrmw add" in art.stages["llvm"] and "@omp_get_max_threads" in art.stages["llvm"]
    static = pconv.compile(model, (x,), threads=3, steal_tasks=False)
    assert "atomicrmw" not in static.stages["llvm"]
    fixed = pconv.compile(model, (x,), threads=3)
    assert "omp_get_max_threads" not in fixed.stages["llvm"]
    ref = model(x).detach().numpy()
    np.save(tmp_path / "x.npy", x.numpy())
    np.save(tmp_path / "ref.npy", ref)
    for name, a in (("any", art), ("static", static), ("fixed", fixed)):
        a.save(tmp_path / name)
    script = textwrap.dedent(f"""
        import numpy as np, pconv
        x, ref = np.load({str(tmp_path / 'x.npy')!r}), np.load({str(tmp_path / 'ref.npy')!r})
        for name in ("any", "static", "fixed"):
            fn = pconv.load({str(tmp_path)!r} + "/" + name)
            for _ in range(3):
                np.testing.assert_allclose(fn(x), ref, rtol=1e-4, atol=1e-4)
        print("ok")
    """)
    for threads in ("1", "3", "5"):
        env = dict(os.environ, OMP_NUM_THREADS=threads)
        run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
        assert run.returncode == 0 and run.stdout.strip() == "ok", (threads, run.stderr[-2000:])


def test_openmp_threads_are_not_pinned_to_one_cpu_after_torch(compiled):
    """With OMP_PROC_BIND set, PyTorch's libgomp binds the importing thread to
    one CPU; libomp would take that for the machine and bind every model
    thread there. The host runtime widens the mask to libgomp's places first:
    the two threads land on different CPUs; a mask set before libgomp loaded
    (as by taskset) is kept."""
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two CPUs")
    _, x, _, path = compiled
    np.save(path.parent / "x.npy", x.numpy())
    script = textwrap.dedent(
        f"""
        import os, numpy as np, torch
        pinned = os.sched_getaffinity(0)
        import pconv
        fn = pconv.load({str(path)!r})
        fn(np.load({str(path.parent / 'x.npy')!r}))
        print(len(pinned))
        """
    )
    # A mask set from outside (taskset) stays: one CPU, both threads on it.
    one = dict(os.environ, OMP_NUM_THREADS="2", OMP_PROC_BIND="spread", OMP_PLACES="cores")
    kept = subprocess.run([sys.executable, "-c", "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
                           "import torch, pconv; from pconv.runtime import unpin_for_openmp; "
                           "print(unpin_for_openmp(), len(os.sched_getaffinity(0)))"],
                          capture_output=True, text=True, env=one)
    assert kept.returncode == 0 and kept.stdout.split() == ["False", "1"], kept.stdout + kept.stderr
    env = dict(os.environ, OMP_NUM_THREADS="2", OMP_PROC_BIND="spread", OMP_PLACES="cores",
               OMP_DISPLAY_AFFINITY="true")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    sets = [line.rsplit("{", 1)[1] for line in (out.stdout + out.stderr).splitlines()
            if "bound to OS proc set" in line]
    assert len(sets) >= 2 and len(set(sets)) >= 2, out.stdout + out.stderr


def test_library_encoding_is_shared_with_the_compiler():
    lib = PatternLibrary([(1, 3, 4, 5), (3, 4, 5, 7), (0, 1, 3, 4), (4, 5, 7, 8)])
    assert PatternLibrary.from_json(lib.to_json()) == lib
    # Prune a conv with this library, impose the library on the compiler:
    # the imported attribute is exactly the Python library.
    conv = torch.nn.Conv2d(3, 5, 3, padding=1, bias=False).eval()
    masks = torch.from_numpy(lib.masks().astype(np.float32))
    ids = torch.randint(len(lib), (5, 3))
    conv.weight.data *= masks[ids]
    x = torch.randn(1, 3, 6, 6)
    art = pconv.compile(conv, (x,), library=lib)
    assert lib.to_mlir() in art.stages["pconv"]
    table = "kernels dense<" + str(ids.tolist()).replace(" ", "").replace(",", ", ") + ">"
    assert table in art.stages["pconv"]
    np.testing.assert_allclose(art.load()(x.numpy()), conv(x).detach().numpy(), rtol=1e-4, atol=1e-4)


def test_bad_library_raises():
    with pytest.raises(pconv.PatternLibraryError, match="same number of taps"):
        PatternLibrary([(1, 4), (1, 3, 4)])
    with pytest.raises(pconv.PatternLibraryError, match="outside"):
        PatternLibrary([(4, 9)])
    with pytest.raises(ValueError, match="unknown target"):
        pconv.compile(torch.nn.Conv2d(1, 1, 3), (torch.randn(1, 1, 4, 4),), target="riscv")


def test_region_remarks_are_parsed_and_kept_out_of_errors():
    """pconv-report-regions' remarks (with their source excerpts) become the
    artifact's region records, and a failing stage's error leaves them out."""
    from pconv.compiler import describe_regions, parse_region_remarks, without_region_remarks

    conv = ("    %1 = linalg.conv_2d_nchw_fchw {strides = dense<2> : vector<2xi64>} ins(%a, %b : "
            "tensor<1x3x9x9xf32>, tensor<4x3x3x3xf32>) outs(%c : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>")
    error = "/w/linalg.mlir:3:3: error: 'llvm.foo' op failed\n    %2 = foo\n    ^\n"
    stderr = (f"/w/linalg.mlir:2:10: remark: parallel region 1: 0 vector FMAs\n{conv}\n         ^\n"
              f"/w/linalg.mlir:2:10: remark: parallel region 0: 12 vector FMAs\n{conv}\n         ^\n"
              "loc(unknown): remark: parallel region 2: 0 vector FMAs\n" + error)
    regions = parse_region_remarks(stderr)
    assert [(r.index, r.file, r.line, r.vector_fmas) for r in regions] == [
        (0, "linalg.mlir", 2, 12), (1, "linalg.mlir", 2, 0), (2, None, None, 0)]
    assert without_region_remarks(stderr) == error
    records = describe_regions(regions, {"linalg.mlir": "module {\n" + conv + "\n}\n"})
    assert records[0] == {"index": 0, "source": "linalg.mlir:2", "op": "linalg.conv_2d_nchw_fchw",
                          "label": "linalg.conv_2d_nchw_fchw 1x3x9x9, 4x3x3x3 -> 1x4x4x4 stride 2",
                          "vector_fmas": 12}
    assert records[2]["source"] is None and records[2]["label"] == "?"
