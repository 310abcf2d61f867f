//===- StealTasks.cpp - Parallel loops as static shares with stealing -----===//
//
// `convert-scf-to-openmp` gives every outermost `scf.parallel` a static
// schedule: one contiguous share per thread, fast while every core runs, and
// as slow as the slowest thread when one core is shared (a neighbour's
// process, a hypervisor's other guest). libomp's dynamic schedules rebalance
// but cost about 4 us per loop in dispatch bookkeeping (measured: 7-10% of
// pruned MobileNet-V2 at 2 threads even with two chunks per loop). This pass
// keeps the static shares and their order but claims tasks from them with
// one atomic add on a per-worker counter, so a thread that finishes its
// share takes the remaining tasks of the others' (front first). The
// workers are the threads of one `omp.parallel` team, numbered by
// omp_get_thread_num(), without a worksharing loop. It cannot
// help a region whose closing barrier waits for a descheduled thread
// (docs/rationale.md has the measurements, quiet and shared).
//
//===----------------------------------------------------------------------===//

#include "passes/LoweringUtils.h"
#include "passes/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/IR/IRMapping.h"

namespace mlir {
namespace pconv {
#define GEN_PASS_DEF_STEALTASKSPASS
#include "passes/Passes.h.inc"
} // namespace pconv
} // namespace mlir

using namespace mlir;
using mlir::pconv::cIdx;

namespace {

/// i64 slots between two workers' counters: one 64-byte cache line each.
constexpr int64_t kCounterStride = 8;
/// A claim takes max(1, tasks / (workers * kGrabsPerShare)) tasks.
constexpr int64_t kGrabsPerShare = 16;

bool isCandidate(scf::ParallelOp loop) {
  if (loop->getParentOfType<scf::ParallelOp>() || loop.getNumReductions() != 0)
    return false;
  // Nested parallel loops would become nested parallel regions; leave such a
  // loop to the upstream conversion as it is.
  bool nested = false;
  loop.getBody()->walk([&](scf::ParallelOp) { nested = true; });
  if (nested)
    return false;
  // A single task has nothing to steal.
  int64_t tasks = 1;
  for (auto [lb, ub, step] : llvm::zip(loop.getLowerBound(),
                                       loop.getUpperBound(), loop.getStep())) {
    std::optional<int64_t> l = getConstantIntValue(lb),
                           u = getConstantIntValue(ub),
                           s = getConstantIntValue(step);
    if (!l || !u || !s || *s <= 0)
      return true;
    tasks *= llvm::divideCeil(std::max<int64_t>(*u - *l, 0), *s);
  }
  return tasks > 1;
}

struct StealTasksPass
    : public pconv::impl::StealTasksPassBase<StealTasksPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    LLVM::LLVMFuncOp maxThreadsFn, threadNumFn;
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal() || !func.getBody().hasOneBlock())
        continue;
      SmallVector<scf::ParallelOp> loops;
      func.walk([&](scf::ParallelOp loop) {
        if (isCandidate(loop))
          loops.push_back(loop);
      });
      if (loops.empty())
        continue;
      if (numThreads == 0 && !maxThreadsFn) {
        maxThreadsFn = declareRuntimeI32(module, "omp_get_max_threads");
        if (!maxThreadsFn)
          return signalPassFailure();
      }
      if (!threadNumFn) {
        threadNumFn = declareRuntimeI32(module, "omp_get_thread_num");
        if (!threadNumFn)
          return signalPassFailure();
      }
      Value counters, workers;
      std::tie(counters, workers) = createCounters(func, maxThreadsFn);
      for (scf::ParallelOp loop : loops)
        rewrite(loop, counters, workers, threadNumFn);
      numLoops += loops.size();
    }
  }

