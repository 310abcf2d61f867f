"""Differential tests: random pattern-pruned CNNs compiled by PConv vs PyTorch."""

import shutil
import subprocess

import numpy as np
import pytest
import torch

import pconv
from pconv.testing import random_cnn

HAS_QEMU = bool(shutil.which("qemu-aarch64") and shutil.which("aarch64-linux-gnu-gcc"))

RTOL, ATOL = 1e-4, 1e-4


def _check(model, shape, target, seed):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed))
    art = pconv.compile(model, (x,), target=target)
    # Every 3x3 conv of these models is pattern-sparse (or fully pruned).
    assert art.stats["pconv_convs"] == 4, art.stages["pconv"]
    assert art.stats["dense_convs"] == 0 and art.stats["dense_pconv_convs"] == 0
    fn = art.load()
    y = fn(x.numpy())
    with torch.no_grad():
        ref = model(x).numpy()
    np.testing.assert_allclose(y, ref, rtol=RTOL, atol=ATOL)
    return art


@pytest.mark.parametrize("seed", range(6))
def test_random_cnn_host(seed):
    model, shape = random_cnn(seed)
    _check(model, shape, "host", seed)


@pytest.mark.aarch64
@pytest.mark.skipif(not HAS_QEMU, reason="needs qemu-aarch64 and the AArch64 cross compiler")
@pytest.mark.parametrize("seed", [100, 101])
def test_random_cnn_aarch64(seed):
    model, shape = random_cnn(seed)
    _check(model, shape, "aarch64-linux-gnu", seed)


def test_torch_tensor_in_torch_tensor_out():
    model, shape = random_cnn(7)
    x = torch.randn(*shape)
    fn = pconv.compile(model, (x,)).load()
    y = fn(x)
    assert isinstance(y, torch.Tensor)
    torch.testing.assert_close(y, model(x).detach(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("vectorize_dense", [True, False])
def test_dense_path_only_matches_too(vectorize_dense):
    model, shape = random_cnn(8)
    x = torch.randn(*shape)
    art = pconv.compile(model, (x,), import_pattern_convs=False, vectorize_dense_convs=vectorize_dense)
    assert art.stats["pconv_convs"] == 0
    assert art.stats["dense_pconv_convs" if vectorize_dense else "dense_convs"] == 4
    np.testing.assert_allclose(art.load()(x.numpy()), model(x).detach().numpy(), rtol=RTOL, atol=ATOL)


def test_dense_convs_take_the_vector_lowering():
    # A 5x5 stride-2 conv and a 1x1 conv with dense weights, beside a pattern conv.
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 6, 5, stride=2, padding=2), torch.nn.ReLU(),
        torch.nn.Conv2d(6, 10, 1), torch.nn.ReLU(),
    ).eval()
    x = torch.randn(1, 3, 17, 17)
    art = pconv.compile(model, (x,))
    assert art.stats == {"pconv_convs": 0, "dense_pconv_convs": 2, "dense_convs": 0, "residual_convs": 0,
                         "pooled_convs": 0}
    np.testing.assert_allclose(art.load()(x.numpy()), model(x).detach().numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("vector_width", [0, 4, 8])
def test_every_lowering_matches(vector_width):
    # 0: reference loops only; 4/8: vectorized with other tile geometries.
    model, shape = random_cnn(9)
    x = torch.randn(*shape)
    art = pconv.compile(model, (x,), vector_width=vector_width)
    if vector_width:
        assert f"vector<{vector_width}xf32>" in art.stages["llvm"]
    np.testing.assert_allclose(art.load()(x.numpy()), model(x).detach().numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("fold", [True, False])
def test_batchnorm_folded_or_not(fold):
    model, shape = random_cnn(4)
    x = torch.randn(*shape)
    art = pconv.compile(model, (x,), fold_batchnorm=fold)
    # Folding removes the BN arithmetic (sqrt of the variance) from the IR.
    assert ("math.sqrt" in art.stages["linalg"]) is (not fold)
    np.testing.assert_allclose(art.load()(x.numpy()), model(x).detach().numpy(), rtol=RTOL, atol=ATOL)


# Tiles (rows, vectors, channel_block, filter_groups; 0 = the model's) for
# the 4 pattern convs of random_cnn: one row, odd row counts, single-channel
# blocks (partial sums through the output between blocks), more filter
# groups than work, and the model's choice.
TILE_SETS = [
    {i: (1, 1, 1, 1) for i in range(4)},
    {i: (3, 2, 2, 3) for i in range(4)},
    {i: (2, 1, 1, 64) for i in range(4)},
    {0: (0, 0, 0, 0), 1: (5, 0, 3, 0), 2: (0, 0, 0, 2), 3: (1, 0, 1000, 0)},
]


@pytest.mark.parametrize("tiles", TILE_SETS, ids=["1-1-1-1", "3-2-2-3", "2-1-1-64", "mixed"])
def test_every_tile_choice_matches(tiles):
    model, shape = random_cnn(11)
    _check_tiles(model, shape, tiles)


def _check_tiles(model, shape, tiles, **kwargs):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(3))
    art = pconv.compile(model, (x,), tiles=tiles, **kwargs)
    np.testing.assert_allclose(art.load()(x.numpy()), model(x).detach().numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("vector_width", [4, 8])
def test_channel_blocks_with_other_widths(vector_width):
    model, shape = random_cnn(12)
    _check_tiles(model, shape, {i: (2, 0, 1, 2) for i in range(4)}, vector_width=vector_width)


def test_tuned_compile_matches_and_is_cached(tmp_path, monkeypatch):
    from pconv import tuning

    monkeypatch.setenv("PCONV_CACHE_DIR", str(tmp_path))
    model, shape = random_cnn(13)
    x = torch.randn(*shape)
    art = pconv.compile(model, (x,), tune=True)
    assert art.stats["tuned_convs"] == 4
    np.testing.assert_allclose(art.load()(x.numpy()), model(x).detach().numpy(), rtol=RTOL, atol=ATOL)
    cache = tuning.cache_path()
    assert cache.parent == tmp_path and cache.exists()
    entries = len(__import__("json").loads(cache.read_text()))
    assert 1 <= entries <= 4  # one per distinct (shape, sparsity) layer
    # A second compile takes every tile from the cache: nothing is measured.
    monkeypatch.setattr(tuning, "measure", lambda *a, **k: pytest.fail("measured again"))
    again = pconv.compile(model, (x,), tune=True)
    assert again.stats["tuned_convs"] == 4


def test_filter_reorder_is_absorbed_and_exact():
    # conv -> relu -> conv -> maxpool -> conv: the first two convs' filter
    # permutations are absorbed by the next conv (through the pool).
    import random

    from pconv.testing import apply_random_patterns, random_library

    torch.manual_seed(5)
    rng = random.Random(5)
    library = random_library(rng)
    convs = [torch.nn.Conv2d(3, 12, 3, padding=1), torch.nn.Conv2d(12, 10, 3, padding=1),
             torch.nn.Conv2d(10, 6, 3, padding=1)]
    for conv in convs:
        apply_random_patterns(conv, library, rng)
    model = torch.nn.Sequential(convs[0], torch.nn.ReLU(), convs[1], torch.nn.ReLU(),
                                torch.nn.MaxPool2d(2), convs[2]).eval()
    x = torch.randn(1, 3, 12, 12)
    ref = model(x).detach().numpy()
    stages = {}
    for reorder in (False, True):
        art = pconv.compile(model, (x,), reorder_filters=reorder)
        stages[reorder] = art.stages["pconv"]
        np.testing.assert_allclose(art.load()(x.numpy()), ref, rtol=RTOL, atol=ATOL)
    assert stages[True] != stages[False]


def _dense_cnn():
    """Dense (unpruned) convs of every kind the filter-blocked lowering
    takes: 1x1 at stride 1 on odd maps (the flat matmul form, a partial last
    vector), 1x1 at stride (2, 3) (the flat form on a compact copy of the
    pixels it reads), 3x3 with padding, 3x3 dilated, filter counts
    with small divisors (7: blocks of 1 or 7), bias or not, ReLU, ReLU6
    (fused as relu_max) or none, batch 2."""
    torch.manual_seed(21)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(5, 24, 1), torch.nn.ReLU(),
        torch.nn.Conv2d(24, 7, 3, padding=1, bias=False),
        torch.nn.Conv2d(7, 16, 1, stride=(2, 3)), torch.nn.ReLU6(),
        torch.nn.Conv2d(16, 12, 3, padding=2, dilation=2),
        torch.nn.Conv2d(12, 9, 1, bias=False),
    ).eval()
    return model, (2, 5, 13, 11)


# (rows, vectors, channel_block, filter_groups, filter_block) per dense conv
# (0 = the model's): single filters, single channels per block (partial sums
# through the output, ReLU after the last block), more groups than filter
# blocks, odd row blocks; and the model's choice.
DENSE_TILES = [
    None,
    {i: (1, 1, 1, 1, 1) for i in range(5)},
    {0: (0, 2, 3, 0, 8), 1: (3, 1, 2, 5, 7), 2: (0, 0, 5, 4, 4), 3: (2, 1, 0, 0, 3), 4: (0, 0, 1, 0, 9)},
]


@pytest.mark.parametrize("tiles", DENSE_TILES, ids=["model", "1-1-1-1-1", "mixed"])
@pytest.mark.parametrize("vector_width", [16, 4])
def test_dense_convs_filter_blocked(tiles, vector_width):
    model, shape = _dense_cnn()
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    art = pconv.compile(model, (x,), tiles=tiles, vector_width=vector_width)
    assert (art.stats["pconv_convs"], art.stats["dense_pconv_convs"], art.stats["dense_convs"]) == (0, 5, 0)
    np.testing.assert_allclose(art.load()(x.numpy()), model(x).detach().numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.aarch64
@pytest.mark.skipif(not HAS_QEMU, reason="needs qemu-aarch64 and the AArch64 cross compiler")
def test_dense_convs_filter_blocked_aarch64():
    _matches_on_aarch64(*_dense_cnn(), seed=2)


def _matches_on_aarch64(model, shape, seed):
    """Compile for AArch64, run under qemu, compare with PyTorch."""
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed))
    art = pconv.compile(model, (x,), target="aarch64-linux-gnu")
    np.testing.assert_allclose(art.load()(x.numpy()), model(x).detach().numpy(), rtol=RTOL, atol=ATOL)
    return art


