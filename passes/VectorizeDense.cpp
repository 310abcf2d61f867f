//===- VectorizeDense.cpp - Vector code for the dense-path ops ------------===//
//
// Everything torch-mlir emits besides convolutions (pooling, elementwise
// chains, global average pooling, linear layers, depthwise convolutions) used
// to go down `convert-linalg-to-parallel-loops` as scalar loops. This pass
// runs on buffers, after bufferization, and gives those linalg ops explicit
// 1-D vector code: vectors along the innermost contiguous dimension, masked
// tails, `scf.parallel` over the outer dimensions (OpenMP). Ops it does not
// recognise are left alone for the upstream lowering.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace pconv {
#define GEN_PASS_DEF_VECTORIZEDENSEPASS
#include "passes/Passes.h.inc"
} // namespace pconv
} // namespace mlir

using namespace mlir;
using namespace mlir::pconv;

namespace {

/// Static strides of `type`, or nothing when it has a dynamic one.
std::optional<SmallVector<int64_t>> staticStrides(MemRefType type) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)) ||
      llvm::any_of(strides, ShapedType::isDynamic))
    return std::nullopt;
  return strides;
}

/// Whether the last `count` dimensions of `type` are contiguous in memory
/// (innermost stride 1, each outer stride the product of the inner sizes).
bool contiguousSuffix(MemRefType type, int64_t count) {
  if (!type.hasStaticShape() || count > type.getRank())
    return false;
  if (count == 0)
    return true;
  auto strides = staticStrides(type);
  if (!strides)
    return false;
  int64_t expected = 1;
  for (int64_t d = type.getRank() - 1; d >= type.getRank() - count; --d) {
    if ((*strides)[d] != expected)
      return false;
    expected *= type.getDimSize(d);
  }
  return true;
}

bool hasUnitInnerStride(Value v) {
  auto type = dyn_cast<MemRefType>(v.getType());
  return type && type.hasStaticShape() && contiguousSuffix(type, 1);
}

/// Builder helpers shared by the lowerings; `b`'s insertion point moves as
/// loops are opened.
struct Gen {
  OpBuilder &b;
  Location loc;
  int64_t vw; // lanes per vector

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, int64_t v) {
    return v == 0 ? x : arith::AddIOp::create(b, loc, x, idx(v)).getResult();
  }
  Value mul(Value x, int64_t v) {
    return v == 1 ? x : arith::MulIOp::create(b, loc, x, idx(v)).getResult();
  }
  Value splat(Type element, Attribute value, int64_t lanes) {
    auto type = VectorType::get({lanes}, element);
    return arith::ConstantOp::create(b, loc,
                                     DenseElementsAttr::get(type, value));
  }
  Value broadcast(Value scalar) {
    return vector::BroadcastOp::create(
        b, loc, VectorType::get({vw}, scalar.getType()), scalar);
  }
  Value mask(int64_t lanes, int64_t count) {
    return vector::ConstantMaskOp::create(
        b, loc, VectorType::get({lanes}, b.getI1Type()),
        ArrayRef<int64_t>{count});
  }
  /// `lanes` consecutive elements at `indices`; only the first `valid` are
  /// read (masked load, the others from `passthru`, zero by default).
  Value load(Value base, ValueRange indices, int64_t lanes, int64_t valid,
             Value passthru = {}) {
    Type element = cast<MemRefType>(base.getType()).getElementType();
    auto type = VectorType::get({lanes}, element);
    if (valid >= lanes)
      return vector::LoadOp::create(b, loc, type, base, indices);
    if (!passthru)
      passthru = splat(element, b.getZeroAttr(element), lanes);
    return vector::MaskedLoadOp::create(b, loc, type, base, indices,
                                        mask(lanes, valid), passthru);
  }
  void store(Value value, Value base, ValueRange indices, int64_t valid) {
    int64_t lanes = cast<VectorType>(value.getType()).getNumElements();
    if (valid >= lanes)
      vector::StoreOp::create(b, loc, value, base, indices);
    else
      vector::MaskedStoreOp::create(b, loc, base, indices, mask(lanes, valid),
                                    value);
  }
  /// Opens a loop nest 0 <= iv < ub (an scf.parallel when `parallel`) and
  /// moves the insertion point into its body.
  SmallVector<Value> openLoops(ArrayRef<int64_t> ubs, bool parallel) {
    if (ubs.empty())
      return {};
    SmallVector<Value> lbs(ubs.size(), idx(0)), steps(ubs.size(), idx(1)),
        uppers;
    for (int64_t ub : ubs)
      uppers.push_back(idx(ub));
    if (parallel) {
      auto loop = scf::ParallelOp::create(b, loc, lbs, uppers, steps);
      b.setInsertionPoint(loop.getBody()->getTerminator());
      return SmallVector<Value>(loop.getInductionVars());
    }
    SmallVector<Value> ivs;
    for (auto [lb, ub, step] : llvm::zip(lbs, uppers, steps)) {
      auto loop = scf::ForOp::create(b, loc, lb, ub, step);
      b.setInsertionPoint(loop.getBody()->getTerminator());
      ivs.push_back(loop.getInductionVar());
    }
    return ivs;
  }
  /// for (iv = lb; iv < ub; iv += step) body(iv), ub static or dynamic.
  void forLoop(Value lb, Value ub, int64_t step,
               function_ref<void(Value)> body) {
    auto loop = scf::ForOp::create(b, loc, lb, ub, idx(step));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(loop.getBody()->getTerminator());
    body(loop.getInductionVar());
  }
  /// The same with loop-carried values: `body(iv, carried)` returns the
  /// values for the next iteration; the loop's results are returned.
  ValueRange forLoop(Value lb, Value ub, int64_t step, ValueRange init,
                     function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto loop = scf::ForOp::create(b, loc, lb, ub, idx(step), init);
    OpBuilder::InsertionGuard guard(b);
    Block *block = loop.getBody();
    if (block->mightHaveTerminator()) { // no carried values
      b.setInsertionPoint(block->getTerminator());
      body(loop.getInductionVar(), {});
    } else {
      b.setInsertionPointToEnd(block);
      scf::YieldOp::create(b, loc,
                           body(loop.getInductionVar(), loop.getRegionIterArgs()));
    }
    return loop.getResults();
  }
};

