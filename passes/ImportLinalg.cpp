//===- ImportLinalg.cpp - linalg conv -> pconv.conv2d ---------------------===//
//
// Proves a constant convolution filter pattern-sparse and rewrites the
// convolution (with the zero padding and bias broadcast around it) into
// pconv.conv2d with packed non-zero weights.
//
//===----------------------------------------------------------------------===//

#include "dialect/PConvOps.h"
#include "passes/LoweringUtils.h"
#include "passes/Passes.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/Support/Debug.h"

#include <cstring>

#define DEBUG_TYPE "pconv-import-linalg"

namespace mlir {
namespace pconv {
#define GEN_PASS_DEF_IMPORTLINALGPASS
#include "passes/Passes.h.inc"
} // namespace pconv
} // namespace mlir

using namespace mlir;
using namespace mlir::pconv;

namespace {


/// The library and per-kernel pattern ids proving a filter pattern-sparse.
struct PatternAssignment {
  SmallVector<int64_t> positions; // K x taps
  int64_t taps = 0;
  SmallVector<int8_t> ids; // F x C, -1 = pruned
};

static int popcount(uint64_t bits) { return llvm::popcount(bits); }

static SmallVector<int64_t> bitsToPositions(uint64_t bits) {
  SmallVector<int64_t> positions;
  for (int64_t p = 0; p < 64; ++p)
    if (bits & (uint64_t(1) << p))
      positions.push_back(p);
  return positions;
}

/// Assigns each kernel a pattern of `library` (given) or of a library inferred
/// from the supports of the kernels.
static FailureOr<PatternAssignment>
assignPatterns(ArrayRef<float> weights, int64_t numFilters,
               int64_t numChannels, int64_t area,
               PatternLibraryAttr library, unsigned maxPatterns,
               std::string &why) {
  if (area > 64) {
    why = "kernel area " + std::to_string(area) + " exceeds 64 taps";
    return failure();
  }
  int64_t numKernels = numFilters * numChannels;
  SmallVector<uint64_t> supports(numKernels, 0);
  int maxTaps = 0;
  for (int64_t k = 0; k < numKernels; ++k) {
    for (int64_t p = 0; p < area; ++p)
      if (weights[k * area + p] != 0.0f)
        supports[k] |= uint64_t(1) << p;
    maxTaps = std::max(maxTaps, popcount(supports[k]));
  }

  PatternAssignment result;
  SmallVector<uint64_t> patterns;
  if (library) {
    result.taps = library.getTaps();
    for (int64_t id = 0, e = library.getNumPatterns(); id < e; ++id) {
      uint64_t bits = 0;
      for (int64_t pos : library.getPattern(id))
        bits |= uint64_t(1) << pos;
      patterns.push_back(bits);
    }
  } else if (maxTaps == 0) {
    // Every kernel is pruned: any library describes it; use the centre tap.
    result.taps = 1;
    patterns.push_back(uint64_t(1) << (area / 2));
  } else {
    if (maxTaps >= area) {
      why = "some kernel keeps all " + std::to_string(area) + " taps (dense)";
      return failure();
    }
    result.taps = maxTaps;
    // The distinct full supports, most frequent first (ties: smaller mask).
    llvm::MapVector<uint64_t, int64_t> counts;
    for (uint64_t bits : supports)
      if (popcount(bits) == maxTaps)
        ++counts[bits];
    SmallVector<std::pair<uint64_t, int64_t>> sorted(counts.begin(),
                                                     counts.end());
    llvm::stable_sort(sorted, [](auto &a, auto &b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    if (sorted.size() > maxPatterns) {
      why = std::to_string(sorted.size()) + " distinct " +
            std::to_string(maxTaps) + "-tap supports exceed max-patterns=" +
            std::to_string(maxPatterns);
      return failure();
    }
    for (auto &entry : sorted)
      patterns.push_back(entry.first);
  }

  for (uint64_t bits : patterns)
    llvm::append_range(result.positions, bitsToPositions(bits));
  result.ids.assign(numKernels, -1);
  for (int64_t k = 0; k < numKernels; ++k) {
    uint64_t bits = supports[k];
    if (!bits)
      continue;
    // Prefer the exact pattern, else the first that contains the support
    // (a kept weight can be exactly zero by chance).
    int8_t chosen = -1;
    for (auto [id, pattern] : llvm::enumerate(patterns))
      if (pattern == bits) {
        chosen = id;
        break;
      }
    for (auto [id, pattern] : llvm::enumerate(patterns))
      if (chosen < 0 && (bits & ~pattern) == 0)
        chosen = id;
    if (chosen < 0) {
      why = "kernel (" + std::to_string(k / numChannels) + ", " +
            std::to_string(k % numChannels) +
            ") has non-zeros outside every library pattern";
      return failure();
    }
    result.ids[k] = chosen;
  }
  return result;
}

/// The degenerate assignment of a dense filter: one pattern keeping every
/// tap; with `skipZeroKernels` all-zero kernels are pruned, else every
/// kernel is kept (computed dense, zeros included).
static PatternAssignment fullPatternAssignment(ArrayRef<float> weights,
                                               int64_t numKernels,
                                               int64_t area,
                                               bool skipZeroKernels) {
  PatternAssignment result;
  result.taps = area;
  for (int64_t p = 0; p < area; ++p)
    result.positions.push_back(p);
  result.ids.assign(numKernels, -1);
  for (int64_t k = 0; k < numKernels; ++k)
    if (!skipZeroKernels ||
        llvm::any_of(weights.slice(k * area, area),
                     [](float v) { return v != 0.0f; }))
      result.ids[k] = 0;
  return result;
}

/// Zero padding of H/W absorbed from a tensor.pad, as [top, left, bottom,
/// right]; the unpadded input is returned in `input`.
static void absorbPadding(Value &input, SmallVector<int64_t, 4> &padding) {
  padding.assign(4, 0);
  auto pad = input.getDefiningOp<tensor::PadOp>();
  if (!pad || !pad.getSourceType().hasStaticShape())
    return;
  Value value = pad.getConstantPaddingValue();
  if (!value || !matchPattern(value, m_AnyZeroFloat()))
    return;
  SmallVector<int64_t> low(pad.getStaticLow()), high(pad.getStaticHigh());
  if (ShapedType::isDynamicShape(low) || ShapedType::isDynamicShape(high) ||
      low[0] || low[1] || high[0] || high[1])
    return;
  padding = {low[2], low[3], high[2], high[3]};
  input = pad.getSource();
}

/// The bias implied by the convolution's init: a zero fill (no bias), a fill
/// with a constant (splat bias) or a broadcast of a per-filter vector.
static FailureOr<Value> absorbInit(OpBuilder &b, Value init,
                                   int64_t numFilters, std::string &why) {
  if (auto fill = init.getDefiningOp<linalg::FillOp>()) {
    Value value = fill.getInputs()[0];
    if (matchPattern(value, m_AnyZeroFloat()))
      return Value();
    FloatAttr scalar;
    if (matchPattern(value, m_Constant(&scalar)) && scalar.getType().isF32()) {
      auto type = RankedTensorType::get({numFilters}, b.getF32Type());
      return Value(arith::ConstantOp::create(
          b, fill.getLoc(), DenseElementsAttr::get(type, scalar.getValue())));
    }
  }
  if (auto broadcast = init.getDefiningOp<linalg::BroadcastOp>()) {
    auto type = dyn_cast<RankedTensorType>(broadcast.getInput().getType());
    if (type && type.getRank() == 1 && type.getDimSize(0) == numFilters &&
        type.getElementType().isF32() &&
        broadcast.getDimensions() == ArrayRef<int64_t>{0, 2, 3})
      return broadcast.getInput();
  }
  why = "the convolution's init is neither a constant fill nor a per-filter "
        "bias broadcast";
  return failure();
}

struct ImportLinalgPass
    : public pconv::impl::ImportLinalgPassBase<ImportLinalgPass> {
  using ImportLinalgPassBase::ImportLinalgPassBase;

  LogicalResult initialize(MLIRContext *context) override {
    if (library.empty())
      return success();
    Attribute attr = parseAttribute(library, context);
    libraryAttr = dyn_cast_or_null<PatternLibraryAttr>(attr);
    if (!libraryAttr)
      return emitError(UnknownLoc::get(context))
             << "pconv-import-linalg: 'library' is not a valid "
                "#pconv.patterns<...> attribute: "
             << library;
    return success();
  }

  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> convs;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (isa<linalg::Conv2DNchwFchwOp>(op.getOperation()) ||
          (depthwise && isa<linalg::DepthwiseConv2DNchwChwOp>(op.getOperation())))
        convs.push_back(op);
    });
    for (linalg::LinalgOp conv : convs) {
      std::string why;
      if (succeeded(importConv(conv, why)))
        continue;
      ++numDense;
      LLVM_DEBUG(llvm::dbgs() << "[" DEBUG_TYPE "] dense path: " << why
                              << " at " << conv.getLoc() << "\n");
      if (remarks)
        conv.emitRemark("convolution left on the dense path: ") << why;
    }
  }

