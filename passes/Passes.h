//===- Passes.h - PConv passes and pipelines --------------------*- C++ -*-===//

#ifndef PCONV_PASSES_PASSES_H
#define PCONV_PASSES_PASSES_H

#include "dialect/PConvDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir {
namespace pconv {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// Options of the `pconv-to-llvm` pipeline (linalg-on-tensors -> LLVM dialect).
struct ToLLVMPipelineOptions
    : public PassPipelineOptions<ToLLVMPipelineOptions> {
  PassOptions::Option<std::string> weights{
      *this, "weights",
      llvm::cl::desc("Weights file (.pcw) holding the dense_resource blobs")};
  PassOptions::Option<std::string> library{
      *this, "library",
      llvm::cl::desc("Pattern library (#pconv.patterns<...>); inferred per "
                     "layer when empty")};
  PassOptions::Option<bool> importConvs{
      *this, "import", llvm::cl::desc("Import pattern-sparse convolutions"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> importDense{
      *this, "import-dense",
      llvm::cl::desc("Also compute the other convolutions with the pconv "
                     "vector lowering (one full kernel pattern)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> importDepthwise{
      *this, "import-depthwise",
      llvm::cl::desc("Import depthwise convolutions too (as diagonal "
                     "pconv.conv2d ops on the pattern lowering)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> fuseResidual{
      *this, "fuse-residual",
      llvm::cl::desc("Fuse residual adds into the producing conv's epilogue"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> fusePool{
      *this, "fuse-pool",
      llvm::cl::desc("Fuse non-overlapping max-pools into the producing "
                     "conv's epilogue"),
      llvm::cl::init(true)};
  PassOptions::Option<unsigned> vectorWidth{
      *this, "vector-width",
      llvm::cl::desc("f32 lanes of the vectorized pattern lowering (16: "
                     "AVX-512, 8: AVX2, 4: NEON); 0 keeps the reference "
                     "loops for every pattern conv"),
      llvm::cl::init(16)};
  PassOptions::Option<bool> directLoads{
      *this, "direct-loads",
      llvm::cl::desc("Depthwise convs read their input in place with masked "
                     "loads (no padded copy)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> writePadded{
      *this, "write-padded",
      llvm::cl::desc("Convs write their output into the next conv's "
                     "zero-padded input (no copy)"),
      llvm::cl::init(true)};
  PassOptions::Option<unsigned> prefetchDistance{
      *this, "prefetch-distance",
      llvm::cl::desc("Pattern convs prefetch the tile input of the kernel "
                     "this many schedule entries ahead (stride-1 per-kernel "
                     "patterns, shared-kernel blocks); 0: none"),
      llvm::cl::init(4)};
  PassOptions::Option<bool> sparseLinear{
      *this, "sparse-linear",
      llvm::cl::desc("Linear layers with block-sparse constant weights read "
                     "only their kept blocks (pconv-sparse-linear)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> shiftedCopies{
      *this, "shifted-copies",
      llvm::cl::desc("Stride-1 pattern convs read aligned vectors from one "
                     "copy of the padded input per kernel column shift"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> alignedLoads{
      *this, "aligned-loads",
      llvm::cl::desc("Pattern convs read their padded input with aligned "
                     "vectors only, a straddling tap vector being a lane "
                     "shuffle of two (512-bit vectors only)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> mixedShifts{
      *this, "mixed-shifts",
      llvm::cl::desc("With aligned-loads, stride-1 pattern convs in tiles of "
                     "at most 4 vectors per row load every other straddling "
                     "tap vector unaligned instead of shuffling it"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> streamingBytes{
      *this, "streaming-bytes",
      llvm::cl::desc("A conv result that the function returns, of at "
                     "least this many bytes, is stored with non-temporal "
                     "stores where its buffer is vector-aligned at run time "
                     "(x86 targets only); 0: never"),
      llvm::cl::init(4 << 20)};
  PassOptions::Option<bool> tailChunks{
      *this, "tail-chunks",
      llvm::cl::desc("Dense and shared-kernel convs end a row that is not a "
                     "multiple of the tile's vectors in a narrower tail "
                     "chunk"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> filterLanes{
      *this, "filter-lanes",
      llvm::cl::desc("Dense 1x1 convs may put filters along the vector "
                     "lanes where the model scores that above pixels"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> reorder{
      *this, "reorder",
      llvm::cl::desc("Filter kernel reorder (pconv-reorder-filters) after "
                     "the import"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> bandRows{
      *this, "band-rows",
      llvm::cl::desc("A chain of convs with large maps between them runs "
                     "in bands of at most this many output rows "
                     "(pconv-fuse-row-bands); 0: off. Not applied with "
                     "explicit tiles, which name the unfused convs"),
      llvm::cl::init(16)};
  PassOptions::Option<int64_t> bandMinBytes{
      *this, "band-min-bytes",
      llvm::cl::desc("Smallest map between two convs that band-rows "
                     "fuses (bytes)"),
      llvm::cl::init(8 << 20)};
  PassOptions::Option<int64_t> bandMaxBytes{
      *this, "band-max-bytes",
      llvm::cl::desc("Largest intermediate map of one band (bytes); bands "
                     "are made shorter than band-rows to fit it"),
      llvm::cl::init(1 << 20)};
  PassOptions::Option<std::string> tiles{
      *this, "tiles",
      llvm::cl::desc("Tuned tiles by conv index, passed to pconv-choose-tiles "
                     "('index=rows,vectors,channel_block,filter_groups;...')"),
      llvm::cl::init("")};
  PassOptions::Option<bool> stealTasks{
      *this, "steal-tasks",
      llvm::cl::desc("Parallel loops keep their static shares but threads "
                     "that finish early take the others' remaining tasks "
                     "(pconv-steal-tasks); off: OpenMP's static schedule"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> reportRegions{
      *this, "report-regions",
      llvm::cl::desc("A remark per parallel region at its source op, in fork "
                     "order (pconv-report-regions)"),
      llvm::cl::init(false)};
  PassOptions::Option<unsigned> numThreads{
      *this, "num-threads",
      llvm::cl::desc("OpenMP threads per parallel region (0: the runtime's "
                     "default, e.g. OMP_NUM_THREADS)"),
      llvm::cl::init(0)};
  PassOptions::Option<std::string> target{
      *this, "target",
      llvm::cl::desc("Target triple recorded on the module (llvm.target_triple)"),
      llvm::cl::init("")};
};

/// Adds the passes of `pconv-to-llvm` to `pm`.
void buildToLLVMPipeline(OpPassManager &pm,
                         const ToLLVMPipelineOptions &options);

/// Registers the named pipelines (`pconv-to-llvm`).
void registerPConvPipelines();

} // namespace pconv
} // namespace mlir

#endif // PCONV_PASSES_PASSES_H