int64_t product(ArrayRef<int64_t> sizes) {
  int64_t p = 1;
  for (int64_t s : sizes)
    p *= s;
  return p;
}

/// Collapses the last `count` dimensions of `buffer` into one.
Value collapseSuffix(OpBuilder &b, Location loc, Value buffer, int64_t count) {
  auto type = cast<MemRefType>(buffer.getType());
  if (count <= 1)
    return buffer;
  SmallVector<ReassociationIndices> groups;
  int64_t rank = type.getRank();
  for (int64_t d = 0; d < rank - count; ++d)
    groups.push_back({d});
  groups.emplace_back();
  for (int64_t d = rank - count; d < rank; ++d)
    groups.back().push_back(d);
  return memref::CollapseShapeOp::create(b, loc, buffer, groups);
}

/// Body ops the elementwise lowering does not vectorize: integer division
/// (masked-off tail lanes could divide by zero) and powers with an integer
/// exponent (LLVM's powi takes a scalar exponent, not a vector).
bool isUnvectorizable(Operation &op) {
  return isa<arith::DivSIOp, arith::DivUIOp, arith::RemSIOp, arith::RemUIOp,
             arith::CeilDivSIOp, arith::CeilDivUIOp, arith::FloorDivSIOp,
             math::FPowIOp, math::IPowIOp>(op);
}

//===----------------------------------------------------------------------===//
// Elementwise linalg.generic (also fill, copy, broadcast, map once generalized)
//===----------------------------------------------------------------------===//

struct ElementwiseVectorizer {
  linalg::GenericOp op;
  int64_t vw, minParallel, chunk;

  /// How each operand is read: per-vector loads along the collapsed suffix,
  /// or one scalar per outer point broadcast to all lanes.
  struct OperandInfo {
    Value buffer;            // collapsed memref, or the scalar itself
    AffineMap map;           // indexing map (null for scalars)
    bool usesSuffix = false; // loaded as vectors
  };

  /// Largest number of trailing loops every operand either reads contiguously
  /// in loop order or does not read at all; 0 when even the innermost fails.
  int64_t collapsibleSuffix() {
    int64_t rank = op.getNumLoops();
    for (int64_t count = rank; count >= 1; --count) {
      bool ok = true;
      for (OpOperand &operand : op->getOpOperands()) {
        auto type = dyn_cast<MemRefType>(operand.get().getType());
        if (!type)
          continue;
        AffineMap map = op.getMatchingIndexingMap(&operand);
        auto inSuffix = [&](AffineExpr e) {
          auto dim = dyn_cast<AffineDimExpr>(e);
          return dim && int64_t(dim.getPosition()) >= rank - count;
        };
        int64_t used = llvm::count_if(map.getResults(), inSuffix);
        if (used == 0)
          continue;
        int64_t results = map.getNumResults();
        bool inOrder = used == count && results >= count;
        for (int64_t i = 0; inOrder && i < count; ++i) {
          auto dim = dyn_cast<AffineDimExpr>(map.getResult(results - count + i));
          inOrder = dim && int64_t(dim.getPosition()) == rank - count + i;
        }
        if (!inOrder || !contiguousSuffix(type, count)) {
          ok = false;
          break;
        }
      }
      if (ok)
        return count;
    }
    return 0;
  }

