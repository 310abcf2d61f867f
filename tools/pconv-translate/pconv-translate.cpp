//===- pconv-translate.cpp - LLVM dialect -> LLVM bitcode -----------------===//
//
// Translates a module in the LLVM dialect (text or bytecode) to LLVM
// *bitcode*. mlir-translate only writes textual LLVM IR, in which a model's
// weights become gigabytes of decimal floats; bitcode keeps them binary.
//
//===----------------------------------------------------------------------===//

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/InitAllDialects.h"

#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;

static llvm::cl::opt<std::string> inputFilename(llvm::cl::Positional,
                                                llvm::cl::desc("<input>"),
                                                llvm::cl::init("-"));
static llvm::cl::opt<std::string>
    outputFilename("o", llvm::cl::desc("Output bitcode file"),
                   llvm::cl::value_desc("filename"), llvm::cl::init("-"));
static llvm::cl::opt<std::string>
    targetTriple("target", llvm::cl::desc("Target triple to record"),
                 llvm::cl::init(""));

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  llvm::cl::ParseCommandLineOptions(argc, argv,
                                    "PConv LLVM-dialect -> bitcode translator\n");

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllToLLVMIRTranslations(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();

  std::string error;
  auto file = openInputFile(inputFilename, &error);
  if (!file) {
    llvm::errs() << "pconv-translate: " << error << "\n";
    return 1;
  }
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;

  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(*module, llvmContext);
  if (!llvmModule) {
    llvm::errs() << "pconv-translate: translation to LLVM IR failed\n";
    return 1;
  }
  if (!targetTriple.empty())
    llvmModule->setTargetTriple(llvm::Triple(targetTriple));

  auto output = openOutputFile(outputFilename, &error);
  if (!output) {
    llvm::errs() << "pconv-translate: " << error << "\n";
    return 1;
  }
  llvm::WriteBitcodeToFile(*llvmModule, output->os());
  output->keep();
  return 0;
}
