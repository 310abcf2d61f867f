//===- FuseRowBands.cpp - Two 3x3 convs computed band by band of rows ----===//
//
// A stride-1 3x3 pconv.conv2d whose large result only feeds another one
// (VGG-16's 3 -> 64 -> 64 convs at 224x224: a 12.8 MB map between them) is
// computed per band of output rows instead: the first conv produces the
// band's rows plus one halo row on each side, the second conv (with its
// fused activation and max-pool) consumes them at once, and the band's
// result is inserted into the full output. The intermediate map then exists
// only one band at a time, small enough to stay in L2, instead of being
// written to memory in full and read back: in the network those stores miss
// every cache, since the previous image's classifier streamed its weights
// through L3 since the buffer was last touched.
//
// The first and last bands read one zero row of padding each (the convs'
// own top and bottom padding); the middle bands, an scf.for, read only
// interior rows (padding [0, 1, 0, 1]), and the halo rows of the first conv
// are recomputed by neighbouring bands (2 rows per band). Each band conv
// gets its own copy of the constant weights (so each is repacked in its
// schedule order; a shared constant would fall back to the offset table),
// which stores the two convs' kept weights three times.
//
//===----------------------------------------------------------------------===//

#include "passes/LoweringUtils.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir {
namespace pconv {
#define GEN_PASS_DEF_FUSEROWBANDSPASS
#include "passes/Passes.h.inc"
} // namespace pconv
} // namespace mlir

using namespace mlir;
using namespace mlir::pconv;

namespace {

/// A stride-1, undilated 3x3 conv with padding 1 on every side and no
/// residual operand.
static bool isSamePadded3x3(Conv2DOp op) {
  ConvShape s = ConvShape::of(op);
  return s.kernelHeight == 3 && s.kernelWidth == 3 &&
         llvm::all_of(s.strides, [](int64_t v) { return v == 1; }) &&
         llvm::all_of(s.dilations, [](int64_t v) { return v == 1; }) &&
         llvm::all_of(s.padding, [](int64_t v) { return v == 1; }) &&
         !op.getResidual();
}

/// Where a band sits: its padding rows and how many input rows it reads.
enum class BandKind { First, Middle, Last };

struct BandFusion {
  Conv2DOp first, second;
  int64_t bandRows;

  /// The consumer conv if `op` and its only user qualify.
  static std::optional<BandFusion> match(Conv2DOp op, int64_t bandRows,
                                         int64_t minBytes) {
    if (!isSamePadded3x3(op) || op.getMaxPool())
      return std::nullopt;
    // The one live user (the import leaves dead pads behind until the
    // pipeline's canonicalization).
    OpOperand *use = nullptr;
    for (OpOperand &u : op.getResult().getUses()) {
      if (isOpTriviallyDead(u.getOwner()))
        continue;
      if (use)
        return std::nullopt;
      use = &u;
    }
    auto next = use ? dyn_cast<Conv2DOp>(use->getOwner()) : Conv2DOp();
    if (!next || use->getOperandNumber() != 0 || !isSamePadded3x3(next) ||
        next->getBlock() != op->getBlock())
      return std::nullopt;
    ConvShape s = ConvShape::of(op);
    int64_t bytes = 4 * s.batch * s.filters * s.outHeight * s.outWidth;
    if (bytes < minBytes || s.outHeight % bandRows ||
        s.outHeight / bandRows < 3)
      return std::nullopt;
    if (auto pool = next.getMaxPool())
      if (bandRows % (*pool)[0])
        return std::nullopt;
    return BandFusion{op, next, bandRows};
  }

  /// `conv` cloned onto `input` with `padding` (rows above and below the
  /// band), its constant weights cloned too.
  Conv2DOp cloneConv(OpBuilder &b, Conv2DOp conv, Value input,
                     ArrayRef<int64_t> padding, int64_t outRows) {
    IRMapping map;
    map.map(conv.getInput(), input);
    if (auto weights = conv.getWeights().getDefiningOp<arith::ConstantOp>())
      map.map(conv.getWeights(), b.clone(*weights)->getResult(0));
    auto clone = cast<Conv2DOp>(b.clone(*conv, map));
    clone.setPadding(padding);
    auto type = cast<RankedTensorType>(conv.getType());
    SmallVector<int64_t> shape(type.getShape());
    shape[2] = outRows;
    clone.getResult().setType(RankedTensorType::get(shape, type.getElementType()));
    return clone;
  }

  /// (r0 + delta) / divisor, folded when r0 is a constant.
  static OpFoldResult rowIndex(OpBuilder &b, Location loc, OpFoldResult r0,
                               int64_t delta, int64_t divisor) {
    if (std::optional<int64_t> row = getConstantIntValue(r0))
      return b.getIndexAttr((*row + delta) / divisor);
    Value v = cast<Value>(r0);
    if (delta)
      v = arith::AddIOp::create(b, loc, v,
                                arith::ConstantIndexOp::create(b, loc, delta));
    if (divisor > 1)
      v = arith::DivUIOp::create(
          b, loc, v, arith::ConstantIndexOp::create(b, loc, divisor));
    return v;
  }

