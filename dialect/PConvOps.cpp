//===- PConvOps.cpp - pconv operations ------------------------------------===//

#include "dialect/PConvOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mlir::pconv;

#define GET_OP_CLASSES
#include "dialect/PConvOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Conv2DOp
//===----------------------------------------------------------------------===//

int64_t Conv2DOp::getNumFilters() {
  return getKernelPatterns().getType().getDimSize(0);
}

int64_t Conv2DOp::getNumChannels() {
  return getKernelPatterns().getType().getDimSize(1);
}

int64_t Conv2DOp::getNumKeptKernels() {
  int64_t kept = 0;
  for (int8_t id : getKernelPatterns().getValues<int8_t>())
    kept += id >= 0;
  return kept;
}

FailureOr<SmallVector<int64_t, 4>> Conv2DOp::inferResultShape() {
  auto inputType = getInput().getType();
  ArrayRef<int64_t> kernel = getLibrary().getKernelShape();
  ArrayRef<int64_t> strides = getStrides(), pad = getPadding(),
                    dil = getDilations();
  SmallVector<int64_t, 4> shape = {inputType.getDimSize(0), getNumFilters()};
  for (int d = 0; d < 2; ++d) {
    int64_t padded = inputType.getDimSize(2 + d) + pad[d] + pad[d + 2];
    int64_t extent = dil[d] * (kernel[d] - 1) + 1;
    if (padded < extent)
      return failure();
    shape.push_back((padded - extent) / strides[d] + 1);
  }
  return shape;
}

LogicalResult Conv2DOp::verify() {
  auto inputType = getInput().getType();
  auto weightsType = getWeights().getType();
  auto resultType = getResult().getType();
  if (!inputType.hasStaticShape() || !weightsType.hasStaticShape() ||
      !resultType.hasStaticShape())
    return emitOpError("requires statically shaped input, weights and result");

  if (getStrides().size() != 2 || getDilations().size() != 2)
    return emitOpError("expects 2 strides and 2 dilations, got ")
           << getStrides().size() << " and " << getDilations().size();
  if (getPadding().size() != 4)
    return emitOpError("expects 4 padding values [top, left, bottom, right], "
                       "got ")
           << getPadding().size();
  if (llvm::any_of(getStrides(), [](int64_t s) { return s < 1; }) ||
      llvm::any_of(getDilations(), [](int64_t d) { return d < 1; }))
    return emitOpError("strides and dilations must be positive");
  if (llvm::any_of(getPadding(), [](int64_t p) { return p < 0; }))
    return emitOpError("padding must be non-negative");

  auto tableType = getKernelPatterns().getType();
  if (tableType.getRank() != 2)
    return emitOpError("kernel pattern table must be 2-D (filters x "
                       "channels), got rank ")
           << tableType.getRank();
  if (tableType.getDimSize(1) != inputType.getDimSize(1))
    return emitOpError("kernel pattern table has ")
           << tableType.getDimSize(1) << " channels but the input has "
           << inputType.getDimSize(1);

  PatternLibraryAttr library = getLibrary();
  int64_t numPatterns = library.getNumPatterns();
  int64_t kept = 0, index = 0;
  for (int8_t id : getKernelPatterns().getValues<int8_t>()) {
    if (id < -1 || id >= numPatterns)
      return emitOpError("kernel (")
             << index / tableType.getDimSize(1) << ", "
             << index % tableType.getDimSize(1) << ") has pattern id "
             << int(id) << " outside [-1, " << numPatterns << ")";
    kept += id >= 0;
    ++index;
  }
  int64_t expectedWeights = kept * library.getTaps();
  if (weightsType.getDimSize(0) != expectedWeights)
    return emitOpError("expects ")
           << expectedWeights << " packed weights (" << kept
           << " kept kernels x " << library.getTaps() << " taps), got "
           << weightsType.getDimSize(0);

  if (Value bias = getBias()) {
    int64_t biasSize = cast<RankedTensorType>(bias.getType()).getDimSize(0);
    if (biasSize != getNumFilters())
      return emitOpError("bias has ")
             << biasSize << " values but there are " << getNumFilters()
             << " filters";
  }

  if (Value residual = getResidual(); residual && residual.getType() != resultType)
    return emitOpError("residual type ")
           << residual.getType() << " differs from the result type "
           << resultType;

  if (std::optional<APFloat> max = getReluMax()) {
    if (!getRelu())
      return emitOpError("relu_max requires relu");
    if (!max->isFiniteNonZero() || max->isNegative())
      return emitOpError("relu_max must be a positive finite value");
  }

  FailureOr<SmallVector<int64_t, 4>> shape = inferResultShape();
  if (failed(shape))
    return emitOpError("kernel does not fit in the padded input");
  if ((getPoolStrides() || getPoolPadding()) && !getMaxPool())
    return emitOpError("pool_strides and pool_padding require max_pool");
  if (std::optional<ArrayRef<int64_t>> pool = getMaxPool()) {
    if (pool->size() != 2 || (*pool)[0] < 1 || (*pool)[1] < 1)
      return emitOpError("max_pool expects two positive window sizes [h, w]");
    if (getResidual())
      return emitOpError("max_pool cannot be combined with a residual (it "
                         "is added at the convolution's resolution)");
    int64_t ph = (*pool)[0], pw = (*pool)[1];
    if (std::optional<ArrayRef<int64_t>> st = getPoolStrides();
        st && (st->size() != 2 || (*st)[0] < 1 || (*st)[1] < 1 ||
               (*st)[0] > ph || (*st)[1] > pw))
      return emitOpError("pool_strides expects two positive strides [h, w] "
                         "no larger than the max_pool window");
    if (std::optional<ArrayRef<int64_t>> pad = getPoolPadding();
        pad && (pad->size() != 4 ||
                llvm::any_of(*pad, [](int64_t p) { return p < 0; }) ||
                (*pad)[0] >= ph || (*pad)[2] >= ph || (*pad)[1] >= pw ||
                (*pad)[3] >= pw))
      return emitOpError("pool_padding expects 4 values [top, left, bottom, "
                         "right], each non-negative and less than the "
                         "max_pool window");
    if (hasTiledPool()) {
      if ((*shape)[2] % ph || (*shape)[3] % pw)
        return emitOpError("convolution output ")
               << (*shape)[2] << "x" << (*shape)[3]
               << " is not a multiple of the max_pool window " << ph << "x"
               << pw;
      (*shape)[2] /= ph;
      (*shape)[3] /= pw;
    } else {
      auto [sh, sw] = getPoolStride();
      SmallVector<int64_t, 4> pads = getPoolPads();
      int64_t h = (*shape)[2] + pads[0] + pads[2];
      int64_t w = (*shape)[3] + pads[1] + pads[3];
      if (h < ph || w < pw)
        return emitOpError("max_pool window ")
               << ph << "x" << pw << " does not fit in the padded "
               << h << "x" << w << " convolution output";
      (*shape)[2] = (h - ph) / sh + 1;
      (*shape)[3] = (w - pw) / sw + 1;
    }
  }
  if (resultType.getShape() != ArrayRef<int64_t>(*shape))
    return emitOpError("result shape ")
           << resultType << " does not match the expected shape "
           << RankedTensorType::get(*shape, resultType.getElementType());
  return success();
}