def _depthwise_cnn(prune: bool):
    """MobileNet-style depthwise 3x3 convs (stride 1 and 2, dilation 2,
    ReLU6) between 1x1 convs; with `prune`, every depthwise kernel keeps one
    of 4 patterns of 4 taps and one channel is pruned whole."""
    torch.manual_seed(31)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 12, 1), torch.nn.ReLU6(),
        torch.nn.Conv2d(12, 12, 3, stride=2, padding=1, groups=12), torch.nn.ReLU6(),
        torch.nn.Conv2d(12, 12, 3, padding=2, dilation=2, groups=12, bias=False),
        torch.nn.Conv2d(12, 10, 1),
        torch.nn.Conv2d(10, 10, 3, padding=1, groups=10), torch.nn.ReLU(),
    ).eval()
    if prune:
        patterns = [[1, 3, 4, 5], [1, 4, 5, 7], [0, 1, 3, 4], [4, 5, 7, 8]]
        for conv in (model[2], model[4], model[6]):
            mask = torch.zeros_like(conv.weight)
            for c in range(mask.shape[0]):
                for p in patterns[(c * 7) % 4]:
                    mask[c, 0, p // 3, p % 3] = 1
            mask[3] = 0
            conv.weight.data *= mask
    return model, (2, 3, 17, 15)


@pytest.mark.parametrize("prune", [True, False], ids=["patterns", "dense"])
@pytest.mark.parametrize("vector_width", [16, 4])
def test_depthwise_convs_take_the_pattern_lowering(prune, vector_width):
    model, shape = _depthwise_cnn(prune)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(4))
    ref = model(x).detach().numpy()
    art = pconv.compile(model, (x,), vector_width=vector_width)
    # 3 depthwise convs (pattern-sparse or one full pattern) + 2 dense 1x1.
    assert art.stats["pconv_convs"] == (3 if prune else 0)
    assert art.stats["dense_pconv_convs"] == (2 if prune else 5)
    assert "linalg.depthwise_conv_2d_nchw_chw" not in art.stages["pconv"]
    np.testing.assert_allclose(art.load()(x.numpy()), ref, rtol=RTOL, atol=ATOL)
    # ReLU6 after the first two convs is fused (relu_max), also with channel
    # blocks (the clamp applies after the last block only).
    assert art.stages["pconv"].count("relu_max 6.0") == 2
    blocked = pconv.compile(model, (x,), vector_width=vector_width, tiles={0: (0, 0, 2, 0), 1: (0, 0, 5, 0)})
    np.testing.assert_allclose(blocked.load()(x.numpy()), ref, rtol=RTOL, atol=ATOL)
    # The depthwise convs read their input in place (masked loads, stride 2
    # deinterleaved) by default; through a padded / phase-split copy without.
    copied = pconv.compile(model, (x,), vector_width=vector_width, direct_loads=False)
    np.testing.assert_allclose(copied.load()(x.numpy()), ref, rtol=RTOL, atol=ATOL)
    # Blocks of 2-3 rows: the blocks inside the rows run the copy of the task
    # without row checks, the ones reaching the padding the checked one.
    rows = pconv.compile(model, (x,), vector_width=vector_width,
                         tiles={1: (2, 0, 0, 0), 2: (2, 0, 0, 0), 4: (3, 0, 0, 0)})
    np.testing.assert_allclose(rows.load()(x.numpy()), ref, rtol=RTOL, atol=ATOL)
    # Off: the dense path's vectorized depthwise loops compute the same.
    off = pconv.compile(model, (x,), vector_width=vector_width, import_depthwise=False)
    assert "linalg.depthwise_conv_2d_nchw_chw" in off.stages["pconv"]
    np.testing.assert_allclose(off.load()(x.numpy()), ref, rtol=RTOL, atol=ATOL)


@pytest.mark.aarch64
@pytest.mark.skipif(not HAS_QEMU, reason="needs qemu-aarch64 and the AArch64 cross compiler")
def test_depthwise_convs_aarch64():
    _matches_on_aarch64(*_depthwise_cnn(True), seed=5)


def _residual_cnn():
    """Residual blocks of every form the epilogue fusion meets: a pattern 3x3
    conv plus the identity (ReLU after the add), a downsampling block whose
    shortcut is a strided 1x1 conv (both summands convs), a 1x1 bottleneck
    conv plus the identity on the flat matmul form, a 3x3 conv on a 7x7 map
    (the pitched flat form, residual and ReLU6 added by the tiles), and
    an add with no activation after it; batch 2."""
    import random

    from pconv.testing import apply_random_patterns, random_library

    torch.manual_seed(41)
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(3, 12, 3, padding=1)
            self.a = nn.Conv2d(12, 12, 3, padding=1)
            self.down = nn.Conv2d(12, 16, 3, stride=2, padding=1)
            self.short = nn.Conv2d(12, 16, 1, stride=2, bias=False)
            self.b = nn.Conv2d(16, 16, 1)
            self.c = nn.Conv2d(16, 16, 3, padding=1, bias=False)
            self.d = nn.Conv2d(16, 16, 3, padding=1)

        def forward(self, x):
            x = torch.relu(self.stem(x))
            x = torch.relu(self.a(x) + x)
            x = torch.relu(self.down(x) + self.short(x))
            x = torch.relu(self.b(x) + x)
            x = nn.functional.max_pool2d(x, 2)  # 14x13 -> 7x6
            x = nn.functional.relu6(self.c(x) + x)
            return self.d(x) + x

    model = Net().eval()
    rng = random.Random(5)
    library = random_library(rng)
    for conv in (model.a, model.down, model.c):
        apply_random_patterns(conv, library, rng, keep=0.6)
    return model, (2, 3, 27, 25)


@pytest.mark.parametrize("tiles", [None, "one-channel-blocks"], ids=["model", "channel-blocks"])
@pytest.mark.parametrize("vector_width", [16, 4, 0])
def test_residual_add_fused_into_the_conv_epilogue(tiles, vector_width):
    model, shape = _residual_cnn()
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(6))
    ref = model(x).detach().numpy()
    if tiles:  # partial sums through the output; the residual joins in block 0
        tiles = {i: (0, 0, 1, 0) for i in range(7)}
    art = pconv.compile(model, (x,), vector_width=vector_width, tiles=tiles)
    # All five adds are fused, none is left as an elementwise op.
    assert art.stats["residual_convs"] == 5, art.stages["pconv"]
    assert "arith.addf" not in art.stages["pconv"]
    np.testing.assert_allclose(art.load()(x.numpy()), ref, rtol=RTOL, atol=ATOL)
    off = pconv.compile(model, (x,), vector_width=vector_width, tiles=tiles, fuse_residual=False)
    assert off.stats["residual_convs"] == 0
    # The lowering run keeps the adds apart too (it once fused them again,
    # and both compiles lowered to the same code).
    assert off.stages["llvm"] != art.stages["llvm"]
    np.testing.assert_allclose(off.load()(x.numpy()), ref, rtol=RTOL, atol=ATOL)


