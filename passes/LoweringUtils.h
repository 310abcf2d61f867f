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

#include <optional>
#include <string>
#include <vector>

namespace mlir {
namespace pconv {

/// Static sizes of a pconv.conv2d, read once by each lowering.
struct ConvShape {
  int64_t batch, channels, height, width;  // input N, C, H, W
  int64_t filters, outHeight, outWidth;    // the conv's F, OH, OW (before
                                           // a fused max_pool)
  int64_t kernelHeight, kernelWidth;       // library kernel kh, kw
  ArrayRef<int64_t> padding, strides, dilations;

  static ConvShape of(Conv2DOp op);
};

/// The kept kernels of a conv, grouped for branch-free code (pattern
/// grouping). Channels are cut into blocks of `channelBlock`; entries
/// rowPtr[r] .. rowPtr[r + 1] of `channel` / `weightOffset`, with
/// r = (f * numChannelBlocks + cb) * numPatterns + p, are the kernels of
/// filter f in channel block cb that keep pattern p, in channel order.
/// Filters are split into contiguous groups of about equal work (kept taps),
/// groupStart[g] .. groupStart[g + 1].
struct PatternSchedule {
  int64_t numPatterns = 0, channelBlock = 0, numChannelBlocks = 1;
  SmallVector<int32_t> rowPtr;
  SmallVector<int32_t> channel;
  SmallVector<int32_t> weightOffset;
  SmallVector<int32_t> groupStart;
  /// Whether any kernel of the layer keeps pattern p.
  SmallVector<bool> patternUsed;

  /// `channelBlock` 0 means one block of all channels; `groups` >= 1.
  static PatternSchedule build(Conv2DOp op, int64_t channelBlock = 0,
                               int64_t groups = 1);
  /// The schedule stored on `op` by pconv-group-patterns (attribute
  /// `pconv.schedule`), checked against the op; null when it has none.
  static FailureOr<std::optional<PatternSchedule>> fromOp(Conv2DOp op);
  /// The schedule as a dictionary attribute (see pconv-group-patterns).
  DictionaryAttr toAttr(MLIRContext *context) const;

  bool empty() const { return channel.empty(); }
  int64_t numGroups() const { return int64_t(groupStart.size()) - 1; }
  /// Bytes of the index tables (i32 each).
  int64_t indexBytes() const {
    return 4 * int64_t(rowPtr.size() + channel.size() + weightOffset.size() +
                       groupStart.size());
  }
};

/// Offset of every kept kernel's weights in the packed (filter, channel)
/// order of a kernel table `ids` (F x C, -1 = pruned); -1 for pruned ones.
SmallVector<int32_t> packedOffsets(ArrayRef<int8_t> ids, int64_t taps);

/// Name of the discardable attribute holding a conv's schedule.
inline constexpr StringLiteral kScheduleAttrName = "pconv.schedule";

/// Name of the discardable attribute that fixes a conv's register tile and
/// blocking: a dictionary with any of rows, vectors, channel_block,
/// filter_groups (positive integers), set by hand or by the auto-tuner.
inline constexpr StringLiteral kTileAttrName = "pconv.tile";

/// Register tile, cache blocking and parallel split of one convolution.
struct TileShape {
  int64_t vectorWidth;  // lanes per vector
  int64_t vectors;      // V: vectors per tile row
  int64_t rows;         // R: output rows per tile
  int64_t chunks;       // column chunks of V vectors covering the width
                        // (the last one of tailVectors where nonzero)
  int64_t rowBlocks;    // row blocks of R rows covering the height
  int64_t channelBlock; // input channels whose tile inputs stay in L1
  int64_t groups;       // work-balanced filter groups (parallel dimension)
  /// Filter-blocked convs only (see isFilterBlockedConv): filters sharing each input vector
  /// in the register tile (R x V x filterBlock accumulators; `groups` then
  /// counts runs of whole filter blocks), and whether the output is one
  /// flat row of OH * OW pixels (1x1, stride 1, no padding: a matmul).
  int64_t filterBlock = 1;
  bool flatten = false;
  /// Nonzero: short rows at stride 1 (at most half a vector) are computed
  /// on the flat padded map instead: outputs at q = y * pitch + x of a grid
  /// `pitch` (the padded input width) wide, one flat row of OH * pitch
  /// positions whose taps read the flat padded input at q + dy * pitch + dx;
  /// the x >= OW columns are computed and dropped. Full vectors on 7x7 maps.
  int64_t pitch = 0;
  /// Filter-blocked convs only: nonzero (less than `vectors`) where the last
  /// column chunk is a narrower tile of this many vectors, so a width that is
  /// not a multiple of V vectors does not compute whole vectors of lanes
  /// past its end (196 pixels, V = 5: 5 + 5 + 3 vectors, not 3 x 5).
  int64_t tailVectors = 0;
  /// Dense 1x1 convs (`flatten`) only: filters along the vector lanes
  /// instead of pixels. A tile is then `rows` pixels x `vectors` vectors of
  /// `vectorWidth` filters (`filterBlock` = vectors * vectorWidth), each
  /// pixel's input broadcast, each vector of filter weights loaded; the
  /// `chunks` tasks of a filter group cut the OH * OW pixels into runs of
  /// `rows` (the last one shorter where they do not divide), and the tile is
  /// transposed into the N x F x OH x OW output through a small buffer. For
  /// maps whose pixel count fills vectors badly (7 x 7 = 49 pixels: 4
  /// vectors, 64 lanes) when the filters fill them exactly.
  bool filterLanes = false;

