//===- LoweringUtils.cpp - Shared pieces of the pconv lowerings -----------===//

#include "passes/LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cstring>
#include <limits>

using namespace mlir;
using namespace mlir::pconv;

ConvShape ConvShape::of(Conv2DOp op) {
  auto in = op.getInput().getType();
  ArrayRef<int64_t> kernel = op.getLibrary().getKernelShape();
  // The conv's output, before its pool (the verifier checked it exists).
  SmallVector<int64_t, 4> out = *op.inferResultShape();
  return {in.getDimSize(0), in.getDimSize(1), in.getDimSize(2),
          in.getDimSize(3), out[1],           out[2],
          out[3],           kernel[0],        kernel[1],
          op.getPadding(),  op.getStrides(),  op.getDilations()};
}

SmallVector<int32_t> mlir::pconv::packedOffsets(ArrayRef<int8_t> ids,
                                                int64_t taps) {
  SmallVector<int32_t> offsets(ids.size(), -1);
  int32_t next = 0;
  for (auto [k, id] : llvm::enumerate(ids))
    if (id >= 0) {
      offsets[k] = next;
      next += taps;
    }
  return offsets;
}

PatternSchedule PatternSchedule::build(Conv2DOp op, int64_t channelBlock,
                                       int64_t groups) {
  int64_t numFilters = op.getNumFilters(), numChannels = op.getNumChannels();
  int64_t numPatterns = op.getLibrary().getNumPatterns();
  int64_t taps = op.getLibrary().getTaps();
  SmallVector<int8_t> ids(op.getKernelPatterns().getValues<int8_t>());
  if (channelBlock <= 0 || channelBlock > numChannels)
    channelBlock = numChannels;
  groups = std::clamp<int64_t>(groups, 1, numFilters);

  SmallVector<int32_t> offsets = packedOffsets(ids, taps);

  PatternSchedule schedule;
  schedule.numPatterns = numPatterns;
  schedule.channelBlock = channelBlock;
  schedule.numChannelBlocks = llvm::divideCeil(numChannels, channelBlock);
  schedule.patternUsed.assign(numPatterns, false);
  schedule.rowPtr.push_back(0);
  SmallVector<int64_t> work(numFilters, 0);
  for (int64_t f = 0; f < numFilters; ++f)
    for (int64_t cb = 0; cb < schedule.numChannelBlocks; ++cb)
      for (int64_t p = 0; p < numPatterns; ++p) {
        int64_t cEnd = std::min(numChannels, (cb + 1) * channelBlock);
        for (int64_t c = cb * channelBlock; c < cEnd; ++c) {
          int64_t k = f * numChannels + c;
          if (ids[k] != p)
            continue;
          schedule.channel.push_back(c);
          schedule.weightOffset.push_back(offsets[k]);
          schedule.patternUsed[p] = true;
          work[f] += taps;
        }
        schedule.rowPtr.push_back(schedule.channel.size());
      }

  // Work-balanced filter groups: cut the prefix sum of kept taps (plus a
  // per-tile cost of one kernel for every channel block) into equal parts.
  int64_t total = 0;
  for (int64_t &w : work) {
    w += taps * schedule.numChannelBlocks;
    total += w;
  }
  schedule.groupStart.push_back(0);
  int64_t done = 0;
  for (int64_t f = 0, g = 1; f < numFilters && g < groups; ++f) {
    done += work[f];
    while (g < groups && done * groups >= total * g) {
      schedule.groupStart.push_back(f + 1);
      ++g;
    }
  }
  while (int64_t(schedule.groupStart.size()) < groups + 1)
    schedule.groupStart.push_back(numFilters);
  schedule.groupStart.back() = numFilters;
  return schedule;
}

DictionaryAttr PatternSchedule::toAttr(MLIRContext *context) const {
  Builder b(context);
  return b.getDictionaryAttr({
      b.getNamedAttr("channel_block", b.getI64IntegerAttr(channelBlock)),
      b.getNamedAttr("group_start", b.getDenseI32ArrayAttr(groupStart)),
      b.getNamedAttr("row_ptr", b.getDenseI32ArrayAttr(rowPtr)),
      b.getNamedAttr("channel", b.getDenseI32ArrayAttr(channel)),
      b.getNamedAttr("weight_offset", b.getDenseI32ArrayAttr(weightOffset)),
  });
}

FailureOr<std::optional<PatternSchedule>>
PatternSchedule::fromOp(Conv2DOp op) {
  auto dict = op->getAttrOfType<DictionaryAttr>(kScheduleAttrName);
  if (!dict)
    return std::optional<PatternSchedule>();
  auto fail = [&](const Twine &why) {
    return op.emitOpError() << "has an invalid '" << kScheduleAttrName
                            << "' attribute: " << why;
  };
  auto block = dict.getAs<IntegerAttr>("channel_block");
  auto groupStart = dict.getAs<DenseI32ArrayAttr>("group_start");
  auto rowPtr = dict.getAs<DenseI32ArrayAttr>("row_ptr");
  auto channel = dict.getAs<DenseI32ArrayAttr>("channel");
  auto offset = dict.getAs<DenseI32ArrayAttr>("weight_offset");
  if (!block || !groupStart || !rowPtr || !channel || !offset)
    return fail("expected channel_block (integer) and group_start, row_ptr, "
                "channel, weight_offset (array<i32>)");
  // The schedule must describe exactly the op's kernels: rebuild it with the
  // same blocking and compare (cheap next to code generation).
  PatternSchedule expected =
      build(op, block.getInt(), std::max<int64_t>(groupStart.size() - 1, 1));
  if (block.getInt() != expected.channelBlock)
    return fail("channel_block must be in [1, channels]");
  if (ArrayRef<int32_t>(rowPtr) != ArrayRef<int32_t>(expected.rowPtr) ||
      ArrayRef<int32_t>(channel) != ArrayRef<int32_t>(expected.channel) ||
      ArrayRef<int32_t>(offset) != ArrayRef<int32_t>(expected.weightOffset))
    return fail("tables do not match the op's kernels (stale schedule?)");
  ArrayRef<int32_t> starts = groupStart;
  if (starts.size() < 2 || starts.front() != 0 ||
      starts.back() != op.getNumFilters() || !llvm::is_sorted(starts))
    return fail("group_start must rise from 0 to the number of filters");
  expected.groupStart.assign(starts.begin(), starts.end());
  return std::optional<PatternSchedule>(std::move(expected));
}

bool mlir::pconv::isDenseConv(Conv2DOp op) {
  PatternLibraryAttr library = op.getLibrary();
  ArrayRef<int64_t> kernel = library.getKernelShape();
  if (library.getNumPatterns() != 1 ||
      library.getTaps() != kernel[0] * kernel[1] ||
      !op.getWeights().getDefiningOp<arith::ConstantOp>())
    return false;
  return llvm::all_of(op.getKernelPatterns().getValues<int8_t>(),
                      [](int8_t id) { return id == 0; });
}

int64_t mlir::pconv::sharedKernelBlock(Conv2DOp op) {
  if (isDenseConv(op) || !op.getWeights().getDefiningOp<arith::ConstantOp>())
    return 1;
  int64_t F = op.getNumFilters(), C = op.getNumChannels();
  SmallVector<int8_t> ids(op.getKernelPatterns().getValues<int8_t>());
  if (llvm::all_of(ids, [](int8_t id) { return id < 0; }))
    return 1;
  for (int64_t g : {16, 8, 4, 2}) {
    if (F % g)
      continue;
    bool equal = true;
    for (int64_t f = 0; f < F && equal; ++f)
      if (f % g)
        equal = std::equal(ids.begin() + f * C, ids.begin() + (f + 1) * C,
                           ids.begin() + (f - 1) * C);
    if (equal)
      return g;
  }
  return 1;
}