def _pooled_cnn():
    """VGG-like stages whose 2x2 / 2 max-pools follow pattern convs: on a
    16x16 map with ReLU (tiles of whole row pairs pool in registers; at
    width 16 one vector of 16 lanes or two of 8 per row), on a 12x20 map
    with ReLU6 (a masked last vector at 8 and 16 lanes), on a 6x6 map
    without an activation (the pitched form: the pool is split off again),
    and a 3x3 / 2 pool (overlapping windows: fused, then split off again by
    the pattern lowering); batch 2."""
    import random

    from pconv.testing import apply_random_patterns, random_library

    torch.manual_seed(43)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),          # 32 -> 16
        nn.Conv2d(8, 12, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),         # 16 -> 8
        nn.Conv2d(12, 12, (3, 3), padding=(3, 7)), nn.ReLU6(),              # 8 -> 12 x 20
        nn.MaxPool2d(2),                                                    # -> 6 x 10
        nn.Conv2d(12, 8, 3, padding=1), nn.MaxPool2d(3, 2),                 # 6x10 -> 2x4
        nn.Conv2d(8, 8, 3, padding=1), nn.MaxPool2d(2),                     # 2x4 -> 1x2
    ).eval()
    rng = random.Random(43)
    library = random_library(rng)
    for conv in model:
        if isinstance(conv, nn.Conv2d):
            apply_random_patterns(conv, library, rng, keep=0.6)
    return model, (2, 3, 32, 32)


@pytest.mark.parametrize("vector_width", [16, 8, 4, 0])
def test_max_pool_fused_into_the_conv_epilogue(vector_width):
    model, shape = _pooled_cnn()
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(8))
    ref = model(x).detach().numpy()
    art = pconv.compile(model, (x,), vector_width=vector_width)
    # Four 2x2 / 2 pools fused, and the overlapping 3x3 / 2 one.
    assert art.stats["pooled_convs"] == 5, art.stages["pconv"]
    assert "pool_strides [2, 2]" in art.stages["pconv"]
    assert art.stages["pconv"].count("linalg.pooling_nchw_max") == 0
    np.testing.assert_allclose(art.load()(x.numpy()), ref, rtol=RTOL, atol=ATOL)
    off = pconv.compile(model, (x,), vector_width=vector_width, fuse_pool=False)
    assert off.stats["pooled_convs"] == 0
    np.testing.assert_allclose(off.load()(x.numpy()), ref, rtol=RTOL, atol=ATOL)


def _chain_cnn():
    """Stride-1 pattern convs feeding each other: 30x46 maps (a masked last
    vector), a fused 2x2 pool between two of them, a depthwise producer and
    ReLU6; batch 2."""
    import random

    from pconv.testing import apply_random_patterns, random_library

    torch.manual_seed(45)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU6(),
        nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.ReLU(),
        nn.Conv2d(8, 12, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(12, 12, 3, padding=2, dilation=2),
    ).eval()
    rng = random.Random(45)
    library = random_library(rng)
    for conv in model:
        if isinstance(conv, nn.Conv2d):
            apply_random_patterns(conv, library, rng, keep=1.0 if conv.groups > 1 else 0.6)
    return model, (2, 3, 30, 46)


@pytest.mark.parametrize("vector_width", [16, 8, 4])
def test_producer_writes_the_consumers_padded_input(vector_width):
    model, shape = _chain_cnn()
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(11))
    arts = {on: pconv.compile(model, (x,), vector_width=vector_width, write_padded=on) for on in (True, False)}
    for art in arts.values():
        fn = art.load()
        # Several calls: later ones get buffers the earlier ones freed (not
        # zero), so a halo the producer's tasks failed to zero shows.
        for seed in (11, 12, 13):
            xi = torch.randn(*shape, generator=torch.Generator().manual_seed(seed))
            np.testing.assert_allclose(fn(xi.numpy()), model(xi).detach().numpy(), rtol=RTOL, atol=ATOL)
    # Producers write into padded buffers: fewer buffers allocated.
    mallocs = {on: art.stages["llvm"].count("llvm.call @malloc") for on, art in arts.items()}
    assert mallocs[True] < mallocs[False], mallocs


def _banded_cnn(pool: bool):
    """Two stride-1 pattern convs on a 24x20 map (the first pattern-pruned
    only, like VGG-16's first conv; the second also connectivity-pruned),
    the second with ReLU6 or with ReLU and a fused 2x2 pool, then a third
    conv that reads the banded result; batch 2."""
    import random

    from pconv.testing import apply_random_patterns, random_library

    torch.manual_seed(47)
    nn = torch.nn
    layers = [nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1)]
    layers += [nn.ReLU(), nn.MaxPool2d(2)] if pool else [nn.ReLU6()]
    layers += [nn.Conv2d(8, 4, 3, padding=1)]
    model = nn.Sequential(*layers).eval()
    rng = random.Random(47)
    library = random_library(rng)
    for i, conv in enumerate(c for c in model if isinstance(c, nn.Conv2d)):
        apply_random_patterns(conv, library, rng, keep=1.0 if i == 0 else 0.6)
    return model, (2, 3, 24, 20)


def _check_row_bands(model, x, vector_width, band_rows_list):
    """Compile with each band height (any map fused), compare with PyTorch;
    the number of OpenMP regions of each build (band convs add regions)."""
    ref = model(x).detach().numpy()
    regions = {}
    for band_rows in band_rows_list:
        art = pconv.compile(model, (x,), vector_width=vector_width, band_rows=band_rows, band_min_bytes=0)
        np.testing.assert_allclose(art.load()(x.numpy()), ref, rtol=RTOL, atol=ATOL)
        regions[band_rows] = art.stages["llvm"].count("omp.parallel")
    return regions


@pytest.mark.parametrize("vector_width", [16, 4, 0])
@pytest.mark.parametrize("pool", [True, False], ids=["pool", "relu6"])
def test_convs_in_row_bands_match(pool, vector_width):
    model, shape = _banded_cnn(pool)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(12))
    regions = _check_row_bands(model, x, vector_width, (0, 4, 6, 8))
    if vector_width:
        # Bands of 4, 6 or 8 rows (6, 4 or 3 bands): the pair is emitted for
        # the first band, the middle ones (a loop) and the last, each band
        # conv with its own parallel loop.
        assert all(regions[b] > regions[0] for b in (4, 6, 8)), regions
    else:
        # The reference loops do not band (the pass runs with the vector path).
        assert len(set(regions.values())) == 1, regions
    # The default threshold (8 MiB) leaves these small maps alone.
    default = pconv.compile(model, (x,), vector_width=vector_width)
    assert default.stages["llvm"].count("omp.parallel") == regions[0]


class _InvertedResidual(torch.nn.Module):
    """MobileNet-V2's block: 1x1 expansion, pattern-pruned depthwise 3x3
    (stride 1 or 2), 1x1 projection, and the residual add at stride 1."""

    def __init__(self, stride: int):
        import random

        from pconv.testing import apply_random_patterns, random_library

        super().__init__()
        nn = torch.nn
        torch.manual_seed(53 + stride)
        self.stride = stride
        self.expand = nn.Conv2d(8, 24, 1)
        self.dw = nn.Conv2d(24, 24, 3, stride, 1, groups=24)
        self.project = nn.Conv2d(24, 8, 1)
        rng = random.Random(53)
        apply_random_patterns(self.dw, random_library(rng), rng, keep=1.0)

    def forward(self, x):
        f = torch.nn.functional
        y = self.project(f.relu6(self.dw(f.relu6(self.expand(x)))))
        return y + x if self.stride == 1 else y


@pytest.mark.parametrize("vector_width", [16, 4])
@pytest.mark.parametrize("stride", [1, 2])
def test_inverted_residual_in_row_bands_matches(stride, vector_width):
    # The chain expansion -> depthwise -> projection (with the residual
    # operand at stride 1) is computed band by band of the projection's
    # rows, bands of 2 to 5 rows (the last one shorter where they do not
    # divide the height), the stride-2 depthwise conv reading 2r + 1 rows.
    model = _InvertedResidual(stride).eval()
    x = torch.randn(2, 8, 24, 20, generator=torch.Generator().manual_seed(15))
    regions = _check_row_bands(model, x, vector_width, (0, 2, 3, 5))
    assert all(regions[b] > regions[0] for b in (2, 3, 5)), regions


def test_band_max_bytes_shortens_the_bands():
    # The intermediate band (24 channels x 20 wide x rows x batch 2) must fit
    # band_max_bytes: 5 rows at most here, so bands of 3 projected rows (the
    # band shapes themselves are checked in pconv-fuse-row-bands.mlir).
    model = _InvertedResidual(1).eval()
    x = torch.randn(2, 8, 24, 20, generator=torch.Generator().manual_seed(16))
    art = pconv.compile(model, (x,), band_rows=8, band_min_bytes=0, band_max_bytes=24 * 20 * 4 * 2 * 5)
    np.testing.assert_allclose(art.load()(x.numpy()), model(x).detach().numpy(), rtol=RTOL, atol=ATOL)
    with pytest.raises(ValueError, match="band_max_bytes"):
        pconv.compile(model, (x,), band_max_bytes=-5)


