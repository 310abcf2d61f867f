//===- SparseLinear.cpp - Block-sparse linear layers ----------------------===//
//
// A linear layer at batch 1 is a matrix-vector product that streams its
// weight matrix from memory once per inference: VGG-16's first classifier
// layer alone is 411 MB of weights read per image. When the weights are
// block-sparse (rows cut into blocks of `block` consecutive inputs, whole
// blocks pruned: `pconv.prune.prune_linear`), only the kept blocks are
// stored and read: a CSR table of blocks per output row, each block one
// vector load and one FMA against the matching input vector, a reduction
// per output at the end. Off by default (pruning linear layers is a separate
// accuracy trade-off); the pass only takes products whose constant weights
// leave at least `min-sparsity` of the blocks empty.
//
// Matches torch-mlir's nn.Linear form on tensors: linalg.matmul(A,
// linalg.transpose(W)) with W an f32 constant (N x K), and lowers it to
// loops on buffers that re-enter as `to_tensor restrict`, like the conv
// lowerings; the dense W and its transpose become dead.
//
//===----------------------------------------------------------------------===//

#include "passes/LoweringUtils.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir {
namespace pconv {
#define GEN_PASS_DEF_SPARSELINEARPASS
#include "passes/Passes.h.inc"
} // namespace pconv
} // namespace mlir

using namespace mlir;
using namespace mlir::pconv;

namespace {

/// W (N x K) as kept blocks of `block` columns: rowPtr[N + 1] into
/// column[] (first column of each block) and values[] (`block` floats per
/// block, zero-padded past K).
struct BlockRows {
  SmallVector<int32_t> rowPtr, column;
  std::vector<float> values;

