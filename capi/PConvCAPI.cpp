//===- PConvCAPI.cpp - C API of the pconv dialect -------------------------===//

#include "capi/PConvCAPI.h"

#include "dialect/PConvDialect.h"
#include "passes/Passes.h"

#include "mlir/CAPI/IR.h"
#include "mlir/CAPI/Registration.h"

#include <mutex>

using namespace mlir;
using namespace mlir::pconv;

MLIR_DEFINE_CAPI_DIALECT_REGISTRATION(PConv, pconv, PConvDialect)

void pconvRegisterPasses(void) {
  static std::once_flag once;
  std::call_once(once, [] {
    registerPConvPasses();
    registerPConvPipelines();
  });
}

static PatternLibraryAttr library(MlirAttribute attr) {
  return llvm::cast<PatternLibraryAttr>(unwrap(attr));
}

bool pconvAttributeIsAPatternLibrary(MlirAttribute attr) {
  return llvm::isa<PatternLibraryAttr>(unwrap(attr));
}

int64_t pconvPatternLibraryGetKernelDim(MlirAttribute attr, intptr_t dim) {
  return library(attr).getKernelShape()[dim];
}

int64_t pconvPatternLibraryGetTaps(MlirAttribute attr) { return library(attr).getTaps(); }

intptr_t pconvPatternLibraryGetNumPatterns(MlirAttribute attr) {
  return library(attr).getNumPatterns();
}

int64_t pconvPatternLibraryGetPosition(MlirAttribute attr, intptr_t pattern, intptr_t tap) {
  return library(attr).getPattern(pattern)[tap];
}