  LogicalResult match() {
    if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
        op.getNumLoops() == 0 ||
        op.getNumParallelLoops() != op.getNumLoops())
      return failure();
    if (llvm::any_of(op.getStaticLoopRanges(),
                     [](int64_t s) { return ShapedType::isDynamic(s) || s == 0; }))
      return failure();
    auto outType = dyn_cast<MemRefType>(op.getDpsInits()[0].getType());
    if (!outType || !VectorType::isValidElementType(outType.getElementType()) ||
        !op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isIdentity())
      return failure();
    for (OpOperand &operand : op->getOpOperands()) {
      Type type = operand.get().getType();
      if (auto memref = dyn_cast<MemRefType>(type)) {
        // Sub-byte elements (i1) are bit-packed in vectors, byte-sized in
        // memory: no vector loads of them.
        if (!memref.hasStaticShape() ||
            memref.getElementTypeBitWidth() < 8 ||
            !VectorType::isValidElementType(memref.getElementType()) ||
            !op.getMatchingIndexingMap(&operand).isProjectedPermutation(
                /*allowZeroInResults=*/true))
          return failure();
      } else if (isa<ShapedType>(type) || !VectorType::isValidElementType(type)) {
        return failure();
      }
    }
    for (Operation &inner : op.getBlock()->without_terminator()) {
      if (inner.getNumResults() != 1 || inner.getNumRegions() != 0 ||
          isa<linalg::IndexOp>(inner) || isUnvectorizable(inner) ||
          !isa<arith::ArithDialect, math::MathDialect>(inner.getDialect()))
        return failure();
      if (inner.getNumOperands() > 0 &&
          !OpTrait::hasElementwiseMappableTraits(&inner))
        return failure();
      auto scalar = [](Type t) { return VectorType::isValidElementType(t); };
      if (!llvm::all_of(inner.getOperandTypes(), scalar) ||
          !llvm::all_of(inner.getResultTypes(), scalar))
        return failure();
    }
    return success(collapsibleSuffix() > 0);
  }

  void rewrite() {
    OpBuilder b(op);
    Location loc = op.getLoc();
    Gen g{b, loc, vw};
    int64_t rank = op.getNumLoops();
    int64_t suffix = collapsibleSuffix();
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    SmallVector<int64_t> outer(ranges.begin(), ranges.end() - suffix);
    int64_t extent = product(ArrayRef<int64_t>(ranges).drop_front(rank - suffix));
    int64_t chunkSize = llvm::alignTo(std::max<int64_t>(chunk, vw), vw);
    int64_t chunks = llvm::divideCeil(extent, chunkSize);
    int64_t fullEnd = extent / vw * vw;

    SmallVector<OperandInfo> infos;
    for (OpOperand &operand : op->getOpOperands()) {
      OperandInfo info;
      info.buffer = operand.get();
      if (isa<MemRefType>(info.buffer.getType())) {
        info.map = op.getMatchingIndexingMap(&operand);
        info.usesSuffix = llvm::any_of(info.map.getResults(), [&](AffineExpr e) {
          auto dim = dyn_cast<AffineDimExpr>(e);
          return dim && int64_t(dim.getPosition()) >= rank - suffix;
        });
        if (info.usesSuffix)
          info.buffer = collapseSuffix(b, loc, info.buffer, suffix);
      }
      infos.push_back(info);
    }

    SmallVector<int64_t> parallelSpace(outer);
    if (chunks > 1)
      parallelSpace.push_back(chunks);
    bool parallel = product(ranges) >= minParallel && product(parallelSpace) > 1;
    SmallVector<Value> ivs = g.openLoops(parallelSpace, parallel);
    Value chunkIv = chunks > 1 ? ivs.back() : Value();

    // Indices of an operand at an outer point (the suffix index appended for
    // vector operands).
    auto indices = [&](const OperandInfo &info, Value flat) {
      SmallVector<Value> result;
      for (AffineExpr e : info.map.getResults()) {
        auto dim = dyn_cast<AffineDimExpr>(e);
        if (!dim)
          result.push_back(g.idx(0)); // broadcast dimension of size 1
        else if (int64_t(dim.getPosition()) < rank - suffix)
          result.push_back(ivs[dim.getPosition()]);
      }
      if (info.usesSuffix)
        result.push_back(flat);
      return result;
    };

    // Broadcast operands: one scalar per outer point, splat once.
    Block *body = op.getBlock();
    SmallVector<Value> splats(infos.size());
    for (auto [i, info] : llvm::enumerate(infos)) {
      if (info.usesSuffix || body->getArgument(i).use_empty())
        continue;
      Value scalar = info.map ? memref::LoadOp::create(b, loc, info.buffer,
                                                      indices(info, {}))
                                    .getResult()
                              : info.buffer;
      splats[i] = g.broadcast(scalar);
    }

    auto emitVector = [&](Value flat, int64_t valid) {
      IRMapping mapping;
      for (auto [i, info] : llvm::enumerate(infos)) {
        BlockArgument arg = body->getArgument(i);
        if (arg.use_empty())
          continue;
        mapping.map(arg, info.usesSuffix
                             ? g.load(info.buffer, indices(info, flat), vw, valid)
                             : splats[i]);
      }
      auto vectorOf = [&](Value v) {
        if (Value mapped = mapping.lookupOrNull(v))
          return mapped;
        Value splat = g.broadcast(v); // defined above the op
        mapping.map(v, splat);
        return splat;
      };
      for (Operation &inner : body->without_terminator()) {
        if (inner.getNumOperands() == 0) { // constant: keep scalar, splat
          Operation *clone = b.clone(inner);
          mapping.map(inner.getResult(0), g.broadcast(clone->getResult(0)));
          continue;
        }
        for (Value operand : inner.getOperands())
          vectorOf(operand);
        Operation *clone = b.clone(inner, mapping);
        Value result = clone->getResult(0);
        result.setType(VectorType::get({vw}, result.getType()));
        mapping.map(inner.getResult(0), result);
      }
      Value yielded = vectorOf(body->getTerminator()->getOperand(0));
      const OperandInfo &out = infos.back();
      g.store(yielded, out.buffer, indices(out, flat), valid);
    };

    // Full vectors of this chunk, then the masked tail (last chunk only).
    Value lo = chunkIv ? g.mul(chunkIv, chunkSize) : g.idx(0);
    Value hi = g.idx(fullEnd);
    if (chunkIv)
      hi = arith::MinSIOp::create(b, loc, g.add(lo, chunkSize), hi);
    if (chunkIv || fullEnd > 0)
      g.forLoop(lo, hi, vw, [&](Value flat) { emitVector(flat, vw); });
    if (fullEnd < extent) {
      auto tail = [&] { emitVector(g.idx(fullEnd), extent - fullEnd); };
      if (!chunkIv) {
        tail();
      } else {
        Value last = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                           chunkIv, g.idx(chunks - 1));
        auto ifOp = scf::IfOp::create(b, loc, last, /*withElseRegion=*/false);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
        tail();
      }
    }
    op.erase();
  }
};

//===----------------------------------------------------------------------===//
// Reductions over trailing dimensions (global / adaptive average pooling)
//===----------------------------------------------------------------------===//

struct ReductionVectorizer {
  linalg::GenericOp op;
  int64_t vw, minParallel;
  int64_t parallelDims = 0, reductionDims = 0;
  vector::CombiningKind kind = vector::CombiningKind::ADD;

