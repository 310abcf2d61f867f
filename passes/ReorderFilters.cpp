//===- ReorderFilters.cpp - Filter kernel reorder (FKR) -------------------===//
//
// Sorts the filters of each pattern conv so that filters of similar length
// (kept kernels) and pattern mix are neighbours: a filter group (the unit of
// parallel work) then holds filters of alike cost and code paths. Kernels
// inside a filter are already ordered by pattern by the schedule
// (pconv-group-patterns).
//
// The output-channel permutation never costs anything at run time: it is
// absorbed at compile time by every consumer, through ops that commute with
// a channel permutation (max/sum pooling, spatial padding, one-input
// elementwise ops), into the input channels of the next pattern convs
// (their kernel tables and packed weights). A conv whose result reaches any
// other user (a residual add or a conv's residual operand, a reshape, the
// function result) keeps its order, and so does a conv with a residual
// operand (the residual is in the original channel order).
//
//===----------------------------------------------------------------------===//

#include "passes/LoweringUtils.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <numeric>

namespace mlir {
namespace pconv {
#define GEN_PASS_DEF_REORDERFILTERSPASS
#include "passes/Passes.h.inc"
} // namespace pconv
} // namespace mlir

using namespace mlir;
using namespace mlir::pconv;

namespace {

/// Whether `op` commutes with a permutation of dimension 1 (channels) of
/// operand `operand`, so that the permutation can flow to its result.
static bool commutesWithChannelPermutation(Operation *op, unsigned operand) {
  if (isa<linalg::PoolingNchwMaxOp, linalg::PoolingNchwSumOp>(op))
    return operand == 0;
  if (auto pad = dyn_cast<tensor::PadOp>(op))
    return llvm::all_of(pad.getStaticLow().take_front(2),
                        [](int64_t v) { return v == 0; }) &&
           llvm::all_of(pad.getStaticHigh().take_front(2),
                        [](int64_t v) { return v == 0; });
  if (auto generic = dyn_cast<linalg::GenericOp>(op))
    return generic.getNumDpsInputs() == 1 && operand == 0 &&
           generic.getNumParallelLoops() == generic.getNumLoops() &&
           llvm::all_of(generic.getIndexingMapsArray(),
                        [](AffineMap m) { return m.isIdentity(); }) &&
           generic.getNumResults() == 1;
  return false;
}

/// The pattern convs that read `value` through channel-commuting ops, or
/// failure (with the first other user in `blocker`).
static LogicalResult findAbsorbers(Value value,
                                   SmallVectorImpl<Conv2DOp> &absorbers,
                                   Operation *&blocker) {
  for (OpOperand &use : value.getUses()) {
    Operation *user = use.getOwner();
    if (auto conv = dyn_cast<Conv2DOp>(user);
        conv && use.getOperandNumber() == 0) {
      absorbers.push_back(conv);
      continue;
    }
    if (!commutesWithChannelPermutation(user, use.getOperandNumber())) {
      blocker = user;
      return failure();
    }
    for (Value result : user->getResults())
      if (failed(findAbsorbers(result, absorbers, blocker)))
        return failure();
  }
  return success();
}

/// Per-filter kept kernels and pattern histogram; the FKR order sorts by
/// length (longest first), then pattern mix, then the original index.
static SmallVector<int64_t> reorderPermutation(Conv2DOp op) {
  int64_t numFilters = op.getNumFilters(), numChannels = op.getNumChannels();
  int64_t numPatterns = op.getLibrary().getNumPatterns();
  SmallVector<int8_t> ids(op.getKernelPatterns().getValues<int8_t>());
  SmallVector<SmallVector<int64_t>> keys(numFilters);
  for (int64_t f = 0; f < numFilters; ++f) {
    SmallVector<int64_t> histogram(numPatterns, 0);
    int64_t kept = 0;
    for (int64_t c = 0; c < numChannels; ++c)
      if (int8_t id = ids[f * numChannels + c]; id >= 0) {
        ++histogram[id];
        ++kept;
      }
    keys[f].push_back(-kept);
    for (int64_t h : histogram)
      keys[f].push_back(-h);
  }
  SmallVector<int64_t> perm(numFilters);
  std::iota(perm.begin(), perm.end(), 0);
  llvm::stable_sort(perm, [&](int64_t a, int64_t b) { return keys[a] < keys[b]; });
  return perm;
}

/// Packed (filter, channel)-ordered weights of `op` for the kernel table
/// `ids` (F x C) reordered by `filterOf` / `channelOf` (new -> old).
static std::vector<float> repack(Conv2DOp op, ArrayRef<float> weights,
                                 ArrayRef<int8_t> ids,
                                 ArrayRef<int64_t> filterOf,
                                 ArrayRef<int64_t> channelOf) {
  int64_t numChannels = op.getNumChannels(), taps = op.getLibrary().getTaps();
  SmallVector<int32_t> offset = packedOffsets(ids, taps);
  std::vector<float> packed;
  packed.reserve(weights.size());
  for (int64_t f : filterOf)
    for (int64_t c : channelOf)
      if (int64_t o = offset[f * numChannels + c]; o >= 0)
        packed.insert(packed.end(), weights.begin() + o,
                      weights.begin() + o + taps);
  return packed;
}

/// Rewrites `op` with filters `filterOf` and channels `channelOf` (both new
/// index -> old index).
static void permute(Conv2DOp op, ArrayRef<float> weights,
                    ArrayRef<int64_t> filterOf, ArrayRef<int64_t> channelOf) {
  OpBuilder b(op);
  int64_t numChannels = op.getNumChannels();
  SmallVector<int8_t> ids(op.getKernelPatterns().getValues<int8_t>());
  SmallVector<int8_t> newIds;
  newIds.reserve(ids.size());
  for (int64_t f : filterOf)
    for (int64_t c : channelOf)
      newIds.push_back(ids[f * numChannels + c]);
  op.getWeightsMutable().assign(createF32Constant(
      b, op.getLoc(), repack(op, weights, ids, filterOf, channelOf)));
  op.setKernelPatternsAttr(
      DenseIntElementsAttr::get(op.getKernelPatterns().getType(), newIds));
}

static SmallVector<int64_t> identity(int64_t n) {
  SmallVector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  return order;
}

struct ReorderFiltersPass
    : public pconv::impl::ReorderFiltersPassBase<ReorderFiltersPass> {
  using ReorderFiltersPassBase::ReorderFiltersPassBase;

  void runOnOperation() override {
    SmallVector<Conv2DOp> convs;
    getOperation().walk([&](Conv2DOp op) { convs.push_back(op); });
    for (Conv2DOp op : convs) {
      auto skip = [&](const Twine &why) {
        ++numKept;
        if (remarks)
          op.emitRemark() << "filters keep their order: " << why;
      };
      if (int64_t g = sharedKernelBlock(op); g > 1) {
        skip("its filters share their kernels in blocks of " + Twine(g) +
             " (lowered filter-blocked; a reorder would split the blocks)");
        continue;
      }
      if (op.getResidual()) {
        skip("it adds a residual in its epilogue, in the residual's channel "
             "order");
        continue;
      }
      SmallVector<Conv2DOp> absorbers;
      Operation *blocker = nullptr;
      if (failed(findAbsorbers(op.getResult(), absorbers, blocker))) {
        skip("the output reaches '" + blocker->getName().getStringRef() +
             "', which cannot absorb a channel permutation");
        continue;
      }
      if (absorbers.empty()) {
        skip("no pattern conv consumes the output");
        continue;
      }
      SmallVector<int64_t> perm = reorderPermutation(op);
      if (llvm::equal(perm, identity(perm.size()))) {
        skip("already in order");
        continue;
      }
      // Every weight (and the bias) must be a constant to permute it.
      std::string why;
      FailureOr<std::vector<float>> weights =
          readConstantF32(op.getWeights(), why);
      FailureOr<std::vector<float>> bias =
          op.getBias() ? readConstantF32(op.getBias(), why)
                       : FailureOr<std::vector<float>>(std::vector<float>());
      SmallVector<std::vector<float>> absorberWeights;
      for (Conv2DOp consumer : absorbers) {
        if (failed(weights) || failed(bias))
          break;
        FailureOr<std::vector<float>> w =
            readConstantF32(consumer.getWeights(), why);
        if (failed(w))
          break;
        absorberWeights.push_back(std::move(*w));
      }
      if (failed(weights) || failed(bias) ||
          absorberWeights.size() != absorbers.size()) {
        skip("weights are not constants (" + why + ")");
        continue;
      }

      permute(op, *weights, perm, identity(op.getNumChannels()));
      if (op.getBias()) {
        std::vector<float> newBias;
        for (int64_t f : perm)
          newBias.push_back((*bias)[f]);
        OpBuilder b(op);
        op.getBiasMutable().assign(createF32Constant(b, op.getLoc(), newBias));
      }
      // The channel permutation flows unchanged through pooling, padding
      // and elementwise ops (their shapes do not change).
      for (auto [consumer, w] : llvm::zip(absorbers, absorberWeights)) {
        permute(consumer, w, identity(consumer.getNumFilters()), perm);
        ++numAbsorbed;
      }
      ++numReordered;
      if (remarks)
        op.emitRemark() << "filters reordered by length and pattern mix; "
                        << absorbers.size()
                        << " consumer conv(s) absorb the permutation";
    }
  }
};

} // namespace
