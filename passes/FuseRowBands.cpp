//===- FuseRowBands.cpp - A chain of convs computed band by band of rows --===//
//
// A chain of pconv.conv2d ops whose large intermediate results each feed
// only the next conv (VGG-16's 3 -> 64 -> 64 convs at 224x224: a 12.8 MB
// map between them; MobileNet-V2's 1x1 expansion -> depthwise -> 1x1
// projection at 112x112 and 56x56) is computed per band of the last conv's
// output rows instead: walking the chain backwards, each conv computes the
// rows its consumer reads (the consumer's halo rows included), from a row
// slice of the chain's input, and the band's result is inserted into the
// full output. The intermediate maps then exist one band at a time, small
// enough to stay in L2, instead of being written to memory in full and
// read back: in VGG-16 those stores miss every cache, since the previous
// image's classifier streamed its weights through L3 since the buffer was
// last touched.
//
// Bands at the top and bottom edges read the convs' own zero padding rows
// and are emitted one by one; the bands in between, an scf.for, read only
// interior rows (padding [0, left, 0, right]); halo rows are recomputed by
// neighbouring bands. Each band conv gets its own copy of the constant
// weights (so each is repacked in its schedule order; a shared constant
// would fall back to the offset table), which stores the chain's kept
// weights once per emitted band body.
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

/// An undilated conv (any kernel, stride and padding): the band rewrite
/// maps its output rows to input rows.
static bool isBandable(Conv2DOp op) {
  return llvm::all_of(ConvShape::of(op).dilations,
                      [](int64_t v) { return v == 1; });
}

/// The one live user of `op`'s result (the import leaves dead pads behind
/// until the pipeline's canonicalization), if there is exactly one.
static OpOperand *onlyLiveUse(Conv2DOp op) {
  OpOperand *use = nullptr;
  for (OpOperand &u : op.getResult().getUses()) {
    if (isOpTriviallyDead(u.getOwner()))
      continue;
    if (use)
      return nullptr;
    use = &u;
  }
  return use;
}

/// A row start `coef * r + offset` in terms of the band loop's row `r` (the
/// last conv's first output row of the band).
struct AffineRow {
  int64_t coef = 1, offset = 0;
};

/// One conv of one band: the rows it computes and the input rows it reads.
struct ConvBand {
  int64_t outStart, outRows; // output rows (before a fused pool)
  int64_t inStart, inRows;   // input rows read (inside the input)
  int64_t padTop, padBottom; // zero rows above / below them
};

struct BandChain {
  SmallVector<Conv2DOp> convs;
  int64_t bandRows; // output rows of the last conv (before its pool) per band
  int64_t pool;     // the last conv's pool window (rows); 1 without one
  // The bands that are the scf.for, [loopFirst, loopLast] (interiorBands(),
  // found by match()).
  int64_t loopFirst = 0, loopLast = -1;

  /// What every conv of the band of the last conv's output rows [a, b)
  /// computes and reads: back to front, a conv's output rows are the rows
  /// (within the image) its consumer reads. Failure if a band would need
  /// more padding than a conv has.
  FailureOr<SmallVector<ConvBand>> plan(int64_t a, int64_t b) const {
    SmallVector<ConvBand> bands(convs.size());
    for (int64_t i = int64_t(convs.size()) - 1; i >= 0; --i) {
      ConvShape s = ConvShape::of(convs[i]);
      int64_t lo = a * s.strides[0] - s.padding[0];
      int64_t hi = (b - 1) * s.strides[0] - s.padding[0] + s.kernelHeight;
      int64_t clo = std::max<int64_t>(0, lo), chi = std::min(s.height, hi);
      if (chi <= clo || clo - lo > s.padding[0] || hi - chi > s.padding[2])
        return failure();
      bands[i] = {a, b - a, clo, chi - clo, clo - lo, hi - chi};
      a = clo;
      b = chi;
    }
    return bands;
  }

  static bool interior(ArrayRef<ConvBand> bands) {
    return llvm::all_of(bands, [](const ConvBand &c) {
      return c.padTop == 0 && c.padBottom == 0;
    });
  }

  int64_t height() const { return ConvShape::of(convs.back()).outHeight; }
  int64_t numBands() const { return llvm::divideCeil(height(), bandRows); }
  std::pair<int64_t, int64_t> bandRange(int64_t k) const {
    return {k * bandRows, std::min(height(), (k + 1) * bandRows)};
  }

  /// Bytes of the largest intermediate map one band holds.
  int64_t bandBytes(ArrayRef<ConvBand> bands) const {
    int64_t most = 0;
    for (size_t i = 0; i + 1 < convs.size(); ++i) {
      ConvShape s = ConvShape::of(convs[i]);
      most = std::max(most, 4 * s.batch * s.filters * bands[i].outRows *
                                s.outWidth);
    }
    return most;
  }

