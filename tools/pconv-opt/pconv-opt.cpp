//===- pconv-opt.cpp - The PConv optimizer driver -------------------------===//
//
// mlir-opt with the pconv dialect and passes registered on top of every
// upstream dialect and pass, so that any pipeline stage can be run alone.
//
//===----------------------------------------------------------------------===//

#include "dialect/PConvDialect.h"
#include "passes/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::pconv::registerPConvPasses();
  mlir::pconv::registerPConvPipelines();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  registry.insert<mlir::pconv::PConvDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "PConv optimizer driver\n", registry));
}
