//===- PConvPlugin.cpp - pconv as an mlir-opt dialect + pass plugin -------===//
//
// Loaded by an upstream `mlir-opt` (the 22.1.8 of the pinned wheels, or any
// MLIR tool built from the same libMLIR.so) with
//   mlir-opt --load-dialect-plugin=PConvPlugin.so \
//            --load-pass-plugin=PConvPlugin.so ...
// The dialect entry point adds the pconv dialect to the tool's registry; the
// pass entry point registers every pconv pass and the `pconv-to-llvm`
// pipeline into the global pass registry.
//
// The plugin links the shared libMLIR.so, as mlir-opt does, so both see the
// same registries and TypeIDs; it carries only PConv's own code.
//
//===----------------------------------------------------------------------===//

#include "dialect/PConvDialect.h"
#include "passes/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/Plugins/DialectPlugin.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/Compiler.h"

extern "C" LLVM_ATTRIBUTE_WEAK ::mlir::DialectPluginLibraryInfo
mlirGetDialectPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "PConv", LLVM_VERSION_STRING,
          [](mlir::DialectRegistry *registry) {
            registry->insert<mlir::pconv::PConvDialect>();
          }};
}

extern "C" LLVM_ATTRIBUTE_WEAK ::mlir::PassPluginLibraryInfo
mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "PConv", LLVM_VERSION_STRING, []() {
            mlir::pconv::registerPConvPasses();
            mlir::pconv::registerPConvPipelines();
          }};
}