  /// Output rows [r0, r0 + bandRows) of the pair, inserted into `acc`.
  Value emitBand(OpBuilder &b, Location loc, BandKind kind, OpFoldResult r0,
                 Value acc) {
    ConvShape s = ConvShape::of(first);
    int64_t rows = bandRows;
    // Input rows of the first conv: its output rows [r0 - 1, r0 + rows + 1)
    // within the image, i.e. input rows [r0 - 2, r0 + rows + 2) there.
    int64_t top = kind == BandKind::First ? 1 : 0;
    int64_t bottom = kind == BandKind::Last ? 1 : 0;
    int64_t inRows = rows + 4 - 2 * top - 2 * bottom;
    SmallVector<OpFoldResult> offsets{
        b.getIndexAttr(0), b.getIndexAttr(0),
        kind == BandKind::First ? b.getIndexAttr(0) : rowIndex(b, loc, r0, -2, 1),
        b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes{
        b.getIndexAttr(s.batch), b.getIndexAttr(s.channels),
        b.getIndexAttr(inRows), b.getIndexAttr(s.width)};
    SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
    Value slice = tensor::ExtractSliceOp::create(b, loc, first.getInput(),
                                                 offsets, sizes, strides);
    SmallVector<int64_t> padding{top, 1, bottom, 1};
    int64_t midRows = inRows + top + bottom - 2;
    // The second conv's result rows, pooled when it pools.
    int64_t pool = second.getMaxPool() ? (*second.getMaxPool())[0] : 1;
    Conv2DOp a = cloneConv(b, first, slice, padding, midRows);
    Conv2DOp c = cloneConv(b, second, a.getResult(), padding, rows / pool);
    auto outType = cast<RankedTensorType>(c.getType());
    SmallVector<OpFoldResult> outOffsets{b.getIndexAttr(0), b.getIndexAttr(0),
                                         rowIndex(b, loc, r0, 0, pool),
                                         b.getIndexAttr(0)};
    SmallVector<OpFoldResult> outSizes;
    for (int64_t d : outType.getShape())
      outSizes.push_back(b.getIndexAttr(d));
    return tensor::InsertSliceOp::create(b, loc, c.getResult(), acc,
                                         outOffsets, outSizes, strides);
  }

  void rewrite() {
    OpBuilder b(second);
    Location loc = second.getLoc();
    auto type = cast<RankedTensorType>(second.getType());
    int64_t height = ConvShape::of(first).outHeight;
    Value acc = tensor::EmptyOp::create(b, loc, type.getShape(),
                                        type.getElementType());
    auto idx = [&](int64_t v) {
      return arith::ConstantIndexOp::create(b, loc, v).getResult();
    };
    acc = emitBand(b, loc, BandKind::First, b.getIndexAttr(0), acc);
    auto loop = scf::ForOp::create(
        b, loc, idx(bandRows), idx(height - bandRows), idx(bandRows),
        ValueRange{acc},
        [&](OpBuilder &lb, Location l, Value r0, ValueRange iter) {
          Value next = emitBand(lb, l, BandKind::Middle, r0, iter[0]);
          scf::YieldOp::create(lb, l, next);
        });
    acc = emitBand(b, loc, BandKind::Last, b.getIndexAttr(height - bandRows),
                   loop.getResult(0));
    second.getResult().replaceAllUsesWith(acc);
    second.erase();
    for (Operation *user : llvm::make_early_inc_range(first->getUsers()))
      user->erase(); // dead (see match)
    first.erase();
  }
};

struct FuseRowBandsPass
    : public pconv::impl::FuseRowBandsPassBase<FuseRowBandsPass> {
  using FuseRowBandsPassBase::FuseRowBandsPassBase;

  void runOnOperation() override {
    if (bandRows == 0)
      return;
    if (bandRows < 2) {
      getOperation().emitError()
          << "pconv-fuse-row-bands: band-rows must be 0 (off) or at least 2, got "
          << static_cast<int64_t>(bandRows);
      return signalPassFailure();
    }
    // In block order a pair's consumer comes after its producer, so a conv
    // already taken as a consumer is the only one to skip.
    SmallVector<BandFusion> fusions;
    llvm::DenseSet<Operation *> consumers;
    getOperation().walk([&](Conv2DOp op) {
      if (consumers.contains(op))
        return;
      if (auto f = BandFusion::match(op, bandRows, minBytes)) {
        consumers.insert(f->second);
        fusions.push_back(*f);
      }
    });
    for (BandFusion &f : fusions)
      f.rewrite();
    numFused += fusions.size();
  }
};

} // namespace
