/*===- PConvCAPI.h - C API of the pconv dialect ---------------*- C -*-===*\
|*                                                                        *|
|* The pconv dialect and passes through MLIR's C API conventions, for     *|
|* the Python bindings (python/pconv/dialect.py) and other C clients:     *|
|* the dialect handle, pass registration, and the #pconv.patterns         *|
|* attribute's accessors.                                                 *|
\*===----------------------------------------------------------------------===*/

#ifndef PCONV_CAPI_PCONVCAPI_H
#define PCONV_CAPI_PCONVCAPI_H

#include "mlir-c/IR.h"
#include "mlir-c/Support.h"

#ifdef __cplusplus
extern "C" {
#endif

/* mlirGetDialectHandle__pconv__(): register or load with
 * mlirDialectHandleRegisterDialect / mlirDialectHandleLoadDialect. */
MLIR_DECLARE_CAPI_DIALECT_REGISTRATION(PConv, pconv);

/* Registers every pconv pass and the pconv-to-llvm pipeline in the global
 * pass registry (idempotent), so textual pipelines can name them. */
MLIR_CAPI_EXPORTED void pconvRegisterPasses(void);

/* #pconv.patterns<KHxKW, taps = T, [[...], ...]> */
MLIR_CAPI_EXPORTED bool pconvAttributeIsAPatternLibrary(MlirAttribute attr);
MLIR_CAPI_EXPORTED int64_t pconvPatternLibraryGetKernelDim(MlirAttribute attr, intptr_t dim);
MLIR_CAPI_EXPORTED int64_t pconvPatternLibraryGetTaps(MlirAttribute attr);
MLIR_CAPI_EXPORTED intptr_t pconvPatternLibraryGetNumPatterns(MlirAttribute attr);
/* Kept position `tap` (row-major, sorted) of pattern `pattern`. */
MLIR_CAPI_EXPORTED int64_t pconvPatternLibraryGetPosition(MlirAttribute attr, intptr_t pattern,
                                                          intptr_t tap);

#ifdef __cplusplus
}
#endif

#endif /* PCONV_CAPI_PCONVCAPI_H */