bool mlir::pconv::isFilterBlockedConv(Conv2DOp op) {
  return isDenseConv(op) || sharedKernelBlock(op) > 1;
}

bool mlir::pconv::atMostOneKernelPerFilter(Conv2DOp op) {
  int64_t channels = op.getNumChannels();
  auto ids = op.getKernelPatterns().getValues<int8_t>();
  for (int64_t f = 0, i = 0; f < op.getNumFilters(); ++f) {
    int64_t kept = 0;
    for (int64_t c = 0; c < channels; ++c, ++i)
      kept += ids[i] >= 0;
    if (kept > 1)
      return false;
  }
  return true;
}

/// Vectors of `vectorWidth` lanes, halved while a row of `width` outputs
/// fills at most half of one (7x7 maps with 16 lanes).
static int64_t vectorWidthFor(int64_t width, int64_t vectorWidth) {
  while (vectorWidth > 4 && vectorWidth % 2 == 0 && 2 * width <= vectorWidth)
    vectorWidth /= 2;
  return vectorWidth;
}

/// The narrowest grid the pitched form can use at stride 1: input row y at
/// [y * pitch + left, + W) with zeros between rows, one gap serving as the
/// right padding of a row and the left padding of the next: at least
/// W + left (the left taps of column 0 read zeros, not the previous row) and
/// more than the rightmost tap of the last output column past `left`.
static int64_t stride1Pitch(const ConvShape &s) {
  int64_t left = s.padding[1];
  return std::max(s.width + left, s.outWidth +
                                      (s.kernelWidth - 1) * s.dilations[1] -
                                      left);
}

/// The pitched flat form's grid width, or 0 where rows are long enough to
/// vectorize along a row. At stride 2 (undilated) the padded map is split
/// into 2 x 2 phase planes (even/odd rows and columns), each a flat grid
/// half as wide: every tap then reads its plane at a fixed offset from the
/// output's grid position, as at stride 1. `phases` false keeps strided
/// convs out of it.
static int64_t pitchFor(const ConvShape &s, int64_t vectorWidth,
                        bool phases) {
  int64_t stride = s.strides[0];
  if (s.strides[1] != stride || 2 * s.outWidth > vectorWidth)
    return 0;
  if (stride == 1)
    return stride1Pitch(s);
  if (!phases || stride != 2 || s.dilations[0] != 1 || s.dilations[1] != 1)
    return 0;
  return llvm::divideCeil(s.width + s.padding[1] + s.padding[3], stride);
}

/// Dense convs at stride 1 whose rows leave lanes idle (56 outputs in 4
/// vectors of 16) take the pitched form too where its grid fills more lanes
/// (56x56: 98% against 87.5%; 28x28: 96% against 87.5%; 14x14: equal, so
/// rows stay). There rows share no input loads, which the dense tile
/// affords (each input vector feeds a filter block): 64->64 3x3 at 56x56
/// 1.04x, 128->128 at 28x28 1.07x even with scalar copies. Shared-kernel
/// blocks ran slower on it (0.74x, 0.88x): their kernels come from L2 in
/// no useful order, and fewer rows per kernel means more of them.
static int64_t densePitchFor(const ConvShape &s, int64_t vectorWidth) {
  if (s.strides[0] != 1 || s.strides[1] != 1)
    return 0;
  auto used = [&](int64_t useful, int64_t positions) {
    return double(useful) /
           double(llvm::alignTo(positions, vectorWidth));
  };
  int64_t pitch = stride1Pitch(s);
  bool better = used(s.outHeight * s.outWidth, s.outHeight * pitch) >
                used(s.outWidth, s.outWidth) + 0.01;
  return better ? pitch : 0;
}

namespace {
/// The fields of a `pconv.tile` attribute (0 where absent).
struct RequestedTile {
  int64_t rows = 0, vectors = 0, channelBlock = 0, groups = 0,
          filterBlock = 0;
  /// filter_lanes: -1 absent (the model decides), 0 or 1.
  int64_t filterLanes = -1;
};
} // namespace

static FailureOr<RequestedTile> readTileAttr(Conv2DOp op) {
  RequestedTile r;
  Attribute attr = op->getAttr(kTileAttrName);
  if (!attr)
    return r;
  auto dict = dyn_cast<DictionaryAttr>(attr);
  // An integer field at least `lo` (positive by default), at most `hi`.
  auto get = [&](StringRef name, int64_t &field, int64_t lo = 1,
                 int64_t hi = std::numeric_limits<int64_t>::max())
      -> LogicalResult {
    Attribute value = dict.get(name);
    if (!value)
      return success();
    auto integer = dyn_cast<IntegerAttr>(value);
    if (!integer || integer.getInt() < lo || integer.getInt() > hi)
      return failure();
    field = integer.getInt();
    return success();
  };
  if (!dict || failed(get("rows", r.rows)) ||
      failed(get("vectors", r.vectors)) ||
      failed(get("channel_block", r.channelBlock)) ||
      failed(get("filter_groups", r.groups)) ||
      failed(get("filter_block", r.filterBlock)) ||
      failed(get("filter_lanes", r.filterLanes, 0, 1)))
    return op.emitOpError()
           << "has an invalid '" << kTileAttrName
           << "' attribute: expected a dictionary of positive integers "
              "(rows, vectors, channel_block, filter_groups, filter_block) "
              "and filter_lanes = 0 or 1";
  int64_t shared = sharedKernelBlock(op);
  if (r.filterBlock && !isDenseConv(op) && shared == 1)
    return op.emitOpError() << "has a 'filter_block' in its '" << kTileAttrName
                            << "' attribute but is not a dense conv (only "
                               "dense convs and convs whose filters share "
                               "their kernels in blocks are filter-blocked)";
  if (r.filterBlock && shared > 1 && shared % r.filterBlock != 0)
    return op.emitOpError() << "'filter_block' " << r.filterBlock
                            << " of its '" << kTileAttrName
                            << "' attribute does not divide its shared-kernel "
                               "filter blocks of "
                            << shared;
  if (r.filterBlock && op.getNumFilters() % r.filterBlock != 0)
    return op.emitOpError() << "'filter_block' " << r.filterBlock
                            << " of its '" << kTileAttrName
                            << "' attribute does not divide its "
                            << op.getNumFilters() << " filters";
  return r;
}

/// Whether a dense conv can put filters along the lanes
/// (TileShape::filterLanes): a flat 1x1 matmul whose filters fill whole
/// vectors.
static bool filterLanesApply(const ConvShape &s, int64_t vectorWidth) {
  return s.kernelHeight == 1 && s.kernelWidth == 1 &&
         llvm::all_of(s.padding, [](int64_t p) { return p == 0; }) &&
         s.filters % vectorWidth == 0;
}

