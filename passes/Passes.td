//===- Passes.td - PConv passes ------------------------------*- tablegen -*-===//
//
// All PConv passes. Grouped under banners, alphabetical inside a group;
// command-line names carry the `pconv-` prefix.
//
//===----------------------------------------------------------------------===//

#ifndef PCONV_PASSES_PASSES_TD
#define PCONV_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Import
//===----------------------------------------------------------------------===//

def AttachWeightsPass : Pass<"pconv-attach-weights", "ModuleOp"> {
  let summary = "Attach the blobs of dense_resource weights from a weights file";
  let description = [{
    The Python front end hands a model to `pconv-opt` as text whose
    `dense_resource<...>` weights have no inline data (a textual round trip of
    VGG-16's 138M weights would be about a gigabyte of hex). The data lives in
    a separate weights file (`.pcw`: magic `PCONVW01`, a little-endian u64
    header length, a JSON index listing each tensor's name, offset and byte size,
    then the data section from the next 64-byte boundary, with offsets relative
    to it and 64-byte aligned). This pass memory-maps that file and makes every
    resource of the module named in it point into the mapping, without copying.
    A resource whose byte size differs from the file's entry is an error.
  }];
  let options = [
    Option<"file", "file", "std::string", /*default=*/"\"\"",
           "Path of the .pcw weights file">,
  ];
  let statistics = [
    Statistic<"numAttached", "num-attached", "Number of resources attached">,
  ];
}

def ImportLinalgPass : Pass<"pconv-import-linalg", "func::FuncOp"> {
  let summary = "Rewrite pattern-sparse linalg convolutions into pconv.conv2d";
  let description = [{
    Finds `linalg.conv_2d_nchw_fchw` and `linalg.depthwise_conv_2d_nchw_chw`
    whose filter is a constant (`dense` or
    `dense_resource`, as torch-mlir emits) and pattern-sparse: every kernel is
    either all zero or keeps its non-zeros inside one pattern of a library. The
    library is inferred from the weights (the distinct supports with the most
    taps, most frequent first) unless one is given with `library=`. The
    `tensor.pad` producing the input (zero padding of H and W) and the
    `linalg.broadcast` of a per-filter bias producing the init are absorbed.
    Anything that cannot be proven pattern-sparse stays on the dense path; the
    reason is emitted as a remark with `remarks=true` and under
    `-debug-only=pconv-import-linalg`. With `dense=true` such convolutions are
    imported too, with a single full-kernel pattern, so the vectorized pconv
    lowering computes them (all-zero kernels are still skipped, except with
    `patterns=false`: then nothing sparse is exploited and every kernel is
    computed, as a dense engine would).

    A depthwise conv (C channels, one kernel per channel) becomes the
    `pconv.conv2d` whose filter f keeps one kernel, on input channel f (a
    diagonal C x C kernel table), so pattern-pruned depthwise kernels use the
    same patterns, schedule and vector lowering as full convs.

    Before:
    ```mlir
    %p = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] { ... yield %zero }
    %b = linalg.broadcast ins(%bias : tensor<8xf32>) outs(%e) dimensions = [0, 2, 3]
    %y = linalg.conv_2d_nchw_fchw ins(%p, %w : ...) outs(%b : ...)
    ```
    After:
    ```mlir
    %y = pconv.conv2d %x, %packed bias(%bias) library #pconv.patterns<...>
           kernels dense<...> : tensor<8x3xi8> strides [1, 1]
           padding [1, 1, 1, 1] dilations [1, 1] : (...) -> tensor<...>
    ```
  }];
  let options = [
    Option<"library", "library", "std::string", /*default=*/"\"\"",
           "Pattern library to use, as #pconv.patterns<...> text; inferred "
           "from each layer's weights when empty">,
    Option<"maxPatterns", "max-patterns", "unsigned", /*default=*/"32",
           "Largest inferred library accepted as pattern-sparse">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark for every convolution left on the dense path">,
    Option<"patterns", "patterns", "bool", /*default=*/"true",
           "Import pattern-sparse convolutions">,
    Option<"dense", "dense", "bool", /*default=*/"false",
           "Also import convolutions that are not pattern-sparse, as one full "
           "kernel pattern (zero kernels skipped unless patterns=false), so they take the "
           "vectorized pconv lowering instead of upstream loops">,
    Option<"depthwise", "depthwise", "bool", /*default=*/"true",
           "Import depthwise convolutions too (as diagonal pconv.conv2d)">,
  ];
  let statistics = [
    Statistic<"numConverted", "num-converted",
              "Pattern-sparse convolutions rewritten to pconv.conv2d">,
    Statistic<"numDenseImported", "num-dense-imported",
              "Other convolutions imported with a full kernel pattern">,
    Statistic<"numDense", "num-dense", "Convolutions left on the dense path">,
    Statistic<"numDepthwise", "num-depthwise",
              "Depthwise convolutions among the imported ones">,
  ];
  let dependentDialects = ["pconv::PConvDialect", "arith::ArithDialect",
                           "tensor::TensorDialect"];
}

def FuseElementwisePass : Pass<"pconv-fuse-elementwise", "func::FuncOp"> {
  let summary = "Fuse chains of elementwise linalg.generic ops";
  let description = [{
    Upstream elementwise fusion (`linalg::populateElementwiseOpsFusionPatterns`)
    restricted to single-use, all-parallel producers feeding all-parallel
    consumers: ReLU6's max and min generics, a residual add and its ReLU, a
    bias add and its activation become one generic, i.e. one pass over the
    activation once vectorized. Reductions (pooling) and contractions (linear
    layers) are not fused into, so they keep the named or simple forms that
    `pconv-vectorize-dense` lowers.
  }];
  let dependentDialects = ["linalg::LinalgDialect"];
}

def ElementwiseInPlacePass : Pass<"pconv-elementwise-in-place", "func::FuncOp"> {
  let summary = "Let elementwise generics write over an input that dies there";
  let description = [{
    torch-mlir gives every elementwise `linalg.generic` a fresh `tensor.empty`
    destination, so bufferization allocates a new buffer even when an input
    of the same type is used by that op only (a ReLU6 after a conv, a residual
    add): both are live at once. This pass makes such an input the
    destination (all-parallel op, identity maps, destination value unread),
    so one-shot bufferization computes the op in place.

    ```mlir
    %e = tensor.empty() : tensor<1x8x4x4xf32>
    %r = linalg.generic {...} ins(%conv : tensor<1x8x4x4xf32>) outs(%e : tensor<1x8x4x4xf32>) {...}
    // becomes
    %r = linalg.generic {...} ins(%conv : tensor<1x8x4x4xf32>) outs(%conv : tensor<1x8x4x4xf32>) {...}
    ```
  }];
  let statistics = [
    Statistic<"numInPlace", "num-in-place", "Elementwise generics given an input as destination">,
  ];
}

def FuseActivationPass : Pass<"pconv-fuse-activation", "func::FuncOp"> {
  let summary = "Fuse a residual add, ReLU and ReLU6 that consume a pconv.conv2d into its epilogue";
  let description = [{
    Finds elementwise `linalg.generic` ops whose only input is the single-use
    result of a `pconv.conv2d` and whose body is a ReLU, in either form
    torch-mlir emits (`arith.maximumf %x, 0` or `arith.select` of
    `arith.cmpf ugt/ogt %x, 0`), and sets the conv's `relu` flag instead, so
    the activation is applied in registers before the single store of each
    output and the intermediate tensor is never written. The zero may also
    be a scalar-broadcast 0-d constant input (torch-mlir's ReLU6 / clamp
    form). A following `min(x, c)` with c > 0 on such a fused conv (ReLU6:
    `arith.minimumf`, or torch-mlir's `select(cmpf olt c, x; c, x)`) sets
    `relu_max = c`: clamped ReLUs are fused too.

    Residual adds: an elementwise `linalg.generic` adding two tensors of the
    same type (identity maps), one of them the single-use result of a conv
    with no activation yet, becomes that conv's `residual` operand (the conv
    moves down to the add, where the other operand is defined); a ReLU after
    the add is then fused as above. A residual block's
    `relu(conv(x) + shortcut)` is then one op: the conv's sum is never
    stored and re-read.

    Max-pools (`pool`): a `linalg.pooling_nchw_max` (dilations 1, strides
    at most the window, `-inf` init) over the single-use result of a conv
    without a residual, read directly or through a single-use `tensor.pad`
    with `-inf` of its rows and columns (each pad less than the window),
    becomes the conv's `max_pool` window (with `pool_strides` where they
    differ from the window and `pool_padding` for the pad) and the conv
    returns the pooled tensor. Non-overlapping windows without padding must
    tile the conv's output exactly (VGG's 2x2 / 2 pools); overlapping ones
    (ResNet's 3x3 / 2 pool with padding 1) follow the pool's floor. The
    vector lowering pools a pattern tile's row pairs in registers (2 x 2
    windows) and takes a dense conv's 3x3 / 2 pool with padding 1 into its
    epilogue (even output, see pconv-lower-to-vectors); elsewhere (other
    windows, pitched tiles, channel blocks) and in the reference lowering
    the pool is split off again (a `-inf` pad where it had padding), so the
    fusion never changes results.

    Before:
    ```mlir
    %y = pconv.conv2d %x, %w ... : (...) -> tensor<1x8x6x6xf32>
    %r = linalg.generic {...} ins(%y : ...) outs(%e : ...) {
      ^bb0(%in: f32, %out: f32):
        %c = arith.cmpf ugt, %in, %zero : f32
        %s = arith.select %c, %in, %zero : f32
        linalg.yield %s : f32 } -> tensor<1x8x6x6xf32>
    ```
    After:
    ```mlir
    %r = pconv.conv2d %x, %w ... relu : (...) -> tensor<1x8x6x6xf32>
    ```
  }];
  let statistics = [
    Statistic<"numFused", "num-fused", "Activations fused into pconv.conv2d">,
    Statistic<"numClamped", "num-clamped", "Upper bounds (ReLU6) fused as relu_max">,
    Statistic<"numResidual", "num-residual", "Residual adds fused as a residual operand">,
    Statistic<"numPooled", "num-pooled", "Max-pools fused as max_pool">,
  ];
  let options = [
    Option<"fuseResidual", "residual", "bool", /*default=*/"true",
           "Fuse residual adds (conv + tensor) into the conv's epilogue">,
    Option<"fusePool", "pool", "bool", /*default=*/"true",
           "Fuse max-pools of a conv's result (over it or its -inf padded copy) into its epilogue">,
  ];
}

