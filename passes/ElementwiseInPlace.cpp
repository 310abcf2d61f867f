//===- ElementwiseInPlace.cpp - Elementwise ops write over a dead input ---===//
//
// torch-mlir gives every elementwise linalg.generic a fresh `tensor.empty`
// destination, so bufferization allocates a new buffer for it even when an
// input of the same shape dies at that op (a ReLU6 after a conv, a residual
// add): input and output are then live together. Making that input the
// destination lets one-shot bufferization compute the op in place.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

namespace mlir {
namespace pconv {
#define GEN_PASS_DEF_ELEMENTWISEINPLACEPASS
#include "passes/Passes.h.inc"
} // namespace pconv
} // namespace mlir

using namespace mlir;

namespace {

/// The input `op` can write its result over: same type as the result, read
/// element for element, used by `op` only and produced by an op (a function
/// argument is not writable, bufferization would copy it).
OpOperand *deadSameShapeInput(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumLoops() == 0 || op.getNumParallelLoops() != op.getNumLoops())
    return nullptr;
  OpOperand *init = op.getDpsInitOperand(0);
  if (!init->get().getDefiningOp<tensor::EmptyOp>() ||
      op.payloadUsesValueFromOperand(init) ||
      !op.getMatchingIndexingMap(init).isIdentity())
    return nullptr;
  for (OpOperand *input : op.getDpsInputOperands()) {
    Value value = input->get();
    if (value.getType() == init->get().getType() && value.hasOneUse() &&
        value.getDefiningOp() && op.getMatchingIndexingMap(input).isIdentity())
      return input;
  }
  return nullptr;
}

struct ElementwiseInPlacePass
    : public pconv::impl::ElementwiseInPlacePassBase<ElementwiseInPlacePass> {
  void runOnOperation() override {
    getOperation().walk([&](linalg::GenericOp op) {
      if (OpOperand *input = deadSameShapeInput(op)) {
        op.getDpsInitOperand(0)->set(input->get());
        ++numInPlace;
      }
    });
  }
};

} // namespace
