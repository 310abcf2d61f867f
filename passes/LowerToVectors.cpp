//===- LowerToVectors.cpp - Vectorized lowering of pconv.conv2d -----------===//
//
// Output-stationary, register-blocked vector code for pattern convs (any
// stride, through a column-phase-split padded input):
// a tile of R rows x V vectors of one filter lives in registers while all the
// filter's kept kernels are applied, pattern by pattern, with straight-line
// taps and each input vector loaded once per kernel (load-redundancy
// elimination).
//
//===----------------------------------------------------------------------===//

#include "dialect/PConvOps.h"
#include "passes/Passes.h"
#include "passes/LoweringUtils.h"

#include "llvm/ADT/DenseMap.h"

#include <functional>
#include <limits>

namespace mlir {
namespace pconv {
#define GEN_PASS_DEF_LOWERTOVECTORSPASS
#include "passes/Passes.h.inc"
} // namespace pconv
} // namespace mlir

using namespace mlir;
using namespace mlir::pconv;

namespace {

static Value cIdx(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

static LogicalResult lowerConv(Conv2DOp op, const TileShape &tile,
                               bool shiftedCopies) {
  // The schedule: pconv-group-patterns' (checked), or built for the tile.
  FailureOr<std::optional<PatternSchedule>> stored =
      PatternSchedule::fromOp(op);
  if (failed(stored))
    return failure();
  PatternSchedule schedule =
      *stored ? std::move(**stored)
              : PatternSchedule::build(op, tile.channelBlock, tile.groups);

  OpBuilder b(op);
  Location loc = op.getLoc();
  auto resultType = op.getResult().getType();
  Type f32 = b.getF32Type();
  ConvShape s = ConvShape::of(op);
  int64_t n = s.batch, h = s.height, w = s.width;
  int64_t outH = s.outHeight, outW = s.outWidth;
  int64_t kh = s.kernelHeight, kw = s.kernelWidth;
  ArrayRef<int64_t> pad = s.padding, dil = s.dilations;
  PatternLibraryAttr library = op.getLibrary();
  int64_t numPatterns = library.getNumPatterns(), taps = library.getTaps();
  int64_t vw = tile.vectorWidth, V = tile.vectors, R = tile.rows;
  int64_t blocks = schedule.numChannelBlocks;
  auto vecType = VectorType::get({vw}, f32);

  // Zero-padded input, large enough for whole tiles: no bounds checks. Its
  // columns are split into `sw` phases (rank 5: N, C, H, phase, W/sw), so a
  // tap of `vw` consecutive outputs is one contiguous vector at any stride.
  int64_t sh = s.strides[0], sw = s.strides[1];
  int64_t hp = std::max(h + pad[0] + pad[2],
                        (tile.rowBlocks * R - 1) * sh + (kh - 1) * dil[0] + 1);
  int64_t tileWidth = tile.chunks * V * vw;
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  Value source = toReadOnlyBuffer(b, loc, op.getInput());
  Value padded;
  // Where tap column offset dx lives: (index of dimension 3, columns).
  std::function<std::pair<int64_t, int64_t>(int64_t)> tapColumn =
      [&](int64_t dx) { return std::make_pair(dx % sw, dx / sw); };
  if (sw == 1 && shiftedCopies && kw > 1) {
    // One copy per column shift of the kernel: every tap load is aligned.
    int64_t wp = paddedWidth(
        w, pad[1],
        std::max(w + pad[1] + pad[3], tileWidth + (kw - 1) * dil[1]) + vw,
        vw);
    Value flat =
        createZeroPaddedCopy(b, loc, source, hp, wp, pad[0], pad[1], vw);
    padded = createShiftedCopies(b, loc, flat, kw, dil[1], tileWidth, vw);
    tapColumn = [&](int64_t dx) {
      return std::make_pair(dx / dil[1], int64_t(0));
    };
  } else if (sw == 1) {
    int64_t wp = paddedWidth(
        w, pad[1], std::max(w + pad[1] + pad[3], tileWidth + (kw - 1) * dil[1]),
        vw);
    Value flat =
        createZeroPaddedCopy(b, loc, source, hp, wp, pad[0], pad[1], vw);
    padded = memref::ExpandShapeOp::create(
        b, loc, MemRefType::get({n, s.channels, hp, 1, wp}, f32), flat,
        ArrayRef<ReassociationIndices>{{0}, {1}, {2}, {3, 4}});
  } else {
    int64_t wq = std::max<int64_t>(llvm::divideCeil(w + pad[1] + pad[3], sw),
                          tileWidth + ((kw - 1) * dil[1]) / sw);
    padded = createPhaseSplitCopy(b, loc, source, hp, sw,
                                  llvm::alignTo(wq, vw), pad[0], pad[1], vw);
  }

  Value out = memref::AllocOp::create(
      b, loc, MemRefType::get(resultType.getShape(), f32),
      b.getI64IntegerAttr(64));
  Value bias = op.getBias() ? toReadOnlyBuffer(b, loc, op.getBias()) : Value();
  bool anyKept = !schedule.empty();
  Value weights =
      anyKept ? toReadOnlyBuffer(b, loc, op.getWeights()) : Value();
  ScheduleBuffers tables = createScheduleBuffers(b, loc, schedule);

  bool fullVectors = tile.chunks * V * vw == outW;
  bool fullRows = tile.rowBlocks * R == outH;
  Value c0 = cIdx(b, loc, 0), c1 = cIdx(b, loc, 1);
  Value zeroVec = vector::BroadcastOp::create(b, loc, vecType, zero);
  auto maskType = VectorType::get({vw}, b.getI1Type());

  // Parallel tasks: (image, row block, column chunk, filter group), filter
  // groups balanced by kept work. Inside a task, channel blocks outside and
  // the group's filters inside: the block's input rows stay in L1 while
  // every filter of the group applies its kernels of that block.
  scf::ParallelOp::create(
      b, loc, ValueRange{c0, c0, c0, c0},
      ValueRange{cIdx(b, loc, n), cIdx(b, loc, tile.rowBlocks),
                 cIdx(b, loc, tile.chunks),
                 cIdx(b, loc, schedule.numGroups())},
      ValueRange{c1, c1, c1, c1},
      [&](OpBuilder &b, Location loc, ValueRange ivs) {
        Value batch = ivs[0];
        Value row0 = arith::MulIOp::create(b, loc, ivs[1], cIdx(b, loc, R));
        Value inRow0 = arith::MulIOp::create(b, loc, row0, cIdx(b, loc, sh));
        Value col0 =
            arith::MulIOp::create(b, loc, ivs[2], cIdx(b, loc, V * vw));
        Value filterBegin = loadIndex(b, loc, tables.groupStart, ivs[3]);
        Value filterEnd = loadIndex(
            b, loc, tables.groupStart,
            arith::AddIOp::create(b, loc, ivs[3], c1));

        // Output rows and the lanes of each tile vector inside the output.
        SmallVector<Value> outRows, rowInside, masks;
        for (int64_t r = 0; r < R; ++r) {
          outRows.push_back(
              arith::AddIOp::create(b, loc, row0, cIdx(b, loc, r)));
          rowInside.push_back(
              fullRows ? Value()
                       : arith::CmpIOp::create(b, loc,
                                               arith::CmpIPredicate::slt,
                                               outRows.back(),
                                               cIdx(b, loc, outH)));
        }
        SmallVector<Value> cols;
        for (int64_t v = 0; v < V; ++v) {
          cols.push_back(
              arith::AddIOp::create(b, loc, col0, cIdx(b, loc, v * vw)));
          if (fullVectors)
            continue;
          // lanes = clamp(outW - col, 0, vw)
          Value left = arith::SubIOp::create(b, loc, cIdx(b, loc, outW),
                                             cols.back());
          Value lanes = arith::MaxSIOp::create(
              b, loc, arith::MinSIOp::create(b, loc, left, cIdx(b, loc, vw)),
              c0);
          masks.push_back(vector::CreateMaskOp::create(b, loc, maskType,
                                                       ValueRange{lanes}));
        }

        // Runs `body` for every row of the tile that lies inside the output
        // (no guard when all rows do); `body` returns the row's V vectors
        // (or none), rows outside yield zeros.
        auto perRow = [&](OpBuilder &b, int64_t r, bool yields,
                          function_ref<SmallVector<Value>(OpBuilder &)> body)
            -> SmallVector<Value> {
          if (fullRows)
            return body(b);
          SmallVector<Type> types(yields ? V : 0, vecType);
          auto ifOp = scf::IfOp::create(b, loc, types, rowInside[r],
                                        /*withElseRegion=*/yields);
          {
            OpBuilder::InsertionGuard guard(b);
            if (!yields) { // then block already ends in scf.yield
              b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
              body(b);
              return {};
            }
            b.setInsertionPointToStart(ifOp.thenBlock());
            scf::YieldOp::create(b, loc, body(b));
            {
              b.setInsertionPointToStart(ifOp.elseBlock());
              scf::YieldOp::create(b, loc,
                                   SmallVector<Value>(V, zeroVec));
            }
          }
          return SmallVector<Value>(ifOp.getResults());
        };
        auto loadTile = [&](OpBuilder &b, Value filter) {
          SmallVector<Value> acc;
          for (int64_t r = 0; r < R; ++r)
            llvm::append_range(acc, perRow(b, r, true, [&](OpBuilder &b) {
              SmallVector<Value> row;
              for (int64_t v = 0; v < V; ++v) {
                SmallVector<Value> idx = {batch, filter, outRows[r], cols[v]};
                row.push_back(
                    fullVectors
                        ? vector::LoadOp::create(b, loc, vecType, out, idx)
                              .getResult()
                        : vector::MaskedLoadOp::create(b, loc, vecType, out,
                                                       idx, masks[v], zeroVec)
                              .getResult());
              }
              return row;
            }));
          return acc;
        };
        auto storeTile = [&](OpBuilder &b, Value filter, ArrayRef<Value> acc) {
          for (int64_t r = 0; r < R; ++r)
            perRow(b, r, false, [&](OpBuilder &b) {
              for (int64_t v = 0; v < V; ++v) {
                SmallVector<Value> idx = {batch, filter, outRows[r], cols[v]};
                if (fullVectors)
                  vector::StoreOp::create(b, loc, acc[r * V + v], out, idx);
                else
                  vector::MaskedStoreOp::create(b, loc, out, idx, masks[v],
                                                acc[r * V + v]);
              }
              return SmallVector<Value>();
            });
        };

        auto blockLoop = scf::ForOp::create(b, loc, c0,
                                            cIdx(b, loc, blocks), c1);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(blockLoop.getBody());
        Value block = blockLoop.getInductionVar();
        Value firstBlock = arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::eq, block, c0);
        // ReLU applies after the last block: max(acc, floor) with floor 0
        // there and -inf before.
        Value reluFloor;
        if (op.getRelu()) {
          Value lastBlock = arith::CmpIOp::create(
              b, loc, arith::CmpIPredicate::eq, block,
              cIdx(b, loc, blocks - 1));
          Value minusInf = arith::ConstantOp::create(
              b, loc,
              b.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
          reluFloor = vector::BroadcastOp::create(
              b, loc, vecType,
              arith::SelectOp::create(b, loc, lastBlock, zero, minusInf));
        }
        auto filterLoop =
            scf::ForOp::create(b, loc, filterBegin, filterEnd, c1);
        b.setInsertionPointToStart(filterLoop.getBody());
        Value filter = filterLoop.getInductionVar();

        // Accumulators: the bias in the first block, the partial sums of the
        // earlier blocks after it.
        Value initVec = vector::BroadcastOp::create(
            b, loc, vecType,
            bias ? memref::LoadOp::create(b, loc, bias, filter).getResult()
                 : zero);
        SmallVector<Value> acc;
        if (blocks == 1) {
          acc.assign(R * V, initVec);
        } else {
          SmallVector<Type> types(R * V, vecType);
          auto init = scf::IfOp::create(b, loc, types, firstBlock, true);
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(init.thenBlock());
          scf::YieldOp::create(b, loc, SmallVector<Value>(R * V, initVec));
          b.setInsertionPointToStart(init.elseBlock());
          scf::YieldOp::create(b, loc, loadTile(b, filter));
          acc.assign(init.getResults().begin(), init.getResults().end());
        }

        // rowPtr[(f * blocks + cb) * P + p]: the P + 1 bounds of this
        // (filter, block), loaded once.
        Value base = arith::MulIOp::create(
            b, loc,
            arith::AddIOp::create(
                b, loc,
                arith::MulIOp::create(b, loc, filter, cIdx(b, loc, blocks)),
                block),
            cIdx(b, loc, numPatterns));
        SmallVector<Value> bounds(numPatterns + 1);
        auto bound = [&](int64_t p) {
          if (!bounds[p])
            bounds[p] = loadIndex(
                b, loc, tables.rowPtr,
                arith::AddIOp::create(b, loc, base, cIdx(b, loc, p)));
          return bounds[p];
        };
        for (int64_t pattern = 0; anyKept && pattern < numPatterns;
             ++pattern) {
          if (!schedule.patternUsed[pattern])
            continue;
          ArrayRef<int64_t> positions = library.getPattern(pattern);
          auto kernelLoop = scf::ForOp::create(
              b, loc, bound(pattern), bound(pattern + 1), c1, acc,
              [&](OpBuilder &b, Location loc, Value entry, ValueRange iter) {
                Value ch = loadIndex(b, loc, tables.channel, entry);
                Value offset = loadIndex(b, loc, tables.weightOffset, entry);
                SmallVector<Value> tapWeights;
                for (int64_t t = 0; t < taps; ++t) {
                  Value idx =
                      arith::AddIOp::create(b, loc, offset, cIdx(b, loc, t));
                  Value wt = memref::LoadOp::create(b, loc, weights, idx);
                  tapWeights.push_back(
                      vector::BroadcastOp::create(b, loc, vecType, wt));
                }
                // Load-redundancy elimination: one load per distinct
                // (input row, column shift, vector) of the tile.
                llvm::DenseMap<std::tuple<int64_t, int64_t, int64_t>, Value>
                    loads;
                // Input row (tile row r, tap dy): (row0 + r) * sh + dy.
                auto load = [&](int64_t inRow, int64_t dx, int64_t v) {
                  Value &cached = loads[{inRow, dx, v}];
                  if (!cached) {
                    Value r = arith::AddIOp::create(b, loc, inRow0,
                                                    cIdx(b, loc, inRow));
                    auto [copy, shift] = tapColumn(dx);
                    Value col = arith::AddIOp::create(
                        b, loc, col0, cIdx(b, loc, v * vw + shift));
                    cached = vector::LoadOp::create(
                        b, loc, vecType, padded,
                        ValueRange{batch, ch, r, cIdx(b, loc, copy), col});
                  }
                  return cached;
                };
                SmallVector<Value> next(iter.begin(), iter.end());
                for (int64_t t = 0; t < taps; ++t) {
                  int64_t dy = (positions[t] / kw) * dil[0];
                  int64_t dx = (positions[t] % kw) * dil[1];
                  for (int64_t r = 0; r < R; ++r)
                    for (int64_t v = 0; v < V; ++v)
                      next[r * V + v] = vector::FMAOp::create(
                          b, loc, load(r * sh + dy, dx, v), tapWeights[t],
                          next[r * V + v]);
                }
                scf::YieldOp::create(b, loc, next);
              });
          acc.assign(kernelLoop.getResults().begin(),
                     kernelLoop.getResults().end());
        }

        // Fused activation, in registers; write the tile once.
        if (op.getRelu()) {
          Value floor = blocks == 1 ? zeroVec : reluFloor;
          for (Value &a : acc)
            a = arith::MaximumFOp::create(b, loc, a, floor);
        }
        storeTile(b, filter, acc);
      });

  replaceWithOutputBuffer(b, op, out);
  return success();
}

struct LowerToVectorsPass
    : public pconv::impl::LowerToVectorsPassBase<LowerToVectorsPass> {
  using LowerToVectorsPassBase::LowerToVectorsPassBase;

  void runOnOperation() override {
    if (vectorWidth == 0 || maxAccumulators == 0 || maxVectorsPerRow == 0 ||
        maxRows == 0 || minTasks == 0) {
      getOperation().emitError("pconv-lower-to-vectors: every option "
                               "(vector-width, max-accumulators, "
                               "max-vectors-per-row, max-rows, min-tasks; "
                               "cache-bytes may be 0) must be positive");
      return signalPassFailure();
    }
    SmallVector<Conv2DOp> convs;
    getOperation().walk([&](Conv2DOp op) { convs.push_back(op); });
    for (Conv2DOp op : convs) {
      FailureOr<TileShape> tile = chooseTile(
          op, {vectorWidth, maxAccumulators, maxVectorsPerRow, maxRows,
               cacheBytes, minTasks});
      if (failed(tile) || failed(lowerConv(op, *tile, shiftedCopies)))
        return signalPassFailure();
      ++numLowered;
    }
  }
};

} // namespace