//===----------------------------------------------------------------------===//
// Lowering
//===----------------------------------------------------------------------===//

def SparseLinearPass : Pass<"pconv-sparse-linear", "func::FuncOp"> {
  let summary = "Block-sparse linear layers: only the kept weight blocks are stored and read";
  let description = [{
    Finds torch-mlir's linear layers, `linalg.matmul(A, linalg.transpose(W))`
    on tensors with W an f32 constant (N x K), cuts every row of W into
    blocks of `block` consecutive columns and, when at least `min-sparsity`
    of the blocks are all zero (`pconv.prune.prune_linear` makes them so),
    replaces the product by loops on buffers that read only the kept blocks:
    a CSR table of blocks per output row (row pointers and first columns,
    i32), the blocks' values (zero-padded past K), per output one vector
    load of W and of A and one FMA per kept block and a reduction at the end.
    At batch 1 a linear layer streams W from memory once per inference, so
    the time and the artifact shrink with the kept fraction. The dense W and
    its transpose become dead. Not part of the default pipeline
    (`sparse-linear` of `pconv-to-llvm`, `sparse_linear` in Python).

    Before:
    ```mlir
    %t = linalg.transpose ins(%w : tensor<32x64xf32>) outs(...) permutation = [1, 0]
    %y = linalg.matmul ins(%x, %t : tensor<1x64xf32>, tensor<64x32xf32>) outs(%zero : tensor<1x32xf32>) -> tensor<1x32xf32>
    ```
    After: an `scf.parallel` over chunks of output rows, `vector.load` +
    `vector.fma` per kept block, `vector.reduction <add>` per output, the
    result a `bufferization.to_tensor restrict` of the output buffer.
  }];
  let options = [
    Option<"block", "block", "unsigned", /*default=*/"16",
           "Weights per block (consecutive inputs of one output; the vector width)">,
    Option<"minSparsity", "min-sparsity", "double", /*default=*/"0.5",
           "Fraction of empty blocks below which a product stays dense">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark per product saying whether it was made sparse">,
  ];
  let dependentDialects = ["arith::ArithDialect", "bufferization::BufferizationDialect",
                           "memref::MemRefDialect", "scf::SCFDialect",
                           "vector::VectorDialect"];
  let statistics = [
    Statistic<"numSparse", "num-sparse", "Linear layers lowered block-sparse">,
    Statistic<"numKeptBlocks", "num-kept-blocks", "Weight blocks stored">,
  ];
}