  static BlockRows build(ArrayRef<float> w, int64_t n, int64_t k,
                         int64_t block) {
    BlockRows t;
    t.rowPtr.push_back(0);
    for (int64_t row = 0; row < n; ++row) {
      for (int64_t c0 = 0; c0 < k; c0 += block) {
        int64_t len = std::min(block, k - c0);
        ArrayRef<float> blk = w.slice(row * k + c0, len);
        if (llvm::all_of(blk, [](float v) { return v == 0.0f; }))
          continue;
        t.column.push_back(int32_t(c0));
        t.values.insert(t.values.end(), blk.begin(), blk.end());
        t.values.resize(t.values.size() + (block - len), 0.0f);
      }
      t.rowPtr.push_back(int32_t(t.column.size()));
    }
    return t;
  }
};

struct SparseLinearPass
    : public pconv::impl::SparseLinearPassBase<SparseLinearPass> {
  using SparseLinearPassBase::SparseLinearPassBase;

  void runOnOperation() override {
    if (block == 0 || minSparsity < 0.0 || minSparsity > 1.0) {
      getOperation().emitError("pconv-sparse-linear: block must be positive "
                               "and min-sparsity in [0, 1]");
      return signalPassFailure();
    }
    SmallVector<linalg::MatmulOp> matmuls;
    getOperation().walk([&](linalg::MatmulOp op) { matmuls.push_back(op); });
    for (linalg::MatmulOp op : matmuls)
      if (failed(rewrite(op)))
        return signalPassFailure();
  }

  LogicalResult rewrite(linalg::MatmulOp op) {
    if (!op.hasPureTensorSemantics() || op.hasUserDefinedMaps())
      return success();
    auto transpose =
        op.getDpsInputs()[1].getDefiningOp<linalg::TransposeOp>();
    if (!transpose || transpose.getPermutation() != ArrayRef<int64_t>{1, 0})
      return success();
    auto aType = cast<RankedTensorType>(op.getDpsInputs()[0].getType());
    auto cType = cast<RankedTensorType>(op.getResult(0).getType());
    auto wType = cast<RankedTensorType>(transpose.getInput().getType());
    if (!aType.hasStaticShape() || !cType.hasStaticShape() ||
        !aType.getElementType().isF32() || !cType.getElementType().isF32())
      return success();
    std::string why;
    FailureOr<std::vector<float>> w =
        readConstantF32(transpose.getInput(), why);
    if (failed(w))
      return success(); // not constant weights: the dense path's
    int64_t m = cType.getDimSize(0), n = wType.getDimSize(0),
            k = wType.getDimSize(1), B = block;
    BlockRows table = BlockRows::build(*w, n, k, B);
    int64_t blocksPerRow = llvm::divideCeil(k, B);
    double sparsity =
        1.0 - double(table.column.size()) / double(n * blocksPerRow);
    if (sparsity < minSparsity) {
      if (remarks)
        op.emitRemark() << "stays dense: " << int64_t(sparsity * 100.0)
                        << "% of the " << B
                        << "-wide weight blocks are empty";
      return success();
    }

    OpBuilder b(op);
    Location loc = op.getLoc();
    Type f32 = b.getF32Type();
    auto vecType = VectorType::get({B}, f32);
    Value a = toReadOnlyBuffer(b, loc, op.getDpsInputs()[0]);
    Value init = toReadOnlyBuffer(b, loc, op.getDpsInits()[0]);
    Value rowPtr = createI32Table(b, loc, table.rowPtr);
    Value column = createI32Table(b, loc, table.column);
    if (table.values.empty())
      table.values.assign(B, 0.0f); // never read
    Value values = toReadOnlyBuffer(b, loc, createF32Constant(b, loc, table.values));
    Value out = memref::AllocOp::create(
        b, loc, MemRefType::get(cType.getShape(), f32), b.getI64IntegerAttr(64));
    Value c0 = cIdx(b, loc, 0), c1 = cIdx(b, loc, 1);
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
    Value zeroVec = vector::BroadcastOp::create(b, loc, vecType, zero);
    // The last block of a row may run past K: its input lanes are masked.
    Value tailMask;
    if (k % B)
      tailMask = vector::CreateMaskOp::create(
          b, loc, VectorType::get({B}, b.getI1Type()),
          ValueRange{cIdx(b, loc, k % B)});

    // Parallel over chunks of output rows (each row's blocks contiguous).
    int64_t chunk = std::max<int64_t>(1, llvm::divideCeil(n, 64));
    scf::ParallelOp::create(
        b, loc, ValueRange{c0}, ValueRange{cIdx(b, loc, llvm::divideCeil(n, chunk))},
        ValueRange{c1}, [&](OpBuilder &b, Location loc, ValueRange ivs) {
          Value first = arith::MulIOp::create(b, loc, ivs[0], cIdx(b, loc, chunk));
          Value last = arith::MinUIOp::create(
              b, loc, arith::AddIOp::create(b, loc, first, cIdx(b, loc, chunk)),
              cIdx(b, loc, n));
          scf::ForOp::create(
              b, loc, first, last, c1, ValueRange{},
              [&](OpBuilder &b, Location loc, Value row, ValueRange) {
                Value begin = loadIndex(b, loc, rowPtr, row);
                Value end = loadIndex(
                    b, loc, rowPtr, arith::AddIOp::create(b, loc, row, c1));
                for (int64_t i = 0; i < m; ++i) {
                  Value mi = cIdx(b, loc, i);
                  auto blocks = scf::ForOp::create(
                      b, loc, begin, end, c1, ValueRange{zeroVec},
                      [&](OpBuilder &b, Location loc, Value e, ValueRange acc) {
                        Value col = loadIndex(b, loc, column, e);
                        Value wv = vector::LoadOp::create(
                            b, loc, vecType, values,
                            ValueRange{arith::MulIOp::create(
                                b, loc, e, cIdx(b, loc, B))});
                        Value av;
                        if (tailMask) {
                          // Only the row's last block can be partial.
                          Value mask = arith::SelectOp::create(
                              b, loc,
                              arith::CmpIOp::create(
                                  b, loc, arith::CmpIPredicate::eq, col,
                                  cIdx(b, loc, (k / B) * B)),
                              tailMask,
                              arith::ConstantOp::create(
                                  b, loc,
                                  DenseElementsAttr::get(
                                      cast<ShapedType>(tailMask.getType()),
                                      true)));
                          av = vector::MaskedLoadOp::create(
                              b, loc, vecType, a, ValueRange{mi, col}, mask,
                              zeroVec);
                        } else {
                          av = vector::LoadOp::create(b, loc, vecType, a,
                                                      ValueRange{mi, col});
                        }
                        scf::YieldOp::create(
                            b, loc,
                            ValueRange{vector::FMAOp::create(b, loc, av, wv,
                                                             acc[0])});
                      });
                  Value c = memref::LoadOp::create(b, loc, init,
                                                   ValueRange{mi, row});
                  Value sum = vector::ReductionOp::create(
                      b, loc, vector::CombiningKind::ADD,
                      blocks.getResult(0), c, arith::FastMathFlags::reassoc);
                  memref::StoreOp::create(b, loc, sum, out, ValueRange{mi, row});
                }
                scf::YieldOp::create(b, loc);
              });
        });
    Value result = bufferization::ToTensorOp::create(
        b, loc, cType, out, /*restrict=*/true, /*writable=*/true);
    if (remarks)
      op.emitRemark() << "block-sparse: " << table.column.size() << " of "
                      << n * blocksPerRow << " " << B
                      << "-wide weight blocks kept";
    op.getResult(0).replaceAllUsesWith(result);
    op.erase();
    if (transpose->use_empty())
      transpose.erase();
    ++numSparse;
    numKeptBlocks += table.column.size();
    return success();
  }
};

} // namespace