@pytest.mark.aarch64
@pytest.mark.skipif(not HAS_QEMU, reason="needs qemu-aarch64 and the AArch64 cross compiler")
def test_convs_in_row_bands_aarch64():
    model, shape = _banded_cnn(True)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(14))
    art = pconv.compile(model, (x,), target="aarch64-linux-gnu", band_rows=4, band_min_bytes=0)
    np.testing.assert_allclose(art.load()(x.numpy()), model(x).detach().numpy(), rtol=RTOL, atol=ATOL)
    block = _InvertedResidual(2).eval()
    x = torch.randn(2, 8, 24, 20, generator=torch.Generator().manual_seed(17))
    art = pconv.compile(block, (x,), target="aarch64-linux-gnu", band_rows=3, band_min_bytes=0)
    np.testing.assert_allclose(art.load()(x.numpy()), block(x).detach().numpy(), rtol=RTOL, atol=ATOL)


def test_band_options_are_checked():
    model, shape = _banded_cnn(True)
    x = torch.randn(*shape)
    for bad in (1, -2, 2.5, True):
        with pytest.raises(ValueError, match="band_rows"):
            pconv.compile(model, (x,), band_rows=bad)
    with pytest.raises(ValueError, match="band_min_bytes"):
        pconv.compile(model, (x,), band_min_bytes=-1)


def test_explicit_tiles_keep_the_convs_unbanded():
    model, shape = _banded_cnn(True)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(13))
    art = pconv.compile(model, (x,), band_rows=4, band_min_bytes=0, tiles={0: (2, 1, 0, 1)})
    plain = pconv.compile(model, (x,), band_rows=0, tiles={0: (2, 1, 0, 1)})
    assert art.stages["llvm"].count("omp.parallel") == plain.stages["llvm"].count("omp.parallel")
    np.testing.assert_allclose(art.load()(x.numpy()), model(x).detach().numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("import_pattern_convs", [True, False])
def test_dense_producer_writes_the_consumers_padded_input(import_pattern_convs):
    """Dense convs write into their consumer's padded input as pattern convs
    do: an unpruned conv feeding a pattern conv, and (all-dense build) every
    dense conv feeding a dense one (32 columns: dense tiles take the row
    form, not the pitched flat map, at that width)."""
    model, _ = _chain_cnn()
    torch.nn.init.normal_(model[0].weight)  # the first conv dense again
    x = torch.randn(2, 3, 30, 32, generator=torch.Generator().manual_seed(12))
    ref = model(x).detach().numpy()
    arts = {on: pconv.compile(model, (x,), write_padded=on, import_pattern_convs=import_pattern_convs)
            for on in (True, False)}
    for art in arts.values():
        np.testing.assert_allclose(art.load()(x.numpy()), ref, rtol=RTOL, atol=ATOL)
    mallocs = {on: art.stages["llvm"].count("llvm.call @malloc") for on, art in arts.items()}
    assert mallocs[True] < mallocs[False], mallocs


class _ResidualChain(torch.nn.Module):
    """ResNet-18's basic blocks in a row: a block's output feeds the next
    block's first conv and is added to its second conv's result; the last
    block's residual is added by a 1x1 conv instead (a flat row, which needs
    its residual contiguous)."""

    def __init__(self, c: int = 8):
        super().__init__()
        nn = torch.nn
        self.stem = nn.Conv2d(3, c, 3, padding=1)
        self.convs = nn.ModuleList(nn.Conv2d(c, c, 3, padding=1) for _ in range(4))
        self.last = nn.Conv2d(c, c, 3, padding=1)
        self.point = nn.Conv2d(c, c, 1)

    def forward(self, x):
        relu = torch.relu
        y = relu(self.stem(x))
        for i in range(0, 4, 2):
            y = relu(self.convs[i + 1](relu(self.convs[i](y))) + y)
        return relu(self.point(relu(self.last(y))) + y)


@pytest.mark.parametrize("vector_width,import_pattern_convs", [(16, True), (4, True), (16, False)])
def test_residual_read_from_the_padded_buffer(vector_width, import_pattern_convs):
    """A block output written into the next conv's padded input is read in
    place (a strided view) by the conv that adds it as its residual, on the
    pattern and the dense path; checked against PyTorch over several calls
    (reused, non-zero buffers), and the build without write_padded allocates
    more buffers."""
    import random

    from pconv.testing import apply_random_patterns, random_library

    torch.manual_seed(46)
    model = _ResidualChain().eval()
    rng = random.Random(46)
    library = random_library(rng)
    for conv in [model.stem, *model.convs, model.last]:
        apply_random_patterns(conv, library, rng, keep=0.6)
    # 32 columns: dense tiles take the row form there, not the pitched flat map.
    shape = (2, 3, 12, 40 if import_pattern_convs else 32)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(14))
    arts = {on: pconv.compile(model, (x,), vector_width=vector_width, write_padded=on,
                              import_pattern_convs=import_pattern_convs) for on in (True, False)}
    for art in arts.values():
        fn = art.load()
        for seed in (14, 15, 16):
            xi = torch.randn(*shape, generator=torch.Generator().manual_seed(seed))
            with torch.no_grad():
                ref = model(xi).numpy()
            np.testing.assert_allclose(fn(xi.numpy()), ref, rtol=RTOL, atol=ATOL)
    mallocs = {on: art.stages["llvm"].count("llvm.call @malloc") for on, art in arts.items()}
    assert mallocs[True] < mallocs[False], mallocs


def test_module_called_twice_shares_its_weights():
    """One conv applied twice: both uses read the one weight resource (the
    second use once got a renamed resource the weights file did not hold,
    and failed at translation with "resource does not exist")."""
    import random

    from pconv.testing import apply_random_patterns, random_library

    class Twice(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(8, 8, 3, padding=1)

        def forward(self, x):
            return self.conv(torch.relu(self.conv(x)))

    torch.manual_seed(44)
    model = Twice().eval()
    rng = random.Random(44)
    apply_random_patterns(model.conv, random_library(rng), rng, keep=0.6)
    x = torch.randn(1, 8, 12, 12, generator=torch.Generator().manual_seed(10))
    art = pconv.compile(model, (x,))
    assert art.stats["pconv_convs"] == 2
    np.testing.assert_allclose(art.load()(x.numpy()), model(x).detach().numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.aarch64
@pytest.mark.skipif(not HAS_QEMU, reason="needs qemu-aarch64 and the AArch64 cross compiler")
def test_max_pool_fused_aarch64():
    assert _matches_on_aarch64(*_pooled_cnn(), seed=9).stats["pooled_convs"] == 5


@pytest.mark.aarch64
@pytest.mark.skipif(not HAS_QEMU, reason="needs qemu-aarch64 and the AArch64 cross compiler")
def test_stem_pool_in_the_epilogue_aarch64():
    """ResNet's stem with its 3x3 / 2 pool in the conv's epilogue, NEON's 4
    lanes (a pooled row of 16 columns: 4 vectors), batch 1."""
    art = _matches_on_aarch64(_stem_cnn("relu", True), (1, 3, 64, 64), seed=10)
    assert art.stats["pooled_convs"] == 1


@pytest.mark.aarch64
@pytest.mark.skipif(not HAS_QEMU, reason="needs qemu-aarch64 and the AArch64 cross compiler")
def test_residual_add_fused_aarch64():
    assert _matches_on_aarch64(*_residual_cnn(), seed=7).stats["residual_convs"] == 5


def _block_sparse_mlp():
    """A classifier head whose large layer is block-pruned (a quarter of its
    16-wide blocks kept; 1000 inputs: the last block of each row is partial)
    and a small dense layer; batch 2."""
    from pconv.prune import prune_linear

    torch.manual_seed(51)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(1000, 96), torch.nn.ReLU(),
                                torch.nn.Linear(96, 10)).eval()
    prune_linear(model, keep=0.25, min_weights=50_000)
    return model, (2, 10, 10, 10)


@pytest.mark.parametrize("target", ["host", pytest.param("aarch64-linux-gnu", marks=[
    pytest.mark.aarch64, pytest.mark.skipif(not HAS_QEMU, reason="needs qemu-aarch64")])])
def test_block_sparse_linear_layers(target, tmp_path):
    model, shape = _block_sparse_mlp()
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(8))
    ref = model(x).detach().numpy()
    sparse = pconv.compile(model, (x,), target=target, sparse_linear=True)
    dense = pconv.compile(model, (x,), target=target)
    for art in (sparse, dense):
        np.testing.assert_allclose(art.load()(x.numpy()), ref, rtol=RTOL, atol=ATOL)
    # Only the kept blocks (+ i32 block tables) are stored: the 1000x96 matrix
    # (384 kB) is gone from the library.
    size = {name: art.save(tmp_path / name).joinpath("model.so").stat().st_size
            for name, art in (("sparse", sparse), ("dense", dense))}
    assert size["dense"] - size["sparse"] > 200_000, size