/// The filters-along-lanes tile of a flat 1x1 conv: the (pixels, filter
/// vectors) tile with the most useful FMAs per load, per channel and
/// filter block, counting each pixel's broadcast input, each filter
/// vector's weights and the transposition out of the tile (R log2 R
/// shuffles and vw stores per filter vector, R the power of two covering
/// the tile's pixels, spread over the C channels the tile sums). At most
/// vw pixels per tile (the transposition's limit). Returns the score (0:
/// nothing the attribute asks for fits).
static double chooseFilterLaneTile(const ConvShape &s, const RequestedTile &req,
                                   const TileModel &model, TileShape &t) {
  int64_t vw = model.vectorWidth, pixels = s.outHeight * s.outWidth;
  double best = 0;
  for (int64_t fv = 1; fv <= model.maxVectors; ++fv) {
    int64_t fb = fv * vw;
    if (s.filters % fb || (req.vectors && fv != req.vectors) ||
        (req.filterBlock && fb != req.filterBlock))
      continue;
    int64_t most = std::min({pixels, model.maxRows, vw});
    for (int64_t pt = 1; pt <= most; ++pt) {
      if ((req.rows && pt != std::min(req.rows, most)) ||
          (!(req.rows && req.vectors) && fv * pt > model.denseAccumulators))
        continue;
      int64_t chunks = llvm::divideCeil(pixels, pt);
      int64_t r = int64_t(llvm::PowerOf2Ceil(pt));
      double transpose = double(fv * (r * llvm::Log2_64(r) + vw));
      double loads = double(chunks * fv + pixels) +
                     double(chunks) * transpose / double(s.channels);
      double score = double(pixels * fv) / loads;
      if (score > best + 1e-9) {
        best = score;
        t.vectors = fv;
        t.rows = pt;
        t.filterBlock = fb;
        t.chunks = chunks;
      }
    }
  }
  if (best == 0)
    return 0;
  t.filterLanes = true;
  t.flatten = true;
  t.vectorWidth = vw;
  t.rowBlocks = 1;
  t.channelBlock = s.channels;
  int64_t tasks = s.batch * t.chunks;
  t.groups = req.groups ? req.groups : llvm::divideCeil(model.minTasks, tasks);
  // A group's tasks are its runs of pixels, each reading all of the group's
  // weights: enough groups that those stay within an eighth of the L2
  // share (`rowBlockBytes`), instead of streaming from L3 once per run
  // (ResNet-50's 1024->2048 at 7x7: 8 MB of weights). An eighth, not half:
  // while a group runs, the next group's weights come into L2 beside it
  // (lowerFilterLaneConv). ResNet-50 at 1 thread, same-process A/B
  // against groups of half: groups of a sixteenth alone 0.992x the time;
  // with the prefetch, groups of a quarter 0.994x, an eighth 0.961x-0.985x,
  // a sixteenth 0.970x.
  if (!req.groups && model.rowBlockBytes > 0) {
    int64_t weightBytes = 4 * s.channels * s.filters;
    t.groups = std::max<int64_t>(
        t.groups, llvm::divideCeil(weightBytes, model.rowBlockBytes / 8));
  }
  t.groups = std::clamp<int64_t>(t.groups, 1, s.filters / t.filterBlock);
  return best;
}

/// The dense conv tile: a search over (rows, vectors, filter block).
static TileShape chooseDenseTile(const ConvShape &s, const RequestedTile &req,
                                 const TileModel &model,
                                 int64_t sharedBlock = 0) {
  TileShape t;
  // 1x1 without padding, at any stride (a strided one reads a compact copy
  // of the pixels it uses, see createSubsampledCopy).
  t.flatten = s.kernelHeight == 1 && s.kernelWidth == 1 &&
              llvm::all_of(s.padding, [](int64_t p) { return p == 0; });
  t.pitch = t.flatten ? 0 : pitchFor(s, model.vectorWidth, true);
  if (!t.flatten && !t.pitch && !sharedBlock)
    t.pitch = densePitchFor(s, model.vectorWidth);
  int64_t height = t.flatten || t.pitch ? 1 : s.outHeight;
  int64_t width = t.flatten ? s.outHeight * s.outWidth
                  : t.pitch ? s.outHeight * t.pitch
                            : s.outWidth;
  t.vectorWidth = vectorWidthFor(width, model.vectorWidth);
  int64_t perRow = llvm::divideCeil(width, t.vectorWidth);
  double best = -1;
  for (int64_t fb = 1; fb <= s.filters; ++fb) {
    if (s.filters % fb || (sharedBlock && sharedBlock % fb) ||
        (req.filterBlock && fb != req.filterBlock))
      continue;
    for (int64_t v = 1; v <= perRow; ++v) {
      if (req.vectors ? v != std::min(req.vectors, perRow)
                      : v > model.maxVectors)
        continue;
      for (int64_t r = 1; r <= height; ++r) {
        if (req.rows && r != std::min(req.rows, height))
          continue;
        // The register budget binds unless the attribute fixes all three.
        bool fixed = req.rows && req.vectors && req.filterBlock;
        // Shared-kernel blocks keep the pattern convs' budget: their
        // kernels come from L2 in no useful order, and 24-accumulator tiles
        // ran slower (64->64 at 56x56, K = 8, 1/3.6, blocks of 8: 3 x 2 x 4
        // 0.645 ms, 1 x 4 x 4 0.383 ms). So do dense tiles in the row form
        // (neither flat nor pitched): their taps' input vectors, loaded once
        // per channel, stay live across taps beside the accumulators. The
        // first convs of the benchmark networks (3 channels at 224x224)
        // ran 0.73-0.88x the time with 16, 64->64 at 224x224 and 64->128 at
        // 112x112 0.87-0.89x, 128->128 stride 2 at 56x56 0.83x; strided ones
        // on 28x28 and 14x14 maps 1.01-1.04x.
        bool rowForm = !t.flatten && !t.pitch;
        int64_t budget = sharedBlock || rowForm ? model.maxAccumulators
                                                : model.denseAccumulators;
        if (!fixed && fb * r * v > budget)
          continue;
        int64_t chunks = llvm::divideCeil(perRow, v);
        int64_t rowBlocks = llvm::divideCeil(height, r);
        // The last chunk's vectors: only as many as the width needs with
        // tail chunks (196 pixels, V = 5: 5 + 5 + 3 vectors, not 3 x 5).
        int64_t last = model.tailChunks ? perRow - (chunks - 1) * v : v;
        // Useful FMAs per input or weight load, over all tiles of a filter
        // block and channel: a tile's FMA intensity, less the lanes and
        // rows past the output.
        double loads = double(rowBlocks) * double((chunks - 1) * (fb + r * v) +
                                                  fb + r * last);
        double score =
            double(width) * double(height) * double(fb) / double(t.vectorWidth) /
            loads;
        // Shared-kernel blocks: on a tie, the wider tile (fewer input rows
        // per kernel to bring from L2).
        bool wider = sharedBlock && score > best - 1e-9 && v > t.vectors;
        if (score > best + 1e-9 || wider) {
          best = score;
          t.filterBlock = fb;
          t.vectors = v;
          t.rows = r;
          t.chunks = chunks;
          t.rowBlocks = rowBlocks;
        }
      }
    }
  }
  if (best < 0) { // the budget admits nothing the attribute asks for
    t.filterBlock = req.filterBlock ? req.filterBlock : 1;
    t.vectors = req.vectors ? std::min(req.vectors, perRow) : 1;
    t.rows = req.rows ? std::min(req.rows, height) : 1;
    t.chunks = llvm::divideCeil(perRow, t.vectors);
    t.rowBlocks = llvm::divideCeil(height, t.rows);
  }
  // The last chunk holds what the other chunks leave of the row.
  if (int64_t last = perRow - (t.chunks - 1) * t.vectors;
      model.tailChunks && last < t.vectors)
    t.tailVectors = last;
  // Channel blocks: the tile's input rows of a block stay in L1 while every
  // filter block of the task uses them (balanced block sizes).
  int64_t inRows = (t.rows - 1) * s.strides[0] +
                   (s.kernelHeight - 1) * s.dilations[0] + 1;
  int64_t inCols = t.vectors * t.vectorWidth * s.strides[1] +
                   (s.kernelWidth - 1) * s.dilations[1];
  int64_t block =
      req.channelBlock ? req.channelBlock
      : model.denseCacheBytes
          ? std::max<int64_t>(1, model.denseCacheBytes / (4 * inRows * inCols))
          : s.channels;
  block = std::min(block, s.channels);
  // Shared-kernel blocks walk whole channel lists by default: channel blocks
  // (honoured when `pconv.tile` asks) reload the accumulators per block and
  // ran slower (256->1024 1x1 at 14x14, 1/3.6, blocks of 8, 4 x 4 tile:
  // 0.475 ms with blocks of 64 channels, 0.368 with all 256).
  if (sharedBlock && !req.channelBlock)
    block = s.channels;
  t.channelBlock =
      req.channelBlock
          ? block
          : llvm::divideCeil(s.channels, llvm::divideCeil(s.channels, block));
  int64_t filterBlocks = s.filters / t.filterBlock;
  int64_t tasks = s.batch * t.rowBlocks * t.chunks;
  t.groups = req.groups ? req.groups : llvm::divideCeil(model.minTasks, tasks);
  t.groups = std::clamp<int64_t>(t.groups, 1, filterBlocks);
  // Filters along the lanes where that scores better (the pixel tile's
  // score counts the same: useful FMAs per load, per channel and filter
  // block) and nothing in the attribute fixes the pixel tile.
  if (!sharedBlock && model.filterLanes && req.filterLanes == -1 &&
      !req.rows && !req.vectors && !req.filterBlock && best > 0 &&
      filterLanesApply(s, model.vectorWidth)) {
    TileShape lanes;
    if (chooseFilterLaneTile(s, req, model, lanes) > best + 1e-9)
      return lanes;
  }
  return t;
}

