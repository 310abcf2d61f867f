//===- LoweringUtils.cpp - Shared pieces of the pconv lowerings -----------===//

#include "passes/LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;
using namespace mlir::pconv;

ConvShape ConvShape::of(Conv2DOp op) {
  auto in = op.getInput().getType();
  auto out = op.getResult().getType();
  ArrayRef<int64_t> kernel = op.getLibrary().getKernelShape();
  return {in.getDimSize(0),  in.getDimSize(1),  in.getDimSize(2),
          in.getDimSize(3),  out.getDimSize(1), out.getDimSize(2),
          out.getDimSize(3), kernel[0],         kernel[1],
          op.getPadding(),   op.getStrides(),   op.getDilations()};
}

PatternSchedule PatternSchedule::build(Conv2DOp op) {
  int64_t numFilters = op.getNumFilters(), numChannels = op.getNumChannels();
  int64_t numPatterns = op.getLibrary().getNumPatterns();
  int64_t taps = op.getLibrary().getTaps();
  SmallVector<int8_t> ids(op.getKernelPatterns().getValues<int8_t>());

  // Offset of every kept kernel's weights in the packed (filter, channel)
  // order.
  SmallVector<int32_t> offsets(ids.size(), -1);
  int32_t next = 0;
  for (auto [k, id] : llvm::enumerate(ids))
    if (id >= 0) {
      offsets[k] = next;
      next += taps;
    }

  PatternSchedule schedule;
  schedule.patternUsed.assign(numPatterns, false);
  schedule.rowPtr.push_back(0);
  for (int64_t f = 0; f < numFilters; ++f)
    for (int64_t p = 0; p < numPatterns; ++p) {
      for (int64_t c = 0; c < numChannels; ++c) {
        int64_t k = f * numChannels + c;
        if (ids[k] != p)
          continue;
        schedule.channel.push_back(c);
        schedule.weightOffset.push_back(offsets[k]);
        schedule.patternUsed[p] = true;
      }
      schedule.rowPtr.push_back(schedule.channel.size());
    }
  return schedule;
}

/// A read-only buffer view of a constant i32 table.
static Value createTable(OpBuilder &b, Location loc, ArrayRef<int32_t> values) {
  SmallVector<int32_t> data(values);
  if (data.empty())
    data.push_back(0); // Never read; avoids zero-sized globals.
  auto tensorType =
      RankedTensorType::get({int64_t(data.size())}, b.getI32Type());
  Value cst = arith::ConstantOp::create(
      b, loc, DenseIntElementsAttr::get(tensorType, ArrayRef<int32_t>(data)));
  auto memrefType = MemRefType::get(tensorType.getShape(), b.getI32Type());
  return bufferization::ToBufferOp::create(b, loc, memrefType, cst,
                                           /*read_only=*/true);
}

ScheduleBuffers mlir::pconv::createScheduleBuffers(
    OpBuilder &b, Location loc, const PatternSchedule &schedule) {
  return {createTable(b, loc, schedule.rowPtr),
          createTable(b, loc, schedule.channel),
          createTable(b, loc, schedule.weightOffset)};
}

Value mlir::pconv::toReadOnlyBuffer(OpBuilder &b, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  return bufferization::ToBufferOp::create(
      b, loc, MemRefType::get(type.getShape(), type.getElementType()), tensor,
      /*read_only=*/true);
}

void mlir::pconv::replaceWithOutputBuffer(OpBuilder &b, Conv2DOp op,
                                          Value out) {
  Value result = bufferization::ToTensorOp::create(
      b, op.getLoc(), op.getResult().getType(), out, /*restrict=*/true,
      /*writable=*/true);
  op.getResult().replaceAllUsesWith(result);
  op.erase();
}

Value mlir::pconv::loadIndex(OpBuilder &b, Location loc, Value table,
                             Value index) {
  Value value = memref::LoadOp::create(b, loc, table, index);
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), value);
}

int64_t mlir::pconv::paddedWidth(int64_t width, int64_t left,
                                 int64_t minWidth, int64_t lanes) {
  return llvm::alignTo(std::max(minWidth, left + int64_t(llvm::alignTo(
                                                      width, lanes))),
                       lanes);
}