  /// The bands that are an `scf.for` (all convs read only interior rows):
  /// [first, last], empty when first > last. Failure when a band cannot be
  /// planned or more than `maxEdgeBands` bands on either side are not
  /// interior (a halo deeper than the band).
  FailureOr<std::pair<int64_t, int64_t>> interiorBands() const {
    int64_t n = numBands(), first = -1, last = -2;
    for (int64_t k = 0; k < n; ++k) {
      auto [a, b] = bandRange(k);
      FailureOr<SmallVector<ConvBand>> bands = plan(a, b);
      if (failed(bands))
        return failure();
      if (b - a == bandRows && interior(*bands)) {
        if (first < 0)
          first = k;
        else if (last != k - 1)
          return failure(); // not contiguous
        last = k;
      }
    }
    constexpr int64_t maxEdgeBands = 2;
    if (first < 0)
      return failure();
    if (first > maxEdgeBands || n - 1 - last > maxEdgeBands)
      return failure();
    return std::make_pair(first, last);
  }

  /// The chain starting at `op` if it has two convs or more: each conv's
  /// result (at least `minBytes`) feeds only the next one; only the last
  /// may pool. The band height is the largest one up to `maxRows` (a
  /// multiple of the pool window) whose intermediate maps fit `maxBytes`.
  static std::optional<BandChain> match(Conv2DOp op, int64_t maxRows,
                                        int64_t minBytes, int64_t maxBytes) {
    if (!isBandable(op))
      return std::nullopt;
    BandChain chain;
    chain.convs.push_back(op);
    // Bands map pooled rows to conv rows by the window: tiled pools only.
    if (op.getMaxPool() && !op.hasTiledPool())
      return std::nullopt;
    while (!chain.convs.back().getMaxPool()) {
      Conv2DOp last = chain.convs.back();
      ConvShape s = ConvShape::of(last);
      if (4 * s.batch * s.filters * s.outHeight * s.outWidth < minBytes)
        break;
      OpOperand *use = onlyLiveUse(last);
      auto next = use ? dyn_cast<Conv2DOp>(use->getOwner()) : Conv2DOp();
      if (!next || use->getOperandNumber() != 0 || !isBandable(next) ||
          (next.getMaxPool() && !next.hasTiledPool()) ||
          next->getBlock() != op->getBlock())
        break;
      chain.convs.push_back(next);
    }
    if (chain.convs.size() < 2)
      return std::nullopt;
    chain.pool = chain.convs.back().getPoolWindow().first;
    for (int64_t rows = maxRows - maxRows % chain.pool; rows >= 2;
         rows -= chain.pool) {
      chain.bandRows = rows;
      if (chain.numBands() < 3)
        continue;
      FailureOr<std::pair<int64_t, int64_t>> loop = chain.interiorBands();
      if (failed(loop))
        continue;
      auto [a, b] = chain.bandRange(loop->first);
      if (chain.bandBytes(*chain.plan(a, b)) <= maxBytes) {
        std::tie(chain.loopFirst, chain.loopLast) = *loop;
        return chain;
      }
    }
    return std::nullopt;
  }

  /// `conv` cloned onto `input` with `padding` rows above and below and
  /// `residual` rows, its constant weights cloned too.
  static Conv2DOp cloneConv(OpBuilder &b, Conv2DOp conv, Value input,
                            Value residual, int64_t padTop, int64_t padBottom,
                            int64_t outRows) {
    IRMapping map;
    map.map(conv.getInput(), input);
    if (residual)
      map.map(conv.getResidual(), residual);
    if (auto weights = conv.getWeights().getDefiningOp<arith::ConstantOp>())
      map.map(conv.getWeights(), b.clone(*weights)->getResult(0));
    auto clone = cast<Conv2DOp>(b.clone(*conv, map));
    SmallVector<int64_t> padding(conv.getPadding());
    padding[0] = padTop;
    padding[2] = padBottom;
    clone.setPadding(padding);
    auto type = cast<RankedTensorType>(conv.getType());
    SmallVector<int64_t> shape(type.getShape());
    shape[2] = outRows / conv.getPoolWindow().first;
    clone.getResult().setType(
        RankedTensorType::get(shape, type.getElementType()));
    return clone;
  }

  /// Row `coef * r + offset`, divided by `divisor`: a constant when `r` is.
  static OpFoldResult rowIndex(OpBuilder &b, Location loc, OpFoldResult r,
                               AffineRow row, int64_t divisor = 1) {
    if (std::optional<int64_t> v = getConstantIntValue(r))
      return b.getIndexAttr((row.coef * *v + row.offset) / divisor);
    auto cst = [&](int64_t c) {
      return arith::ConstantIndexOp::create(b, loc, c).getResult();
    };
    Value v = cast<Value>(r);
    if (row.coef != 1)
      v = arith::MulIOp::create(b, loc, v, cst(row.coef));
    if (row.offset)
      v = arith::AddIOp::create(b, loc, v, cst(row.offset));
    if (divisor > 1)
      v = arith::DivUIOp::create(b, loc, v, cst(divisor));
    return v;
  }

