//===- LowerToLoops.cpp - Reference lowering of pconv.conv2d --------------===//
//
// Lowers pconv.conv2d to branch-free loops over buffers: a compile-time
// schedule lists, per filter and pattern, the kept kernels; straight-line tap
// code per pattern runs over them. Pruned kernels cost nothing.
//
//===----------------------------------------------------------------------===//

#include "dialect/PConvOps.h"
#include "passes/Passes.h"
#include "passes/LoweringUtils.h"

#include "mlir/IR/BuiltinAttributes.h"

namespace mlir {
namespace pconv {
#define GEN_PASS_DEF_LOWERTOLOOPSPASS
#include "passes/Passes.h.inc"
} // namespace pconv
} // namespace mlir

using namespace mlir;
using namespace mlir::pconv;

namespace {

static void lowerConv(Conv2DOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  auto resultType = op.getResult().getType();
  Type f32 = b.getF32Type();
  ConvShape s = ConvShape::of(op);
  int64_t n = s.batch, h = s.height, w = s.width, numFilters = s.filters;
  int64_t outH = s.outHeight, outW = s.outWidth, kw = s.kernelWidth;
  ArrayRef<int64_t> pad = s.padding, strides = s.strides,
                    dilations = s.dilations;
  PatternLibraryAttr library = op.getLibrary();
  int64_t numPatterns = library.getNumPatterns(), taps = library.getTaps();

  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));

  // Zero-padded copy of the input, so tap loads need no bounds checks.
  Value source = toReadOnlyBuffer(b, loc, op.getInput());
  if (llvm::any_of(pad, [](int64_t p) { return p != 0; })) {
    constexpr int64_t lanes = 8;
    source = createZeroPaddedCopy(
        b, loc, source, h + pad[0] + pad[2],
        paddedWidth(w, pad[1], w + pad[1] + pad[3], lanes), pad[0], pad[1],
        lanes);
  }

  auto outType = MemRefType::get(resultType.getShape(), f32);
  Value out =
      memref::AllocOp::create(b, loc, outType, b.getI64IntegerAttr(64));
  Value bias = op.getBias() ? toReadOnlyBuffer(b, loc, op.getBias()) : Value();
  Value residual =
      op.getResidual() ? toReadOnlyBuffer(b, loc, op.getResidual()) : Value();
  PatternSchedule schedule = PatternSchedule::build(op);
  bool anyKept = !schedule.empty();
  Value weights = anyKept ? toReadOnlyBuffer(b, loc, op.getWeights()) : Value();
  ScheduleBuffers tables;
  if (anyKept)
    tables = createScheduleBuffers(b, loc, schedule);
  Value rowPtr = tables.rowPtr, channel = tables.channel,
        weightOffset = tables.weightOffset;

  Value c0 = cIdx(b, loc, 0), c1 = cIdx(b, loc, 1);
  Value cOutH = cIdx(b, loc, outH), cOutW = cIdx(b, loc, outW);
  scf::ParallelOp::create(
      b, loc, ValueRange{c0, c0}, ValueRange{cIdx(b, loc, n), cIdx(b, loc, numFilters)},
      ValueRange{c1, c1},
      [&](OpBuilder &b, Location loc, ValueRange ivs) {
        Value batch = ivs[0], filter = ivs[1];
        // out[batch, filter] = bias[filter] (or 0) + residual[batch, filter].
        Value init = bias ? memref::LoadOp::create(b, loc, bias, filter)
                                .getResult()
                          : zero;
        scf::buildLoopNest(
            b, loc, ValueRange{c0, c0}, ValueRange{cOutH, cOutW},
            ValueRange{c1, c1}, [&](OpBuilder &b, Location loc, ValueRange p) {
              SmallVector<Value, 4> at{batch, filter, p[0], p[1]};
              Value value = init;
              if (residual)
                value = arith::AddFOp::create(
                    b, loc, value, memref::LoadOp::create(b, loc, residual, at));
              memref::StoreOp::create(b, loc, value, out, at);
            });
        for (int64_t pattern = 0; anyKept && pattern < numPatterns;
             ++pattern) {
          if (!schedule.patternUsed[pattern])
            continue;
          // Kernels of this filter with this pattern: rowPtr[f*K+p ..+1].
          Value row = arith::AddIOp::create(
              b, loc,
              arith::MulIOp::create(b, loc, filter, cIdx(b, loc, numPatterns)),
              cIdx(b, loc, pattern));
          Value begin = loadIndex(b, loc, rowPtr, row);
          Value end = loadIndex(
              b, loc, rowPtr, arith::AddIOp::create(b, loc, row, c1));
          auto kernelLoop = scf::ForOp::create(b, loc, begin, end, c1);
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(kernelLoop.getBody());
          Value entry = kernelLoop.getInductionVar();
          Value ch = loadIndex(b, loc, channel, entry);
          Value offset = loadIndex(b, loc, weightOffset, entry);
          // The pattern's taps: weights loaded once per kernel.
          SmallVector<Value> tapWeights;
          SmallVector<std::pair<int64_t, int64_t>> tapOffsets;
          for (int64_t t = 0; t < taps; ++t) {
            Value idx = arith::AddIOp::create(b, loc, offset, cIdx(b, loc, t));
            tapWeights.push_back(memref::LoadOp::create(b, loc, weights, idx));
            int64_t position = library.getPattern(pattern)[t];
            tapOffsets.push_back({(position / kw) * dilations[0],
                                  (position % kw) * dilations[1]});
          }
          scf::buildLoopNest(
              b, loc, ValueRange{c0, c0}, ValueRange{cOutH, cOutW},
              ValueRange{c1, c1},
              [&](OpBuilder &b, Location loc, ValueRange p) {
                Value baseH = arith::MulIOp::create(b, loc, p[0],
                                                    cIdx(b, loc, strides[0]));
                Value baseW = arith::MulIOp::create(b, loc, p[1],
                                                    cIdx(b, loc, strides[1]));
                SmallVector<Value> outIdx = {batch, filter, p[0], p[1]};
                Value acc = memref::LoadOp::create(b, loc, out, outIdx);
                for (int64_t t = 0; t < taps; ++t) {
                  Value ih = arith::AddIOp::create(
                      b, loc, baseH, cIdx(b, loc, tapOffsets[t].first));
                  Value iw = arith::AddIOp::create(
                      b, loc, baseW, cIdx(b, loc, tapOffsets[t].second));
                  Value x = memref::LoadOp::create(
                      b, loc, source, ValueRange{batch, ch, ih, iw});
                  Value prod = arith::MulFOp::create(b, loc, tapWeights[t], x);
                  acc = arith::AddFOp::create(b, loc, acc, prod);
                }
                memref::StoreOp::create(b, loc, acc, out, outIdx);
              });
        }
        // Fused activation over the finished outputs of this filter.
        if (op.getRelu())
          scf::buildLoopNest(
              b, loc, ValueRange{c0, c0}, ValueRange{cOutH, cOutW},
              ValueRange{c1, c1},
              [&](OpBuilder &b, Location loc, ValueRange p) {
                SmallVector<Value> idx = {batch, filter, p[0], p[1]};
                Value v = memref::LoadOp::create(b, loc, out, idx);
                v = arith::MaximumFOp::create(b, loc, v, zero);
                if (std::optional<APFloat> max = op.getReluMax())
                  v = arith::MinimumFOp::create(
                      b, loc, v,
                      arith::ConstantOp::create(
                          b, loc, b.getF32FloatAttr(max->convertToFloat())));
                memref::StoreOp::create(b, loc, v, out, idx);
              });
      });

  replaceWithOutputBuffer(b, op, out);
}

struct LowerToLoopsPass
    : public pconv::impl::LowerToLoopsPassBase<LowerToLoopsPass> {
  void runOnOperation() override {
    SmallVector<Conv2DOp> convs;
    getOperation().walk([&](Conv2DOp op) { convs.push_back(op); });
    for (Conv2DOp op : convs) {
      // The reference computes a fused max-pool as the pooling op it was.
      if (op.getMaxPool())
        op = unfuseMaxPool(op);
      lowerConv(op);
      ++numLowered;
    }
  }
};

} // namespace
