//===- SetTarget.cpp - Record the target triple on the module -------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace mlir {
namespace pconv {
#define GEN_PASS_DEF_SETTARGETPASS
#include "passes/Passes.h.inc"
} // namespace pconv
} // namespace mlir

using namespace mlir;

namespace {

struct SetTargetPass : public pconv::impl::SetTargetPassBase<SetTargetPass> {
  using SetTargetPassBase::SetTargetPassBase;

  void runOnOperation() override {
    if (triple.empty())
      return;
    getOperation()->setAttr(LLVM::LLVMDialect::getTargetTripleAttrName(),
                            StringAttr::get(&getContext(), triple));
  }
};

} // namespace