  /// Imports a `linalg.conv_2d_nchw_fchw`, or a
  /// `linalg.depthwise_conv_2d_nchw_chw` as the conv whose filter f has one
  /// kernel, on channel f (a diagonal kernel table): the pattern machinery
  /// then applies to depthwise kernels unchanged.
  LogicalResult importConv(linalg::LinalgOp conv, std::string &why) {
    bool isDepthwise =
        isa<linalg::DepthwiseConv2DNchwChwOp>(conv.getOperation());
    if (!conv.hasPureTensorSemantics()) {
      why = "convolution is not on tensors";
      return failure();
    }
    auto resultType = cast<RankedTensorType>(conv->getResult(0).getType());
    Value input = conv.getDpsInputs()[0], filter = conv.getDpsInputs()[1];
    auto filterType = cast<RankedTensorType>(filter.getType());
    if (!resultType.hasStaticShape() || !filterType.hasStaticShape() ||
        !cast<RankedTensorType>(input.getType()).hasStaticShape() ||
        !resultType.getElementType().isF32()) {
      why = "convolution is not static-shaped f32";
      return failure();
    }
    int64_t rank = filterType.getRank();
    int64_t numFilters = filterType.getDimSize(0);
    int64_t numChannels = isDepthwise ? numFilters : filterType.getDimSize(1);
    int64_t kh = filterType.getDimSize(rank - 2);
    int64_t kw = filterType.getDimSize(rank - 1);
    if (isDepthwise && numChannels > kMaxDepthwiseChannels) {
      why = "depthwise convolution with more than " +
            std::to_string(kMaxDepthwiseChannels) +
            " channels (its diagonal kernel table would be too large)";
      return failure();
    }
    // torch-mlir reshapes a depthwise C x 1 x kh x kw filter to C x kh x kw.
    if (auto collapse = filter.getDefiningOp<tensor::CollapseShapeOp>())
      filter = collapse.getSrc();
    FailureOr<std::vector<float>> weights = readConstantF32(filter, why);
    if (failed(weights))
      return failure();
    // Kernels as the assignment sees them: F x C, or F x 1 when depthwise.
    int64_t kernelsPerFilter = isDepthwise ? 1 : numChannels;

    FailureOr<PatternAssignment> assignment = failure();
    if (!patterns)
      why = "pattern import is disabled";
    else if (libraryAttr &&
             libraryAttr.getKernelShape() != ArrayRef<int64_t>{kh, kw})
      why = "the given library's kernel shape does not match the filter";
    else
      assignment = assignPatterns(*weights, numFilters, kernelsPerFilter,
                                  kh * kw, libraryAttr, maxPatterns, why);
    bool denseImport = false;
    if (failed(assignment) && dense && kh * kw <= 64) {
      // With pattern import off (the dense path asked for, e.g. to compare
      // against dense engines) no sparsity is exploited: pruned kernels are
      // computed too. Otherwise all-zero kernels are skipped.
      assignment = fullPatternAssignment(
          *weights, numFilters * kernelsPerFilter, kh * kw,
          /*skipZeroKernels=*/patterns);
      denseImport = true;
    }
    if (failed(assignment))
      return failure();

    OpBuilder b(conv);
    FailureOr<Value> bias =
        absorbInit(b, conv.getDpsInits()[0], numFilters, why);
    if (failed(bias))
      return failure();
    SmallVector<int64_t, 4> padding;
    absorbPadding(input, padding);

    // Pack the kept weights: filter by filter, kernel by kernel, taps in
    // pattern order.
    std::vector<float> packed;
    int64_t taps = assignment->taps, area = kh * kw;
    for (int64_t k = 0, e = numFilters * kernelsPerFilter; k < e; ++k) {
      int8_t id = assignment->ids[k];
      if (id < 0)
        continue;
      for (int64_t t = 0; t < taps; ++t)
        packed.push_back(
            (*weights)[k * area + assignment->positions[id * taps + t]]);
    }
    SmallVector<int8_t> ids = assignment->ids;
    if (isDepthwise) { // filter f's kernel sits in column f
      ids.assign(numFilters * numChannels, -1);
      for (int64_t f = 0; f < numFilters; ++f)
        ids[f * numChannels + f] = assignment->ids[f];
    }

    MLIRContext *ctx = &getContext();
    Location loc = conv.getLoc();
    auto lib = PatternLibraryAttr::get(ctx, {kh, kw}, taps,
                                       assignment->positions);
    auto table = DenseIntElementsAttr::get(
        RankedTensorType::get({numFilters, numChannels},
                              IntegerType::get(ctx, 8)),
        ArrayRef<int8_t>(ids));
    auto toVector = [&](StringRef name) {
      return llvm::to_vector(
          conv->getAttrOfType<DenseIntElementsAttr>(name).getValues<int64_t>());
    };
    Value packedWeights = createF32Constant(b, loc, packed);
    auto op = Conv2DOp::create(
        b, loc, resultType, input, packedWeights, *bias, /*residual=*/Value(),
        lib, table,
        b.getDenseI64ArrayAttr(toVector("strides")),
        b.getDenseI64ArrayAttr(padding),
        b.getDenseI64ArrayAttr(toVector("dilations")), /*relu=*/UnitAttr(),
        /*relu_max=*/FloatAttr(), /*max_pool=*/DenseI64ArrayAttr(),
        /*pool_strides=*/DenseI64ArrayAttr(),
        /*pool_padding=*/DenseI64ArrayAttr());
    conv->getResult(0).replaceAllUsesWith(op.getResult());
    conv->erase();
    if (denseImport)
      ++numDenseImported;
    else
      ++numConverted;
    if (isDepthwise)
      ++numDepthwise;
    return success();
  }

  /// Depthwise convs get a C x C kernel table; beyond this it is not worth it.
  static constexpr int64_t kMaxDepthwiseChannels = 4096;

  PatternLibraryAttr libraryAttr;
};

} // namespace