def test_tuner_keeps_the_model_tile_unless_clearly_beaten(tmp_path, monkeypatch):
    """The model's tile is measured with the candidates and kept unless one is
    more than TUNING_MARGIN faster (noise must not pick a worse tile)."""
    from pconv import tuning

    monkeypatch.setenv("PCONV_CACHE_DIR", str(tmp_path))
    model, shape = random_cnn(13)
    x = torch.randn(*shape)
    measured = []

    def fake_measure(layer, tiles, opts, slower=0.99):
        measured.append(list(tiles))
        assert tiles[0] == tuning.MODEL_TILE and tuning.MODEL_TILE not in tiles[1:]
        # Every candidate 1% faster than the model: within the margin.
        return [1.0] + [slower] * (len(tiles) - 1)

    monkeypatch.setattr(tuning, "measure", fake_measure)
    art = pconv.compile(model, (x,), tune=True)
    assert measured and art.stats["tuned_convs"] == 4
    assert set(map(tuple, __import__("json").loads(tuning.cache_path().read_text()).values())) == {tuning.MODEL_TILE}
    np.testing.assert_allclose(art.load()(x.numpy()), model(x).detach().numpy(), rtol=RTOL, atol=ATOL)
    # 10% faster: the candidate wins.
    tuning.cache_path().unlink()
    monkeypatch.setattr(tuning, "measure", lambda layer, tiles, opts: fake_measure(layer, tiles, opts, 0.9))
    pconv.compile(model, (x,), tune=True)
    chosen = set(map(tuple, __import__("json").loads(tuning.cache_path().read_text()).values()))
    assert tuning.MODEL_TILE not in chosen
    # 10% faster in the first round only: the confirmation round (the model's
    # tile against the winner alone) keeps the model's tile.
    tuning.cache_path().unlink()
    rounds = []

    def lucky_once(layer, tiles, opts):
        rounds.append(len(tiles))
        return [1.0] + [0.9 if len(tiles) > 2 else 1.0] * (len(tiles) - 1)

    monkeypatch.setattr(tuning, "measure", lucky_once)
    pconv.compile(model, (x,), tune=True)
    assert 2 in rounds
    chosen = set(map(tuple, __import__("json").loads(tuning.cache_path().read_text()).values()))
    assert chosen == {tuning.MODEL_TILE}


@pytest.mark.parametrize("aligned,mixed", [(True, True), (True, False), (False, True)])
def test_aligned_pattern_loads(aligned, mixed):
    """Pattern convs read straddling tap vectors as lane shifts of two aligned
    vectors (aligned_loads, the AVX-512 default), half of them as unaligned
    loads at stride 1 (mixed_shifts, default), or all as unaligned loads: the
    same results for every input form (padded rows wider than a vector,
    dilation 2, column phases at stride 2, the pitched flat row of short
    rows at stride 2 and at stride 1, where its grid starts off the row's
    first lane so that the centre tap is aligned)."""
    import random

    from pconv.testing import apply_random_patterns, random_library

    rng = random.Random(11)
    torch.manual_seed(11)
    library = random_library(rng)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(5, 12, 3, padding=2, dilation=2), torch.nn.ReLU(),  # 37 wide: 3 vectors
        torch.nn.Conv2d(12, 9, 3, stride=2, padding=1), torch.nn.ReLU(),   # phases
        torch.nn.Conv2d(9, 9, 3, padding=1), torch.nn.ReLU(),              # 19 wide: 2 vectors
        torch.nn.Conv2d(9, 7, 3, stride=2, padding=1), torch.nn.ReLU(),    # 10 wide
        torch.nn.Conv2d(7, 6, 3, stride=2, padding=1), torch.nn.ReLU(),    # 5 wide: pitched
        torch.nn.Conv2d(6, 5, 3, padding=1),                               # pitched, stride 1
    ).eval()
    for m in model:
        if isinstance(m, torch.nn.Conv2d):
            apply_random_patterns(m, library, rng, keep=0.6)
    x = torch.randn(1, 5, 37, 37, generator=torch.Generator().manual_seed(3))
    art = pconv.compile(model, (x,), vector_width=16, aligned_loads=aligned, mixed_shifts=mixed)
    assert art.stats["pconv_convs"] == 6
    with torch.no_grad():
        ref = model(x).numpy()
    np.testing.assert_allclose(art.load()(x.numpy()), ref, rtol=RTOL, atol=ATOL)


def _shared_kernel_cnn():
    """Group-shared pattern pruning (`filter_block` in the projections): blocks
    of 8 or 4 consecutive filters keep the same kernels with the same
    patterns, so they lower to the filter-blocked tile with one loop per
    pattern over the block's kernels. Every input form: padded rows wider
    than a vector (stride 1), column phases (stride 2), the pitched flat row
    of a 5x5 map, and connectivity-pruned 1x1 convs (the flat matmul row, the
    subsampled copy at stride 2); no bias, a residual add with ReLU, ReLU6;
    batch 2."""
    import random

    from pconv.prune import project_connectivity, project_pattern
    from pconv.testing import random_library

    torch.manual_seed(51)
    nn = torch.nn
    library = random_library(random.Random(51))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(6, 16, 3, padding=1)
            self.b = nn.Conv2d(16, 16, 3, padding=1, bias=False)
            self.c = nn.Conv2d(16, 8, 3, stride=2, padding=1)
            self.d = nn.Conv2d(8, 12, 3, stride=2, padding=1)
            self.e = nn.Conv2d(12, 16, 1)
            self.f = nn.Conv2d(16, 8, 1, stride=2)

        def forward(self, x):
            x = torch.relu(self.a(x))
            x = torch.relu(self.b(x) + x)
            x = nn.functional.relu6(self.c(x))
            x = torch.relu(self.e(self.d(x)))
            return self.f(x)

    model = Net().eval()
    with torch.no_grad():
        for conv, block, keep in ((model.a, 8, 0.5), (model.b, 8, 0.3), (model.c, 4, 0.4), (model.d, 4, 1.0),
                                  (model.e, 8, 0.3), (model.f, 8, 0.5)):
            w, _ = project_connectivity(conv.weight, keep, filter_block=block)
            if conv.kernel_size == (3, 3):
                w, _ = project_pattern(w, library, filter_block=block)
            conv.weight.copy_(w)
    return model, (2, 6, 19, 17)


# The "mixed" set asks for channel blocks (their accumulators reloaded per
# block) on three of the convs.
@pytest.mark.parametrize("tiles", [None, {i: (1, 1, 0, 0, 1) for i in range(6)},
                                   {0: (2, 1, 0, 0, 8), 1: (3, 2, 5, 3, 2), 2: (1, 1, 0, 0, 4), 3: (0, 0, 3, 0, 2),
                                    4: (1, 2, 5, 0, 8), 5: (0, 0, 0, 2, 4)}],
                         ids=["model", "single-filters", "mixed"])
@pytest.mark.parametrize("vector_width", [16, 4])
def test_shared_kernel_blocks_filter_blocked(tiles, vector_width):
    model, shape = _shared_kernel_cnn()
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(52))
    art = pconv.compile(model, (x,), tiles=tiles, vector_width=vector_width)
    assert art.stats["pconv_convs"] + art.stats["dense_pconv_convs"] == 6
    np.testing.assert_allclose(art.load()(x.numpy()), model(x).detach().numpy(), rtol=RTOL, atol=ATOL)


def test_shared_kernel_block_tile_must_divide_the_block():
    model, shape = _shared_kernel_cnn()
    x = torch.randn(*shape)
    with pytest.raises(pconv.CompileError, match="does not divide its shared-kernel filter blocks of 4"):
        pconv.compile(model, (x,), tiles={2: (1, 1, 0, 0, 8)})


def test_tuner_tries_filter_blocks_on_shared_kernel_convs(tmp_path, monkeypatch):
    """The tuner reads each conv's kernel table (list or hex form) and offers
    filter blocks dividing its shared-kernel block; a winning 5-field tile
    reaches the lowering and the result stays exact."""
    from pconv import tuning

    monkeypatch.setenv("PCONV_CACHE_DIR", str(tmp_path))
    model, shape = _shared_kernel_cnn()
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(54))
    limits = []

    def fake_measure(layer, tiles, opts):
        limit, dense = layer.filter_block_limit()
        limits.append(limit)
        assert not dense and tiles[0] == tuning.MODEL_TILE
        blocked = [t for t in tiles if len(t) == 5 and t[4]]
        assert blocked and all(limit % t[4] == 0 for t in blocked)
        assert all(t[0] * t[1] * t[4] <= tuning.SHARED_ACCUMULATORS for t in blocked)
        # The widest filter block wins, clearly.
        best = max(blocked, key=lambda t: (t[4], t[1]))
        return [0.5 if t == best else 1.0 for t in tiles]

    monkeypatch.setattr(tuning, "measure", fake_measure)
    art = pconv.compile(model, (x,), tune=True)
    assert art.stats["tuned_convs"] == 6 and sorted(set(limits)) == [4, 8]
    chosen = set(map(tuple, __import__("json").loads(tuning.cache_path().read_text()).values()))
    assert {t[4] for t in chosen} == {4, 8}
    np.testing.assert_allclose(art.load()(x.numpy()), model(x).detach().numpy(), rtol=RTOL, atol=ATOL)