  LogicalResult match() {
    if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 1 ||
        op.getNumDpsInits() != 1)
      return failure();
    auto iterators = op.getIteratorTypesArray();
    parallelDims = op.getNumParallelLoops();
    reductionDims = op.getNumReductionLoops();
    if (reductionDims == 0 || parallelDims + reductionDims != int64_t(iterators.size()))
      return failure();
    for (int64_t d = 0; d < int64_t(iterators.size()); ++d)
      if ((d < parallelDims) != linalg::isParallelIterator(iterators[d]))
        return failure();
    auto inType = dyn_cast<MemRefType>(op.getDpsInputs()[0].getType());
    auto outType = dyn_cast<MemRefType>(op.getDpsInits()[0].getType());
    if (!inType || !outType || !outType.hasStaticShape() ||
        !isa<FloatType>(inType.getElementType()) ||
        inType.getElementType() != outType.getElementType() ||
        !op.getMatchingIndexingMap(op.getDpsInputOperand(0)).isIdentity() ||
        !contiguousSuffix(inType, reductionDims))
      return failure();
    // Output: the parallel dims in order, reduced dims as constant 0 indices.
    int64_t next = 0;
    for (AffineExpr e : op.getMatchingIndexingMap(op.getDpsInitOperand(0)).getResults()) {
      if (auto dim = dyn_cast<AffineDimExpr>(e)) {
        if (int64_t(dim.getPosition()) != next++)
          return failure();
      } else if (auto c = dyn_cast<AffineConstantExpr>(e); !c || c.getValue() != 0) {
        return failure();
      }
    }
    if (next != parallelDims)
      return failure();
    // Body: yield combine(in, out).
    Block *body = op.getBlock();
    if (!llvm::hasSingleElement(body->without_terminator()))
      return failure();
    Operation &combine = body->front();
    if (combine.getNumOperands() != 2 ||
        body->getTerminator()->getOperand(0) != combine.getResult(0) ||
        !llvm::is_contained(combine.getOperands(), body->getArgument(0)) ||
        !llvm::is_contained(combine.getOperands(), body->getArgument(1)))
      return failure();
    if (isa<arith::AddFOp>(combine))
      kind = vector::CombiningKind::ADD;
    else if (isa<arith::MaximumFOp>(combine))
      kind = vector::CombiningKind::MAXIMUMF;
    else
      return failure();
    return success();
  }

  void rewrite() {
    OpBuilder b(op);
    Location loc = op.getLoc();
    Gen g{b, loc, vw};
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    SmallVector<int64_t> outer(ranges.begin(), ranges.begin() + parallelDims);
    int64_t extent = product(ArrayRef<int64_t>(ranges).drop_front(parallelDims));
    Value in = collapseSuffix(b, loc, op.getDpsInputs()[0], reductionDims);
    Value out = op.getDpsInits()[0];
    Type element = cast<MemRefType>(out.getType()).getElementType();
    Attribute neutral = kind == vector::CombiningKind::ADD
                            ? b.getZeroAttr(element)
                            : b.getFloatAttr(element, -INFINITY);
    bool parallel = product(ranges) >= minParallel && product(outer) > 1;
    SmallVector<Value> ivs = g.openLoops(outer, parallel);

    SmallVector<Value> inIdx(ivs), outIdx;
    for (AffineExpr e : op.getMatchingIndexingMap(op.getDpsInitOperand(0)).getResults()) {
      auto dim = dyn_cast<AffineDimExpr>(e);
      outIdx.push_back(dim ? ivs[dim.getPosition()] : g.idx(0));
    }
    auto combine = [&](Value a, Value c) -> Value {
      if (kind == vector::CombiningKind::ADD)
        return arith::AddFOp::create(b, loc, a, c);
      return arith::MaximumFOp::create(b, loc, a, c);
    };
    Value init = g.splat(element, neutral, vw);
    int64_t fullEnd = extent / vw * vw;
    Value acc = fullEnd == 0 ? init : g.forLoop(g.idx(0), g.idx(fullEnd), vw, ValueRange{init},
                          [&](Value k, ValueRange carried) {
                            SmallVector<Value> at(inIdx);
                            at.push_back(k);
                            Value v = g.load(in, at, vw, vw);
                            return SmallVector<Value>{combine(carried[0], v)};
                          })[0];
    if (fullEnd < extent) {
      SmallVector<Value> at(inIdx);
      at.push_back(g.idx(fullEnd));
      acc = combine(acc, g.load(in, at, vw, extent - fullEnd, init));
    }
    Value current = memref::LoadOp::create(b, loc, out, outIdx);
    Value total = vector::ReductionOp::create(b, loc, kind, acc, current,
                                              arith::FastMathFlags::reassoc);
    memref::StoreOp::create(b, loc, total, out, outIdx);
    op.erase();
  }
};

//===----------------------------------------------------------------------===//
// Pooling and depthwise convolution, NCHW
//===----------------------------------------------------------------------===//

enum class WindowKind { Max, Sum, Depthwise };

struct WindowVectorizer {
  linalg::LinalgOp op;
  WindowKind kind;
  int64_t vw, minParallel;
  int64_t strideH, strideW, dilationH, dilationW;

  LogicalResult match() {
    if (!op.hasPureBufferSemantics())
      return failure();
    Value in = op.getDpsInputs()[0], window = op.getDpsInputs()[1],
          out = op.getDpsInits()[0];
    auto inType = dyn_cast<MemRefType>(in.getType());
    auto outType = dyn_cast<MemRefType>(out.getType());
    auto windowType = dyn_cast<MemRefType>(window.getType());
    if (!inType || !outType || !windowType || !windowType.hasStaticShape() ||
        !hasUnitInnerStride(in) || !hasUnitInnerStride(out) ||
        !isa<FloatType>(outType.getElementType()) ||
        inType.getElementType() != outType.getElementType() ||
        (kind == WindowKind::Depthwise &&
         windowType.getElementType() != outType.getElementType()))
      return failure();
    auto strides = op->getAttrOfType<DenseIntElementsAttr>("strides");
    auto dilations = op->getAttrOfType<DenseIntElementsAttr>("dilations");
    if (!strides || !dilations)
      return failure();
    auto s = llvm::to_vector(strides.getValues<int64_t>());
    auto d = llvm::to_vector(dilations.getValues<int64_t>());
    strideH = s[0], strideW = s[1], dilationH = d[0], dilationW = d[1];
    return success(strideW >= 1 && strideW <= 4);
  }

