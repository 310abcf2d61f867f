//===- GroupPatterns.cpp - Pattern grouping: the branch-free schedule -----===//
//
// Builds each pattern conv's schedule: kept kernels grouped by (filter,
// channel block, pattern) in CSR tables, so that the generated code runs
// one straight-line loop per pattern and never branches on a kernel's
// pattern, and filters split into groups of equal work for the threads.
// The schedule is stored on the op (`pconv.schedule`) for the lowering; the
// statistics report what the sparse format costs against dense weights.
//
//===----------------------------------------------------------------------===//

#include "passes/LoweringUtils.h"
#include "passes/Passes.h"

#include "llvm/Support/FormatVariadic.h"

namespace mlir {
namespace pconv {
#define GEN_PASS_DEF_GROUPPATTERNSPASS
#include "passes/Passes.h.inc"
} // namespace pconv
} // namespace mlir

using namespace mlir;
using namespace mlir::pconv;

namespace {

struct GroupPatternsPass
    : public pconv::impl::GroupPatternsPassBase<GroupPatternsPass> {
  using GroupPatternsPassBase::GroupPatternsPassBase;

  void runOnOperation() override {
    WalkResult result = getOperation()->walk([&](Conv2DOp op) {
      // Dense convs lower to a filter-blocked kernel that needs no schedule.
      if (isFilterBlockedConv(op)) {
        ++numDense;
        if (remarks)
          op.emitRemark() << "dense conv: no pattern schedule (lowered as a "
                             "filter-blocked dense kernel)";
        return WalkResult::advance();
      }
      int64_t block = 0, groups = 1;
      if (auto tile = op->getAttrOfType<DictionaryAttr>(kTileAttrName)) {
        if (auto b = tile.getAs<IntegerAttr>("channel_block"))
          block = b.getInt();
        if (auto g = tile.getAs<IntegerAttr>("filter_groups"))
          groups = g.getInt();
      }
      if (block < 0 || groups < 1) {
        op.emitOpError() << "has an invalid '" << kTileAttrName
                         << "' attribute: channel_block and filter_groups "
                            "must be positive";
        return WalkResult::interrupt();
      }
      PatternSchedule schedule = PatternSchedule::build(op, block, groups);
      op->setAttr(kScheduleAttrName, schedule.toAttr(op.getContext()));

      // Storage: packed non-zeros (f32) + the pattern ids (i8 per kernel
      // slot) + the schedule's i32 tables, against dense f32 weights.
      int64_t taps = op.getLibrary().getTaps();
      ArrayRef<int64_t> kernel = op.getLibrary().getKernelShape();
      int64_t slots = op.getNumFilters() * op.getNumChannels();
      int64_t weights = 4 * int64_t(schedule.channel.size()) * taps;
      int64_t indices = slots + schedule.indexBytes();
      int64_t dense = 4 * slots * kernel[0] * kernel[1];
      weightBytes += weights;
      indexBytes += indices;
      denseBytes += dense;
      numGroups += schedule.numGroups();
      ++numScheduled;
      if (remarks)
        op.emitRemark() << "pattern groups: "
                        << llvm::count(schedule.patternUsed, true)
                        << " patterns used, " << schedule.channel.size()
                        << " kept kernels in " << schedule.numChannelBlocks
                        << " channel block(s) of " << schedule.channelBlock
                        << ", " << schedule.numGroups()
                        << " filter group(s); storage " << weights + indices
                        << " bytes (weights " << weights << ", indices "
                        << indices << ") vs dense " << dense << " ("
                        << llvm::formatv("{0:F2}", double(dense) /
                                                     double(weights + indices))
                               .str()
                        << "x smaller)";
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