def test_tuner_reads_dense_and_pattern_convs():
    """A dense conv may take any filter block dividing its filters; a pattern
    conv with per-filter kernels none."""
    from pconv import tuning

    def layer(library: str, kernels: str, filters: int, channels: int, taps: int) -> tuning.ConvLayer:
        return tuning.ConvLayer(
            index=0, body=f"library #pconv.patterns<3x3, taps = {taps}, {library}> kernels {kernels} : "
                          f"tensor<{filters}x{channels}xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]",
            input_type=f"tensor<1x{channels}x9x9xf32>", weight_type="tensor<432xf32>", bias_type=None,
            result_type=f"tensor<1x{filters}x9x9xf32>")

    dense = layer("[[0, 1, 2, 3, 4, 5, 6, 7, 8]]", "dense<0>", 12, 4, 9)
    assert dense.filter_block_limit() == (12, True)
    assert {t[4] for t in tuning.candidates(dense, 16)} == {0, 1, 2, 4}  # divisors of 12 in FILTER_BLOCKS
    pattern = layer("[[0, 1, 3, 4], [1, 2, 4, 5]]", "dense<[[0, 1], [1, -1]]>", 2, 2, 4)
    assert pattern.filter_block_limit() == (1, False)
    assert {t[4] for t in tuning.candidates(pattern, 16)} == {0}


def test_tuner_mirrors_the_pitched_form():
    """The tuner's candidates follow the lowering's row form: one flat row
    (rows = 1) where it takes the pitched form (a dense 3x3 conv on a 28x28
    map, a pattern conv with 7-wide rows at stride 2), rows otherwise (a
    dense 3x3 conv at 14x14, where the grid fills no more lanes; a
    depthwise conv at stride 2, which reads its input in place)."""
    from pconv import tuning

    def layer(library, kernels, filters, channels, size, stride, taps):
        out = (size - 1) // stride + 1
        return tuning.ConvLayer(
            index=0, body=f"library #pconv.patterns<3x3, taps = {taps}, {library}> kernels {kernels} : "
                          f"tensor<{filters}x{channels}xi8> strides [{stride}, {stride}] padding [1, 1, 1, 1] "
                          f"dilations [1, 1]",
            input_type=f"tensor<1x{channels}x{size}x{size}xf32>", weight_type="tensor<1xf32>", bias_type=None,
            result_type=f"tensor<1x{filters}x{out}x{out}xf32>")

    def rows(layer):
        return {t[0] for t in tuning.candidates(layer, 16)}

    full = "[[0, 1, 2, 3, 4, 5, 6, 7, 8]]"
    assert rows(layer(full, "dense<0>", 8, 8, 28, 1, 9)) == {1}
    assert max(rows(layer(full, "dense<0>", 8, 8, 14, 1, 9))) > 1
    pattern = layer("[[0, 1, 3, 4], [1, 2, 4, 5]]", "dense<[[0, 1], [1, -1]]>", 2, 2, 14, 2, 4)
    assert rows(pattern) == {1}
    depthwise = layer("[[0, 1, 3, 4]]", "dense<[[0, -1], [-1, 0]]>", 2, 2, 14, 2, 4)
    assert max(rows(depthwise)) > 1


@pytest.mark.aarch64
@pytest.mark.skipif(not HAS_QEMU, reason="needs qemu-aarch64 and the AArch64 cross compiler")
def test_shared_kernel_blocks_aarch64():
    _matches_on_aarch64(*_shared_kernel_cnn(), seed=53)


def _short_rows_cnn():
    """Rows the lowering cannot cut into whole vectors: 1x1 convs on 28 x 28,
    14 x 14 and 4 x 4 maps (784, 196 and 16 pixels: a narrower tail chunk
    ends the row), and 3x3 stride-2 convs with at most 8 outputs per row
    (the pitched form on 2 x 2 phase planes, at even and odd padded widths):
    pattern-pruned with a residual add and ReLU (added by the tiles, which
    write the output directly), depthwise, and group-shared pattern pruning; batch 2."""
    import random

    from pconv.prune import project_connectivity, project_pattern
    from pconv.testing import apply_random_patterns, random_library

    torch.manual_seed(61)
    nn = torch.nn
    rng = random.Random(61)
    library = random_library(rng)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(6, 16, 1)
            self.a = nn.Conv2d(16, 16, 3, stride=2, padding=1)
            self.b = nn.Conv2d(16, 32, 1)
            self.c = nn.Conv2d(32, 24, 3, stride=2, padding=1)
            self.short = nn.Conv2d(32, 24, 1, stride=2, bias=False)
            self.d = nn.Conv2d(24, 24, 3, stride=2, padding=1, groups=24)
            self.e = nn.Conv2d(24, 40, 1)
            self.f = nn.Conv2d(40, 16, 3, stride=2, padding=1, bias=False)

        def forward(self, x):
            x = torch.relu(self.stem(x))                   # 28 x 28
            x = torch.relu(self.b(torch.relu(self.a(x))))  # 14 x 14
            x = torch.relu(self.c(x) + self.short(x))      # 7 x 7, padded width 16
            x = nn.functional.relu6(self.d(x))             # 4 x 4, padded width 9
            return self.f(torch.relu(self.e(x)))           # 2 x 2, padded width 6

    model = Net().eval()
    apply_random_patterns(model.c, library, rng, keep=0.6)
    with torch.no_grad():
        w, _ = project_connectivity(model.f.weight, 0.5, filter_block=8)
        w, _ = project_pattern(w, library, filter_block=8)
        model.f.weight.copy_(w)
    return model, (2, 6, 28, 28)


@pytest.mark.parametrize("vector_width,tail_chunks", [(16, True), (16, False), (8, True), (4, True)])
def test_short_rows_tail_chunks_and_strided_pitch(vector_width, tail_chunks):
    model, shape = _short_rows_cnn()
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(62))
    art = pconv.compile(model, (x,), vector_width=vector_width, tail_chunks=tail_chunks)
    assert art.stats["pconv_convs"] + art.stats["dense_pconv_convs"] == 8
    assert art.stats["residual_convs"] == 1
    np.testing.assert_allclose(art.load()(x.numpy()), model(x).detach().numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.aarch64
@pytest.mark.skipif(not HAS_QEMU, reason="needs qemu-aarch64 and the AArch64 cross compiler")
def test_short_rows_aarch64():
    _matches_on_aarch64(*_short_rows_cnn(), seed=63)


def _whole_grid_cnn():
    """Convs on 7 x 7 maps, whose one task covers the whole pitched grid and
    so writes the output directly (no grid, no copy out): a pattern conv
    with a residual and ReLU, a dense conv with ReLU6 and a strided pattern
    conv on phase planes (4 x 4 out); batch 2."""
    import random

    from pconv.testing import apply_random_patterns, random_library

    torch.manual_seed(71)
    nn = torch.nn
    rng = random.Random(71)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(16, 16, 3, padding=1)
            self.b = nn.Conv2d(16, 24, 3, padding=1)
            self.c = nn.Conv2d(24, 8, 3, stride=2, padding=1)

        def forward(self, x):
            x = torch.relu(self.a(x) + x)
            return self.c(nn.functional.relu6(self.b(x)))

    model = Net().eval()
    library = random_library(rng)
    for conv in (model.a, model.c):
        apply_random_patterns(conv, library, rng, keep=0.6)
    return model, (2, 16, 7, 7)


@pytest.mark.parametrize("vector_width", [16, 8])
@pytest.mark.parametrize("tiles", [None, {0: (0, 0, 4, 0), 1: (0, 0, 8, 0, 4), 2: (0, 0, 5, 0)}],
                         ids=["model", "channel-blocks"])
def test_whole_grid_tiles_write_the_output(vector_width, tiles):
    """The tiles of a whole pitched grid store each output row's lanes with a
    shuffle and a masked store, add the residual from the output's layout and
    (with channel blocks) reload their partial sums from it: outputs match,
    and at 16 lanes (where 7-wide rows take the pitched form; at 8 they take
    the row form) no conv has a copy region out of a grid (at most one
    region without FMAs per conv: its input's padded copy)."""
    model, shape = _whole_grid_cnn()
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(72))
    art = pconv.compile(model, (x,), vector_width=vector_width, tiles=tiles)
    assert art.stats["residual_convs"] == 1
    np.testing.assert_allclose(art.load()(x.numpy()), model(x).detach().numpy(), rtol=RTOL, atol=ATOL)
    if vector_width != 16:
        return
    copies: dict[str | None, int] = {}
    for region in art.regions:
        if region["vector_fmas"] == 0:
            copies[region["source"]] = copies.get(region["source"], 0) + 1
    assert art.regions and all(n <= 1 for n in copies.values()), art.regions