int64_t mlir::pconv::paddedPhaseWidth(const ConvShape &s,
                                      const TileShape &t) {
  int64_t sw = s.strides[1], vw = t.vectorWidth;
  int64_t tileWidth = t.chunks * t.vectors * vw;
  int64_t perPhase = std::max<int64_t>(
      llvm::divideCeil(s.width + s.padding[1] + s.padding[3], sw),
      tileWidth + (s.kernelWidth - 1) * s.dilations[1] / sw);
  if (sw == 1)
    return paddedWidth(s.width, s.padding[1], perPhase, vw);
  return int64_t(llvm::alignTo(perPhase, vw));
}

FailureOr<TileShape> mlir::pconv::chooseTile(Conv2DOp op,
                                             const TileModel &model) {
  ConvShape s = ConvShape::of(op);
  FailureOr<RequestedTile> requested = readTileAttr(op);
  if (failed(requested))
    return failure();
  RequestedTile req = *requested;
  if (req.filterLanes == 1) {
    TileShape lanes;
    if (!isDenseConv(op) || !filterLanesApply(s, model.vectorWidth))
      return op.emitOpError()
             << "asks for 'filter_lanes' in its '" << kTileAttrName
             << "' attribute but is not a dense 1x1 conv without padding "
                "whose "
             << s.filters << " filters fill vectors of " << model.vectorWidth;
    if (chooseFilterLaneTile(s, req, model, lanes) == 0)
      return op.emitOpError()
             << "'" << kTileAttrName
             << "' asks for filter lanes with rows / vectors / filter_block "
                "that no tile of "
             << model.vectorWidth << "-lane vectors satisfies";
    return lanes;
  }
  if (isDenseConv(op))
    return chooseDenseTile(s, req, model);
  if (int64_t g = sharedKernelBlock(op); g > 1)
    return chooseDenseTile(s, req, model, g);
  TileShape t;
  // Pattern convs whose filters keep one kernel (depthwise) take no phase
  // planes: their copy costs about what the conv does, and the direct form
  // (input read in place) was faster (MobileNet-V2's 576-channel depthwise
  // 3x3 at 14x14, stride 2: 0.115 ms direct, 0.214 on phase planes).
  t.pitch = pitchFor(s, model.vectorWidth, !atMostOneKernelPerFilter(op));
  int64_t height = t.pitch ? 1 : s.outHeight;
  int64_t width = t.pitch ? s.outHeight * t.pitch : s.outWidth;
  t.vectorWidth = vectorWidthFor(width, model.vectorWidth);
  int64_t perRow = llvm::divideCeil(width, t.vectorWidth);
  t.chunks = llvm::divideCeil(
      perRow, req.vectors ? std::min(req.vectors, perRow) : model.maxVectors);
  t.vectors = llvm::divideCeil(perRow, t.chunks); // balanced chunks
  if (req.rows) {
    t.rows = std::min(req.rows, height);
  } else {
    // The most rows the budget allows, then balanced row blocks (14 rows
    // at 8 per block -> 2 blocks of 7, not 8 + 6 with a guarded tail).
    int64_t most = std::clamp<int64_t>(model.maxAccumulators / t.vectors, 1,
                                       std::min(model.maxRows, height));
    t.rows = llvm::divideCeil(height, llvm::divideCeil(height, most));
    // Fewer rows while a row block's input rows over all channels overflow
    // `rowBlockBytes` (L2): every filter of a task walks its kernels over
    // them, so they should stay in L2 from one filter to the next (not for
    // depthwise convs: one filter per channel). ResNet-50's 256 -> 256
    // stride-2 conv at 28x28 read 29 phase-split rows of 256 B per channel
    // at 14 rows per tile (1.9 MB), 15 at 7 rows (0.98 MB): 0.39 ms instead
    // of 0.49 (Zen 5; stride 2 now takes 2 rows, below). Below the budget
    // more rows win (512 -> 512 at 14x14, 1 MiB: 14 rows 0.96-0.99 ms, 7
    // rows 0.99-1.01).
    if (model.rowBlockBytes && !t.pitch && !atMostOneKernelPerFilter(op)) {
      // One copy's row (the non-default shifted copies make kw of them).
      int64_t rowBytes = 4 * s.strides[1] * paddedPhaseWidth(s, t);
      auto blockBytes = [&](int64_t rows) {
        return s.channels * rowBytes *
               ((rows - 1) * s.strides[0] +
                (s.kernelHeight - 1) * s.dilations[0] + 1);
      };
      while (t.rows > 1 && blockBytes(t.rows) > model.rowBlockBytes)
        t.rows = llvm::divideCeil(height,
                                  llvm::divideCeil(height, t.rows - 1));
    }
    // At a row stride of kh - 1 or more, neighbouring output rows share at
    // most one input row, so more rows save few loads, while every filter
    // re-reads the row block's input over all channels: the smaller that
    // block, the more of it the next filter still finds in L1. Two rows per
    // tile (AMD Zen 4, share of the core's FMA rate): 64 -> 128 at 56x56
    // 0.343 against 0.306 at 7 rows, 128 -> 256 at 28x28 0.287 against
    // 0.241 at 14, 256 -> 256 at 28x28 0.274 against 0.213 at 7
    // (benchmarks.layer_ab, docs/rationale.md). Not for depthwise convs
    // (one kernel per filter: nothing re-read).
    if (!t.pitch && !atMostOneKernelPerFilter(op) && s.strides[0] > 1 &&
        s.strides[0] >= (s.kernelHeight - 1) * s.dilations[0])
      t.rows = llvm::divideCeil(
          height, llvm::divideCeil(height, std::min<int64_t>(t.rows, 2)));
    // A fused 2 x 2 max-pool is applied to the tile's row pairs in
    // registers: an even row count where the budget allows one.
    if (op.getPoolWindow() == std::make_pair<int64_t, int64_t>(2, 2) &&
        op.hasTiledPool() && !t.pitch && t.rows % 2 && height % 2 == 0)
      t.rows = t.rows > 1 ? t.rows - 1
               : 2 * t.vectors <= model.maxAccumulators ? 2
                                                         : 1;
  }
  t.rowBlocks = llvm::divideCeil(height, t.rows);
  // Input bytes per channel that one tile reads.
  int64_t sh = s.strides[0], sw = s.strides[1];
  int64_t inRows =
      (t.rows - 1) * sh + (s.kernelHeight - 1) * s.dilations[0] + 1;
  int64_t inCols = t.vectors * t.vectorWidth * sw +
                   (s.kernelWidth - 1) * s.dilations[1];
  int64_t perChannel = 4 * inRows * inCols;
  t.channelBlock =
      req.channelBlock   ? req.channelBlock
      : model.cacheBytes ? std::max<int64_t>(1, model.cacheBytes / perChannel)
                         : s.channels;
  t.channelBlock = std::min(t.channelBlock, s.channels);
  int64_t tasks = s.batch * t.rowBlocks * t.chunks;
  t.groups =
      req.groups ? req.groups : llvm::divideCeil(model.minTasks, tasks);
  t.groups = std::clamp<int64_t>(t.groups, 1, s.filters);
  return t;
}

