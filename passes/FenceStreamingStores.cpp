//===- FenceStreamingStores.cpp - Order non-temporal stores per task ------===//
//
// Non-temporal (streaming) stores are weakly ordered on x86: they may become
// visible after a later plain store, such as the one by which a thread
// arrives at the barrier that ends a parallel loop. A thread that reads the
// output after that barrier could then see stale lines. Every parallel
// iteration that may stream therefore ends with an `sfence`, and so does
// every sequential loop nest that streams. Not LLVM's `fence seq_cst`: x86
// lowers it to a locked no-op RMW (`lock or`), which orders ordinary
// write-back stores but is not documented to order non-temporal ones (Linux
// keeps `mfence` / `sfence` for those, `lock add` for the rest).
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "llvm/ADT/SetVector.h"

namespace mlir {
namespace pconv {
#define GEN_PASS_DEF_FENCESTREAMINGSTORESPASS
#include "passes/Passes.h.inc"
} // namespace pconv
} // namespace mlir

using namespace mlir;
using namespace mlir::pconv;

namespace {

struct FenceStreamingStoresPass
    : public pconv::impl::FenceStreamingStoresPassBase<
          FenceStreamingStoresPass> {
  void createStoreFence(OpBuilder &b, Location loc) {
    LLVM::CallIntrinsicOp::create(b, loc,
                                  b.getStringAttr("llvm.x86.sse.sfence"),
                                  ValueRange());
    ++numFences;
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    // Where a fence goes: before the terminator of the innermost parallel
    // loop's body around a streaming store, or after the store's outermost
    // op in the function body when no parallel loop encloses it.
    llvm::SetVector<Operation *> parallelBodies, sequential;
    func.walk([&](vector::StoreOp store) {
      if (!store.getNontemporal())
        return;
      if (auto loop = store->getParentOfType<scf::ParallelOp>()) {
        parallelBodies.insert(loop.getBody()->getTerminator());
        return;
      }
      Operation *top = store;
      while (top->getParentOp() != func)
        top = top->getParentOp();
      sequential.insert(top);
    });
    for (Operation *terminator : parallelBodies) {
      OpBuilder b(terminator);
      createStoreFence(b, terminator->getLoc());
    }
    for (Operation *top : sequential) {
      OpBuilder b(top->getContext());
      b.setInsertionPointAfter(top);
      createStoreFence(b, top->getLoc());
    }
  }
};

} // namespace