def _filter_lanes_cnn():
    """1x1 convs on maps whose pixel counts fill vectors badly (7 x 7 = 49,
    a stride-2 1x1 on its compact 4 x 4 copy, 4 x 4, and 1 x 1 after a
    global pool), with filters along the vector lanes: bias or none, ReLU6,
    a residual add + ReLU, a tile run shorter than the others (49 pixels in
    runs of 6: the last has 1) and runs of fewer pixels than the
    transposition's power of two; batch 2."""
    torch.manual_seed(71)
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(96, 64, 1)
            self.skip = nn.Conv2d(96, 128, 1)
            self.b = nn.Conv2d(64, 128, 1, bias=False)
            self.c = nn.Conv2d(128, 64, 1, stride=2)
            self.d = nn.Conv2d(64, 32, 1)
            self.e = nn.Conv2d(32, 48, 1)

        def forward(self, x):
            y = nn.functional.relu6(self.a(x))
            y = torch.relu(self.b(y) + self.skip(x))
            y = torch.relu(self.d(self.c(y)))
            return self.e(nn.functional.adaptive_avg_pool2d(y, 1))

    return Net().eval(), (2, 96, 7, 7)


def _filter_lane_convs(art, vector_width: int, filter_lanes: bool) -> int:
    """How many convs of ``art`` pconv-choose-tiles puts filters along the lanes."""
    from pconv.toolchain import tool

    run = subprocess.run([tool("pconv-opt"), "-", f"--pass-pipeline=builtin.module("
                          f"pconv-choose-tiles{{vector-width={vector_width} "
                          f"filter-lanes={str(filter_lanes).lower()}}})"],
                         input=art.stages["pconv"], capture_output=True, text=True, check=True)
    return run.stdout.count("filter_lanes = 1")


@pytest.mark.parametrize("vector_width,filter_lanes", [(16, True), (16, False), (8, True)])
def test_filter_lanes(vector_width, filter_lanes):
    model, shape = _filter_lanes_cnn()
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(72))
    art = pconv.compile(model, (x,), vector_width=vector_width, filter_lanes=filter_lanes)
    assert art.stats["residual_convs"] == 1
    # The model's choice: all six convs at 16 and 8 lanes; none with the option off.
    assert _filter_lane_convs(art, vector_width, filter_lanes) == (6 if filter_lanes else 0)
    np.testing.assert_allclose(art.load()(x.numpy()), model(x).detach().numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.aarch64
@pytest.mark.skipif(not HAS_QEMU, reason="needs qemu-aarch64 and the AArch64 cross compiler")
def test_filter_lanes_aarch64():
    _matches_on_aarch64(*_filter_lanes_cnn(), seed=73)


def test_weight_streams_are_prefetched():
    """Weights that come from memory on every call are prefetched, and the
    results stay PyTorch's: a 1x1 conv at 7 x 7 with 1 MiB of weights takes
    filters along the lanes in 8 groups of 128 KiB (an eighth of the L2
    share, so the next group fits beside), each group's later runs
    prefetching the next group's weights (the last group's clamped to the
    last weight); a 3x3 pattern conv whose kept weights reach half the L2
    share (256 -> 512 at 1/2 kept: 1 MiB) prefetches its weight stream and
    channel table ahead, a small one (64 -> 64) does not; with
    prefetch_distance=0 there are no prefetches and the same results."""
    import random

    from pconv.testing import apply_random_patterns, random_library

    torch.manual_seed(81)
    nn = torch.nn

    class Lanes(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(256, 1024, 1)
            self.skip = nn.Conv2d(256, 1024, 1, bias=False)

        def forward(self, x):
            return torch.relu(self.a(x) + self.skip(x))

    lanes = Lanes().eval()
    x = torch.randn(1, 256, 7, 7)
    ref = lanes(x).detach().numpy()
    for distance in (4, 0):
        art = pconv.compile(lanes, (x,), prefetch_distance=distance)
        assert ("llvm.intr.prefetch" in art.stages["llvm"]) == (distance > 0), distance
        np.testing.assert_allclose(art.load()(x.numpy()), ref, rtol=RTOL, atol=ATOL)
    from pconv.toolchain import tool

    tiles = subprocess.run([tool("pconv-opt"), "-",
                            "--pass-pipeline=builtin.module(pconv-choose-tiles)"],
                           input=art.stages["pconv"], capture_output=True, text=True, check=True).stdout
    assert tiles.count("filter_groups = 8 : i64, filter_lanes = 1") == 2, tiles[-2000:]

    rng = random.Random(82)
    library = random_library(rng, k=8)
    for channels, filters, prefetched in ((256, 512, True), (64, 64, False)):
        conv = nn.Conv2d(channels, filters, 3, padding=1)
        apply_random_patterns(conv, library, rng, keep=0.5)
        model = nn.Sequential(conv, nn.ReLU()).eval()
        x = torch.randn(1, channels, 7, 7)
        ref = model(x).detach().numpy()
        for distance in (4, 0):
            art = pconv.compile(model, (x,), prefetch_distance=distance)
            assert ("llvm.intr.prefetch" in art.stages["llvm"]) == (prefetched and distance > 0), \
                (channels, distance)
            np.testing.assert_allclose(art.load()(x.numpy()), ref, rtol=RTOL, atol=ATOL)


def test_tuner_offers_filter_lane_tiles(tmp_path, monkeypatch):
    """Dense 1x1 convs whose filters fill vectors get filters-along-lanes
    candidates (6 fields, the last 1); a winning one reaches the lowering
    through the tiles option and the result stays exact."""
    from pconv import tuning

    monkeypatch.setenv("PCONV_CACHE_DIR", str(tmp_path))
    model, shape = _filter_lanes_cnn()
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(74))
    offered = []

    def fake_measure(layer, tiles, opts):
        lanes = [t for t in tiles if len(t) == 6 and t[5] == 1]
        offered.append(len(lanes))
        # Pixels per tile within a vector, filter blocks dividing the filters.
        filters = layer.shape(layer.result_type)[1]
        assert all(t[0] <= 16 and filters % t[4] == 0 and t[4] == 16 * t[1] for t in lanes)
        best = max(lanes, key=lambda t: (t[1], t[0])) if lanes else None
        return [0.5 if t == best else 1.0 for t in tiles]

    monkeypatch.setattr(tuning, "measure", fake_measure)
    art = pconv.compile(model, (x,), tune=True, vector_width=16)
    assert art.stats["tuned_convs"] == 6 and min(offered) > 0
    chosen = __import__("json").loads(tuning.cache_path().read_text()).values()
    assert all(len(t) == 6 and t[5] == 1 for t in chosen)
    np.testing.assert_allclose(art.load()(x.numpy()), model(x).detach().numpy(), rtol=RTOL, atol=ATOL)


def _special_bias_conv(kind: str):
    """One conv + activation whose filter 0 has a NaN bias and whose filter 1
    has no weights and a negative bias; the other filters keep one 4-tap
    pattern per kernel (3x3 kinds)."""
    torch.manual_seed(41)
    if kind == "depthwise":
        conv, act, shape = torch.nn.Conv2d(16, 16, 3, padding=1, groups=16), torch.nn.ReLU6(), (1, 16, 9, 11)
    elif kind == "pointwise":
        conv, act, shape = torch.nn.Conv2d(8, 32, 1), torch.nn.ReLU6(), (1, 8, 7, 7)
    else:
        conv, act, shape = torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), (1, 8, 12, 13)
    with torch.no_grad():
        if conv.kernel_size == (3, 3):
            patterns = [[1, 3, 4, 5], [1, 4, 5, 7], [0, 1, 3, 4], [4, 5, 7, 8]]
            mask = torch.zeros_like(conv.weight)
            for f in range(mask.shape[0]):
                for c in range(mask.shape[1]):
                    for p in patterns[(f + c) % 4]:
                        mask[f, c, p // 3, p % 3] = 1
            conv.weight *= mask
        conv.weight[1] = 0
        conv.bias[0] = float("nan")
        conv.bias[1] = -0.5
    return torch.nn.Sequential(conv, act).eval(), shape


@pytest.mark.parametrize("kind,patterns", [("pattern", True), ("dense3x3", False), ("depthwise", True),
                                           ("depthwise", False), ("pointwise", False)])
def test_activations_keep_nan_like_pytorch(kind, patterns):
    """The fused ReLU / ReLU6 epilogues are select(x < 0, 0, x) and
    select(x > 6, 6, x) (one max / min instruction each), not
    arith.maximumf / minimumf: a NaN accumulator must stay NaN, as in
    PyTorch, and a filter without kernels gives relu(bias)."""
    model, shape = _special_bias_conv(kind)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(42))
    art = pconv.compile(model, (x,), import_pattern_convs=patterns)
    assert (art.stats["pconv_convs"] > 0) == patterns
    y = art.load()(x.numpy())
    ref = model(x).detach().numpy()
    assert np.isnan(ref[:, 0]).all() and np.isnan(y[:, 0]).all()
    assert (ref[:, 1] == 0).all() and (y[:, 1] == 0).all()
    np.testing.assert_allclose(y, ref, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("last", ["pattern", "dense"])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("vector_width", [16, 8])
def test_streaming_stores_match(vector_width, threads, last, monkeypatch):
    """A returned conv result of at least ``streaming_bytes`` is written with
    non-temporal stores where its buffer is vector-aligned at run time, each
    parallel task ending with an sfence: into an aligned buffer (the Python
    runtime's) and into a misaligned one (the plain-store branch), for a
    pattern conv and a dense 1x1 conv on the flat row; the same numbers as
    PyTorch and as without streaming (the convs before, whose results the
    next conv reads, never stream)."""
    import random

    import pconv.runtime
    from pconv.testing import apply_random_patterns, random_library

    rng = random.Random(5)
    torch.manual_seed(5)
    library = random_library(rng)
    layers = [
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),    # 32 columns: whole vectors
        torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(16, 16, 1), torch.nn.ReLU(),             # dense, flat row
        torch.nn.Conv2d(16, 16, 3, padding=1),
    ]
    # The result: the pattern conv, or the dense 1x1 conv.
    model = torch.nn.Sequential(*(layers if last == "pattern" else layers[:-1])).eval()
    for m in layers:
        if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3):
            apply_random_patterns(m, library, rng, keep=0.7)
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref = model(x).numpy()
    streamed = pconv.compile(model, (x,), vector_width=vector_width, threads=threads, streaming_bytes=1)
    plain = pconv.compile(model, (x,), vector_width=vector_width, threads=threads, streaming_bytes=0)
    assert "nontemporal" in streamed.stages["llvm"] and "llvm.x86.sse.sfence" in streamed.stages["llvm"]
    assert "nontemporal" not in plain.stages["llvm"] and "sfence" not in plain.stages["llvm"]
    fn = streamed.load()
    y = fn(x.numpy())
    np.testing.assert_allclose(y, ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(y, plain.load()(x.numpy()))

    aligned_empty = pconv.runtime._aligned_empty

    def misaligned_empty(shape, dtype):
        # 4 bytes past a 64-byte boundary: never vector-aligned.
        raw = aligned_empty((int(np.prod(shape)) + 1,), dtype)
        out = raw[1:].reshape(shape)
        assert out.ctypes.data % 64 == 4
        return out

    monkeypatch.setattr(pconv.runtime, "_aligned_empty", misaligned_empty)
    np.testing.assert_array_equal(fn(x.numpy()), y)


def test_streaming_bytes_is_checked():
    with pytest.raises(ValueError, match="streaming_bytes"):
        pconv.CompileOptions(streaming_bytes=-1)


def _stem_cnn(activation: str, bias: bool):
    """ResNet's stem: a 7x7 / 2 conv (3 -> 24), its activation, the 3x3 / 2
    max-pool with padding 1, then a residual block on the pooled map (a
    3x3 conv reading it zero-padded, the pooled map added back): the pooled
    output is written into that conv's padded input and read as a residual
    view. Without an activation the pool sees negative values, so the
    padding must never win."""
    torch.manual_seed(73)
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(3, 24, 7, 2, 3, bias=bias)
            self.pool = nn.MaxPool2d(3, 2, 1)
            self.conv = nn.Conv2d(24, 24, 3, 1, 1)

        def forward(self, x):
            y = self.stem(x)
            if activation == "relu":
                y = torch.relu(y)
            elif activation == "relu6":
                y = nn.functional.relu6(y)
            y = self.pool(y)
            return torch.relu(self.conv(y) + y)

    return Net().eval()


@pytest.mark.parametrize("vector_width", [16, 8, 0])
@pytest.mark.parametrize("activation,bias,shape,epilogue", [
    ("relu", True, (1, 3, 64, 64), True),     # pooled rows of 16: whole vectors
    ("relu6", False, (2, 3, 56, 56), True),   # 14 pooled columns: masked stores; batch 2
    ("none", True, (1, 3, 128, 128), True),   # negative values meet the -inf padding
    ("relu", True, (1, 3, 30, 30), False),    # 15x15 conv output: the pool is split off
    ("none", True, (1, 3, 40, 40), False),    # 20 columns: a tail chunk, split off
])
def test_stem_pool_in_the_epilogue(vector_width, activation, bias, shape, epilogue):
    """A dense conv followed by a 3x3 / 2 max-pool with padding 1 takes the
    pool into its epilogue (pconv-fuse-activation, pool_strides /
    pool_padding) and, where the conv's output is even, computes it there
    (no pooling region left); elsewhere the pool is split off again. Outputs
    match PyTorch's either way (and in the reference loops, which split it
    off). Against the pool left unfused: with the epilogue no region fills a
    padded map or pools (and there are fewer regions); the split-off pool
    leaves as many regions as before."""
    model = _stem_cnn(activation, bias)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(74))
    art = pconv.compile(model, (x,), vector_width=vector_width)
    assert art.stats["pooled_convs"] == 1
    np.testing.assert_allclose(art.load()(x.numpy()), model(x).detach().numpy(), rtol=RTOL, atol=ATOL)
    unfused = pconv.compile(model, (x,), vector_width=vector_width, fuse_pool=False)
    assert unfused.stats["pooled_convs"] == 0
    if not epilogue or vector_width == 0:
        assert len(art.regions) == len(unfused.regions), (art.regions, unfused.regions)
    else:
        assert len(art.regions) < len(unfused.regions), (art.regions, unfused.regions)
        pooling = {"tensor.pad", "linalg.fill", "linalg.pooling_nchw_max"}
        assert not [r for r in art.regions if r["op"] in pooling], art.regions