void mlir::pconv::setTileAttr(Conv2DOp op, const TileShape &tile) {
  Builder b(op.getContext());
  SmallVector<NamedAttribute> fields = {
      b.getNamedAttr("rows", b.getI64IntegerAttr(tile.rows)),
      b.getNamedAttr("vectors", b.getI64IntegerAttr(tile.vectors)),
      b.getNamedAttr("channel_block", b.getI64IntegerAttr(tile.channelBlock)),
      b.getNamedAttr("filter_groups", b.getI64IntegerAttr(tile.groups))};
  if (isFilterBlockedConv(op))
    fields.push_back(b.getNamedAttr("filter_block",
                                    b.getI64IntegerAttr(tile.filterBlock)));
  if (tile.filterLanes)
    fields.push_back(b.getNamedAttr("filter_lanes", b.getI64IntegerAttr(1)));
  op->setAttr(kTileAttrName, b.getDictionaryAttr(fields));
}

/// The dense f32 values of a constant filter, or a rejection.
FailureOr<std::vector<float>> mlir::pconv::readConstantF32(Value filter,
                                                       std::string &why) {
  auto cst = filter.getDefiningOp<arith::ConstantOp>();
  if (!cst) {
    why = "filter is not a constant";
    return failure();
  }
  auto type = cast<RankedTensorType>(cst.getType());
  if (!type.getElementType().isF32()) {
    why = "filter element type is not f32";
    return failure();
  }
  int64_t n = type.getNumElements();
  std::vector<float> values(n);
  if (auto dense = dyn_cast<DenseElementsAttr>(cst.getValue())) {
    if (dense.isSplat())
      std::fill(values.begin(), values.end(), dense.getSplatValue<float>());
    else
      llvm::copy(dense.getValues<float>(), values.begin());
    return values;
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(cst.getValue())) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob) {
      why = "filter dense_resource '" +
            resource.getRawHandle().getKey().str() +
            "' has no data (attach it with --pconv-attach-weights)";
      return failure();
    }
    ArrayRef<char> bytes = blob->getData();
    if (bytes.size() != size_t(n) * sizeof(float)) {
      why = "filter dense_resource has the wrong byte size";
      return failure();
    }
    std::memcpy(values.data(), bytes.data(), bytes.size());
    return values;
  }
  why = "filter constant is neither dense nor dense_resource";
  return failure();
}

/// A constant holding `values`: inline `dense` when small, a resource blob
/// otherwise (cheap to print elided, to write as bytecode, to translate).
Value mlir::pconv::createF32Constant(OpBuilder &b, Location loc,
                                     ArrayRef<float> values) {
  auto type = RankedTensorType::get({int64_t(values.size())}, b.getF32Type());
  if (values.size() <= 1024)
    return arith::ConstantOp::create(b, loc,
                                     DenseElementsAttr::get(type, values));
  auto attr = DenseResourceElementsAttr::get(
      type, "pconv_packed",
      HeapAsmResourceBlob::allocateAndCopyInferAlign(values));
  return arith::ConstantOp::create(b, loc, attr);
}

Value mlir::pconv::createI32Table(OpBuilder &b, Location loc,
                                  ArrayRef<int32_t> values) {
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
    OpBuilder &b, Location loc, const PatternSchedule &schedule,
    bool weightOffsets) {
  return {createI32Table(b, loc, schedule.rowPtr),
          createI32Table(b, loc, schedule.channel),
          weightOffsets ? createI32Table(b, loc, schedule.weightOffset)
                        : Value(),
          createI32Table(b, loc, schedule.groupStart)};
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

Conv2DOp mlir::pconv::unfuseMaxPool(Conv2DOp op) {
  auto [ph, pw] = op.getPoolWindow();
  ConvShape s = ConvShape::of(op);
  OpBuilder b(op);
  Location loc = op.getLoc();
  RankedTensorType pooledType = op.getResult().getType();
  Type f32 = pooledType.getElementType();
  auto [sh, sw] = op.getPoolStride();
  SmallVector<int64_t, 4> pads = op.getPoolPads();
  auto conv = cast<Conv2DOp>(b.clone(*op));
  conv.removeMaxPoolAttr();
  conv.removePoolStridesAttr();
  conv.removePoolPaddingAttr();
  conv.getResult().setType(RankedTensorType::get(
      {s.batch, s.filters, s.outHeight, s.outWidth}, f32));
  Value lowest = arith::ConstantOp::create(
      b, loc,
      b.getFloatAttr(f32, -std::numeric_limits<float>::infinity()));
  // Padded positions never win: the pool reads a -inf padded map.
  Value pooled = conv.getResult();
  if (llvm::any_of(pads, [](int64_t p) { return p != 0; }))
    pooled = tensor::PadOp::create(
        b, loc,
        RankedTensorType::get({s.batch, s.filters,
                               s.outHeight + pads[0] + pads[2],
                               s.outWidth + pads[1] + pads[3]},
                              f32),
        pooled,
        getAsIndexOpFoldResult(b.getContext(),
                               ArrayRef<int64_t>{0, 0, pads[0], pads[1]}),
        getAsIndexOpFoldResult(b.getContext(),
                               ArrayRef<int64_t>{0, 0, pads[2], pads[3]}),
        lowest);
  Value init = linalg::FillOp::create(
                   b, loc, lowest,
                   tensor::EmptyOp::create(b, loc, pooledType.getShape(), f32)
                       .getResult())
                   .getResult(0);
  Value window =
      tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{ph, pw}, f32);
  auto pool = linalg::PoolingNchwMaxOp::create(
      b, loc, TypeRange{pooledType}, ValueRange{pooled, window},
      ValueRange{init}, b.getI64VectorAttr({sh, sw}),
      b.getI64VectorAttr({1, 1}));
  op.getResult().replaceAllUsesWith(pool.getResult(0));
  op.erase();
  return conv;
}

Value mlir::pconv::loadIndex(OpBuilder &b, Location loc, Value table,
                             Value index) {
  Value value = memref::LoadOp::create(b, loc, table, index);
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), value);
}

Value mlir::pconv::activationMax(OpBuilder &b, Location loc, Value x,
                                 Value bound) {
  Value below =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, x, bound);
  return arith::SelectOp::create(b, loc, below, bound, x);
}

Value mlir::pconv::activationMin(OpBuilder &b, Location loc, Value x,
                                 Value bound) {
  Value above =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x, bound);
  return arith::SelectOp::create(b, loc, above, bound, x);
}

int64_t mlir::pconv::paddedWidth(int64_t width, int64_t left,
                                 int64_t minWidth, int64_t lanes) {
  return llvm::alignTo(std::max(minWidth, left + int64_t(llvm::alignTo(
                                                      width, lanes))),
                       lanes);
}

