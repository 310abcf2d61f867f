//===- FuseActivation.cpp - ReLU into the pconv.conv2d epilogue -----------===//

#include "dialect/PConvOps.h"
#include "passes/Passes.h"

#include "mlir/IR/Matchers.h"

namespace mlir {
namespace pconv {
#define GEN_PASS_DEF_FUSEACTIVATIONPASS
#include "passes/Passes.h.inc"
} // namespace pconv
} // namespace mlir

using namespace mlir;
using namespace mlir::pconv;

namespace {

/// Whether `value` is `max(arg, 0)` in one of the forms torch-mlir emits.
static bool isReluOf(Value value, Value arg) {
  Operation *op = value.getDefiningOp();
  if (!op)
    return false;
  if (auto max = dyn_cast<arith::MaximumFOp>(op))
    return (max.getLhs() == arg && matchPattern(max.getRhs(), m_AnyZeroFloat())) ||
           (max.getRhs() == arg && matchPattern(max.getLhs(), m_AnyZeroFloat()));
  auto select = dyn_cast<arith::SelectOp>(op);
  if (!select || select.getTrueValue() != arg ||
      !matchPattern(select.getFalseValue(), m_AnyZeroFloat()))
    return false;
  auto cmp = select.getCondition().getDefiningOp<arith::CmpFOp>();
  if (!cmp || cmp.getLhs() != arg || !matchPattern(cmp.getRhs(), m_AnyZeroFloat()))
    return false;
  // ugt keeps NaN (as torch.relu does); ogt/oge/uge agree on every non-NaN.
  return llvm::is_contained({arith::CmpFPredicate::UGT, arith::CmpFPredicate::OGT,
                             arith::CmpFPredicate::UGE, arith::CmpFPredicate::OGE},
                            cmp.getPredicate());
}

/// The conv whose result `generic` applies a ReLU to, elementwise.
static Conv2DOp matchReluOfConv(linalg::GenericOp generic) {
  if (generic.getNumDpsInputs() != 1 || generic.getNumDpsInits() != 1 ||
      generic.getNumResults() != 1 ||
      !llvm::all_of(generic.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isIdentity(); }) ||
      generic.getNumParallelLoops() != generic.getNumLoops())
    return {};
  auto conv = generic.getDpsInputs()[0].getDefiningOp<Conv2DOp>();
  if (!conv || conv.getRelu() || !conv->hasOneUse() ||
      conv.getType() != generic.getResult(0).getType())
    return {};
  Block &body = generic.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (!isReluOf(yield.getValues()[0], body.getArgument(0)))
    return {};
  return conv;
}

struct FuseActivationPass
    : public pconv::impl::FuseActivationPassBase<FuseActivationPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> generics;
    getOperation().walk([&](linalg::GenericOp op) { generics.push_back(op); });
    for (linalg::GenericOp generic : generics) {
      Conv2DOp conv = matchReluOfConv(generic);
      if (!conv)
        continue;
      conv.setRelu(true);
      generic.getResult(0).replaceAllUsesWith(conv.getResult());
      generic.erase();
      ++numFused;
    }
  }
};

} // namespace