  void rewrite() {
    OpBuilder b(op);
    Location loc = op.getLoc();
    Gen g{b, loc, vw};
    Value in = op.getDpsInputs()[0], window = op.getDpsInputs()[1],
          out = op.getDpsInits()[0];
    auto outType = cast<MemRefType>(out.getType());
    auto windowType = cast<MemRefType>(window.getType());
    int64_t n = outType.getDimSize(0), c = outType.getDimSize(1);
    int64_t outH = outType.getDimSize(2), outW = outType.getDimSize(3);
    int64_t inW = cast<MemRefType>(in.getType()).getDimSize(3);
    int64_t rank = windowType.getRank();
    int64_t kh = windowType.getDimSize(rank - 2), kw = windowType.getDimSize(rank - 1);
    // Lanes loaded per tap: at column stride s, s*vw consecutive inputs
    // (then every s-th kept by a shuffle).
    int64_t lanes = strideW * vw;
    SmallVector<int64_t> pick;
    for (int64_t i = 0; i < vw; ++i)
      pick.push_back(i * strideW);

    bool parallel = n * c * outH * outW >= minParallel && n * c > 1;
    SmallVector<Value> ivs = g.openLoops({n, c}, parallel);
    Value ni = ivs[0], ci = ivs[1];
    SmallVector<Value> weights;
    if (kind == WindowKind::Depthwise)
      for (int64_t i = 0; i < kh; ++i)
        for (int64_t j = 0; j < kw; ++j)
          weights.push_back(g.broadcast(memref::LoadOp::create(
              b, loc, window, ValueRange{ci, g.idx(i), g.idx(j)})));

    // A max over 3 columns at column stride 2 (ResNet's 3x3 / 2 pool after
    // the stem) is separable: the rows' max of the 2 vw + 1 input columns
    // an output vector reads (three loads per window row instead of six),
    // then its even lanes, its odd lanes and the even lanes one column on,
    // each picked once by a shuffle: per output vector 3 shuffles instead
    // of 3 kh, 3 kh loads instead of 6 kh, as many maxima (a NaN still
    // wins every max).
    bool separable = kind == WindowKind::Max && strideW == 2 && kw == 3 &&
                     dilationW == 1;
    SmallVector<int64_t> odd, nextEven;
    for (int64_t i = 0; i < vw; ++i) {
      odd.push_back(2 * i + 1);
      nextEven.push_back(i + 1); // shuffle(even, third): lanes 1..vw
    }
    auto maxOf = [&](Value x, Value y) -> Value {
      return arith::MaximumFOp::create(b, loc, x, y);
    };

    // One output vector at column `col` (row `row`), `valid` lanes of it;
    // `inValid(j)` input lanes of tap column j exist.
    auto emitVector = [&](Value row, Value col, int64_t valid,
                          function_ref<int64_t(int64_t)> inValid) {
      Value acc = g.load(out, ValueRange{ni, ci, row, col}, vw, valid);
      Value inCol0 = g.mul(col, strideW), inRow0 = g.mul(row, strideH);
      if (separable) {
        // Input columns [inCol0 + k vw, + vw) of the window's rows, maxed;
        // `available` of them exist. inValid(2) counts the columns from
        // inCol0 + 2 (up to 2 vw): inCol0 + 2 + inValid(2) bounds what an
        // output vector may read. Lanes past the input feed only output
        // lanes past its end.
        int64_t fromCol0 = inValid(2) + 2;
        auto rowsMax = [&](int64_t k, int64_t lanesNeeded) -> Value {
          int64_t available = std::min(lanesNeeded, fromCol0 - k * vw);
          if (available <= 0)
            return acc; // any vector: only lanes past the output read it
          Value m;
          for (int64_t i = 0; i < kh; ++i) {
            Value x = g.load(in,
                             ValueRange{ni, ci, g.add(inRow0, i * dilationH),
                                        g.add(inCol0, k * vw)},
                             vw, available);
            m = m ? maxOf(m, x) : x;
          }
          return m;
        };
        Value lo = rowsMax(0, vw), hi = rowsMax(1, vw), third = rowsMax(2, 1);
        Value even = vector::ShuffleOp::create(b, loc, lo, hi, pick);
        Value oddLanes = vector::ShuffleOp::create(b, loc, lo, hi, odd);
        Value evenNext =
            vector::ShuffleOp::create(b, loc, even, third, nextEven);
        acc = maxOf(acc, maxOf(maxOf(even, oddLanes), evenNext));
        g.store(acc, out, ValueRange{ni, ci, row, col}, valid);
        return;
      }
      for (int64_t i = 0; i < kh; ++i) {
        Value inRow = g.add(inRow0, i * dilationH);
        for (int64_t j = 0; j < kw; ++j) {
          int64_t available = inValid(j);
          if (available <= 0)
            continue; // only feeds lanes past the output's end
          Value x = g.load(in, ValueRange{ni, ci, inRow, g.add(inCol0, j * dilationW)},
                           lanes, available);
          if (strideW > 1)
            x = vector::ShuffleOp::create(b, loc, x, x, pick);
          switch (kind) {
          case WindowKind::Max:
            acc = arith::MaximumFOp::create(b, loc, acc, x);
            break;
          case WindowKind::Sum:
            acc = arith::AddFOp::create(b, loc, acc, x);
            break;
          case WindowKind::Depthwise:
            acc = vector::FMAOp::create(b, loc, x, weights[i * kw + j], acc);
            break;
          }
        }
      }
      g.store(acc, out, ValueRange{ni, ci, row, col}, valid);
    };

    // Vectors whose every tap load stays inside the input row run unmasked
    // in a loop; the rest (the row's end) are unrolled with masks.
    int64_t vectors = llvm::divideCeil(outW, vw), safe = 0;
    while (safe < vectors && (safe + 1) * vw <= outW &&
           safe * vw * strideW + (kw - 1) * dilationW + lanes <= inW)
      ++safe;
    g.forLoop(g.idx(0), g.idx(outH), 1, [&](Value row) {
      if (safe > 0)
        g.forLoop(g.idx(0), g.idx(safe * vw), vw, [&](Value col) {
          emitVector(row, col, vw, [&](int64_t) { return lanes; });
        });
      for (int64_t v = safe; v < vectors; ++v) {
        int64_t col = v * vw;
        emitVector(row, g.idx(col), std::min(vw, outW - col), [&](int64_t j) {
          return std::min(lanes, inW - (col * strideW + j * dilationW));
        });
      }
    });
    op->erase();
  }
};

//===----------------------------------------------------------------------===//
// Matrix products: linear layers (A x W^T, W streamed once) and plain A x B
//===----------------------------------------------------------------------===//

struct MatmulVectorizer {
  linalg::MatmulOp op;
  int64_t vw, minParallel;
  linalg::TransposeOp transpose; // B = transpose(W): the nn.Linear form

  static constexpr int64_t kMaxAccumulators = 16;