Value mlir::pconv::createFlatPaddedCopy(OpBuilder &b, Location loc,
                                        Value source, int64_t stride,
                                        int64_t pitch, int64_t length,
                                        int64_t top, int64_t left,
                                        int64_t lanes, int64_t base) {
  auto sourceType = cast<MemRefType>(source.getType());
  int64_t n = sourceType.getDimSize(0), c = sourceType.getDimSize(1);
  int64_t h = sourceType.getDimSize(2), w = sourceType.getDimSize(3);
  Type f32 = sourceType.getElementType();
  length = llvm::alignTo(length + base, lanes);
  auto cst = [&](OpBuilder &b, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  int64_t planes = stride * stride;
  Value flat = memref::AllocOp::create(
      b, loc, MemRefType::get({n, c, 1, planes, length}, f32),
      b.getI64IntegerAttr(64));
  Value c0 = cst(b, 0), c1 = cst(b, 1);
  Value zeroVec = vector::BroadcastOp::create(
      b, loc, VectorType::get({lanes}, f32),
      arith::ConstantOp::create(b, loc, b.getFloatAttr(f32, 0.0)));
  scf::ParallelOp::create(
      b, loc, ValueRange{c0, c0}, ValueRange{cst(b, n), cst(b, c)},
      ValueRange{c1, c1}, [&](OpBuilder &b, Location loc, ValueRange nc) {
        scf::buildLoopNest(
            b, loc, ValueRange{c0, c0}, ValueRange{cst(b, planes), cst(b, length)},
            ValueRange{c1, cst(b, lanes)},
            [&](OpBuilder &b, Location loc, ValueRange pi) {
              vector::StoreOp::create(b, loc, zeroVec, flat,
                                      ValueRange{nc[0], nc[1], c0, pi[0], pi[1]});
            });
        if (stride == 1) {
          // Row by row, `lanes` columns at a time (the last masked).
          scf::buildLoopNest(
              b, loc, ValueRange{c0, c0}, ValueRange{cst(b, h), cst(b, w)},
              ValueRange{c1, cst(b, lanes)},
              [&](OpBuilder &b, Location loc, ValueRange yx) {
                Value mask = vector::CreateMaskOp::create(
                    b, loc, VectorType::get({lanes}, b.getI1Type()),
                    ValueRange{arith::SubIOp::create(b, loc, cst(b, w), yx[1])});
                Value v = vector::MaskedLoadOp::create(
                    b, loc, zeroVec.getType(), source,
                    ValueRange{nc[0], nc[1], yx[0], yx[1]}, mask, zeroVec);
                Value row = arith::AddIOp::create(b, loc, yx[0], cst(b, top));
                Value at = arith::AddIOp::create(
                    b, loc, arith::MulIOp::create(b, loc, row, cst(b, pitch)),
                    arith::AddIOp::create(b, loc, yx[1], cst(b, left + base)));
                vector::MaskedStoreOp::create(
                    b, loc, flat, ValueRange{nc[0], nc[1], c0, c0, at}, mask, v);
              });
          return;
        }
        // Padded (y, x) lands in plane (y % stride, x % stride) at
        // (y / stride) * pitch + x / stride.
        Value cs = cst(b, stride);
        scf::buildLoopNest(
            b, loc, ValueRange{c0, c0}, ValueRange{cst(b, h), cst(b, w)},
            ValueRange{c1, c1},
            [&](OpBuilder &b, Location loc, ValueRange yx) {
              Value v = memref::LoadOp::create(
                  b, loc, source, ValueRange{nc[0], nc[1], yx[0], yx[1]});
              Value row = arith::AddIOp::create(b, loc, yx[0], cst(b, top));
              Value col = arith::AddIOp::create(b, loc, yx[1], cst(b, left));
              Value plane = arith::AddIOp::create(
                  b, loc,
                  arith::MulIOp::create(
                      b, loc, arith::RemUIOp::create(b, loc, row, cs), cs),
                  arith::RemUIOp::create(b, loc, col, cs));
              Value at = arith::AddIOp::create(
                  b, loc,
                  arith::MulIOp::create(
                      b, loc, arith::DivUIOp::create(b, loc, row, cs),
                      cst(b, pitch)),
                  arith::AddIOp::create(b, loc,
                                        arith::DivUIOp::create(b, loc, col, cs),
                                        cst(b, base)));
              memref::StoreOp::create(b, loc, v, flat,
                                      ValueRange{nc[0], nc[1], c0, plane, at});
            });
      });
  return flat;
}

/// The i32 vector [0, stride, 2 * stride, ...] of `lanes` lanes: a strided
/// gather's offsets from its first element.
static Value laneOffsetsConstant(OpBuilder &b, Location loc, int64_t lanes,
                                 int64_t stride) {
  SmallVector<int32_t> steps;
  for (int64_t l = 0; l < lanes; ++l)
    steps.push_back(int32_t(l * stride));
  return arith::ConstantOp::create(
      b, loc,
      DenseIntElementsAttr::get(VectorType::get({lanes}, b.getI32Type()),
                                ArrayRef<int32_t>(steps)));
}

Value mlir::pconv::createSubsampledCopy(OpBuilder &b, Location loc,
                                        Value source, int64_t strideH,
                                        int64_t strideW, int64_t outHeight,
                                        int64_t outWidth, int64_t lanes) {
  auto sourceType = cast<MemRefType>(source.getType());
  int64_t n = sourceType.getDimSize(0), c = sourceType.getDimSize(1);
  Type f32 = sourceType.getElementType();
  auto vecType = VectorType::get({lanes}, f32);
  auto i32 = b.getI32Type();
  auto idxType = VectorType::get({lanes}, i32);
  auto maskType = VectorType::get({lanes}, b.getI1Type());
  auto cst = [&](OpBuilder &b, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  Value flat = memref::AllocOp::create(
      b, loc, MemRefType::get({n, c, 1, 1, outHeight * outWidth}, f32),
      b.getI64IntegerAttr(64));
  // Stride 2 deinterleaves two contiguous loads; other strides gather.
  bool gather = strideW != 2;
  Value laneOffsets =
      gather ? laneOffsetsConstant(b, loc, lanes, strideW) : Value();
  Value zero = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(vecType, b.getFloatAttr(f32, 0)));
  Value c0 = cst(b, 0), c1 = cst(b, 1);
  scf::ParallelOp::create(
      b, loc, ValueRange{c0, c0}, ValueRange{cst(b, n), cst(b, c)},
      ValueRange{c1, c1}, [&](OpBuilder &b, Location loc, ValueRange ivs) {
        scf::buildLoopNest(
            b, loc, ValueRange{c0, c0},
            ValueRange{cst(b, outHeight), cst(b, outWidth)},
            ValueRange{c1, cst(b, lanes)},
            [&](OpBuilder &b, Location loc, ValueRange yx) {
              // Lanes at output columns x0 + l < OW read source column
              // (x0 + l) * sw of source row y * sh.
              Value left = arith::SubIOp::create(b, loc, cst(b, outWidth),
                                                 yx[1]);
              Value mask = vector::CreateMaskOp::create(b, loc, maskType,
                                                        ValueRange{left});
              Value x = arith::MulIOp::create(b, loc, yx[1], cst(b, strideW));
              Value row =
                  arith::MulIOp::create(b, loc, yx[0], cst(b, strideH));
              Value v;
              if (!gather) {
                // Two contiguous loads and a shuffle, not a strided gather:
                // ResNet-50's 256 -> 512 downsample input at 56x56 took 467
                // us with gathers, 77 us so (1 thread, docs/rationale.md).
                v = loadDeinterleaved(b, loc, source, ivs[0], ivs[1], row, x,
                                      zero, false)[0];
              } else {
                Value idx = arith::AddIOp::create(
                    b, loc,
                    vector::BroadcastOp::create(
                        b, loc, idxType,
                        arith::IndexCastOp::create(b, loc, i32, x)),
                    laneOffsets);
                v = vector::GatherOp::create(
                    b, loc, vecType, source,
                    ValueRange{ivs[0], ivs[1], row, c0}, idx, mask, zero);
              }
              Value at = arith::AddIOp::create(
                  b, loc, arith::MulIOp::create(b, loc, yx[0], cst(b, outWidth)),
                  yx[1]);
              vector::MaskedStoreOp::create(
                  b, loc, flat, ValueRange{ivs[0], ivs[1], c0, c0, at}, mask,
                  v);
            });
      });
  return flat;
}

void mlir::pconv::fillColumns(OpBuilder &b, Location loc, Value padded,
                              Value fill, Value batch, Value channel,
                              Value row, OpFoldResult from, int64_t length) {
  int64_t lanes = cast<VectorType>(fill.getType()).getNumElements();
  std::optional<int64_t> start = getConstantIntValue(from);
  for (int64_t k = 0; k < length; k += lanes) {
    Value mask = vector::CreateMaskOp::create(
        b, loc, VectorType::get({lanes}, b.getI1Type()),
        ValueRange{cIdx(b, loc, std::min(lanes, length - k))});
    Value col = start ? cIdx(b, loc, *start + k)
                      : arith::AddIOp::create(b, loc, cast<Value>(from),
                                              cIdx(b, loc, k))
                            .getResult();
    vector::MaskedStoreOp::create(b, loc, padded,
                                  ValueRange{batch, channel, row, col}, mask,
                                  fill);
  }
}

void mlir::pconv::buildIf(OpBuilder &b, Location loc, Value cond,
                          function_ref<void(OpBuilder &)> body) {
  if (std::optional<int64_t> c = getConstantIntValue(cond)) {
    if (*c)
      body(b);
    return;
  }
  auto ifOp = scf::IfOp::create(b, loc, TypeRange(), cond, false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  body(b);
}

void mlir::pconv::fillRowHalo(OpBuilder &b, Location loc, Value padded,
                              Value fill, Value batch, Value channel,
                              Value row, const HaloGeometry &g,
                              Value leftSide, Value rightSide) {
  int64_t paddedWidth = cast<MemRefType>(padded.getType()).getDimSize(3);
  if (g.left > 0)
    buildIf(b, loc, leftSide, [&](OpBuilder &b) {
      fillColumns(b, loc, padded, fill, batch, channel, row, b.getIndexAttr(0),
                  g.left);
    });
  if (g.left + g.width < paddedWidth)
    buildIf(b, loc, rightSide, [&](OpBuilder &b) {
      fillColumns(b, loc, padded, fill, batch, channel, row,
                  b.getIndexAttr(g.left + g.width),
                  paddedWidth - g.left - g.width);
    });
}

void mlir::pconv::fillEdgeRows(OpBuilder &b, Location loc, Value padded,
                               Value fill, Value batch, Value channel,
                               const HaloGeometry &g, bool above) {
  auto type = cast<MemRefType>(padded.getType());
  int64_t from = above ? 0 : g.top + g.height;
  int64_t to = above ? g.top : type.getDimSize(2);
  if (from >= to)
    return;
  scf::ForOp::create(
      b, loc, cIdx(b, loc, from), cIdx(b, loc, to), cIdx(b, loc, 1),
      ValueRange{}, [&](OpBuilder &b, Location loc, Value row, ValueRange) {
        fillColumns(b, loc, padded, fill, batch, channel, row,
                    b.getIndexAttr(0), type.getDimSize(3));
        scf::YieldOp::create(b, loc);
      });
}

void mlir::pconv::fillPlaneHalo(OpBuilder &b, Location loc, Value padded,
                                Value fill, Value batch, Value channel,
                                const HaloGeometry &g) {
  fillEdgeRows(b, loc, padded, fill, batch, channel, g, /*above=*/true);
  Value yes = arith::ConstantIntOp::create(b, loc, 1, 1);
  scf::ForOp::create(
      b, loc, cIdx(b, loc, g.top), cIdx(b, loc, g.top + g.height),
      cIdx(b, loc, 1), ValueRange{},
      [&](OpBuilder &b, Location loc, Value row, ValueRange) {
        fillRowHalo(b, loc, padded, fill, batch, channel, row, g, yes, yes);
        scf::YieldOp::create(b, loc);
      });
  fillEdgeRows(b, loc, padded, fill, batch, channel, g, /*above=*/false);
}

void mlir::pconv::fillHalo(OpBuilder &b, Location loc, Value padded,
                           Value value, int64_t h, int64_t w, int64_t top,
                           int64_t left, int64_t lanes) {
  auto type = cast<MemRefType>(padded.getType());
  int64_t n = type.getDimSize(0), c = type.getDimSize(1);
  int64_t paddedHeight = type.getDimSize(2), paddedWidth = type.getDimSize(3);
  Value fillVector = vector::BroadcastOp::create(
      b, loc, VectorType::get({lanes}, value.getType()), value);
  Value c0 = cIdx(b, loc, 0), c1 = cIdx(b, loc, 1);
  // Row by row: whole rows above and below the interior, the columns left
  // and right of it on the rows between. (Seeing each plane flat and
  // storing a row's right columns and the next row's left ones as one run
  // halves the stores, but ran ~1.7x slower: ResNet-18's stem halo 99-166
  // us against 45-80.)
  scf::ParallelOp::create(
      b, loc, ValueRange{c0, c0}, ValueRange{cIdx(b, loc, n), cIdx(b, loc, c)},
      ValueRange{c1, c1}, [&](OpBuilder &b, Location loc, ValueRange ivs) {
        scf::ForOp::create(
            b, loc, c0, cIdx(b, loc, paddedHeight), c1, ValueRange{},
            [&](OpBuilder &b, Location loc, Value row, ValueRange) {
              Value inside = arith::AndIOp::create(
                  b, loc,
                  arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge,
                                        row, cIdx(b, loc, top)),
                  arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                        row, cIdx(b, loc, top + h)));
              auto columns = [&](OpBuilder &b, int64_t from, int64_t to) {
                fillColumns(b, loc, padded, fillVector, ivs[0], ivs[1], row,
                            b.getIndexAttr(from), to - from);
              };
              scf::IfOp::create(
                  b, loc, inside,
                  [&](OpBuilder &b, Location loc) {
                    columns(b, 0, left);
                    columns(b, left + w, paddedWidth);
                    scf::YieldOp::create(b, loc);
                  },
                  [&](OpBuilder &b, Location loc) {
                    columns(b, 0, paddedWidth);
                    scf::YieldOp::create(b, loc);
                  });
              scf::YieldOp::create(b, loc);
            });
      });
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

Value mlir::pconv::createColumnMask(OpBuilder &b, Location loc, int64_t lanes,
                                    Value x, int64_t width, Value inside) {
  auto idx = [&](int64_t v) { return cIdx(b, loc, v); };
  auto maskType = VectorType::get({lanes}, b.getI1Type());
  Value all = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(maskType, true));
  // Lanes [lo, hi) are inside the row.
  Value lo = arith::MinSIOp::create(
      b, loc,
      arith::MaxSIOp::create(b, loc, arith::SubIOp::create(b, loc, idx(0), x),
                             idx(0)),
      idx(lanes));
  Value hi = arith::MaxSIOp::create(
      b, loc,
      arith::MinSIOp::create(
          b, loc, arith::SubIOp::create(b, loc, idx(width), x), idx(lanes)),
      idx(0));
  if (inside)
    hi = arith::SelectOp::create(b, loc, inside, hi, idx(0));
  return arith::AndIOp::create(
      b, loc, vector::CreateMaskOp::create(b, loc, maskType, hi),
      arith::XOrIOp::create(
          b, loc, vector::CreateMaskOp::create(b, loc, maskType, lo), all));
}