private:
  /// The OpenMP runtime's `i32 name()` (omp_get_max_threads,
  /// omp_get_thread_num), declared once. An LLVM declaration, not
  /// func.func: the pipeline requests C wrappers for every func.func, and a
  /// call would then go to a wrapper libomp does not have.
  LLVM::LLVMFuncOp declareRuntimeI32(ModuleOp module, StringRef name) {
    if (Operation *sym = module.lookupSymbol(name)) {
      auto fn = dyn_cast<LLVM::LLVMFuncOp>(sym);
      if (!fn || fn.getFunctionType() !=
                     LLVM::LLVMFunctionType::get(
                         IntegerType::get(module.getContext(), 32), {})) {
        sym->emitError() << "'" << name
                         << "' is taken by another symbol; pconv-steal-tasks "
                            "needs it as the OpenMP runtime's i32 () function"
                         << (name == "omp_get_max_threads"
                                 ? " (or pass num-threads=N)"
                                 : "");
        return nullptr;
      }
      return fn;
    }
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    return LLVM::LLVMFuncOp::create(
        b, module.getLoc(), name,
        LLVM::LLVMFunctionType::get(b.getI32Type(), {}));
  }

  /// The worker count (the threads a parallel region gets: the pipeline's
  /// thread count, else the runtime's) and one cache line of counters per
  /// worker, on the stack of the function's entry block.
  std::pair<Value, Value> createCounters(func::FuncOp func,
                                         LLVM::LLVMFuncOp maxThreadsFn) {
    Location loc = func.getLoc();
    OpBuilder b = OpBuilder::atBlockBegin(&func.getBody().front());
    Value workers;
    if (numThreads > 0) {
      workers = cIdx(b, loc, numThreads);
    } else {
      Value n = LLVM::CallOp::create(b, loc, maxThreadsFn, ValueRange{}).getResult();
      workers = arith::IndexCastOp::create(b, loc, b.getIndexType(), n);
      workers = arith::MaxSIOp::create(b, loc, workers, cIdx(b, loc, 1));
    }
    Value slots =
        arith::MulIOp::create(b, loc, workers, cIdx(b, loc, kCounterStride));
    auto type = MemRefType::get({ShapedType::kDynamic}, b.getI64Type());
    Value counters = memref::AllocaOp::create(b, loc, type, ValueRange{slots},
                                              b.getI64IntegerAttr(64));
    return {counters, workers};
  }

  /// Worker w's share of `tasks`: [w * tasks / workers, (w + 1) * tasks / workers).
  static Value shareStart(OpBuilder &b, Location loc, Value w, Value tasks,
                          Value workers) {
    return arith::DivUIOp::create(b, loc,
                                  arith::MulIOp::create(b, loc, w, tasks),
                                  workers);
  }

  void rewrite(scf::ParallelOp loop, Value counters, Value workers,
               LLVM::LLVMFuncOp threadNumFn) {
    OpBuilder b(loop);
    Location loc = loop.getLoc();
    auto idx = [&](int64_t v) { return cIdx(b, loc, v); };
    Value zero = idx(0), one = idx(1), stride = idx(kCounterStride);

    // Tasks: the iteration space, linearized (last dimension fastest).
    SmallVector<Value> extents;
    Value tasks = one;
    for (auto [lb, ub, step] : llvm::zip(loop.getLowerBound(),
                                         loop.getUpperBound(), loop.getStep())) {
      // An empty dimension (ub <= lb) has no tasks.
      Value span = arith::MaxSIOp::create(
          b, loc, arith::SubIOp::create(b, loc, ub, lb), zero);
      Value n = arith::CeilDivUIOp::create(b, loc, span, step);
      extents.push_back(n);
      tasks = arith::MulIOp::create(b, loc, tasks, n);
    }
    Value grab = arith::MaxUIOp::create(
        b, loc, one,
        arith::DivUIOp::create(
            b, loc, tasks,
            arith::MulIOp::create(b, loc, workers, idx(kGrabsPerShare))));
    Value grab64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), grab);

    // Every worker's counter starts at its share's first task.
    scf::ForOp::create(
        b, loc, zero, workers, one, ValueRange{},
        [&](OpBuilder &fb, Location fl, Value w, ValueRange) {
          Value start = arith::IndexCastOp::create(
              fb, fl, fb.getI64Type(), shareStart(fb, fl, w, tasks, workers));
          Value slot = arith::MulIOp::create(fb, fl, w, stride);
          memref::StoreOp::create(fb, fl, start, counters, slot);
          scf::YieldOp::create(fb, fl);
        });

    bool hasAllocas = false;
    loop.getBody()->walk([&](memref::AllocaOp) { hasAllocas = true; });

    // One OpenMP team, worker w = the thread's number: its own share first,
    // then the others' in turn. An `omp.parallel` directly, not an
    // scf.parallel over the workers: convert-scf-to-openmp would make that
    // a worksharing loop, one __kmpc_for_static_init / _fini pair per
    // thread (Debian's libomp formats a debug string in each) and a barrier
    // before the region's own closing one.
    omp::ParallelOperands clauses;
    if (numThreads > 0)
      clauses.numThreads = LLVM::ConstantOp::create(
          b, loc, b.getI32Type(), b.getI32IntegerAttr(numThreads));
    auto team = omp::ParallelOp::create(b, loc, clauses);
    OpBuilder wb = OpBuilder::atBlockBegin(&team.getRegion().emplaceBlock());
    Value w = arith::IndexCastOp::create(
        wb, loc, wb.getIndexType(),
        LLVM::CallOp::create(wb, loc, threadNumFn, ValueRange{}).getResult());
    wb.setInsertionPoint(omp::TerminatorOp::create(wb, loc));
    scf::ForOp::create(
        wb, loc, zero, workers, one, ValueRange{},
        [&](OpBuilder &kb, Location kl, Value k, ValueRange) {
          Value v = arith::RemUIOp::create(
              kb, kl, arith::AddIOp::create(kb, kl, w, k), workers);
          Value end = shareStart(kb, kl, arith::AddIOp::create(kb, kl, v, one),
                                 tasks, workers);
          Value slot = arith::MulIOp::create(kb, kl, v, stride);
          auto claim = scf::WhileOp::create(kb, kl, TypeRange{kb.getIndexType()},
                                            ValueRange{});
          {
            Block *before = kb.createBlock(&claim.getBefore());
            OpBuilder cb = OpBuilder::atBlockBegin(before);
            Value first = memref::AtomicRMWOp::create(
                cb, kl, arith::AtomicRMWKind::addi, grab64, counters,
                ValueRange{slot});
            first = arith::IndexCastOp::create(cb, kl, cb.getIndexType(), first);
            Value more = arith::CmpIOp::create(cb, kl, arith::CmpIPredicate::ult,
                                               first, end);
            scf::ConditionOp::create(cb, kl, more, ValueRange{first});
          }
          {
            Block *after = kb.createBlock(&claim.getAfter(), {},
                                          {kb.getIndexType()}, {kl});
            OpBuilder ab = OpBuilder::atBlockBegin(after);
            Value first = after->getArgument(0);
            Value last = arith::MinUIOp::create(
                ab, kl, arith::AddIOp::create(ab, kl, first, grab), end);
            scf::ForOp::create(
                ab, kl, first, last, one, ValueRange{},
                [&](OpBuilder &tb, Location tl, Value task, ValueRange) {
                  if (hasAllocas) {
                    // Per task, as the OpenMP conversion scopes a loop body.
                    auto scope = memref::AllocaScopeOp::create(tb, tl, TypeRange{});
                    Block *body = &scope.getBodyRegion().emplaceBlock();
                    OpBuilder sb = OpBuilder::atBlockBegin(body);
                    cloneBody(sb, tl, loop, task, extents);
                    memref::AllocaScopeReturnOp::create(sb, tl);
                  } else {
                    cloneBody(tb, tl, loop, task, extents);
                  }
                  scf::YieldOp::create(tb, tl);
                });
            scf::YieldOp::create(ab, kl);
          }
          kb.setInsertionPointAfter(claim);
          scf::YieldOp::create(kb, kl);
        });
    loop.erase();
  }

  /// The loop's body for linear task index `task`.
  static void cloneBody(OpBuilder &b, Location loc, scf::ParallelOp loop,
                        Value task, ArrayRef<Value> extents) {
    IRMapping map;
    Value rest = task;
    for (int64_t d = extents.size() - 1; d >= 0; --d) {
      Value i = rest;
      if (d > 0) {
        i = arith::RemUIOp::create(b, loc, rest, extents[d]);
        rest = arith::DivUIOp::create(b, loc, rest, extents[d]);
      }
      Value iv = arith::AddIOp::create(
          b, loc, loop.getLowerBound()[d],
          arith::MulIOp::create(b, loc, i, loop.getStep()[d]));
      map.map(loop.getInductionVars()[d], iv);
    }
    for (Operation &op : loop.getBody()->without_terminator())
      b.clone(op, map);
  }
};

} // namespace