  LogicalResult match() {
    if (!op.hasPureBufferSemantics() || op.hasUserDefinedMaps())
      return failure();
    Value a = op.getDpsInputs()[0], bMat = op.getDpsInputs()[1],
          c = op.getDpsInits()[0];
    auto aType = dyn_cast<MemRefType>(a.getType());
    auto bType = dyn_cast<MemRefType>(bMat.getType());
    auto cType = dyn_cast<MemRefType>(c.getType());
    if (!aType || !bType || !cType || !cType.hasStaticShape() ||
        !bType.hasStaticShape() || !isa<FloatType>(cType.getElementType()) ||
        aType.getElementType() != cType.getElementType() ||
        bType.getElementType() != cType.getElementType() ||
        !hasUnitInnerStride(a) || !hasUnitInnerStride(c))
      return failure();
    // B written only by a transpose of W earlier in this block: read W.
    if (auto alloc = bMat.getDefiningOp<memref::AllocOp>()) {
      for (Operation *user : alloc->getUsers()) {
        auto t = dyn_cast<linalg::TransposeOp>(user);
        if (t && t.getInit() == bMat && t->getBlock() == op->getBlock() &&
            t->isBeforeInBlock(op) &&
            t.getPermutation() == ArrayRef<int64_t>{1, 0} &&
            hasUnitInnerStride(t.getInput())) {
          transpose = t;
        } else if (user != op && !isa<memref::DeallocOp>(user)) {
          transpose = {};
          break;
        }
      }
    }
    return success(transpose || hasUnitInnerStride(bMat));
  }

  void rewrite() {
    if (transpose)
      rewriteTransposed();
    else
      rewritePlain();
    op.erase();
    // The transposed copy is no longer read.
    if (transpose)
      transpose.erase();
  }

  /// C[m, n] += dot(A[m, :], W[n, :]) for W (N x K): blocks of `rows` rows of
  /// W (parallel), each row streamed once for up to 4 rows of A, several
  /// independent accumulators per dot product, one reduction at the end.
  void rewriteTransposed() {
    OpBuilder b(op);
    Location loc = op.getLoc();
    Gen g{b, loc, vw};
    Value a = op.getDpsInputs()[0], w = transpose.getInput(),
          c = op.getDpsInits()[0];
    auto cType = cast<MemRefType>(c.getType());
    int64_t m = cType.getDimSize(0), n = cType.getDimSize(1);
    int64_t k = cast<MemRefType>(a.getType()).getDimSize(1);
    Type element = cType.getElementType();
    // Rows of W per parallel block, streamed side by side. Four long rows
    // keep four hardware prefetch streams busy (VGG-16's 98 KB rows: 20 vs
    // 14 GB/s for one at a time, Zen 4, W from memory); rows of at most
    // 8 KB end before a stream has ramped up, and one row at a time reads W
    // as a single sequential stream instead (2 KB rows 2.4x, 5 KB 1.5x,
    // 8 KB 1.15x faster; 16 KB rows 0.8x): the classifiers of ResNet-18,
    // ResNet-50 and MobileNet-V2.
    const int64_t rows =
        k * int64_t(element.getIntOrFloatBitWidth() / 8) <= 8192 ? 1 : 4;

    // A block: rows [m0, m0+mc) of A times rows [n0, n0+nc) of W.
    auto emitBlock = [&](int64_t m0, int64_t mc, Value n0, int64_t nc) {
      int64_t unroll = std::clamp<int64_t>(kMaxAccumulators / (mc * nc), 1, 4);
      int64_t step = vw * unroll, mainEnd = k / step * step;
      Value zero = g.splat(element, b.getZeroAttr(element), vw);
      SmallVector<Value> init(mc * nc * unroll, zero);
      auto accIndex = [&](int64_t i, int64_t j, int64_t u) {
        return (i * nc + j) * unroll + u;
      };
      // acc += A[m0.., col] * W[n0.., col] for `unrolls` vectors at `col`.
      auto accumulate = [&](SmallVector<Value> &acc, Value col, int64_t unrolls,
                            int64_t valid) {
        for (int64_t u = 0; u < unrolls; ++u) {
          Value at = g.add(col, u * vw);
          SmallVector<Value> av, wv;
          for (int64_t i = 0; i < mc; ++i)
            av.push_back(g.load(a, ValueRange{g.idx(m0 + i), at}, vw, valid));
          for (int64_t j = 0; j < nc; ++j)
            wv.push_back(g.load(w, ValueRange{g.add(n0, j), at}, vw, valid));
          for (int64_t i = 0; i < mc; ++i)
            for (int64_t j = 0; j < nc; ++j) {
              Value &s = acc[accIndex(i, j, u)];
              s = vector::FMAOp::create(b, loc, av[i], wv[j], s);
            }
        }
      };
      SmallVector<Value> acc(init);
      if (mainEnd > 0) // no loop when a row is shorter than one step
        acc = SmallVector<Value>(g.forLoop(
            g.idx(0), g.idx(mainEnd), step, init,
            [&](Value col, ValueRange carried) {
              SmallVector<Value> next(carried);
              accumulate(next, col, unroll, vw);
              return next;
            }));
      for (int64_t col = mainEnd; col < k; col += vw) // remainder, unroll 1
        accumulate(acc, g.idx(col), 1, std::min(vw, k - col));
      for (int64_t i = 0; i < mc; ++i)
        for (int64_t j = 0; j < nc; ++j) {
          Value sum = acc[accIndex(i, j, 0)];
          for (int64_t u = 1; u < unroll; ++u)
            sum = arith::AddFOp::create(b, loc, sum, acc[accIndex(i, j, u)]);
          ValueRange at{g.idx(m0 + i), g.add(n0, j)};
          Value current = memref::LoadOp::create(b, loc, c, at);
          Value total = vector::ReductionOp::create(
              b, loc, vector::CombiningKind::ADD, sum, current,
              arith::FastMathFlags::reassoc);
          memref::StoreOp::create(b, loc, total, c, at);
        }
    };
    auto emitRows = [&](Value n0, int64_t nc) {
      for (int64_t m0 = 0; m0 < m; m0 += 4)
        emitBlock(m0, std::min<int64_t>(4, m - m0), n0, nc);
    };

    int64_t blocks = n / rows;
    {
      OpBuilder::InsertionGuard guard(b);
      bool parallel = m * n * k >= minParallel && blocks > 1;
      SmallVector<Value> ivs = g.openLoops({blocks}, parallel);
      emitRows(g.mul(ivs[0], rows), rows);
    }
    if (n % rows)
      g.forLoop(g.idx(blocks * rows), g.idx(n), 1,
                [&](Value row) { emitRows(row, 1); });
  }