SmallVector<Value, 2> mlir::pconv::loadDeinterleaved(OpBuilder &b,
                                                     Location loc, Value source,
                                                     Value n, Value c, Value row,
                                                     Value x, Value zeroVec,
                                                     bool odd, Value inside) {
  auto vecType = cast<VectorType>(zeroVec.getType());
  int64_t lanes = vecType.getDimSize(0);
  int64_t width = cast<MemRefType>(source.getType()).getDimSize(3);
  auto load = [&](Value x) -> Value {
    return vector::MaskedLoadOp::create(
        b, loc, vecType, source, ValueRange{n, c, row, x},
        createColumnMask(b, loc, lanes, x, width, inside), zeroVec);
  };
  Value first = load(x);
  Value second = load(arith::AddIOp::create(b, loc, x, cIdx(b, loc, lanes)));
  SmallVector<Value, 2> phases;
  for (int64_t p = 0; p < (odd ? 2 : 1); ++p) {
    SmallVector<int64_t> picks;
    for (int64_t l = 0; l < lanes; ++l)
      picks.push_back(2 * l + p);
    phases.push_back(
        vector::ShuffleOp::create(b, loc, first, second, picks));
  }
  return phases;
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
  // Lane l of the vector at phase p, position col reads source column
  // (col + l) * stride + p - left: a strided gather, masked to the row
  // (stride 2: deinterleaved contiguous loads instead, below).
  auto i32 = b.getI32Type();
  auto idxType = VectorType::get({lanes}, i32);
  Value laneOffsets, zeroIdx, widthIdx;
  if (stride != 2) {
    laneOffsets = laneOffsetsConstant(b, loc, lanes, stride);
    zeroIdx = arith::ConstantOp::create(
        b, loc, DenseIntElementsAttr::get(idxType, int32_t(0)));
    widthIdx = arith::ConstantOp::create(
        b, loc, DenseIntElementsAttr::get(idxType, int32_t(w)));
  }
  Value c0 = cst(b, 0), c1 = cst(b, 1);
  scf::ParallelOp::create(
      b, loc, ValueRange{c0, c0}, ValueRange{cst(b, n), cst(b, c)},
      ValueRange{c1, c1}, [&](OpBuilder &b, Location loc, ValueRange ivs) {
        Value i = ivs[0], j = ivs[1];
        scf::ForOp::create(
            b, loc, c0, cst(b, paddedHeight), c1, ValueRange{},
            [&](OpBuilder &b, Location loc, Value row, ValueRange) {
              Value srcRow = arith::SubIOp::create(b, loc, row, cst(b, top));
              Value inside = arith::AndIOp::create(
                  b, loc,
                  arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge,
                                        srcRow, c0),
                  arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                        srcRow, cst(b, h)));
              auto eachVector = [&](OpBuilder &b,
                                    function_ref<Value(OpBuilder &, int64_t,
                                                       Value)>
                                        value) {
                for (int64_t p = 0; p < stride; ++p)
                  scf::ForOp::create(
                      b, loc, c0, cst(b, phaseWidth), cst(b, lanes),
                      ValueRange{},
                      [&](OpBuilder &b, Location loc, Value col, ValueRange) {
                        vector::StoreOp::create(
                            b, loc, value(b, p, col), padded,
                            ValueRange{i, j, row, cst(b, p), col});
                        scf::YieldOp::create(b, loc);
                      });
              };
              // Stride 2: the 2 * lanes source columns of both phases'
              // vectors at `col` are two contiguous masked loads,
              // deinterleaved by two shuffles (a strided gather per vector
              // was 0.13 ms of MobileNet-V2's 3->32 stem on AMD Zen 5).
              auto deinterleaved = [&](OpBuilder &b, Location loc) {
                scf::ForOp::create(
                    b, loc, c0, cst(b, phaseWidth), cst(b, lanes), ValueRange{},
                    [&](OpBuilder &b, Location loc, Value col, ValueRange) {
                      // Source column x on (x may be negative: masked-off
                      // lanes are never read).
                      Value x = arith::SubIOp::create(
                          b, loc, arith::MulIOp::create(b, loc, col, cst(b, 2)),
                          cst(b, left));
                      SmallVector<Value, 2> phases = loadDeinterleaved(
                          b, loc, source, i, j, srcRow, x, zero, true);
                      for (int64_t p = 0; p < 2; ++p)
                        vector::StoreOp::create(
                            b, loc, phases[p], padded,
                            ValueRange{i, j, row, cst(b, p), col});
                      scf::YieldOp::create(b, loc);
                    });
              };
              scf::IfOp::create(
                  b, loc, inside,
                  [&](OpBuilder &b, Location loc) {
                    if (stride == 2) {
                      deinterleaved(b, loc);
                      scf::YieldOp::create(b, loc);
                      return;
                    }
                    eachVector(b, [&](OpBuilder &b, int64_t p, Value col) {
                      Value start = arith::AddIOp::create(
                          b, loc,
                          arith::MulIOp::create(b, loc, col, cst(b, stride)),
                          cst(b, p - left));
                      Value startVec = vector::BroadcastOp::create(
                          b, loc, idxType,
                          arith::IndexCastOp::create(b, loc, i32, start));
                      Value idx =
                          arith::AddIOp::create(b, loc, startVec, laneOffsets);
                      Value mask = arith::AndIOp::create(
                          b, loc,
                          arith::CmpIOp::create(
                              b, loc, arith::CmpIPredicate::sge, idx, zeroIdx),
                          arith::CmpIOp::create(
                              b, loc, arith::CmpIPredicate::slt, idx, widthIdx));
                      return vector::GatherOp::create(
                                 b, loc, vecType, source,
                                 ValueRange{i, j, srcRow, c0}, idx, mask, zero)
                          .getResult();
                    });
                    scf::YieldOp::create(b, loc);
                  },
                  [&](OpBuilder &b, Location loc) {
                    eachVector(b, [&](OpBuilder &, int64_t, Value) {
                      return zero;
                    });
                    scf::YieldOp::create(b, loc);
                  });
              scf::YieldOp::create(b, loc);
            });
      });
  return padded;
}

