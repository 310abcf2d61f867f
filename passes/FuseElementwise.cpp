//===- FuseElementwise.cpp - Fuse chains of elementwise generics ----------===//
//
// torch-mlir emits one linalg.generic per elementwise op (ReLU6 is a max and
// a min, a residual block an add and a ReLU); each would be one pass over
// the activation. Upstream elementwise fusion merges them, restricted here to
// all-parallel producers and consumers so reductions (pooling) and
// contractions (linear layers) keep the form pconv-vectorize-dense matches.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace pconv {
#define GEN_PASS_DEF_FUSEELEMENTWISEPASS
#include "passes/Passes.h.inc"
} // namespace pconv
} // namespace mlir

using namespace mlir;

namespace {

bool isElementwiseGeneric(Operation *op) {
  auto generic = dyn_cast_or_null<linalg::GenericOp>(op);
  return generic && generic.getNumLoops() > 0 &&
         generic.getNumParallelLoops() == generic.getNumLoops();
}

struct FuseElementwisePass
    : public pconv::impl::FuseElementwisePassBase<FuseElementwisePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(
        patterns, [](OpOperand *operand) {
          Operation *producer = operand->get().getDefiningOp();
          return isElementwiseGeneric(producer) && producer->hasOneUse() &&
                 isElementwiseGeneric(operand->getOwner());
        });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
