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

#include "passes/LoweringUtils.h"
#include "passes/Passes.h"

#include "mlir/IR/Dominance.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
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

/// The copy's source buffer is used only by accesses before the copy (in
/// its block), the copy and at most one dealloc (returned in `dealloc`).
LogicalResult matchSource(memref::CopyOp copy, memref::AllocOp source,
                          memref::DeallocOp &dealloc) {
  Block *block = copy->getBlock();
  for (Operation *user : source->getUsers()) {
    if (user == copy)
      continue;
    if (auto d = dyn_cast<memref::DeallocOp>(user)) {
      if (dealloc)
        return failure();
      dealloc = d;
      continue;
    }
    Operation *inBlock = block->findAncestorOpInBlock(*user);
    if (!acceptsStridedBuffer(user) || !inBlock ||
        !inBlock->isBeforeInBlock(copy))
      return failure();
  }
  return success();
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
    if (failed(matchSource(copy, source, sourceDealloc)))
      return failure();
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

  /// The scalar the fill writes everywhere: a linalg.fill's value, or what
  /// the body of a linalg.map / linalg.generic without inputs yields when
  /// it is defined outside the body (or is an f32 constant there, cloned at
  /// `b`'s insertion point); null otherwise.
  Value fillScalar(OpBuilder &b) {
    if (auto f = dyn_cast<linalg::FillOp>(fill.getOperation()))
      return f.value();
    if (fill.getNumDpsInputs() != 0 || fill->getNumRegions() != 1)
      return Value();
    Block &body = fill->getRegion(0).front();
    auto yield = dyn_cast<linalg::YieldOp>(body.getTerminator());
    if (!yield || yield->getNumOperands() != 1)
      return Value();
    Value value = yield->getOperand(0);
    if (value.getParentRegion() != &fill->getRegion(0))
      return value;
    auto constant = value.getDefiningOp<arith::ConstantOp>();
    if (constant && constant.getType().isF32())
      return b.clone(*constant)->getResult(0);
    return Value();
  }

  /// Whether the pad widens only the last two dimensions of a static 4-D f32
  /// buffer (interior at [0, 0, top, left], unit strides).
  bool padsRowsAndColumns() {
    auto type = padded.getType();
    ArrayRef<int64_t> offsets = interior.getStaticOffsets();
    ArrayRef<int64_t> sizes = interior.getStaticSizes();
    return type.getRank() == 4 && type.getElementType().isF32() &&
           offsets[0] == 0 && offsets[1] == 0 &&
           sizes[0] == type.getDimSize(0) && sizes[1] == type.getDimSize(1) &&
           llvm::all_of(interior.getStaticStrides(),
                        [](int64_t s) { return s == 1; });
  }

  /// Folds the copy; with `lanes` > 0 the fill writes only the halo when
  /// it can (returns whether it does).
  bool rewrite(int64_t lanes) {
    padded->moveBefore(source);
    fill->moveBefore(source);
    interior->moveBefore(source);
    copy.erase();
    if (sourceDealloc)
      sourceDealloc.erase();
    source.getResult().replaceAllUsesWith(interior.getResult());
    source.erase();
    if (lanes == 0 || !padsRowsAndColumns())
      return false;
    OpBuilder b(fill);
    Value value = fillScalar(b);
    if (!value || !value.getType().isF32())
      return false;
    ArrayRef<int64_t> offsets = interior.getStaticOffsets();
    ArrayRef<int64_t> sizes = interior.getStaticSizes();
    fillHalo(b, fill.getLoc(), padded, value, sizes[2], sizes[3], offsets[2],
             offsets[3], lanes);
    fill->erase();
    return true;
  }
};

/// A buffer copied into a view of another one (a bufferized
/// `tensor.insert_slice`: a row band's result inserted into the full map by
/// pconv-fuse-row-bands): the producer writes the view directly when nothing
/// else touches the destination between the source's allocation and the
/// copy, and the view (with its offsets) can be created before the source.
struct InsertCopy {
  memref::CopyOp copy;
  memref::AllocOp source;
  memref::SubViewOp view;
  memref::DeallocOp sourceDealloc;

  LogicalResult match(DominanceInfo &dominance) {
    source = copy.getSource().getDefiningOp<memref::AllocOp>();
    view = copy.getTarget().getDefiningOp<memref::SubViewOp>();
    Block *block = copy->getBlock();
    if (!source || !view || !view->hasOneUse() ||
        source->getBlock() != block || view->getBlock() != block ||
        !source.getDynamicSizes().empty() ||
        source.getType().getShape() != view.getType().getShape() ||
        !view.getType().isLastDimUnitStride())
      return failure();
    // The view's operands (the destination, dynamic offsets) exist before
    // the source.
    for (Value operand : view->getOperands())
      if (!dominance.properlyDominates(operand, source))
        return failure();
    // Nothing else reads or writes the destination's memory between the
    // source's allocation and the copy: no user of the buffer it views
    // (followed up through view-like ops) or of any view of that buffer.
    Value root = view.getSource();
    while (auto viewLike = root.getDefiningOp<ViewLikeOpInterface>())
      root = viewLike.getViewSource();
    SmallVector<Value> aliases{root};
    while (!aliases.empty()) {
      Value alias = aliases.pop_back_val();
      for (Operation *user : alias.getUsers()) {
        if (user == view)
          continue;
        if (auto viewLike = dyn_cast<ViewLikeOpInterface>(user))
          if (viewLike.getViewSource() == alias)
            llvm::append_range(aliases, user->getResults());
        Operation *inBlock = block->findAncestorOpInBlock(*user);
        if (inBlock && source->isBeforeInBlock(inBlock) &&
            inBlock->isBeforeInBlock(copy))
          return failure();
      }
    }
    return matchSource(copy, source, sourceDealloc);
  }

  void rewrite() {
    view->moveBefore(source);
    copy.erase();
    if (sourceDealloc)
      sourceDealloc.erase();
    source.getResult().replaceAllUsesWith(view.getResult());
    source.erase();
  }
};

struct FoldPadCopiesPass
    : public pconv::impl::FoldPadCopiesPassBase<FoldPadCopiesPass> {
  using FoldPadCopiesPassBase::FoldPadCopiesPassBase;

  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp copy) { copies.push_back(copy); });
    DominanceInfo dominance(getOperation());
    for (memref::CopyOp copy : copies) {
      PadCopy pad{copy, {}, {}, {}, {}, {}};
      if (succeeded(pad.match(dominance))) {
        if (pad.rewrite(vectorWidth))
          ++numHaloFills;
        ++numFolded;
        continue;
      }
      InsertCopy insert{copy, {}, {}, {}};
      if (succeeded(insert.match(dominance))) {
        insert.rewrite();
        ++numInserts;
      }
    }
  }
};

} // namespace