  /// C[m, cols] += A[m, k] * B[k, cols] for B (K x N): column blocks of
  /// `vectors` vectors (parallel), a broadcast A element per k.
  void rewritePlain() {
    OpBuilder b(op);
    Location loc = op.getLoc();
    Gen g{b, loc, vw};
    Value a = op.getDpsInputs()[0], bMat = op.getDpsInputs()[1],
          c = op.getDpsInits()[0];
    auto cType = cast<MemRefType>(c.getType());
    int64_t m = cType.getDimSize(0), n = cType.getDimSize(1);
    int64_t k = cast<MemRefType>(a.getType()).getDimSize(1);
    const int64_t vectors = 4;

    // Columns [n0, n0 + nv*vw) (the last vector `lastValid` lanes wide).
    auto emitCols = [&](Value n0, int64_t nv, int64_t lastValid) {
      int64_t mStep = std::max<int64_t>(1, kMaxAccumulators / nv);
      for (int64_t m0 = 0; m0 < m; m0 += mStep) {
        int64_t mc = std::min(mStep, m - m0);
        auto valid = [&](int64_t j) { return j == nv - 1 ? lastValid : vw; };
        SmallVector<Value> init;
        for (int64_t i = 0; i < mc; ++i)
          for (int64_t j = 0; j < nv; ++j)
            init.push_back(g.load(c, ValueRange{g.idx(m0 + i), g.add(n0, j * vw)},
                                  vw, valid(j)));
        ValueRange results = g.forLoop(
            g.idx(0), g.idx(k), 1, init, [&](Value kk, ValueRange carried) {
              SmallVector<Value> acc(carried), bv;
              for (int64_t j = 0; j < nv; ++j)
                bv.push_back(g.load(bMat, ValueRange{kk, g.add(n0, j * vw)}, vw,
                                    valid(j)));
              for (int64_t i = 0; i < mc; ++i) {
                Value av = g.broadcast(memref::LoadOp::create(
                    b, loc, a, ValueRange{g.idx(m0 + i), kk}));
                for (int64_t j = 0; j < nv; ++j)
                  acc[i * nv + j] =
                      vector::FMAOp::create(b, loc, av, bv[j], acc[i * nv + j]);
              }
              return acc;
            });
        for (int64_t i = 0; i < mc; ++i)
          for (int64_t j = 0; j < nv; ++j)
            g.store(results[i * nv + j], c,
                    ValueRange{g.idx(m0 + i), g.add(n0, j * vw)}, valid(j));
      }
    };

    int64_t blockWidth = vectors * vw, blocks = n / blockWidth;
    if (blocks > 0) {
      OpBuilder::InsertionGuard guard(b);
      bool parallel = m * n * k >= minParallel && blocks > 1;
      SmallVector<Value> ivs = g.openLoops({blocks}, parallel);
      emitCols(g.mul(ivs[0], blockWidth), vectors, vw);
    }
    int64_t rest = n - blocks * blockWidth;
    if (rest > 0) {
      int64_t nv = llvm::divideCeil(rest, vw);
      emitCols(g.idx(blocks * blockWidth), nv, rest - (nv - 1) * vw);
    }
  }
};

//===----------------------------------------------------------------------===//
// Fills of padded buffers whose interior is overwritten right after
//===----------------------------------------------------------------------===//

/// A tensor.pad bufferizes to: fill the whole padded buffer with the pad
/// value, then copy the source into its interior. When the interior's writer
/// follows the fill and nothing reads the buffer in between, only the border
/// (rows above and below, columns left and right of the interior in the last
/// two dimensions) needs the pad value.
struct BorderFill {
  linalg::GenericOp op;
  int64_t vw, minParallel;
  Value fillValue;               // scalar written
  SmallVector<int64_t> offsets;  // of the interior
  SmallVector<int64_t> sizes;

