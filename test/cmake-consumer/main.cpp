//===- main.cpp - An out-of-tree user of the installed PConv package -----===//
//
// Registers the pconv dialect in its own context, parses a pconv.conv2d,
// reads its pattern library, and lowers it with a pconv pass named in a
// textual pipeline (the pass registration is the package's).
//
//===----------------------------------------------------------------------===//

#include "dialect/PConvOps.h"
#include "passes/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

static const char *kModule = R"mlir(
func.func @conv(%x: tensor<1x2x8x8xf32>, %w: tensor<12xf32>) -> tensor<1x2x8x8xf32> {
  %y = pconv.conv2d %x, %w
         library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5], [3, 4, 5, 7]]>
         kernels dense<[[0, 1], [1, -1]]> : tensor<2x2xi8>
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x2x8x8xf32>, tensor<12xf32>) -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}
)mlir";

static int countConvs(mlir::ModuleOp module) {
  int n = 0;
  module.walk([&](mlir::pconv::Conv2DOp) { ++n; });
  return n;
}

int main() {
  mlir::pconv::registerPConvPasses();
  mlir::DialectRegistry registry;
  registry.insert<mlir::func::FuncDialect, mlir::pconv::PConvDialect>();
  mlir::MLIRContext context(registry);

  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(kModule, &context);
  if (!module)
    return 1;
  module->walk([](mlir::pconv::Conv2DOp op) {
    mlir::pconv::PatternLibraryAttr library = op.getLibrary();
    llvm::outs() << "conv2d: " << library.getNumPatterns() << " patterns of "
                 << library.getTaps() << " taps\n";
  });

  // The text is nested into the module-anchored pass manager.
  auto pm = mlir::PassManager::on<mlir::ModuleOp>(&context);
  if (mlir::failed(mlir::parsePassPipeline("func.func(pconv-lower-to-loops)", pm,
                                           llvm::errs())) ||
      mlir::failed(pm.run(*module)))
    return 2;
  llvm::outs() << "pconv.conv2d after pconv-lower-to-loops: " << countConvs(*module)
               << "\n";
  return countConvs(*module) == 0 ? 0 : 3;
}