def LowerToLoopsPass : Pass<"pconv-lower-to-loops", "func::FuncOp"> {
  let summary = "Reference lowering of pconv.conv2d to parallel loops on buffers";
  let description = [{
    Lowers every `pconv.conv2d` to loops over memrefs, branch-free and without
    any multiplication by a mask:

    - the op's kernel table is compiled into a CSR-like schedule: for filter
      `f` and pattern `p`, the kept kernels with that pattern (input channel
      and offset of their packed weights), stored as constant tables;
    - for every filter (`scf.parallel`, so OpenMP can spread filters over
      threads), the output is initialised with the bias, then for every
      pattern `p` (unrolled at compile time) a loop over its kernels loads the
      pattern's `taps` weights once and runs straight-line tap code over the
      output pixels. Pruned kernels do not appear in the schedule at all.

    The input is copied once into a zero-padded buffer so the inner loops have
    no bounds checks. The result re-enters tensor land through
    `bufferization.to_tensor restrict`, so one-shot bufferization applies to the
    rest of the function.
  }];
  let dependentDialects = ["arith::ArithDialect", "bufferization::BufferizationDialect",
                           "linalg::LinalgDialect", "memref::MemRefDialect",
                           "scf::SCFDialect", "tensor::TensorDialect",
                           "vector::VectorDialect"];
  let statistics = [
    Statistic<"numLowered", "num-lowered", "pconv.conv2d ops lowered">,
  ];
}