Value mlir::pconv::createShiftedCopies(OpBuilder &b, Location loc,
                                       Value padded, int64_t shifts,
                                       int64_t step, int64_t width,
                                       int64_t lanes) {
  auto paddedType = cast<MemRefType>(padded.getType());
  int64_t n = paddedType.getDimSize(0), c = paddedType.getDimSize(1);
  int64_t h = paddedType.getDimSize(2);
  Type f32 = paddedType.getElementType();
  auto vecType = VectorType::get({lanes}, f32);
  auto cst = [&](OpBuilder &b, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  Value copies = memref::AllocOp::create(
      b, loc, MemRefType::get({n, c, h, shifts, width}, f32),
      b.getI64IntegerAttr(64));
  Value c0 = cst(b, 0), c1 = cst(b, 1);
  scf::ParallelOp::create(
      b, loc, ValueRange{c0, c0}, ValueRange{cst(b, n), cst(b, c)},
      ValueRange{c1, c1}, [&](OpBuilder &b, Location loc, ValueRange ivs) {
        Value i = ivs[0], j = ivs[1];
        scf::buildLoopNest(
            b, loc, ValueRange{c0, c0}, ValueRange{cst(b, h), cst(b, width)},
            ValueRange{c1, cst(b, lanes)},
            [&](OpBuilder &b, Location loc, ValueRange p) {
              for (int64_t s = 0; s < shifts; ++s) {
                Value col = arith::AddIOp::create(b, loc, p[1],
                                                  cst(b, s * step));
                Value v = vector::LoadOp::create(b, loc, vecType, padded,
                                                 ValueRange{i, j, p[0], col});
                vector::StoreOp::create(b, loc, v, copies,
                                        ValueRange{i, j, p[0], cst(b, s), p[1]});
              }
            });
      });
  return copies;
}
