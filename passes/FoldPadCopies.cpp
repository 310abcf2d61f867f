//===- FoldPadCopies.cpp - Write producers straight into padded buffers ---===//
//
// A tensor.pad bufferizes to a new buffer, a fill of it with the pad value,
// and a copy of the source into its interior. When the source is a buffer of
// its own that only vector/memref loads and stores or linalg ops write and
// read before the copy (a lowered pconv.conv2d's output, an elementwise op
// after it), the producer can write the interior directly: the padded buffer is allocated and filled before the
// producer, the source buffer and the copy disappear. This removes one
// activation-sized buffer from the live set at that point (ResNet's stem conv
// -> max pool, MobileNet's expansion conv -> depthwise) and one copy pass.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/IR/Dominance.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir {
namespace pconv {
#define GEN_PASS_DEF_FOLDPADCOPIESPASS
#include "passes/Passes.h.inc"
} // namespace pconv
} // namespace mlir

using namespace mlir;
using namespace mlir::pconv;

namespace {

/// Ops that take any strided buffer with a unit innermost stride, so the
/// source buffer can be replaced by the interior view without retyping them:
/// element accesses and linalg ops on buffers (e.g. a ReLU6 applied after a
/// conv).
bool acceptsStridedBuffer(Operation *op) {
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
    return linalgOp.hasPureBufferSemantics();
  return isa<vector::LoadOp, vector::StoreOp, vector::MaskedLoadOp,
             vector::MaskedStoreOp, vector::TransferReadOp,
             vector::TransferWriteOp, memref::LoadOp, memref::StoreOp>(op);
}

/// One bufferized pad whose copy can be folded into the source's producer.
struct PadCopy {
  memref::CopyOp copy;
  memref::AllocOp source, padded;
  memref::SubViewOp interior;
  linalg::LinalgOp fill;
  memref::DeallocOp sourceDealloc;

  LogicalResult match(DominanceInfo &dominance) {
    source = copy.getSource().getDefiningOp<memref::AllocOp>();
    interior = copy.getTarget().getDefiningOp<memref::SubViewOp>();
    if (!source || !interior || !interior->hasOneUse() ||
        !interior.getOffsets().empty() || !interior.getSizes().empty() ||
        !interior.getStrides().empty())
      return failure();
    padded = interior.getSource().getDefiningOp<memref::AllocOp>();
    Block *block = copy->getBlock();
    if (!padded || source->getBlock() != block || padded->getBlock() != block ||
        !source->isBeforeInBlock(padded) || !padded.getDynamicSizes().empty() ||
        !source.getDynamicSizes().empty() ||
        source.getType().getShape() != interior.getType().getShape() ||
        !interior.getType().isLastDimUnitStride())
      return failure();
    // The source: accesses before the copy, the copy, one dealloc.
    for (Operation *user : source->getUsers()) {
      if (user == copy)
        continue;
      if (auto dealloc = dyn_cast<memref::DeallocOp>(user)) {
        if (sourceDealloc)
          return failure();
        sourceDealloc = dealloc;
        continue;
      }
      Operation *inBlock = block->findAncestorOpInBlock(*user);
      if (!acceptsStridedBuffer(user) || !inBlock ||
          !inBlock->isBeforeInBlock(copy))
        return failure();
    }
    // The padded buffer: one fill and the interior view before the copy,
    // anything after it.
    for (Operation *user : padded->getUsers()) {
      if (user == interior)
        continue;
      Operation *inBlock = block->findAncestorOpInBlock(*user);
      if (!inBlock)
        return failure();
      if (copy->isBeforeInBlock(inBlock))
        continue;
      auto linalgOp = dyn_cast<linalg::LinalgOp>(user);
      // The fill writes only the padded buffer, from scalars (linalg.fill,
      // or the linalg.map bufferization emits).
      if (fill || !linalgOp || inBlock != user ||
          !linalgOp.hasPureBufferSemantics() ||
          linalgOp.getDpsInits() != ValueRange{padded.getResult()} ||
          llvm::any_of(linalgOp.getDpsInputs(), [](Value v) {
            return isa<ShapedType>(v.getType());
          }))
        return failure();
      fill = linalgOp;
    }
    if (!fill || !fill->isBeforeInBlock(interior) ||
        !interior->isBeforeInBlock(copy))
      return failure();
    // The fill moves above the source's allocation: its operands and the
    // values its body captures (the pad value) must be available there.
    SetVector<Value> used(fill->operand_begin(), fill->operand_end());
    getUsedValuesDefinedAbove(fill->getRegions(), used);
    for (Value value : used)
      if (value != padded.getResult() &&
          !dominance.properlyDominates(value, source))
        return failure();
    return success();
  }

  void rewrite() {
    padded->moveBefore(source);
    fill->moveBefore(source);
    interior->moveBefore(source);
    copy.erase();
    if (sourceDealloc)
      sourceDealloc.erase();
    source.getResult().replaceAllUsesWith(interior.getResult());
    source.erase();
  }
};

struct FoldPadCopiesPass
    : public pconv::impl::FoldPadCopiesPassBase<FoldPadCopiesPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp copy) { copies.push_back(copy); });
    DominanceInfo dominance(getOperation());
    for (memref::CopyOp copy : copies) {
      PadCopy pad{copy, {}, {}, {}, {}, {}};
      if (succeeded(pad.match(dominance))) {
        pad.rewrite();
        ++numFolded;
      }
    }
  }
};

} // namespace