  /// Rows [start, start + rows) of a 4-D tensor.
  static Value rowSlice(OpBuilder &b, Location loc, Value source,
                        OpFoldResult start, int64_t rows) {
    auto type = cast<RankedTensorType>(source.getType());
    SmallVector<OpFoldResult> offsets{b.getIndexAttr(0), b.getIndexAttr(0),
                                      start, b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes{b.getIndexAttr(type.getDimSize(0)),
                                    b.getIndexAttr(type.getDimSize(1)),
                                    b.getIndexAttr(rows),
                                    b.getIndexAttr(type.getDimSize(3))};
    SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
    return tensor::ExtractSliceOp::create(b, loc, source, offsets, sizes,
                                          strides);
  }

  /// One band, planned by `bands` (the band starting at `a0`), at the loop
  /// row `r` (a constant for a band outside the loop), inserted into `acc`.
  Value emitBand(OpBuilder &b, Location loc, ArrayRef<ConvBand> bands,
                 int64_t a0, OpFoldResult r, Value acc) {
    // Conv i's rows as functions of r: a band's rows move with r times the
    // strides after conv i (the same plan holds for every loop band).
    auto rowOf = [&](size_t i, bool input) {
      int64_t coef = 1;
      for (size_t j = i + (input ? 0 : 1); j < convs.size(); ++j)
        coef *= convs[j].getStrides()[0];
      int64_t start = input ? bands[i].inStart : bands[i].outStart;
      return AffineRow{coef, start - coef * a0};
    };
    // The insert's row first: computed before the band's buffers exist, so
    // pconv-fold-pad-copies can let the last conv write the full map's view.
    OpFoldResult outRow =
        rowIndex(b, loc, r, rowOf(convs.size() - 1, false), pool);
    Value value = rowSlice(b, loc, convs.front().getInput(),
                           rowIndex(b, loc, r, rowOf(0, true)),
                           bands[0].inRows);
    for (size_t i = 0; i < convs.size(); ++i) {
      Value residual;
      if (Value full = convs[i].getResidual())
        residual = rowSlice(b, loc, full, rowIndex(b, loc, r, rowOf(i, false)),
                            bands[i].outRows);
      value = cloneConv(b, convs[i], value, residual, bands[i].padTop,
                        bands[i].padBottom, bands[i].outRows)
                  .getResult();
    }
    auto type = cast<RankedTensorType>(value.getType());
    SmallVector<OpFoldResult> offsets{b.getIndexAttr(0), b.getIndexAttr(0),
                                      outRow, b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes;
    for (int64_t d : type.getShape())
      sizes.push_back(b.getIndexAttr(d));
    SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
    return tensor::InsertSliceOp::create(b, loc, value, acc, offsets, sizes,
                                         strides);
  }

  void rewrite() {
    Conv2DOp last = convs.back();
    OpBuilder b(last);
    Location loc = last.getLoc();
    auto type = cast<RankedTensorType>(last.getType());
    Value acc = tensor::EmptyOp::create(b, loc, type.getShape(),
                                        type.getElementType());
    int64_t first = loopFirst, lastLoop = loopLast;
    auto staticBand = [&](int64_t k) {
      auto [a, e] = bandRange(k);
      acc = emitBand(b, loc, *plan(a, e), a, b.getIndexAttr(a), acc);
    };
    for (int64_t k = 0; k < first; ++k)
      staticBand(k);
    if (lastLoop > first) {
      auto [a0, e0] = bandRange(first);
      SmallVector<ConvBand> bands = *plan(a0, e0);
      auto idx = [&](int64_t v) {
        return arith::ConstantIndexOp::create(b, loc, v).getResult();
      };
      auto loop = scf::ForOp::create(
          b, loc, idx(a0), idx((lastLoop + 1) * bandRows), idx(bandRows),
          ValueRange{acc},
          [&](OpBuilder &lb, Location l, Value r, ValueRange iter) {
            scf::YieldOp::create(lb, l, emitBand(lb, l, bands, a0, r, iter[0]));
          });
      acc = loop.getResult(0);
    } else if (lastLoop == first) {
      staticBand(first);
    }
    for (int64_t k = lastLoop + 1; k < numBands(); ++k)
      staticBand(k);
    last.getResult().replaceAllUsesWith(acc);
    for (int64_t i = int64_t(convs.size()) - 1; i >= 0; --i) {
      for (Operation *user : llvm::make_early_inc_range(convs[i]->getUsers()))
        user->erase(); // dead (see match) or the next conv, already erased
      convs[i].erase();
    }
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
    // In block order a chain's later convs come after its first, so a conv
    // already taken into a chain is the only one to skip.
    SmallVector<BandChain> chains;
    llvm::DenseSet<Operation *> taken;
    getOperation().walk([&](Conv2DOp op) {
      if (taken.contains(op))
        return;
      if (auto c = BandChain::match(op, bandRows, minBytes, maxBytes)) {
        for (Conv2DOp conv : c->convs)
          taken.insert(conv);
        chains.push_back(*c);
      }
    });
    for (BandChain &c : chains) {
      c.rewrite();
      numConvs += c.convs.size();
    }
    numFused += chains.size();
  }
};

} // namespace