  /// The first column of the last chunk.
  int64_t lastChunkStart() const { return (chunks - 1) * vectors * vectorWidth; }
  /// The columns the chunks cover (at least the width).
  int64_t coveredWidth() const {
    return lastChunkStart() + (tailVectors ? tailVectors : vectors) * vectorWidth;
  }
};

/// Whether every kernel of `op` is kept with every tap of its window (one
/// library pattern of kh * kw taps, no pruned kernel) and its weights are a
/// constant: such a dense conv lowers to a filter-blocked kernel (weights
/// repacked at compile time) without a pattern schedule.
bool isDenseConv(Conv2DOp op);

/// The size G of `op`'s shared-kernel filter blocks: the largest of 16, 8,
/// 4, 2 that divides F such that every run of G consecutive filters (from
/// filter 0) keeps the same kernels with the same patterns (equal rows of
/// the kernel table), for a pruned conv with constant weights (not dense);
/// 1 where there is none. Such blocks (group-shared pattern pruning) lower
/// to the dense path's filter-blocked kernel, one channel loop per pattern
/// over the block's kept kernels, with a filter block dividing G.
int64_t sharedKernelBlock(Conv2DOp op);

/// Whether every filter of `op` keeps at most one kernel (depthwise convs,
/// imported as a diagonal kernel table).
bool atMostOneKernelPerFilter(Conv2DOp op);

/// Dense convs and convs with shared-kernel filter blocks: both lower to the
/// filter-blocked kernel (weights repacked at compile time, no pattern
/// schedule).
bool isFilterBlockedConv(Conv2DOp op);

/// Limits of the model that picks a tile when the op does not fix it.
struct TileModel {
  int64_t vectorWidth = 16, maxAccumulators = 16, maxVectors = 8,
          maxRows = 16, cacheBytes = 0, minTasks = 32,
          denseCacheBytes = 24576, denseAccumulators = 24;
  /// Filter-blocked convs: a width that is not a multiple of the tile's V
  /// vectors ends in a narrower tail chunk (TileShape::tailVectors).
  bool tailChunks = true;
  /// Dense 1x1 convs may put filters along the lanes
  /// (TileShape::filterLanes) where the model scores that better.
  bool filterLanes = true;
  /// The L2 share a task re-reads (0: no limit). Pattern convs (several
  /// kernels per filter): fewer rows per tile while one row block's padded
  /// input rows over all channels exceed it. Filter-lane 1x1 convs: more
  /// filter groups while a group's weights exceed half of it.
  int64_t rowBlockBytes = 1 << 20;
};

/// The model-based default: vectors of `vectorWidth` lanes (halved while an
/// output row fills at most half a vector), the widest row of vectors up to
/// `maxVectors`,
/// as many rows as the accumulator budget allows (more rows = more input
/// vectors shared by taps of neighbouring rows, and more independent FMA
/// chains) while a row block's input rows over all channels fit
/// `rowBlockBytes` (at most 2 rows at a row stride >= kh - 1, where
/// neighbouring rows share at most one input row), cut into balanced row
/// blocks, a channel block whose input
/// rows fit `cacheBytes` (all channels when 0), and enough filter groups for `minTasks` parallel
/// tasks. Dense convs get a filter block instead of groups: the (R, V,
/// filter block) with at most `denseAccumulators` accumulators doing the most
/// FMAs per load (useful FMAs / the R * V input + filter-block weight loads
/// of all tiles, so lanes and rows past the output count as waste; with
/// `tailChunks` the last column chunk is only as wide as it needs), channel
/// blocks
/// whose tile input fits `denseCacheBytes` (reused from L1 by every filter
/// block of a task), and filter groups (runs of filter blocks) for
/// `minTasks` tasks. Fields of a `pconv.tile` attribute on the op override
/// the choice.
FailureOr<TileShape> chooseTile(Conv2DOp op, const TileModel &model);

/// Writes `tile` as the op's `pconv.tile` attribute.
void setTileAttr(Conv2DOp op, const TileShape &tile);

/// The schedule's tables as read-only buffers (constants + to_buffer).
struct ScheduleBuffers {
  Value rowPtr, channel, weightOffset, groupStart;
};
/// `weightOffset` stays null without `weightOffsets` (weights repacked in
/// schedule order need none).
ScheduleBuffers createScheduleBuffers(OpBuilder &b, Location loc,
                                      const PatternSchedule &schedule,
                                      bool weightOffsets = true);

/// The f32 values of a constant tensor (`dense` or an attached
/// `dense_resource`), or failure with the reason in `why`.
FailureOr<std::vector<float>> readConstantF32(Value value, std::string &why);

/// A 1-D f32 constant holding `values`: inline `dense` when small, a
/// resource blob otherwise (cheap to print elided, to write as bytecode).
Value createF32Constant(OpBuilder &b, Location loc, ArrayRef<float> values);

/// A read-only buffer view of a tensor (bufferization.to_buffer read_only).
Value toReadOnlyBuffer(OpBuilder &b, Location loc, Value tensor);

/// A read-only buffer view of a constant i32 table (one element if empty).
Value createI32Table(OpBuilder &b, Location loc, ArrayRef<int32_t> values);

/// Replaces `op` by the tensor view of its computed output buffer `out`
/// (`to_tensor restrict writable`, which one-shot bufferization accepts).
void replaceWithOutputBuffer(OpBuilder &b, Conv2DOp op, Value out);

/// Splits a conv with a fused `max_pool` back into the conv (without it)
/// and a `linalg.pooling_nchw_max` of its result, for the lowerings that do
/// not pool in registers; returns the new conv (`op` is erased).
Conv2DOp unfuseMaxPool(Conv2DOp op);

/// An index constant at the builder's insertion point.
inline Value cIdx(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// Loads an i32 table entry as an index.
Value loadIndex(OpBuilder &b, Location loc, Value table, Value index);

/// The activation bounds of a conv's epilogue: max(x, bound) and
/// min(x, bound) for a bound that is never NaN (0, a ReLU6 ceiling, +-inf),
/// as select(x < bound, bound, x) and select(x > bound, bound, x). Both
/// keep a NaN x, as PyTorch's relu and hardtanh do, and are one max / min
/// instruction (x86 vmaxps / vminps, whose second operand wins on NaN);
/// arith.maximumf / minimumf also order -0 below +0 and cost three to six.
Value activationMax(OpBuilder &b, Location loc, Value x, Value bound);
Value activationMin(OpBuilder &b, Location loc, Value x, Value bound);

/// Columns x, x + 2, ..., x + 2 (lanes - 1) of the row of `source` (N x C x
/// H x W) at (n, c, row), and with `odd` also columns x + 1, x + 3, ...:
/// two contiguous masked loads of the 2 * lanes columns from x (lanes
/// outside the row read as zero, `x` may be negative; all of them where
/// `inside`, an i1 if given, is false) deinterleaved by a lane shuffle
/// each, instead of strided gathers (a load per lane).
SmallVector<Value, 2> loadDeinterleaved(OpBuilder &b, Location loc,
                                        Value source, Value n, Value c,
                                        Value row, Value x, Value zeroVec,
                                        bool odd, Value inside = Value());

/// The mask of the `lanes` lanes l of a vector read from column `x` of a
/// row `width` columns wide with 0 <= x + l < width (`x` may be negative or
/// past the end: those lanes are off); all off where `inside` (an i1, if
/// given) is false. For masked loads of unpadded rows.
Value createColumnMask(OpBuilder &b, Location loc, int64_t lanes, Value x,
                       int64_t width, Value inside = Value());

/// Width (elements) of a zero-padded copy of a `width`-wide input with `left`
/// leading zero columns: at least `minWidth`, and room for whole `lanes`-wide
/// vector copies of the input rows.
int64_t paddedWidth(int64_t width, int64_t left, int64_t minWidth,
                    int64_t lanes);

/// Columns per phase plane of a row-form pattern conv's zero-padded input
/// copy (`s.strides[1]` planes; one at stride 1): wide enough for its share
/// of the padded row and for every tap of the tile's chunks, in whole
/// vectors (at stride 1 also paddedWidth's room for whole-vector copies).
/// The lowering allocates it, the tile model counts its bytes.
int64_t paddedPhaseWidth(const ConvShape &s, const TileShape &t);

/// Where a producer's H x W output lies in a padded N x C x PH x PW buffer:
/// rows [top, top + height), columns [left, left + width); the rest is halo.
struct HaloGeometry {
  int64_t top, left, height, width;
};

/// Builds `body` under `cond` (an i1): inline where it is a constant true,
/// nothing where it is a constant false, else in an scf.if.
void buildIf(OpBuilder &b, Location loc, Value cond,
             function_ref<void(OpBuilder &)> body);

/// Stores `fill` (a vector) over columns [from, from + length) of row `row`
/// of plane (batch, channel) of `padded`, one vector at a time, the last
/// masked; `from` may be a run-time index (a flat view's position).
void fillColumns(OpBuilder &b, Location loc, Value padded, Value fill,
                 Value batch, Value channel, Value row, OpFoldResult from,
                 int64_t length);

/// Stores `fill` over the halo columns of row `row` (padded coordinates,
/// inside the interior's rows) of plane (batch, channel): left of the
/// interior if `leftSide`, right of it if `rightSide` (i1 values).
void fillRowHalo(OpBuilder &b, Location loc, Value padded, Value fill,
                 Value batch, Value channel, Value row, const HaloGeometry &g,
                 Value leftSide, Value rightSide);

/// Stores `fill` over the whole rows of plane (batch, channel) above the
/// interior (`above`) or below it (`!above`).
void fillEdgeRows(OpBuilder &b, Location loc, Value padded, Value fill,
                  Value batch, Value channel, const HaloGeometry &g,
                  bool above);

/// Stores `fill` over the whole halo of plane (batch, channel).
void fillPlaneHalo(OpBuilder &b, Location loc, Value padded, Value fill,
                   Value batch, Value channel, const HaloGeometry &g);

/// Writes `value` (a scalar) into all of `padded` (a static N x C x PH x PW
/// memref) but its H x W interior at (top, left), which a producer writes:
/// parallel over (N, C), `lanes`-wide (masked) vector stores row by row.
void fillHalo(OpBuilder &b, Location loc, Value padded, Value value, int64_t h,
              int64_t w, int64_t top, int64_t left, int64_t lanes);

/// Allocates an N x C x `paddedHeight` x `paddedWidth` buffer holding `source`
/// (a memref N x C x H x W) at row `top`, column `left`, zeros elsewhere. The
/// copy is parallel over (N, C) and vectorized `lanes` wide; `paddedWidth`
/// must come from paddedWidth().
Value createZeroPaddedCopy(OpBuilder &b, Location loc, Value source,
                           int64_t paddedHeight, int64_t paddedWidth,
                           int64_t top, int64_t left, int64_t lanes);

/// Allocates an N x C x H x `shifts` x `width` buffer whose copy j of every
/// row of `padded` (N x C x H x W) starts `j * step` columns further:
/// out[n][c][y][j][x] = padded[n][c][y][x + j * step]. A tap at column
/// offset j * step then reads an aligned vector of copy j instead of an
/// unaligned one (which splits across cache lines). Needs
/// W >= width + (shifts - 1) * step; `width` a multiple of `lanes`.
Value createShiftedCopies(OpBuilder &b, Location loc, Value padded,
                          int64_t shifts, int64_t step, int64_t width,
                          int64_t lanes);

/// Allocates an N x C x 1 x 1 x (OH * OW) buffer holding rows 0, sh, 2 sh,
/// ... and columns 0, sw, 2 sw, ... of `source` (N x C x H x W), OH x OW of
/// them, each channel one contiguous flat row: the only input a 1x1
/// convolution at stride (sh, sw) without padding reads, laid out so it runs
/// as the stride-1 flat matmul. Parallel over (N, C); each output vector is
/// one masked store of two contiguous masked loads' even lanes at sw = 2,
/// of one masked strided gather at other strides.
Value createSubsampledCopy(OpBuilder &b, Location loc, Value source,
                           int64_t strideH, int64_t strideW, int64_t outHeight,
                           int64_t outWidth, int64_t lanes);

/// Allocates an N x C x 1 x (stride * stride) x L buffer (L = `length`
/// rounded up to `lanes`) holding `source` (N x C x H x W) zero-padded by
/// `top` rows and `left` columns, split into stride x stride phase planes
/// (one plane at stride 1), each a flat grid `pitch` columns wide: padded
/// (y, x) = (iy + top, ix + left) lands in plane (y % stride) * stride +
/// x % stride at (y / stride) * pitch + x / stride. At stride 1 the copy
/// moves rows `lanes` columns at a time (the last vector masked); into phase
/// planes element by element (small maps); the zero fill is `lanes` wide.
/// Every plane's grid starts `base` elements into its row (zeros before it):
/// a base that puts a tap every kernel has on an aligned vector saves that
/// tap's lane shuffles.
Value createFlatPaddedCopy(OpBuilder &b, Location loc, Value source,
                           int64_t stride, int64_t pitch, int64_t length,
                           int64_t top, int64_t left, int64_t lanes,
                           int64_t base = 0);

/// Allocates an N x C x `paddedHeight` x `stride` x `phaseWidth` buffer
/// holding `source` (N x C x H x W) zero-padded by `top` rows and `left`
/// columns, with the columns of each padded row split into `stride` phases:
/// padded column x lands at [x % stride][x / stride]. A stride-`stride`
/// convolution then reads `lanes` consecutive outputs' taps as one contiguous
/// vector of a phase. Every vector is one masked strided gather (zeros
/// outside the source row).
Value createPhaseSplitCopy(OpBuilder &b, Location loc, Value source,
                           int64_t paddedHeight, int64_t stride,
                           int64_t phaseWidth, int64_t top, int64_t left,
                           int64_t lanes);

} // namespace pconv
} // namespace mlir

#endif // PCONV_PASSES_LOWERINGUTILS_H
