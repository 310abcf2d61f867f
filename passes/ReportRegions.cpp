//===- ReportRegions.cpp - Name the parallel regions of a function --------===//
//
// One remark per outermost omp.parallel, in program order (the order the
// function forks them), at the op's location: the source op it was lowered
// from (a line of the linalg module the Python driver compiled). The driver
// records them in the artifact, and benchmarks.regions, which times regions
// by the outlined function libomp is handed, names each region by the op it
// came from instead of "forward..omp_par.N".
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/OpenMP/OpenMPDialect.h"

namespace mlir {
namespace pconv {
#define GEN_PASS_DEF_REPORTREGIONSPASS
#include "passes/Passes.h.inc"
} // namespace pconv
} // namespace mlir

using namespace mlir;
using namespace mlir::pconv;

namespace {

struct ReportRegionsPass
    : public pconv::impl::ReportRegionsPassBase<ReportRegionsPass> {
  void runOnOperation() override {
    int64_t index = 0;
    getOperation().walk<WalkOrder::PreOrder>([&](omp::ParallelOp region) {
      int64_t fmas = 0;
      region.walk([&](vector::FMAOp) { ++fmas; });
      region.emitRemark() << "parallel region " << index++ << ": " << fmas
                          << " vector FMAs";
      ++numRegions;
      // Nested regions run inside this one's fork: not reported.
      return WalkResult::skip();
    });
  }
};

} // namespace