Value mlir::pconv::createZeroPaddedCopy(OpBuilder &b, Location loc,
                                        Value source, int64_t paddedHeight,
                                        int64_t paddedWidthValue, int64_t top,
                                        int64_t left, int64_t lanes) {
  auto sourceType = cast<MemRefType>(source.getType());
  int64_t n = sourceType.getDimSize(0), c = sourceType.getDimSize(1);
  int64_t h = sourceType.getDimSize(2), w = sourceType.getDimSize(3);
  Type f32 = sourceType.getElementType();
  auto vecType = VectorType::get({lanes}, f32);
  auto cst = [&](OpBuilder &b, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  Value padded = memref::AllocOp::create(
      b, loc, MemRefType::get({n, c, paddedHeight, paddedWidthValue}, f32),
      b.getI64IntegerAttr(64));
  Value zeroScalar = arith::ConstantOp::create(b, loc, b.getFloatAttr(f32, 0));
  Value zero = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(vecType, b.getFloatAttr(f32, 0)));
  Value c0 = cst(b, 0), c1 = cst(b, 1), step = cst(b, lanes);
  Value fullWidth = cst(b, paddedWidthValue);
  int64_t copied = llvm::alignTo(w, lanes); // columns written by row copies

  scf::ParallelOp::create(
      b, loc, ValueRange{c0, c0}, ValueRange{cst(b, n), cst(b, c)},
      ValueRange{c1, c1}, [&](OpBuilder &b, Location loc, ValueRange ivs) {
        Value i = ivs[0], j = ivs[1];
        // Zero vectors at columns from, from + lanes, ... < to.
        auto zeroColumns = [&](OpBuilder &b, Value row, Value from, Value to) {
          scf::ForOp::create(
              b, loc, from, to, step, ValueRange{},
              [&](OpBuilder &b, Location loc, Value col, ValueRange) {
                // Not in bounds at the last vector when the tail is short.
                vector::TransferWriteOp::create(b, loc, zero, padded,
                                                ValueRange{i, j, row, col},
                                                ArrayRef<bool>{false});
                scf::YieldOp::create(b, loc);
              });
        };
        scf::ForOp::create(
            b, loc, c0, cst(b, paddedHeight), c1, ValueRange{},
            [&](OpBuilder &b, Location loc, Value row, ValueRange) {
              Value srcRow = arith::SubIOp::create(b, loc, row, cst(b, top));
              Value above = arith::CmpIOp::create(
                  b, loc, arith::CmpIPredicate::sge, srcRow, c0);
              Value below = arith::CmpIOp::create(
                  b, loc, arith::CmpIPredicate::slt, srcRow, cst(b, h));
              Value inside = arith::AndIOp::create(b, loc, above, below);
              scf::IfOp::create(
                  b, loc, inside,
                  [&](OpBuilder &b, Location loc) {
                    if (left > 0) // left halo; the row copy overwrites the rest
                      zeroColumns(b, row, c0, cst(b, left));
                    // Whole vectors of the source row; lanes past its end
                    // read as zero, so the stores also clear the tail.
                    scf::ForOp::create(
                        b, loc, c0, cst(b, copied), step, ValueRange{},
                        [&](OpBuilder &b, Location loc, Value col,
                            ValueRange) {
                          Value v = vector::TransferReadOp::create(
                              b, loc, vecType, source,
                              ValueRange{i, j, srcRow, col}, zeroScalar,
                              ArrayRef<bool>{false});
                          Value dst = arith::AddIOp::create(b, loc, col,
                                                            cst(b, left));
                          vector::StoreOp::create(b, loc, v, padded,
                                                  ValueRange{i, j, row, dst});
                          scf::YieldOp::create(b, loc);
                        });
                    zeroColumns(b, row, cst(b, left + copied), fullWidth);
                    scf::YieldOp::create(b, loc);
                  },
                  [&](OpBuilder &b, Location loc) {
                    zeroColumns(b, row, c0, fullWidth);
                    scf::YieldOp::create(b, loc);
                  });
              scf::YieldOp::create(b, loc);
            });
      });
  return padded;
}

Value mlir::pconv::createPhaseSplitCopy(OpBuilder &b, Location loc,
                                        Value source, int64_t paddedHeight,
                                        int64_t stride, int64_t phaseWidth,
                                        int64_t top, int64_t left,
                                        int64_t lanes) {
  auto sourceType = cast<MemRefType>(source.getType());
  int64_t n = sourceType.getDimSize(0), c = sourceType.getDimSize(1);
  int64_t h = sourceType.getDimSize(2), w = sourceType.getDimSize(3);
  Type f32 = sourceType.getElementType();
  auto vecType = VectorType::get({lanes}, f32);
  auto cst = [&](OpBuilder &b, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  Value padded = memref::AllocOp::create(
      b, loc,
      MemRefType::get({n, c, paddedHeight, stride, phaseWidth}, f32),
      b.getI64IntegerAttr(64));
  Value zero = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(vecType, b.getFloatAttr(f32, 0)));
  Value c0 = cst(b, 0), c1 = cst(b, 1);
  scf::ParallelOp::create(
      b, loc, ValueRange{c0, c0}, ValueRange{cst(b, n), cst(b, c)},
      ValueRange{c1, c1}, [&](OpBuilder &b, Location loc, ValueRange ivs) {
        Value i = ivs[0], j = ivs[1];
        scf::buildLoopNest(
            b, loc, ValueRange{c0, c0, c0},
            ValueRange{cst(b, paddedHeight), cst(b, stride),
                       cst(b, phaseWidth)},
            ValueRange{c1, c1, cst(b, lanes)},
            [&](OpBuilder &b, Location loc, ValueRange p) {
              vector::TransferWriteOp::create(
                  b, loc, zero, padded, ValueRange{i, j, p[0], p[1], p[2]},
                  ArrayRef<bool>{false});
            });
        scf::buildLoopNest(
            b, loc, ValueRange{c0, c0}, ValueRange{cst(b, h), cst(b, w)},
            ValueRange{c1, c1}, [&](OpBuilder &b, Location loc, ValueRange p) {
              Value v = memref::LoadOp::create(b, loc, source,
                                               ValueRange{i, j, p[0], p[1]});
              Value row = arith::AddIOp::create(b, loc, p[0], cst(b, top));
              Value col = arith::AddIOp::create(b, loc, p[1], cst(b, left));
              Value phase = arith::RemUIOp::create(b, loc, col, cst(b, stride));
              Value pos = arith::DivUIOp::create(b, loc, col, cst(b, stride));
              memref::StoreOp::create(b, loc, v, padded,
                                      ValueRange{i, j, row, phase, pos});
            });
      });
  return padded;
}
