//===- LoweringUtils.h - Shared pieces of the pconv lowerings ---*- C++ -*-===//
//
// The compile-time pattern schedule (for filter f and pattern p, the kept
// kernels with that pattern, CSR-style, so generated code is branch-free) and
// the vectorized zero-padded input copy used by both pconv lowerings.
//
//===----------------------------------------------------------------------===//

#ifndef PCONV_PASSES_LOWERINGUTILS_H
#define PCONV_PASSES_LOWERINGUTILS_H

#include "dialect/PConvOps.h"
#include "mlir/IR/Builders.h"

namespace mlir {
namespace pconv {

/// Static sizes of a pconv.conv2d, read once by each lowering.
struct ConvShape {
  int64_t batch, channels, height, width;  // input N, C, H, W
  int64_t filters, outHeight, outWidth;    // result F, OH, OW
  int64_t kernelHeight, kernelWidth;       // library kernel kh, kw
  ArrayRef<int64_t> padding, strides, dilations;

  static ConvShape of(Conv2DOp op);
};

/// Entries rowPtr[f*K+p] .. rowPtr[f*K+p+1] of `channel`/`weightOffset` are
/// the kernels of filter f that keep pattern p, in channel order.
struct PatternSchedule {
  SmallVector<int32_t> rowPtr;
  SmallVector<int32_t> channel;
  SmallVector<int32_t> weightOffset;
  /// Whether any kernel of the layer keeps pattern p.
  SmallVector<bool> patternUsed;

  static PatternSchedule build(Conv2DOp op);
  bool empty() const { return channel.empty(); }
};

/// The schedule's tables as read-only buffers (constants + to_buffer).
struct ScheduleBuffers {
  Value rowPtr, channel, weightOffset;
};
ScheduleBuffers createScheduleBuffers(OpBuilder &b, Location loc,
                                      const PatternSchedule &schedule);

/// A read-only buffer view of a tensor (bufferization.to_buffer read_only).
Value toReadOnlyBuffer(OpBuilder &b, Location loc, Value tensor);

/// Replaces `op` by the tensor view of its computed output buffer `out`
/// (`to_tensor restrict writable`, which one-shot bufferization accepts).
void replaceWithOutputBuffer(OpBuilder &b, Conv2DOp op, Value out);

/// Loads an i32 table entry as an index.
Value loadIndex(OpBuilder &b, Location loc, Value table, Value index);

/// Width (elements) of a zero-padded copy of a `width`-wide input with `left`
/// leading zero columns: at least `minWidth`, and room for whole `lanes`-wide
/// vector copies of the input rows.
int64_t paddedWidth(int64_t width, int64_t left, int64_t minWidth,
                    int64_t lanes);

/// Allocates an N x C x `paddedHeight` x `paddedWidth` buffer holding `source`
/// (a memref N x C x H x W) at row `top`, column `left`, zeros elsewhere. The
/// copy is parallel over (N, C) and vectorized `lanes` wide; `paddedWidth`
/// must come from paddedWidth().
Value createZeroPaddedCopy(OpBuilder &b, Location loc, Value source,
                           int64_t paddedHeight, int64_t paddedWidth,
                           int64_t top, int64_t left, int64_t lanes);

/// Allocates an N x C x `paddedHeight` x `stride` x `phaseWidth` buffer
/// holding `source` (N x C x H x W) zero-padded by `top` rows and `left`
/// columns, with the columns of each padded row split into `stride` phases:
/// padded column x lands at [x % stride][x / stride]. A stride-`stride`
/// convolution then reads `lanes` consecutive outputs' taps as one contiguous
/// vector of a phase. Zeroing is vectorized; the scatter is scalar.
Value createPhaseSplitCopy(OpBuilder &b, Location loc, Value source,
                           int64_t paddedHeight, int64_t stride,
                           int64_t phaseWidth, int64_t top, int64_t left,
                           int64_t lanes);

} // namespace pconv
} // namespace mlir

#endif // PCONV_PASSES_LOWERINGUTILS_H