  LogicalResult match() {
    if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
        op.getNumParallelLoops() != op.getNumLoops())
      return failure();
    Value out = op.getDpsInits()[0];
    auto type = dyn_cast<MemRefType>(out.getType());
    if (!type || type.getRank() < 2 || !contiguousSuffix(type, type.getRank()) ||
        type.getElementTypeBitWidth() < 8 ||
        !op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isIdentity())
      return failure();
    // The body yields a scalar defined above it or a scalar input.
    Block *body = op.getBlock();
    Value yielded = body->getTerminator()->getOperand(0);
    if (auto arg = dyn_cast<BlockArgument>(yielded)) {
      if (arg.getOwner() != body || arg.getArgNumber() >= op.getNumDpsInputs())
        return failure();
      yielded = op.getDpsInputs()[arg.getArgNumber()];
    } else if (Operation *def = yielded.getDefiningOp();
               def && op->isProperAncestor(def)) {
      return failure(); // computed in the body
    }
    if (isa<ShapedType>(yielded.getType()))
      return failure();
    fillValue = yielded;
    // The buffer: this fill, one interior view fully written by a later
    // all-parallel op in this block, deallocs, and readers after that op.
    auto alloc = out.getDefiningOp<memref::AllocOp>();
    if (!alloc)
      return failure();
    memref::SubViewOp interior;
    for (Operation *user : alloc->getUsers()) {
      if (auto view = dyn_cast<memref::SubViewOp>(user)) {
        if (interior)
          return failure();
        interior = view;
      }
    }
    if (!interior || !interior->hasOneUse())
      return failure();
    auto writer = dyn_cast<linalg::LinalgOp>(*interior->getUsers().begin());
    if (!writer || !writer.hasPureBufferSemantics() ||
        writer.getNumDpsInits() != 1 ||
        writer.getDpsInits()[0] != interior.getResult() ||
        writer.getNumParallelLoops() != writer.getNumLoops() ||
        !writer.getMatchingIndexingMap(writer.getDpsInitOperand(0)).isIdentity() ||
        writer.payloadUsesValueFromOperand(writer.getDpsInitOperand(0)) ||
        writer->getBlock() != op->getBlock() || !op->isBeforeInBlock(writer) ||
        llvm::is_contained(writer->getOperands(), out))
      return failure();
    for (Operation *user : alloc->getUsers()) {
      if (user == op || user == interior || isa<memref::DeallocOp>(user))
        continue;
      Operation *inBlock = op->getBlock()->findAncestorOpInBlock(*user);
      if (!inBlock || !writer->isBeforeInBlock(inBlock))
        return failure();
    }
    if (llvm::any_of(interior.getStaticStrides(), [](int64_t s) { return s != 1; }) ||
        llvm::any_of(interior.getStaticOffsets(), ShapedType::isDynamic) ||
        llvm::any_of(interior.getStaticSizes(), ShapedType::isDynamic) ||
        interior.getSourceType().getRank() != type.getRank() ||
        interior.getType().getRank() != type.getRank())
      return failure();
    offsets = llvm::to_vector(interior.getStaticOffsets());
    sizes = llvm::to_vector(interior.getStaticSizes());
    // Padding only in the last two dimensions.
    int64_t rank = type.getRank();
    for (int64_t d = 0; d < rank - 2; ++d)
      if (offsets[d] != 0 || sizes[d] != type.getDimSize(d))
        return failure();
    return success();
  }

  void rewrite() {
    OpBuilder b(op);
    Location loc = op.getLoc();
    Gen g{b, loc, vw};
    Value out = op.getDpsInits()[0];
    auto type = cast<MemRefType>(out.getType());
    int64_t rank = type.getRank();
    int64_t rows = type.getDimSize(rank - 2), cols = type.getDimSize(rank - 1);
    int64_t top = offsets[rank - 2], height = sizes[rank - 2];
    int64_t left = offsets[rank - 1], width = sizes[rank - 1];
    SmallVector<int64_t> outer(type.getShape().drop_back(2));
    bool parallel = product(type.getShape()) >= minParallel && product(outer) > 1;
    SmallVector<Value> ivs = g.openLoops(outer, parallel);
    Value splat = g.broadcast(fillValue);
    // Columns [from, from + count) of `row`.
    auto fillColumns = [&](Value row, int64_t from, int64_t count) {
      for (int64_t c = 0; c < count; c += vw) {
        SmallVector<Value> at(ivs);
        at.push_back(row);
        at.push_back(g.idx(from + c));
        g.store(splat, out, at, std::min(vw, count - c));
      }
    };
    auto rowRange = [&](int64_t from, int64_t to,
                        function_ref<void(Value)> body) {
      if (from < to)
        g.forLoop(g.idx(from), g.idx(to), 1, body);
    };
    rowRange(0, top, [&](Value row) { fillColumns(row, 0, cols); });
    rowRange(top, top + height, [&](Value row) {
      fillColumns(row, 0, left);
      fillColumns(row, left + width, cols - left - width);
    });
    rowRange(top + height, rows, [&](Value row) { fillColumns(row, 0, cols); });
    op.erase();
  }
};

struct VectorizeDensePass
    : public pconv::impl::VectorizeDensePassBase<VectorizeDensePass> {
  using Base::Base;

  void runOnOperation() override {
    if (vectorWidth == 0)
      return;
    int64_t vw = vectorWidth, minPar = minParallelElements;
    // Named elementwise ops become generics, so one lowering covers them.
    IRRewriter rewriter(&getContext());
    SmallVector<linalg::LinalgOp> named;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (isa<linalg::FillOp, linalg::CopyOp, linalg::BroadcastOp,
              linalg::MapOp>(op) &&
          op.hasPureBufferSemantics())
        named.push_back(op);
    });
    for (linalg::LinalgOp op : named) {
      rewriter.setInsertionPoint(op);
      (void)linalg::generalizeNamedOp(rewriter, op);
    }

    // Pad fills first: they look at the interior's writer before that is
    // lowered.
    SmallVector<linalg::GenericOp> generics;
    getOperation().walk([&](linalg::GenericOp op) { generics.push_back(op); });
    for (linalg::GenericOp op : generics) {
      BorderFill fill{op, vw, minPar, {}, {}, {}};
      if (succeeded(fill.match())) {
        fill.rewrite();
        ++numBorderFills;
      }
    }

    SmallVector<Operation *> ops;
    getOperation().walk([&](linalg::LinalgOp op) { ops.push_back(op); });
    for (Operation *op : ops) {
      if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
        ElementwiseVectorizer elementwise{generic, vw, minPar, chunkElements};
        if (succeeded(elementwise.match())) {
          elementwise.rewrite();
          ++numElementwise;
          continue;
        }
        ReductionVectorizer reduction{generic, vw, minPar};
        if (succeeded(reduction.match())) {
          reduction.rewrite();
          ++numReductions;
        }
        continue;
      }
      std::optional<WindowKind> window;
      if (isa<linalg::PoolingNchwMaxOp>(op))
        window = WindowKind::Max;
      else if (isa<linalg::PoolingNchwSumOp>(op))
        window = WindowKind::Sum;
      else if (isa<linalg::DepthwiseConv2DNchwChwOp>(op))
        window = WindowKind::Depthwise;
      if (window) {
        WindowVectorizer lowering{cast<linalg::LinalgOp>(op), *window, vw, minPar};
        if (succeeded(lowering.match())) {
          lowering.rewrite();
          ++(*window == WindowKind::Depthwise ? numDepthwise : numPooling);
        }
        continue;
      }
      if (auto matmul = dyn_cast<linalg::MatmulOp>(op)) {
        MatmulVectorizer lowering{matmul, vw, minPar, {}};
        if (succeeded(lowering.match())) {
          lowering.rewrite();
          ++numMatmuls;
        }
      }
    }
  }
};

} // namespace