def LowerToVectorsPass : Pass<"pconv-lower-to-vectors", "func::FuncOp"> {
  let summary = "Vectorized, register-blocked lowering of pconv.conv2d";
  let description = [{
    Lowers `pconv.conv2d` ops to output-stationary vector code:

    - output width is spread across vector lanes; a register tile of
      `R` output rows x `V` vectors of one filter stays in registers (loop
      iter_args) while every kept kernel of that filter is applied, so each
      output element is written exactly once, after its bias;
    - kernels come from the per-filter, per-pattern schedule (see
      `pconv-lower-to-loops`): one loop per pattern, straight-line taps,
      each tap weight broadcast once per kernel; constant weights (used by
      this op alone) are repacked in schedule order, so kernel `e`'s taps
      start at `e * taps`: no weight-offset table, no offset load per
      kernel, weights read in order;
    - load-redundancy elimination: inside a kernel, an input vector is
      loaded once and feeds every (row, tap) of the tile that reads it (rows
      r and r+1 share input rows through taps of different heights);
    - output rows of at most half a vector at stride 1 are computed on the
      flat padded map (a grid `pitch` wide, one zero gap between input rows
      serving as the right and left padding, taps at flat offsets
      dy * pitch + dx, one flat row of vectors; the columns past the output
      width are dropped when the grid is copied to the result, or, where
      one task covers the whole grid (7x7 maps), when each output row's
      lanes are shuffled to the front and stored with a mask straight into
      the result), and so are
      dense convs at stride 1 wherever the grid fills more lanes than rows
      (56x56, 28x28 maps); at stride 2
      (undilated, filters with more than one kernel) the same on the 2 x 2
      phase planes of the padded map (even/odd rows x even/odd columns, each
      a flat grid half as wide): tap (dy, dx) reads plane (dy % 2, dx % 2)
      at (dy / 2) * pitch + dx / 2;
    - a tile of at most 4 accumulators (such a grid of 1 x 4 vectors) in
      filters of more than one kernel sums alternate taps into a second
      set of accumulators, added before the epilogue: twice the independent
      FMA chains;
    - the input is copied once into a zero-padded buffer wide and tall
      enough for whole tiles, so loads need no bounds checks; at column
      stride s its columns are split into s phases (column x at phase x % s,
      position x / s), so the taps of consecutive outputs stay contiguous
      vectors at any stride; partial output vectors use masked stores;
      unless its producer (a conv, pattern or dense, with no other user)
      wrote its output straight into that buffer (`write-padded`): then
      the producer's tiles also write the buffer's halo beside the rows
      they store (left of a row in the first column chunk, right of it in
      the last, the rows above and below the map in the tiles holding its
      first and last rows), so no fill runs first and the thread that
      writes a row writes the halo lines it shares;
    - cache blocking (off by default; `cache-bytes` or `pconv.tile`): input
      channels are cut into blocks whose tile input rows fit `cache-bytes`; a
      task runs block by block, and inside a block
      every filter of its group applies that block's kernels to the same
      few input rows (L1 hits); the partial sums of a tile go to the output
      between blocks, and bias / ReLU happen in the first / last block;
    - a residual operand is added to a tile's accumulators after its
      channel loop (in the last block), not loaded as their starting value:
      a residual tile not yet in L1 would hold up every FMA chain of the
      tile, whereas loaded at the end its latency overlaps the next tile's
      FMAs;
    - software prefetch (`prefetch-distance`, 4 by default): a filter's
      kernels visit input channels in no order the hardware prefetcher
      follows, so each kernel prefetches into L1 the tile input rows of the
      kernel that many schedule entries ahead (per-kernel patterns at stride
      1 on a row-form padded copy; shared-kernel blocks at any stride).
      Weights that come from memory on every call are prefetched too (any
      non-zero `prefetch-distance`): a pattern conv whose kept weights reach
      half of `row-block-bytes` prefetches its weight stream and channel
      table 1 KiB ahead of each kernel (the hardware prefetcher restarts at
      every 4 KiB page), and a filter-lane 1x1 conv's runs after a group's
      first prefetch the next group's weights into L2, one line per channel
      iteration;
    - streaming stores (`streaming-bytes`, 4 MiB by default): a conv whose
      result the function returns (nothing else reads it), of at least that
      many bytes, in rows of whole vectors, with one channel block and not
      on a pitched grid, stores each whole tile vector non-temporally
      (aligned, around the caches, no read for ownership) when the buffer's
      first element is vector-aligned at run time, plainly otherwise;
      `pconv-fence-streaming-stores` then ends each task with an sfence;
    - L2 blocking of row blocks (`row-block-bytes`, 1 MiB by default): a
      pattern conv's tile takes fewer rows while one row block's padded
      input rows over all channels exceed it, so the rows a task's filters
      re-read kernel after kernel stay in L2;
    - parallel tasks are (image, row block, column chunk, filter group)
      (`scf.parallel`, OpenMP); filters are split into contiguous groups of
      equal kept work (taps), not equal filter counts, with enough groups
      for `min-tasks` tasks;
    - the tile and blocking come from a model (options below) unless the op
      carries `pconv.tile = {rows = R, vectors = V, channel_block = B,
      filter_groups = G}` (any subset; the auto-tuner writes it), and the
      schedule from `pconv-group-patterns` when the op carries one.

    Dense convs (every kernel kept with all its taps: `pconv-import-linalg`'s
    `import-dense` form, e.g. 1x1 convs) take a different register tile:
    `filter_block` filters x R rows x V vectors, looping over all input
    channels and taps, so each input vector feeds every filter of the block
    and each broadcast weight every pixel vector of the tile (a
    register-blocked matmul for 1x1 convs). Weights are repacked at compile
    time to [F / filter_block][C][taps][filter_block]. A 1x1 conv at stride 1
    without padding reads its input in place as one flat row of H x W
    pixels per channel (no padded copy; partial vectors masked). The model
    picks the (R, V, filter_block) with the most FMAs per load within
    `dense-accumulators` (flat and pitched tiles) or `max-accumulators` (the
    row form, whose taps' input vectors stay live across taps); tasks are (image, row block, column chunk, filter
    block). A row that is not a multiple of the tile's V vectors ends in a
    narrower tail chunk (`tail-chunks`; 14 x 14 = 196 pixels at V = 5: 5 + 5
    + 3 vectors, not 3 x 5), its code built separately under
    `chunk == last`. A 1x1 conv at a larger stride without padding first copies the
    pixels it reads into such a flat row.

    A dense conv with a fused 3x3 / 2 `max_pool` with padding 1 (ResNet's
    stem; `pconv-fuse-activation`), an even output, tiles of an even row
    count that cover its height, one channel block and no tail chunk, pools
    in its epilogue: tasks are (image, filter block), each walking the map
    down row block by row block; a tile's activated outputs go to an L1
    scratch of R + 1 rows per filter (row 0 carries the previous block's
    last row, column 0 is the pool's `-inf` padding), then each pooled row
    is the max of three scratch rows and of the even / odd lanes of their
    columns, stored straight into the pooled result (or its consumer's
    padded input). The 112 x 112 map is never written and its `-inf` padded
    copy never filled: ResNet-18 0.97x the time at 1 thread. Other pools of
    dense convs are split off again.

    Filters along the lanes (`filter-lanes`, on by default): a dense 1x1 conv
    without padding whose filters fill whole vectors, on a map whose pixel
    count fills them badly (7 x 7 = 49 pixels: 4 vectors of 16, 77% of the
    lanes), may instead take a tile of P pixels x V vectors of filters
    (`rows` = P <= vector width, `vectors` = V, `filter_block` = V x width,
    `filter_lanes = 1`), where the model scores it above the pixel tile:
    per channel, V weight vectors (weights repacked to [F / filter_block][C]
    [filter_block]) and P broadcast inputs feed P x V FMAs; tasks are
    (image, filter group, run of P pixels), runs inner so that consecutive
    tasks reuse a group's weights, the last run shorter where P does not
    divide the pixels. The tile is transposed in registers
    (log2 of the power of two covering P stages of two-input shuffles) and
    each filter's P pixels are stored as one vector (masked when P is not a
    power of two); bias is loaded as vectors, and the residual and the
    activation apply on those per-filter runs. With `write-padded`, such a
    conv (P no longer than a row) writes into its consumer's zero-padded
    input too, as does a flat 1x1 conv with the pixel tile (one channel
    block, a vector no longer than a row): a run of pixels that crosses a
    row end is two masked stores, the second one the halo's width further
    on; the run that ends a row zeroes the halo between it and the next
    row, the map's first and last runs the rows above and below it.

    Convs whose filters share their kernels in blocks (group-shared pattern
    pruning: every run of G consecutive filters keeps the same kernels with
    the same patterns, G in 16, 8, 4, 2) take the same filter-blocked tile
    with a filter block dividing G and the pattern convs' accumulator budget
    (`max-accumulators`), one loop per pattern over the block's kept kernels
    (tables of their channels and of each pattern's run), weights repacked
    to [kernel][taps][filter_block] in that order, and a prefetch of the
    tile input two kernels ahead.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "unsigned", /*default=*/"16",
           "f32 lanes per vector (16: AVX-512, 8: AVX2, 4: NEON)">,
    Option<"maxAccumulators", "max-accumulators", "unsigned", /*default=*/"16",
           "Pattern convs, and dense convs in the row form (neither flat "
           "nor pitched): upper bound on the accumulator vectors of a "
           "register tile (16 of 32 registers: the taps' inputs and weights "
           "need the rest)">,
    Option<"denseAccumulators", "dense-accumulators", "unsigned",
           /*default=*/"24",
           "Flat (1x1) and pitched dense convs: upper bound on the "
           "filter_block x R x V accumulator vectors of a register tile">,
    Option<"maxVectorsPerRow", "max-vectors-per-row", "unsigned",
           /*default=*/"8", "Upper bound on V, the vectors of a tile row">,
    Option<"maxRows", "max-rows", "unsigned", /*default=*/"16",
           "Upper bound on R, the output rows of a pattern conv's tile">,
    Option<"cacheBytes", "cache-bytes", "unsigned", /*default=*/"0",
           "Bytes of tile input rows a channel block may occupy (L1 share); "
           "0: no channel blocking (measured faster on VGG-16 and ResNet-18 here)">,
    Option<"rowBlockBytes", "row-block-bytes", "unsigned", /*default=*/"1048576",
           "The L2 share a task re-reads. Pattern convs: fewer rows per "
           "tile while one row block's padded input rows over all channels "
           "exceed it; filter-lane 1x1 convs: more filter groups while a "
           "group's weights exceed an eighth of it; pattern convs whose "
           "kept weights reach half of it prefetch them; 0: no limit">,
    Option<"minTasks", "min-tasks", "unsigned", /*default=*/"32",
           "Parallel tasks to aim for (filter groups are added until reached)">,
    Option<"denseCacheBytes", "dense-cache-bytes", "unsigned", /*default=*/"24576",
           "Dense convs: bytes of tile input rows a channel block may occupy">,
    Option<"tailChunks", "tail-chunks", "bool", /*default=*/"true",
           "Dense and shared-kernel convs: a width that is not a multiple of "
           "the tile's vectors ends in a narrower tail chunk instead of "
           "masked whole vectors past its end">,
    Option<"filterLanes", "filter-lanes", "bool", /*default=*/"true",
           "Dense 1x1 convs without padding whose filters fill whole vectors "
           "may put filters along the lanes (a tile of pixels x filter "
           "vectors, transposed into the output) where the model scores it "
           "above the pixel tile">,
    Option<"shiftedCopies", "shifted-copies", "bool", /*default=*/"false",
           "At stride 1, copy the padded input once per kernel column shift "
           "so that every tap load is an aligned vector">,
    Option<"alignedLoads", "aligned-loads", "bool", /*default=*/"true",
           "Pattern convs read the padded input only with aligned vectors: "
           "a tap vector that straddles two is a lane shuffle of both "
           "(one port-5 uop: valignd or vpermt2ps) instead of a load split "
           "across cache lines">,
    Option<"mixedShifts", "mixed-shifts", "bool", /*default=*/"true",
           "With aligned-loads, at stride 1 and in tiles of at most 4 "
           "vectors per row: every other straddling tap vector (odd input "
           "row + tile vector) is an unaligned load instead of a lane "
           "shuffle, so shuffles and loads share the work (Zen 4: 1.13-1.17x "
           "on stride-1 layers of 7x7 to 56x56)">,
    Option<"directLoads", "direct-loads", "bool", /*default=*/"true",
           "Convs whose filters keep at most one kernel (depthwise) at column "
           "stride 1 or 2 read the input in place with masked loads instead "
           "of a padded copy; row blocks inside the input's rows run a copy "
           "of the task code without row checks">,
    Option<"prefetchDistance", "prefetch-distance", "unsigned",
           /*default=*/"4",
           "Pattern convs reading a row-form padded copy (per-kernel "
           "patterns at stride 1; shared-kernel blocks at any stride): each "
           "kernel prefetches the tile input rows of the kernel this many "
           "entries ahead in its schedule into L1; 0: no prefetches">,
    Option<"writePadded", "write-padded", "bool", /*default=*/"true",
           "A conv (pattern, dense, flat 1x1) whose result feeds "
           "one stride-1 conv that reads a row-form zero-padded copy of its "
           "input writes "
           "its output into that padded buffer directly (its tiles zero "
           "the halo beside their rows), "
           "and the consumer skips the copy; later convs that add the result "
           "as their residual (not on a flat 1x1 row) read the buffer's "
           "interior in place">,
    Option<"streamingBytes", "streaming-bytes", "int64_t",
           /*default=*/"4194304",
           "Convs (pattern or dense, one channel block, not on a pitched "
           "grid) whose result the function returns, of at least this many "
           "bytes, store their tiles' whole vectors with non-temporal "
           "(streaming) stores when the result's buffer turns out "
           "vector-aligned at run time; 0: never">,
  ];
  let dependentDialects = ["arith::ArithDialect", "bufferization::BufferizationDialect",
                           "linalg::LinalgDialect", "memref::MemRefDialect",
                           "scf::SCFDialect", "vector::VectorDialect"];
  let statistics = [
    Statistic<"numLowered", "num-lowered", "pattern pconv.conv2d ops vectorized">,
    Statistic<"numStreaming", "num-streaming", "convs whose output stores may stream (non-temporal)">,
    Statistic<"numDense", "num-dense", "dense pconv.conv2d ops vectorized (filter-blocked)">,
    Statistic<"numWritePadded", "num-write-padded", "convs writing into their consumer's padded input">,
    Statistic<"numResidualViews", "num-residual-views",
              "of those, convs whose result later convs also add as their residual, read in place from the padded buffer">,
  ];
}

def ReorderFiltersPass : Pass<"pconv-reorder-filters", "func::FuncOp"> {
  let summary = "Filter kernel reorder: sort filters by length and pattern mix";
  let description = [{
    Sorts the filters of every `pconv.conv2d` by kept kernels (longest
    first), then by pattern histogram, so that neighbouring filters (which
    share a work-balanced filter group, see `pconv-group-patterns`) have
    alike cost and code paths. Kernels inside a filter are ordered by
    pattern by the schedule.

    The output-channel permutation is absorbed at compile time, never paid
    at run time: it flows through ops that commute with it (max/sum pooling,
    spatial `tensor.pad`, one-input elementwise `linalg.generic`) into the
    input channels (kernel table columns and packed weights) of every
    pattern conv that reads the result. A conv whose result reaches any
    other op (a residual add, a reshape, the function result) keeps its
    order; so does one whose weights are not constants. The bias is
    permuted with the filters.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark per conv: reordered, or why not">,
  ];
  let dependentDialects = ["arith::ArithDialect"];
  let statistics = [
    Statistic<"numReordered", "num-reordered", "pconv.conv2d ops whose filters were reordered">,
    Statistic<"numAbsorbed", "num-absorbed", "Consumer convs that absorbed a permutation">,
    Statistic<"numKept", "num-kept", "pconv.conv2d ops left in their order">,
  ];
}

def FuseRowBandsPass : Pass<"pconv-fuse-row-bands", "func::FuncOp"> {
  let summary = "Compute a chain of convs band by band of output rows";
  let description = [{
    A chain of undilated `pconv.conv2d` ops, each result (of at least
    `min-bytes`) used only by the next conv as its input (only the last may
    pool; any may carry a residual operand), is rewritten into bands of the
    last conv's output rows: per band, every conv computes the rows its
    consumer reads (halo rows included, recomputed by neighbouring bands),
    from a row slice of the chain's input, and the band's result is inserted
    into the full result. VGG-16's 3 -> 64 -> 64 pair at 224x224 (the only
    chain of the benchmark networks at the default `min-bytes`) and
    MobileNet-V2's expand -> depthwise -> project blocks (1-5 MB maps, no
    faster in bands on the benchmark host) are such chains. The
    intermediate maps then live one band at a time (in L2) instead of being
    written to memory in full and read back.

    Bands whose convs all read interior rows only (no zero padding above or
    below) are one `scf.for`; the bands at the top and bottom edges (at
    most two each, taking the convs' own top and bottom padding, the last
    one possibly shorter) are emitted one by one. The band height is the
    largest one up to `band-rows` (a multiple of the last conv's pool
    window, at least three bands) whose largest intermediate band fits in
    `max-bytes`. Each band conv gets its own copy of the constant weights,
    so each is repacked in its own schedule order (the chain's kept weights
    are stored once per emitted band body). Runs before
    `pconv-choose-tiles`: tiles are chosen for the band convs' shapes.
  }];
  let options = [
    Option<"bandRows", "band-rows", "int64_t", /*default=*/"16",
           "Most output rows per band (of the chain's last conv, before its pool); 0: off">,
    Option<"minBytes", "min-bytes", "int64_t", /*default=*/"8388608",
           "Smallest intermediate map (bytes) worth fusing">,
    Option<"maxBytes", "max-bytes", "int64_t", /*default=*/"1048576",
           "Largest intermediate map of one band (bytes)">,
  ];
  let dependentDialects = ["arith::ArithDialect", "scf::SCFDialect",
                           "tensor::TensorDialect"];
  let statistics = [
    Statistic<"numFused", "num-fused", "Conv chains computed in row bands">,
    Statistic<"numConvs", "num-convs", "Convs in those chains">,
  ];
}

def ChooseTilesPass : Pass<"pconv-choose-tiles", "ModuleOp"> {
  let summary = "Pick the register tile, cache blocking and parallel split of every pattern conv";
  let description = [{
    Writes `pconv.tile = {rows = R, vectors = V, channel_block = B,
    filter_groups = G}` on every `pconv.conv2d`. Ops named in `tiles` (by
    their index in walk order; the auto-tuner's measured choices) get those
    values; every other field comes from the model of
    `pconv-lower-to-vectors`: V covers the output width in at most
    `max-vectors-per-row` vectors, R = min(max-rows, max-accumulators / V,
    H) balanced over ceil(H / R) row blocks (fewer rows while a row
    block's padded input rows of all channels exceed `row-block-bytes`;
    at most 2 at a row stride of kh - 1 or more, where neighbouring rows
    share at most one input row),
    B channels of tile input fit `cache-bytes` (all channels when 0, the
    default), and G filter groups give at
    least `min-tasks` parallel tasks (filter-lane 1x1 convs: also enough
    groups that a group's weights fit an eighth of `row-block-bytes`, the
    next group's weights being prefetched beside them). A `pconv.tile` already on an op is
    kept (missing fields are filled in). Dense convs and convs whose
    filters share their kernels in blocks (see `pconv-lower-to-vectors`)
    also get `filter_block` (for the latter it divides the block), and their
    filter_groups is F / filter_block (the parallel split). A dense 1x1 conv
    whose filters go along the vector lanes (see `pconv-lower-to-vectors`,
    option `filter-lanes`) gets `filter_lanes = 1`, its rows and vectors
    then counting pixels and filter vectors; `filter_lanes = 0` on an op
    keeps the pixel tile, and a `pconv.tile` that fixes rows, vectors or
    filter_block without `filter_lanes` (the tuner's) does too.
  }];
  let options = [
    Option<"tiles", "tiles", "std::string", /*default=*/"\"\"",
           "Fixed choices: 'index=rows,vectors,channel_block,filter_groups[,filter_block[,filter_lanes]];...' (0: model; filter_block: dense and shared-kernel convs; filter_lanes 1: filters along the lanes, dense 1x1 convs)">,
    Option<"vectorWidth", "vector-width", "unsigned", /*default=*/"16",
           "f32 lanes per vector">,
    Option<"maxAccumulators", "max-accumulators", "unsigned", /*default=*/"16",
           "Pattern convs, and dense convs in the row form (neither flat "
           "nor pitched): upper bound on the accumulator vectors of a "
           "register tile (16 of 32 registers: the taps' inputs and weights "
           "need the rest)">,
    Option<"denseAccumulators", "dense-accumulators", "unsigned",
           /*default=*/"24",
           "Flat (1x1) and pitched dense convs: upper bound on the "
           "filter_block x R x V accumulator vectors of a register tile">,
    Option<"maxVectorsPerRow", "max-vectors-per-row", "unsigned",
           /*default=*/"8", "Upper bound on V, the vectors of a tile row">,
    Option<"maxRows", "max-rows", "unsigned", /*default=*/"16",
           "Upper bound on R, the output rows of a pattern conv's tile">,
    Option<"cacheBytes", "cache-bytes", "unsigned", /*default=*/"0",
           "Bytes of tile input rows a channel block may occupy (L1 share); "
           "0: no channel blocking (measured faster on VGG-16 and ResNet-18 here)">,
    Option<"rowBlockBytes", "row-block-bytes", "unsigned", /*default=*/"1048576",
           "The L2 share a task re-reads. Pattern convs: fewer rows per "
           "tile while one row block's padded input rows over all channels "
           "exceed it; filter-lane 1x1 convs: more filter groups while a "
           "group's weights exceed an eighth of it; 0: no limit">,
    Option<"minTasks", "min-tasks", "unsigned", /*default=*/"32",
           "Parallel tasks to aim for">,
    Option<"denseCacheBytes", "dense-cache-bytes", "unsigned", /*default=*/"24576",
           "Dense convs: bytes of tile input rows a channel block may occupy">,
    Option<"tailChunks", "tail-chunks", "bool", /*default=*/"true",
           "Dense and shared-kernel convs: a width that is not a multiple of "
           "the tile's vectors ends in a narrower tail chunk instead of "
           "masked whole vectors past its end">,
    Option<"filterLanes", "filter-lanes", "bool", /*default=*/"true",
           "Dense 1x1 convs without padding whose filters fill whole vectors "
           "may put filters along the lanes (a tile of pixels x filter "
           "vectors, transposed into the output) where the model scores it "
           "above the pixel tile">,
  ];
  let statistics = [
    Statistic<"numChosen", "num-chosen", "pconv.conv2d ops given a tile">,
    Statistic<"numTuned", "num-tuned", "tiles taken from the tiles option">,
  ];
}

def GroupPatternsPass : Pass<"pconv-group-patterns", "ModuleOp"> {
  let summary = "Group kept kernels by pattern into a branch-free schedule";
  let description = [{
    Builds the schedule of every `pconv.conv2d` and stores it on the op as
    `pconv.schedule = {channel_block, group_start, row_ptr, channel,
    weight_offset}`: for filter f, channel block cb and pattern p, entries
    row_ptr[(f * blocks + cb) * P + p] .. row_ptr[.. + 1] of `channel` /
    `weight_offset` are the kernels with that pattern, so the lowering emits
    one straight-line loop per pattern and never branches on a kernel's
    pattern; `group_start` splits the filters into contiguous groups of
    equal kept work (taps) for the parallel loop. The blocking comes from
    the op's `pconv.tile` (channel_block, filter_groups; all channels and
    one group without it).

    Statistics (and, with `remarks`, one remark per op) report the storage
    of the sparse format: packed non-zero weights + i8 pattern ids + i32
    schedule tables, against dense f32 weights (`pconv-lower-to-vectors`
    repacks constant weights in schedule order and emits no
    `weight_offset` table). Dense convs (every kernel
    kept: see `pconv-lower-to-vectors`) need no schedule and get none.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark per conv with its groups and storage">,
  ];
  let statistics = [
    Statistic<"numScheduled", "num-scheduled", "pconv.conv2d ops scheduled">,
    Statistic<"numDense", "num-dense", "Dense pconv.conv2d ops left without a schedule">,
    Statistic<"numGroups", "num-filter-groups", "Filter groups, all convs">,
    Statistic<"weightBytes", "weight-bytes", "Bytes of packed non-zero weights">,
    Statistic<"indexBytes", "index-bytes", "Bytes of pattern ids and schedule tables">,
    Statistic<"denseBytes", "dense-bytes", "Bytes of the same weights stored dense">,
  ];
}

def FoldPadCopiesPass : Pass<"pconv-fold-pad-copies", "func::FuncOp"> {
  let summary = "Let producers write straight into the buffers of bufferized pads";
  let description = [{
    A `tensor.pad` bufferizes to a new buffer, a fill with the pad value and
    a `memref.copy` of the source into the interior. When the source is a
    buffer of its own (same block) that only vector/memref loads and stores
    and linalg ops use before the copy (the output of a lowered
    `pconv.conv2d`, of a ReLU6 after it), the
    padded buffer is allocated and filled before the source instead, its
    interior view replaces the source, and the copy and the source buffer
    disappear: one activation-sized buffer less in the live set (ResNet's stem
    conv before the max pool, MobileNet's expansion convs before the
    depthwise ones) and one copy less. Runs after bufferization.

    ```mlir
    %a = memref.alloc() : memref<1x16x20x20xf32>
    vector.store %v, %a[%c0, %i, %j, %c0] : memref<1x16x20x20xf32>, vector<16xf32>
    %p = memref.alloc() : memref<1x16x22x22xf32>
    linalg.map outs(%p : memref<1x16x22x22xf32>) (%init: f32) { linalg.yield %cst : f32 }
    %in = memref.subview %p[0, 0, 1, 1] [1, 16, 20, 20] [1, 1, 1, 1] : ...
    memref.copy %a, %in : ...
    // becomes
    %p = memref.alloc() : memref<1x16x22x22xf32>
    linalg.map outs(%p : memref<1x16x22x22xf32>) (%init: f32) { linalg.yield %cst : f32 }
    %in = memref.subview %p[0, 0, 1, 1] [1, 16, 20, 20] [1, 1, 1, 1] : ...
    vector.store %v, %in[%c0, %i, %j, %c0] : ..., vector<16xf32>
    ```

    The same holds for a copy into a view of another buffer (a bufferized
    `tensor.insert_slice`, e.g. a row band's result inserted into the full
    map by `pconv-fuse-row-bands`): when nothing else uses the destination
    between the source's allocation and the copy and the view's operands
    (dynamic offsets included) exist before the source, the view is created
    before the source and replaces it.

    With `vector-width` > 0 the folded pad's fill also shrinks to the halo:
    the producer writes every interior element, so only the border needs
    the pad value. A 4-D pad of the last two dimensions whose fill writes
    one scalar (`linalg.fill`, or a `linalg.map`/`linalg.generic` yielding
    a value defined outside it) becomes a loop parallel over (N, C) storing
    `vector-width`-lane vectors into the halo rows and columns only
    (`pconv-lower-to-vectors`' producers write their consumers' zero halos
    with the same stores, row by row from their tiles).
    `pconv-to-llvm` leaves it off: on ResNet's stem (its 64 x 112 x 112 map
    written into the max pool's -inf-padded 114 x 114 buffer) the halo-only
    fill stored ~2% of the 3.3 MB and saved ~125 us, but the stem conv's
    stores into the interior (one column off alignment) then missed the
    cache and it took ~200 us longer: the whole fill had brought those lines
    in.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "unsigned", /*default=*/"0",
           "f32 lanes of the halo fill of a folded pad (0: keep the fill "
           "whole)">,
  ];
  let dependentDialects = ["arith::ArithDialect", "scf::SCFDialect",
                           "vector::VectorDialect"];
  let statistics = [
    Statistic<"numFolded", "num-folded", "Pad copies folded into their producer">,
    Statistic<"numHaloFills", "num-halo-fills", "Fills of folded pads reduced to the halo">,
    Statistic<"numInserts", "num-inserts", "Copies into a view of another buffer folded into their producer">,
  ];
}

def LowerStridedCopiesPass
    : Pass<"pconv-lower-strided-copies", "func::FuncOp"> {
  let summary = "Rewrite memref.copy between non-contiguous buffers as linalg.copy";
  let description = [{
    Bufferization emits `memref.copy` into strided subviews (e.g. the interior
    of a padded buffer). The LLVM lowering turns such a copy into a call to the
    `memrefCopy` function of MLIR's C runner utilities, a library PConv
    artifacts must not depend on (it does not exist on the AArch64 target).
    This pass rewrites those copies as `linalg.copy`, which lowers to plain
    (parallel) loops; copies between identity-layout buffers stay
    `memref.copy` and become `llvm.memcpy`.
  }];
  let dependentDialects = ["linalg::LinalgDialect"];
  let statistics = [
    Statistic<"numRewritten", "num-rewritten", "memref.copy ops rewritten">,
  ];
}

def FenceStreamingStoresPass
    : Pass<"pconv-fence-streaming-stores", "func::FuncOp"> {
  let summary = "End every parallel iteration that streams with a fence";
  let description = [{
    Non-temporal (streaming) stores, which `pconv-lower-to-vectors` emits for
    large conv outputs (`streaming-bytes`), are weakly ordered on x86: they
    may become visible to other threads after a later plain store, such as
    the one a thread arrives at the parallel loop's closing barrier with. A
    thread that reads the output after the barrier could see stale data.

    This pass puts an `sfence` (`llvm.x86.sse.sfence`) before the terminator
    of the innermost `scf.parallel` body around every `vector.store` with
    `nontemporal = true`, once per loop, and after the outermost op of the
    function body that holds such a store outside any parallel loop. Not
    LLVM's `fence seq_cst`, which x86 lowers to a locked no-op (`lock or`),
    not documented to order non-temporal stores. x86 only: PConv emits
    streaming stores for x86 targets only. It runs on buffers, after
    bufferization (which rejects ops with unknown memory effects, as the
    fence is) and before the parallel loops become OpenMP regions.
  }];
  let dependentDialects = ["LLVM::LLVMDialect"];
  let statistics = [
    Statistic<"numFences", "num-fences", "fences inserted">,
  ];
}

def ReportRegionsPass : Pass<"pconv-report-regions", "func::FuncOp"> {
  let summary = "Remark per parallel region: its position and the op it came from";
  let description = [{
    Emits one remark per outermost `omp.parallel` of the function, in
    program order (the order the function forks them at run time: no
    control flow encloses them in the generated code), at the region's
    location, i.e. the source op it was lowered from:

    ```
    linalg.mlir:152:10: remark: parallel region 7: 96 vector FMAs
    ```

    The count of `vector.fma` ops in the region (in the IR, not executed)
    tells a kernel from a copy or a fill. `pconv-to-llvm{report-regions}`
    runs it right after `convert-scf-to-openmp`; the Python driver records
    the remarks in the artifact's `meta.json` (`regions`) and
    `benchmarks.regions` labels the regions it times with them (libomp is
    handed outlined functions named `forward..omp_par.N`, numbered in no
    useful order). Regions nested in a reported one are not reported.
  }];
  let statistics = [
    Statistic<"numRegions", "num-regions", "Parallel regions reported">,
  ];
}

def StealTasksPass : Pass<"pconv-steal-tasks", "ModuleOp"> {
  let summary = "Parallel loops: static shares whose tasks idle threads steal";
  let description = [{
    `convert-scf-to-openmp` gives every outermost `scf.parallel` a static
    schedule: one contiguous share of the iterations per thread. That is the
    fastest schedule while every thread has a core to itself and the slowest
    when one core is shared (a neighbour process, another guest of the
    hypervisor): the loop waits for the delayed thread. libomp's dynamic
    schedules rebalance, but their dispatch costs a few microseconds per
    loop, 7-10% of pruned MobileNet-V2 at 2 threads.

    This pass rewrites each outermost `scf.parallel` without reductions or
    nested parallel loops (and with more than one iteration) into one
    OpenMP team (`omp.parallel`) whose thread `w` (`omp_get_thread_num()`)
    is a worker; no worksharing loop, so no `__kmpc_for_static_init` /
    `_fini` per thread and no barrier before the region's closing one
    (pruned MobileNet-V2 0.977x / 0.975x the time at 1 / 2 threads against
    an `scf.parallel` over the workers). The loop's
    iterations become tasks, numbered row-major; worker `w` owns the static
    share `[w*T/W, (w+1)*T/W)`. A worker claims tasks from a counter with one
    atomic add (`max(1, T / (16 W))` tasks a claim), first from its own
    share in order, then from the other workers' shares, front first. Every
    task runs once whatever the team size: a worker leaves a share only when
    its counter has passed the share's end. The counters, one 64-byte line
    per worker, live on the function's stack and are set before each loop.

    ```mlir
    scf.parallel (%i) = (%c0) to (%c32) step (%c1) { body(%i) }
    // becomes (W: num-threads, or omp_get_max_threads() at run time)
    scf.for %v = 0 to W { counters[8 v] = v * 32 / W }
    omp.parallel {                     // num_threads(W) with num-threads=W
      %w = omp_get_thread_num()
      scf.for %k = 0 to W {            // own share first, then the others'
        %v = (%w + %k) mod W
        scf.while: %t = atomic_rmw addi grab, counters[8 %v]; %t < end(%v) {
          scf.for %i = %t to min(%t + grab, end(%v)) { body(%i) }
        }
      }
    }
    ```
  }];
  let options = [
    Option<"numThreads", "num-threads", "unsigned", /*default=*/"0",
           "Threads of every parallel region (as given to "
           "convert-scf-to-openmp); 0: omp_get_max_threads() at run time">,
  ];
  let dependentDialects = ["arith::ArithDialect", "LLVM::LLVMDialect",
                           "memref::MemRefDialect", "omp::OpenMPDialect",
                           "scf::SCFDialect"];
  let statistics = [
    Statistic<"numLoops", "num-loops", "Parallel loops given task stealing">,
  ];
}

def VectorizeDensePass : Pass<"pconv-vectorize-dense", "func::FuncOp"> {
  let summary = "Vector code for the dense-path linalg ops on buffers";
  let description = [{
    Runs after bufferization and gives the linalg ops that are not
    convolutions explicit vector code instead of upstream scalar loops:

    - elementwise `linalg.generic` (and `linalg.fill`, `copy`, `broadcast`,
      `map`, generalized first): the longest suffix of loops that every
      operand reads contiguously in loop order (or not at all) is collapsed
      into one dimension and read in `vector-width` vectors, the last one
      masked; operands that do not depend on it (a per-channel bias, a
      scalar) are loaded once per outer point and broadcast. The outer loops
      (and chunks of the collapsed dimension) form an `scf.parallel`;
    - trailing-dimension reductions (`addf` / `maximumf` into an output
      indexed by the leading loops: global and adaptive average pooling) as
      vector accumulations with a masked tail and one `vector.reduction`;
    - `linalg.pooling_nchw_max` / `_sum` and `linalg.depthwise_conv_2d_nchw_chw`:
      parallel over (N, C), output rows in vectors along the width; at column
      stride s each tap loads s*vw consecutive inputs and keeps every s-th
      lane with a shuffle; vectors near the row's end use masked loads;
    - a fill of a padded buffer whose interior (a subview padded in the last
      two dimensions) is written in full by the next op that touches the
      buffer writes only the border (tensor.pad's bufferized form);
    - `linalg.matmul`: when B is a transpose of a weight matrix W (nn.Linear
      as torch-mlir emits it), blocks of 4 rows of W (parallel) stream once
      against up to 4 rows of A with several accumulators per dot product, and
      the transposed copy is dropped; otherwise column blocks of B in vectors
      with a broadcast A element per k.

    Anything else (dynamic shapes, non-unit innermost strides, index-dependent
    bodies) is left for `convert-linalg-to-parallel-loops`.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "unsigned", /*default=*/"16",
           "Lanes per vector (16 f32: AVX-512, 8: AVX2, 4: NEON); 0 disables "
           "the pass">,
    Option<"minParallelElements", "min-parallel-elements", "int64_t",
           /*default=*/"16384",
           "Smallest iteration space (elements or MACs) given an scf.parallel "
           "loop; smaller ops run sequentially, without a parallel region">,
    Option<"chunkElements", "chunk-elements", "int64_t", /*default=*/"4096",
           "Elements of a collapsed elementwise dimension per parallel "
           "iteration">,
  ];
  let dependentDialects = ["arith::ArithDialect", "linalg::LinalgDialect",
                           "memref::MemRefDialect", "scf::SCFDialect",
                           "vector::VectorDialect"];
  let statistics = [
    Statistic<"numElementwise", "num-elementwise",
              "Elementwise ops (generic, fill, copy, broadcast) vectorized">,
    Statistic<"numReductions", "num-reductions",
              "Trailing-dimension reductions vectorized">,
    Statistic<"numPooling", "num-pooling", "Pooling ops vectorized">,
    Statistic<"numDepthwise", "num-depthwise",
              "Depthwise convolutions vectorized">,
    Statistic<"numMatmuls", "num-matmuls", "Matrix products vectorized">,
    Statistic<"numBorderFills", "num-border-fills",
              "Pad fills reduced to the border around an interior written next">,
  ];
}

def SetTargetPass : Pass<"pconv-set-target", "ModuleOp"> {
  let summary = "Record the target triple on the module for LLVM translation";
  let description = [{
    Sets `llvm.target_triple` on the module, which the translation to LLVM IR
    copies into the LLVM module, so that `opt`/`llc` pick the right target
    without being told again. An empty triple leaves the module unchanged.
  }];
  let options = [
    Option<"triple", "triple", "std::string", /*default=*/"\"\"",
           "LLVM target triple, e.g. aarch64-unknown-linux-gnu">,
  ];
}

#endif // PCONV_PASSES_PASSES_TD
