//===- LowerStridedCopies.cpp - memref.copy -> linalg.copy ----------------===//

#include "passes/Passes.h"


namespace mlir {
namespace pconv {
#define GEN_PASS_DEF_LOWERSTRIDEDCOPIESPASS
#include "passes/Passes.h.inc"
} // namespace pconv
} // namespace mlir

using namespace mlir;
using namespace mlir::pconv;

namespace {

struct LowerStridedCopiesPass
    : public pconv::impl::LowerStridedCopiesPassBase<LowerStridedCopiesPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp copy) {
      auto source = dyn_cast<MemRefType>(copy.getSource().getType());
      auto target = dyn_cast<MemRefType>(copy.getTarget().getType());
      // Unranked copies have no loop form; identity layouts become memcpy.
      if (source && target &&
          !(source.getLayout().isIdentity() && target.getLayout().isIdentity()))
        copies.push_back(copy);
    });
    for (memref::CopyOp copy : copies) {
      OpBuilder builder(copy);
      linalg::CopyOp::create(builder, copy.getLoc(), copy.getSource(),
                             copy.getTarget());
      copy.erase();
      ++numRewritten;
    }
  }
};

} // namespace
