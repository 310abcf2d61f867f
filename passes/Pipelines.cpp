//===- Pipelines.cpp - Named PConv pipelines ------------------------------===//
//
// `pconv-to-llvm`: linalg-on-tensors (torch-mlir's output) -> LLVM dialect,
// with pattern-sparse convolutions on the pconv path and everything else on
// the upstream dense path, parallelized with OpenMP.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::pconv;

/// Appends a textual pipeline fragment; the fragments below are upstream
/// passes whose options are spelled most clearly in pipeline syntax.
static void addUpstream(OpPassManager &pm, StringRef pipeline) {
  if (failed(parsePassPipeline(pipeline, pm, llvm::errs())))
    llvm::report_fatal_error("pconv-to-llvm: invalid built-in pipeline "
                             "fragment: " + pipeline);
}

/// Whether the conv lowering may emit streaming (non-temporal) stores:
/// measured on x86 (AVX-512) only; an empty target is the host.
static bool streamingStores(const ToLLVMPipelineOptions &options) {
  return options.streamingBytes != 0 &&
         (options.target.empty() ||
          StringRef(options.target).starts_with("x86_64"));
}

void mlir::pconv::buildToLLVMPipeline(OpPassManager &pm,
                                      const ToLLVMPipelineOptions &options) {
  // Give dense_resource weights their data first: every later pass that reads
  // a filter (import) or emits it (translation) needs the bytes.
  if (!options.weights.empty())
    pm.addPass(createAttachWeightsPass({options.weights}));

  // Pattern-sparse convolutions -> pconv.conv2d, while the pad and bias
  // producers are still visible as tensor ops.
  // With import-dense, the other convolutions join as one full pattern and
  // share the vector lowering.
  if (options.importConvs || options.importDense) {
    ImportLinalgPassOptions importOptions;
    importOptions.library = options.library;
    importOptions.patterns = options.importConvs;
    importOptions.dense = options.importDense;
    importOptions.depthwise = options.importDepthwise;
    pm.addNestedPass<func::FuncOp>(createImportLinalgPass(importOptions));
  }
  // Apply residual adds and ReLUs of pconv convs in their epilogue (no
  // intermediate tensor).
  pm.addNestedPass<func::FuncOp>(
      createFuseActivationPass({options.fuseResidual, options.fusePool}));
  // Filter kernel reorder, its permutation absorbed by the consumer convs.
  if ((options.importConvs || options.importDense) && options.reorder)
    pm.addNestedPass<func::FuncOp>(createReorderFiltersPass());

  // Lower pconv.conv2d to code on buffers before bufferization; the results
  // re-enter as `to_tensor restrict`, which one-shot bufferization accepts.
  // The vectorized, register-blocked lowering takes every pattern conv; the
  // reference loops only run with vector-width=0.
  // Before it: each conv's tile (tuned or from the model) and its grouped,
  // work-balanced schedule, both recorded on the op.
  if (options.vectorWidth > 0) {
    // Large maps between two 3x3 convs live one band of rows at a time.
    // Explicit tiles (the tuner's, a user's) index the convs as imported, so
    // they keep them unfused.
    if (options.bandRows > 0 && options.tiles.empty()) {
      FuseRowBandsPassOptions bandOptions;
      bandOptions.bandRows = options.bandRows;
      bandOptions.minBytes = options.bandMinBytes;
      bandOptions.maxBytes = options.bandMaxBytes;
      pm.addNestedPass<func::FuncOp>(createFuseRowBandsPass(bandOptions));
    }
    ChooseTilesPassOptions tileOptions;
    tileOptions.tiles = options.tiles;
    tileOptions.vectorWidth = options.vectorWidth;
    if (options.vectorWidth <= 4) {
      // 128-bit vectors (NEON): a square 4 x 4 pattern tile shares more
      // input vectors between rows, and dense tiles stay within 16
      // accumulators too. llvm-mca (cortex-a76 and neoverse-n1 models) on a
      // VGG-16 layer: 0.258 / 0.227 cycles per MAC against 0.263 / 0.292
      // with the 24-accumulator 3 x 7 tile, which spilled.
      tileOptions.maxVectorsPerRow = 4;
      tileOptions.denseAccumulators = 16;
    }
    tileOptions.tailChunks = options.tailChunks;
    tileOptions.filterLanes = options.filterLanes;
    pm.addPass(createChooseTilesPass(tileOptions));
    pm.addPass(createGroupPatternsPass());
    LowerToVectorsPassOptions vectorOptions;
    vectorOptions.vectorWidth = options.vectorWidth;
    vectorOptions.shiftedCopies = options.shiftedCopies;
    // Lane shuffles instead of split loads pay off with 512-bit vectors
    // (AVX-512: a cache-line-split load costs about two, a lane shuffle one
    // port-5 uop).
    // 128-bit NEON loads are cheap unaligned: with EXT instead, llvm-mca
    // costs a VGG-16 layer's loop 0.333 cycles per MAC against 0.258
    // (cortex-a76) and 0.344 against 0.227 (neoverse-n1); AVX2 has no
    // single-instruction 256-bit lane shift.
    vectorOptions.alignedLoads =
        options.alignedLoads && options.vectorWidth >= 16;
    vectorOptions.mixedShifts = options.mixedShifts;
    vectorOptions.directLoads = options.directLoads;
    vectorOptions.writePadded = options.writePadded;
    vectorOptions.prefetchDistance = options.prefetchDistance;
    vectorOptions.streamingBytes =
        streamingStores(options) ? int64_t(options.streamingBytes) : 0;
    vectorOptions.tailChunks = options.tailChunks;
    vectorOptions.filterLanes = options.filterLanes;
    pm.addNestedPass<func::FuncOp>(createLowerToVectorsPass(vectorOptions));
  }
  pm.addNestedPass<func::FuncOp>(createLowerToLoopsPass());
  // Optional: linear layers whose weights were block-pruned stream only the
  // kept blocks (the dense W and its transposed copy become dead).
  if (options.sparseLinear)
    pm.addNestedPass<func::FuncOp>(createSparseLinearPass());
  // Drop the pads/broadcasts the import made dead.
  addUpstream(pm, "canonicalize,cse");
  // Dense path: chains of elementwise generics (ReLU6's max and min, residual
  // add + ReLU) become one generic each, so pconv-vectorize-dense makes one
  // pass over the activation instead of one per op. Also with the reference
  // loops: fusion removes the i1 buffers of adaptive pooling's masks, which
  // memref-to-llvm cannot store (it asserts on sub-byte element stores).
  pm.addNestedPass<func::FuncOp>(createFuseElementwisePass());
  // The fused generics write over an input that dies there (a ReLU6 after a
  // conv) instead of a new buffer: one activation less live.
  pm.addNestedPass<func::FuncOp>(createElementwiseInPlacePass());

  // Bufferize the whole module. tensor.empty -> alloc_tensor first (what it
  // cannot reuse in place); identity layouts at function boundaries so the
  // C interface takes plain contiguous buffers.
  addUpstream(pm, "eliminate-empty-tensors,empty-tensor-to-alloc-tensor,"
                  "one-shot-bufferize{bufferize-function-boundaries "
                  "function-boundary-type-conversion=identity-layout-map "
                  "buffer-alignment=64}");
  // Results become caller-provided output buffers (the runtime owns them),
  // then every remaining allocation gets its deallocation.
  addUpstream(pm, "buffer-results-to-out-params{hoist-static-allocs "
                  "modify-public-functions},canonicalize,"
                  "buffer-deallocation-pipeline");

  // Producers (lowered pattern convs) write straight into the padded buffer
  // of a following pad instead of a buffer copied in: one activation less
  // live at the pool or depthwise conv that reads it.
  // Their fills stay whole (the pass's vector-width option, halo-only
  // fills, made ResNet's stem conv slower by more than the fill it saved).
  pm.addNestedPass<func::FuncOp>(createFoldPadCopiesPass());
  // Dense path: linalg ops -> scf.parallel over their parallel dimensions.
  pm.addNestedPass<func::FuncOp>(createLowerStridedCopiesPass());
  // Dense-path ops with vector code (pooling, elementwise, reductions,
  // depthwise, matmul); canonicalize drops the buffers it left unread.
  if (options.vectorWidth > 0) {
    VectorizeDensePassOptions denseOptions;
    denseOptions.vectorWidth = options.vectorWidth;
    pm.addNestedPass<func::FuncOp>(createVectorizeDensePass(denseOptions));
    addUpstream(pm, "canonicalize");
  }
  addUpstream(pm, "func.func(convert-linalg-to-parallel-loops)");
  // The deallocation pipeline frees every buffer at the end of its block, i.e.
  // all intermediates at the end of the network (peak heap = the sum of all
  // activations); free each one right after its last use (aliases included)
  // instead, so later layers reuse the memory. Here, before the OpenMP
  // conversion, every use is explicit and the body is still one block.
  addUpstream(pm, "func.func(optimize-allocation-liveness)");
  // Streaming stores are weakly ordered: each parallel iteration that may
  // stream ends with a fence, before the loop's barrier publishes it.
  if (options.vectorWidth > 0 && streamingStores(options))
    pm.addNestedPass<func::FuncOp>(createFenceStreamingStoresPass());

  // OpenMP's static shares, but a thread that finishes its share takes the
  // others' remaining tasks (see pconv-steal-tasks).
  if (options.stealTasks) {
    StealTasksPassOptions stealOptions;
    stealOptions.numThreads = options.numThreads;
    pm.addPass(createStealTasksPass(stealOptions));
  }
  // Outermost scf.parallel loops -> OpenMP parallel worksharing loops.
  addUpstream(pm, "convert-scf-to-openmp{num-threads=" +
                      std::to_string(options.numThreads) + "}");
  if (options.reportRegions)
    pm.addNestedPass<func::FuncOp>(createReportRegionsPass());

  // To the LLVM dialect. memref lowering runs before scf-to-cf because the
  // omp regions wrap their bodies in memref.alloca_scope, whose region must
  // still be a single block when it is lowered.
  // expand-strided-metadata first: subviews with dynamic offsets (row bands)
  // become affine.apply, which lower-affine then lowers.
  addUpstream(pm, "expand-strided-metadata,lower-affine,"
                  "convert-vector-to-llvm,finalize-memref-to-llvm,"
                  "convert-scf-to-cf,"
                  "func.func(llvm-request-c-wrappers),convert-to-llvm,"
                  "reconcile-unrealized-casts");

  // Record the target for the translation to LLVM IR.
  if (!options.target.empty())
    pm.addPass(createSetTargetPass({options.target}));
}

void mlir::pconv::registerPConvPipelines() {
  PassPipelineRegistration<ToLLVMPipelineOptions>(
      "pconv-to-llvm",
      "Compile linalg-on-tensors to the LLVM dialect: pattern-sparse convs on "
      "the pconv path, the rest dense, parallel loops on OpenMP",
      buildToLLVMPipeline);
}
