//===- FuseActivation.cpp - ReLU into the pconv.conv2d epilogue -----------===//

#include "dialect/PConvOps.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

namespace mlir {
namespace pconv {
#define GEN_PASS_DEF_FUSEACTIVATIONPASS
#include "passes/Passes.h.inc"
} // namespace pconv
} // namespace mlir

using namespace mlir;
using namespace mlir::pconv;

namespace {

/// The constant a body value of `generic` stands for: a float constant, or
/// the block argument of a scalar-broadcast (0-d map) splat constant input.
static std::optional<APFloat> scalarOf(linalg::GenericOp generic, Value v) {
  FloatAttr scalar;
  if (matchPattern(v, m_Constant(&scalar)))
    return scalar.getValue();
  auto arg = dyn_cast<BlockArgument>(v);
  if (!arg || arg.getOwner() != &generic.getRegion().front() ||
      arg.getArgNumber() >= generic.getNumDpsInputs())
    return std::nullopt;
  OpOperand *operand = generic.getDpsInputOperand(arg.getArgNumber());
  DenseElementsAttr dense;
  if (generic.getMatchingIndexingMap(operand).getNumResults() != 0 ||
      !matchPattern(operand->get(), m_Constant(&dense)) || !dense.isSplat() ||
      !dense.getElementType().isF32())
    return std::nullopt;
  return dense.getSplatValue<APFloat>();
}

static bool isScalar(linalg::GenericOp generic, Value v, float expected) {
  std::optional<APFloat> value = scalarOf(generic, v);
  return value && value->convertToFloat() == expected;
}

/// Whether `value` is `max(arg, 0)` in one of the forms torch-mlir emits.
static bool isReluOf(linalg::GenericOp generic, Value value, Value arg) {
  Operation *op = value.getDefiningOp();
  if (!op)
    return false;
  auto zero = [&](Value v) { return isScalar(generic, v, 0.0f); };
  if (auto max = dyn_cast<arith::MaximumFOp>(op))
    return (max.getLhs() == arg && zero(max.getRhs())) ||
           (max.getRhs() == arg && zero(max.getLhs()));
  auto select = dyn_cast<arith::SelectOp>(op);
  if (!select || select.getTrueValue() != arg || !zero(select.getFalseValue()))
    return false;
  auto cmp = select.getCondition().getDefiningOp<arith::CmpFOp>();
  if (!cmp || cmp.getLhs() != arg || !zero(cmp.getRhs()))
    return false;
  // ugt keeps NaN (as torch.relu does); ogt/oge/uge agree on every non-NaN.
  return llvm::is_contained({arith::CmpFPredicate::UGT, arith::CmpFPredicate::OGT,
                             arith::CmpFPredicate::UGE, arith::CmpFPredicate::OGE},
                            cmp.getPredicate());
}

/// The bound c if `value` is `min(arg, c)`: arith.minimumf, or torch-mlir's
/// clamp form select(cmpf olt/ult c, arg; c, arg) (or with arg > c).
static std::optional<APFloat> minBoundOf(linalg::GenericOp generic,
                                         Value value, Value arg) {
  Operation *op = value.getDefiningOp();
  if (!op)
    return std::nullopt;
  if (auto min = dyn_cast<arith::MinimumFOp>(op)) {
    if (min.getLhs() == arg)
      return scalarOf(generic, min.getRhs());
    if (min.getRhs() == arg)
      return scalarOf(generic, min.getLhs());
    return std::nullopt;
  }
  auto select = dyn_cast<arith::SelectOp>(op);
  auto cmp = select ? select.getCondition().getDefiningOp<arith::CmpFOp>()
                    : arith::CmpFOp();
  if (!cmp || select.getFalseValue() != arg)
    return std::nullopt;
  Value bound = select.getTrueValue();
  std::optional<APFloat> c = scalarOf(generic, bound);
  using P = arith::CmpFPredicate;
  bool lessThanArg = cmp.getLhs() == bound && cmp.getRhs() == arg &&
                     llvm::is_contained({P::OLT, P::ULT}, cmp.getPredicate());
  bool argGreater = cmp.getLhs() == arg && cmp.getRhs() == bound &&
                    llvm::is_contained({P::OGT, P::UGT}, cmp.getPredicate());
  return (lessThanArg || argGreater) ? c : std::nullopt;
}

/// The single-use conv whose result `generic` maps elementwise (its only
/// non-scalar input, identity maps, all loops parallel), and the body's
/// block argument for it.
static std::pair<Conv2DOp, Value> matchConvOperand(linalg::GenericOp generic) {
  if (generic.getNumDpsInits() != 1 || generic.getNumResults() != 1 ||
      generic.getNumParallelLoops() != generic.getNumLoops() ||
      !generic.getMatchingIndexingMap(generic.getDpsInitOperand(0)).isIdentity())
    return {};
  Conv2DOp conv;
  Value arg;
  Block &body = generic.getRegion().front();
  for (OpOperand *input : generic.getDpsInputOperands()) {
    Value blockArg = body.getArgument(input->getOperandNumber());
    if (scalarOf(generic, blockArg))
      continue;
    auto producer = input->get().getDefiningOp<Conv2DOp>();
    if (conv || !producer ||
        !generic.getMatchingIndexingMap(input).isIdentity())
      return {};
    conv = producer;
    arg = blockArg;
  }
  if (!conv || !conv->hasOneUse() ||
      conv.getType() != generic.getResult(0).getType())
    return {};
  return {conv, arg};
}

/// A residual add: `generic` adds its two inputs (identity maps, all loops
/// parallel, both of its result type) and one of them is a single-use conv
/// with no activation (it would apply before the add) and no residual yet.
/// Returns that conv and the other input, the residual.
static std::pair<Conv2DOp, Value> matchResidualAdd(linalg::GenericOp generic) {
  if (generic.getNumDpsInits() != 1 || generic.getNumResults() != 1 ||
      generic.getNumDpsInputs() != 2 ||
      generic.getNumParallelLoops() != generic.getNumLoops() ||
      !llvm::all_of(generic.getIndexingMapsArray(),
                    [](AffineMap m) { return m.isIdentity(); }))
    return {};
  Block &body = generic.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getValues()[0].getDefiningOp<arith::AddFOp>();
  Value a = body.getArgument(0), c = body.getArgument(1);
  if (!add || add->getBlock() != &body ||
      !((add.getLhs() == a && add.getRhs() == c) ||
        (add.getLhs() == c && add.getRhs() == a)))
    return {};
  Type type = generic.getResult(0).getType();
  for (unsigned i : {0u, 1u}) {
    auto conv = generic.getDpsInputOperand(i)->get().getDefiningOp<Conv2DOp>();
    Value other = generic.getDpsInputOperand(1 - i)->get();
    if (conv && conv->hasOneUse() && !conv.getRelu() && !conv.getResidual() &&
        conv.getType() == type && other.getType() == type)
      return {conv, other};
  }
  return {};
}

/// Whether `value` is a constant -inf.
static bool isMinusInfinity(Value value) {
  FloatAttr attr;
  return value && matchPattern(value, m_Constant(&attr)) &&
         attr.getValue().isInfinity() && attr.getValue().isNegative();
}

/// A max-pool the conv can take into its epilogue.
struct PoolMatch {
  Conv2DOp conv;
  SmallVector<int64_t, 2> window, strides;
  SmallVector<int64_t, 4> padding; // top, left, bottom, right
  tensor::PadOp pad;               // the -inf padding, if any
};

/// `pool` reads the single-use result of a conv that has no residual and no
/// pool yet, directly or through a single-use tensor.pad with -inf (rows and
/// columns only, each less than the window), with dilations 1, strides at
/// most the window, into an init filled with -inf (so the pool is the
/// window max alone). Windows that do not overlap and are not padded must
/// tile the conv's output exactly (no floor-dropped rows or columns).
static std::optional<PoolMatch> matchMaxPool(linalg::PoolingNchwMaxOp pool) {
  PoolMatch m;
  Value input = pool.getInputs()[0];
  m.padding.assign(4, 0);
  if ((m.pad = input.getDefiningOp<tensor::PadOp>())) {
    ArrayRef<int64_t> low = m.pad.getStaticLow(), high = m.pad.getStaticHigh();
    if (!m.pad->hasOneUse() || !m.pad.getLow().empty() ||
        !m.pad.getHigh().empty() || low.size() != 4 || low[0] || low[1] ||
        high[0] || high[1] || !isMinusInfinity(m.pad.getConstantPaddingValue()))
      return std::nullopt;
    m.padding = {low[2], low[3], high[2], high[3]};
    input = m.pad.getSource();
  }
  m.conv = input.getDefiningOp<Conv2DOp>();
  if (!m.conv || !m.conv->hasOneUse() || m.conv.getResidual() ||
      m.conv.getMaxPool())
    return std::nullopt;
  auto window = dyn_cast<RankedTensorType>(pool.getInputs()[1].getType());
  if (!window || !window.hasStaticShape() || window.getRank() != 2)
    return std::nullopt;
  m.window.assign(window.getShape().begin(), window.getShape().end());
  m.strides = llvm::to_vector(pool.getStrides().getValues<int64_t>());
  if (m.strides.size() != 2 || m.strides[0] > m.window[0] ||
      m.strides[1] > m.window[1] ||
      !llvm::all_of(pool.getDilations().getValues<int64_t>(),
                    [](int64_t d) { return d == 1; }) ||
      m.padding[0] >= m.window[0] || m.padding[2] >= m.window[0] ||
      m.padding[1] >= m.window[1] || m.padding[3] >= m.window[1])
    return std::nullopt;
  bool tiled = m.strides == m.window &&
               llvm::all_of(m.padding, [](int64_t p) { return p == 0; });
  auto convType = m.conv.getResult().getType();
  if (tiled && (convType.getDimSize(2) % m.window[0] ||
                convType.getDimSize(3) % m.window[1]))
    return std::nullopt;
  auto fill = pool.getOutputs()[0].getDefiningOp<linalg::FillOp>();
  if (!fill || !isMinusInfinity(fill.getInputs()[0]))
    return std::nullopt;
  return m;
}

struct FuseActivationPass
    : public pconv::impl::FuseActivationPassBase<FuseActivationPass> {
  using FuseActivationPassBase::FuseActivationPassBase;

  void runOnOperation() override {
    SmallVector<linalg::GenericOp> generics;
    getOperation().walk([&](linalg::GenericOp op) { generics.push_back(op); });
    // In order: a residual add first sets `residual`, a ReLU after it (or
    // right after the conv) `relu`, the min after that `relu_max`.
    for (linalg::GenericOp generic : generics) {
      if (auto [conv, residual] =
              fuseResidual ? matchResidualAdd(generic)
                           : std::pair<Conv2DOp, Value>();
          conv) {
        // The conv moves to the add, where the residual is defined (torch
        // computes a downsampling shortcut after the block's last conv).
        conv->moveBefore(generic);
        conv.getResidualMutable().assign(residual);
        generic.getResult(0).replaceAllUsesWith(conv.getResult());
        generic.erase();
        ++numResidual;
        continue;
      }
      auto [conv, arg] = matchConvOperand(generic);
      if (!conv)
        continue;
      Value result = cast<linalg::YieldOp>(
                         generic.getRegion().front().getTerminator())
                         .getValues()[0];
      if (!conv.getRelu() && isReluOf(generic, result, arg)) {
        conv.setRelu(true);
        ++numFused;
      } else if (std::optional<APFloat> bound =
                     conv.getRelu() && !conv.getReluMax()
                         ? minBoundOf(generic, result, arg)
                         : std::nullopt;
                 bound && bound->isFiniteNonZero() && !bound->isNegative()) {
        conv.setReluMaxAttr(
            FloatAttr::get(Float32Type::get(&getContext()), *bound));
        ++numClamped;
      } else {
        continue;
      }
      generic.getResult(0).replaceAllUsesWith(conv.getResult());
      generic.erase();
    }
    // Then max-pools after those epilogues (a ReLU between conv and pool is
    // already in the conv; one after the pool commutes with it and is fused
    // by the loop above on the next run of the pass, or stays a generic).
    if (!fusePool)
      return;
    SmallVector<linalg::PoolingNchwMaxOp> pools;
    getOperation().walk(
        [&](linalg::PoolingNchwMaxOp op) { pools.push_back(op); });
    for (linalg::PoolingNchwMaxOp pool : pools) {
      std::optional<PoolMatch> m = matchMaxPool(pool);
      if (!m)
        continue;
      Conv2DOp conv = m->conv;
      MLIRContext *ctx = &getContext();
      conv.setMaxPoolAttr(DenseI64ArrayAttr::get(ctx, m->window));
      if (m->strides != m->window)
        conv.setPoolStridesAttr(DenseI64ArrayAttr::get(ctx, m->strides));
      if (m->pad)
        conv.setPoolPaddingAttr(DenseI64ArrayAttr::get(ctx, m->padding));
      conv.getResult().setType(
          cast<RankedTensorType>(pool.getResult(0).getType()));
      pool.getResult(0).replaceAllUsesWith(conv.getResult());
      auto fill = pool.getOutputs()[0].getDefiningOp<linalg::FillOp>();
      pool.erase();
      if (m->pad)
        m->pad.erase();
      if (fill && fill->use_empty())
        fill.erase();
      ++numPooled;
    }
  }
};

} // namespace
