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

namespace mlir {
namespace pconv {
#define GEN_PASS_DEF_LOWERTOVECTORSPASS
#include "passes/Passes.h.inc"
} // namespace pconv
} // namespace mlir

using namespace mlir;
using namespace mlir::pconv;

namespace {

/// Register tile and buffer geometry of one convolution.
struct TileShape {
  int64_t vectorWidth; // lanes per vector
  int64_t vectors;     // V: vectors per tile row
  int64_t rows;        // R: output rows per tile
  int64_t chunks;      // column chunks of V vectors covering the width
  int64_t rowBlocks;   // row blocks of R rows covering the height

  static TileShape choose(int64_t outH, int64_t outW, int64_t vectorWidth,
                          int64_t maxAccumulators, int64_t maxVectors) {
    TileShape t;
    t.vectorWidth = vectorWidth;
    int64_t perRow = llvm::divideCeil(outW, vectorWidth);
    t.chunks = llvm::divideCeil(perRow, maxVectors);
    t.vectors = llvm::divideCeil(perRow, t.chunks); // balanced chunks
    t.rows = std::clamp<int64_t>(maxAccumulators / t.vectors, 1, 4);
    t.rows = std::min(t.rows, outH);
    t.rowBlocks = llvm::divideCeil(outH, t.rows);
    return t;
  }
};

static Value cIdx(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

static void lowerConv(Conv2DOp op, const TileShape &tile) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  auto resultType = op.getResult().getType();
  Type f32 = b.getF32Type();
  ConvShape s = ConvShape::of(op);
  int64_t n = s.batch, h = s.height, w = s.width, numFilters = s.filters;
  int64_t outH = s.outHeight, outW = s.outWidth;
  int64_t kh = s.kernelHeight, kw = s.kernelWidth;
  ArrayRef<int64_t> pad = s.padding, dil = s.dilations;
  PatternLibraryAttr library = op.getLibrary();
  int64_t numPatterns = library.getNumPatterns(), taps = library.getTaps();
  int64_t vw = tile.vectorWidth, V = tile.vectors, R = tile.rows;
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
  if (sw == 1) {
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
  PatternSchedule schedule = PatternSchedule::build(op);
  bool anyKept = !schedule.empty();
  Value weights =
      anyKept ? toReadOnlyBuffer(b, loc, op.getWeights()) : Value();
  ScheduleBuffers tables;
  if (anyKept)
    tables = createScheduleBuffers(b, loc, schedule);

  bool fullVectors = tile.chunks * V * vw == outW;
  bool fullRows = tile.rowBlocks * R == outH;
  Value c0 = cIdx(b, loc, 0), c1 = cIdx(b, loc, 1);

  // Row blocks outside, filters inside: consecutive tiles of a thread reuse
  // the same few input rows of every channel from cache (filters outside
  // would stream the whole input from L3 once per filter).
  scf::ParallelOp::create(
      b, loc, ValueRange{c0, c0, c0},
      ValueRange{cIdx(b, loc, n), cIdx(b, loc, tile.rowBlocks),
                 cIdx(b, loc, numFilters)},
      ValueRange{c1, c1, c1},
      [&](OpBuilder &b, Location loc, ValueRange ivs) {
        Value batch = ivs[0], filter = ivs[2];
        Value row0 = arith::MulIOp::create(b, loc, ivs[1], cIdx(b, loc, R));
        Value inRow0 = arith::MulIOp::create(b, loc, row0, cIdx(b, loc, sh));
        Value init = bias ? memref::LoadOp::create(b, loc, bias, filter)
                                .getResult()
                          : zero;
        Value initVec = vector::BroadcastOp::create(b, loc, vecType, init);
        auto chunkLoop = scf::ForOp::create(b, loc, c0,
                                            cIdx(b, loc, tile.chunks), c1);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(chunkLoop.getBody());
        Value col0 = arith::MulIOp::create(b, loc, chunkLoop.getInductionVar(),
                                           cIdx(b, loc, V * vw));
        SmallVector<Value> acc(R * V, initVec);

        for (int64_t pattern = 0; anyKept && pattern < numPatterns;
             ++pattern) {
          if (!schedule.patternUsed[pattern])
            continue;
          Value row = arith::AddIOp::create(
              b, loc,
              arith::MulIOp::create(b, loc, filter,
                                    cIdx(b, loc, numPatterns)),
              cIdx(b, loc, pattern));
          Value begin = loadIndex(b, loc, tables.rowPtr, row);
          Value end = loadIndex(b, loc, tables.rowPtr,
                                arith::AddIOp::create(b, loc, row, c1));
          ArrayRef<int64_t> positions = library.getPattern(pattern);
          auto kernelLoop = scf::ForOp::create(
              b, loc, begin, end, c1, acc,
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
                    Value col = arith::AddIOp::create(
                        b, loc, col0, cIdx(b, loc, v * vw + dx / sw));
                    cached = vector::LoadOp::create(
                        b, loc, vecType, padded,
                        ValueRange{batch, ch, r, cIdx(b, loc, dx % sw), col});
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

        // Fused activation, in registers.
        if (op.getRelu()) {
          Value zeroVec = vector::BroadcastOp::create(b, loc, vecType, zero);
          for (Value &a : acc)
            a = arith::MaximumFOp::create(b, loc, a, zeroVec);
        }

        // Write the tile once; partial rows/vectors are guarded/masked.
        for (int64_t r = 0; r < R; ++r) {
          Value outRow = arith::AddIOp::create(b, loc, row0, cIdx(b, loc, r));
          auto storeRow = [&](OpBuilder &b, Location loc) {
            for (int64_t v = 0; v < V; ++v) {
              Value col =
                  arith::AddIOp::create(b, loc, col0, cIdx(b, loc, v * vw));
              SmallVector<Value> idx = {batch, filter, outRow, col};
              if (fullVectors) {
                vector::StoreOp::create(b, loc, acc[r * V + v], out, idx);
                continue;
              }
              // lanes = clamp(outW - col, 0, vw)
              Value left =
                  arith::SubIOp::create(b, loc, cIdx(b, loc, outW), col);
              Value lanes = arith::MaxSIOp::create(
                  b, loc,
                  arith::MinSIOp::create(b, loc, left, cIdx(b, loc, vw)), c0);
              Value mask = vector::CreateMaskOp::create(
                  b, loc, VectorType::get({vw}, b.getI1Type()),
                  ValueRange{lanes});
              vector::MaskedStoreOp::create(b, loc, out, idx, mask,
                                            acc[r * V + v]);
            }
          };
          if (fullRows) {
            storeRow(b, loc);
            continue;
          }
          Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                               outRow, cIdx(b, loc, outH));
          scf::IfOp::create(b, loc, inside, [&](OpBuilder &b, Location loc) {
            storeRow(b, loc);
            scf::YieldOp::create(b, loc);
          });
        }
      });

  replaceWithOutputBuffer(b, op, out);
}

struct LowerToVectorsPass
    : public pconv::impl::LowerToVectorsPassBase<LowerToVectorsPass> {
  using LowerToVectorsPassBase::LowerToVectorsPassBase;

  void runOnOperation() override {
    if (vectorWidth == 0 || maxAccumulators == 0 || maxVectorsPerRow == 0) {
      getOperation().emitError("pconv-lower-to-vectors: vector-width, "
                               "max-accumulators and max-vectors-per-row "
                               "must be positive");
      return signalPassFailure();
    }
    SmallVector<Conv2DOp> convs;
    getOperation().walk([&](Conv2DOp op) { convs.push_back(op); });
    for (Conv2DOp op : convs) {
      auto type = op.getResult().getType();
      lowerConv(op, TileShape::choose(type.getDimSize(2), type.getDimSize(3),
                                      vectorWidth, maxAccumulators,
                                      maxVectorsPerRow));
      ++numLowered;
    }
  }
};

} // namespace