class _PaddedProducers(torch.nn.Module):
    """Every kind of producer that writes its consumer's zero-padded input:
    a dense 7x7 / 2 stem whose 3x3 / 2 max-pool runs in its epilogue, a
    dense 3x3 conv (pitched), pattern convs over a map wider than one column
    chunk (two chunks, several row blocks), a residual block and a 1x1 conv
    with its filters along the vector lanes (runs of pixels)."""

    def __init__(self, c: int = 16):
        super().__init__()
        nn = torch.nn
        self.stem = nn.Conv2d(3, c, 7, stride=2, padding=3)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.dense = nn.Conv2d(c, c, 3, padding=1)
        self.convs = nn.ModuleList(nn.Conv2d(c, c, 3, padding=1) for _ in range(3))
        self.expand = nn.Conv2d(c, 4 * c, 1)
        self.last = nn.Conv2d(4 * c, c, 3, padding=1)

    def forward(self, x):
        relu = torch.relu
        y = relu(self.convs[0](self.pool(relu(self.stem(x)))))
        y = relu(self.dense(y))
        y = relu(self.convs[2](relu(self.convs[1](y))) + y)
        return relu(self.last(relu(self.expand(y))))


_PERTURBED_RUN = """
import sys
import numpy as np
import pconv
fn = pconv.load(sys.argv[1])
data = np.load(sys.argv[2])
for i in range(3):
    np.testing.assert_allclose(fn(data["x%d" % i]), data["y%d" % i], rtol=1e-4, atol=1e-4)
print("ok")
"""


def _copies_of(art, weights_shape: str) -> int:
    """Parallel regions without FMAs lowered from the conv with these weights."""
    return sum(1 for r in art.regions if weights_shape in r["label"] and r["vector_fmas"] == 0)


@pytest.mark.parametrize("filter_lanes", [1, 0])
def test_padded_halo_written_by_producers(tmp_path, filter_lanes):
    """Producers that write into a consumer's zero-padded input also write its
    halo (no fill runs first), a flat 1x1 conv (filters along the lanes or a
    pixel tile) its runs of pixels across rows: run in a process whose
    allocations glibc fills with garbage (MALLOC_PERTURB_), three calls
    against PyTorch, so a halo element no tile writes shows up as a wrong
    result. The last conv copies nothing (with write_padded=False it copies
    its input into a padded buffer)."""
    import os
    import random
    import sys

    from pconv.testing import apply_random_patterns, random_library

    torch.manual_seed(47)
    model = _PaddedProducers().eval()
    rng = random.Random(47)
    library = random_library(rng)
    for conv in [*model.convs, model.last]:
        apply_random_patterns(conv, library, rng, keep=0.6)
    shape = (1, 3, 40, 608)  # 152 columns after the stem: two column chunks
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(17))
    # The 1x1 conv is walk-order index 5.
    tiles = {5: (0, 0, 0, 0, 0, filter_lanes)}
    art = pconv.compile(model, (x,), tiles=tiles)
    assert art.stats["pconv_convs"] == 4 and art.stats["dense_pconv_convs"] == 3, art.stats
    last = "16x64x3x3"
    assert _copies_of(art, last) == 0, art.regions
    assert _copies_of(pconv.compile(model, (x,), tiles=tiles, write_padded=False), last) == 1
    art.save(tmp_path / "art")
    data = {}
    for i in range(3):
        xi = torch.randn(*shape, generator=torch.Generator().manual_seed(20 + i))
        with torch.no_grad():
            data[f"x{i}"], data[f"y{i}"] = xi.numpy(), model(xi).numpy()
    np.savez(tmp_path / "data.npz", **data)
    env = dict(os.environ, MALLOC_PERTURB_="165")
    run = subprocess.run([sys.executable, "-c", _PERTURBED_RUN, str(tmp_path / "art"), str(tmp_path / "data.npz")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0 and "ok" in run.stdout, run.stderr[-3000:]
