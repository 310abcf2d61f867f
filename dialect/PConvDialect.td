//===- PConvDialect.td - The pconv dialect -------------------*- tablegen -*-===//
//
// The pconv dialect models pattern-sparse convolutions: every kernel of a layer
// either keeps one of K library patterns of taps or is pruned whole.
//
//===----------------------------------------------------------------------===//

#ifndef PCONV_DIALECT_PCONVDIALECT_TD
#define PCONV_DIALECT_PCONVDIALECT_TD

include "mlir/IR/OpBase.td"

def PConv_Dialect : Dialect {
  let name = "pconv";
  let cppNamespace = "::mlir::pconv";
  let summary = "Pattern-sparse convolutions (pattern + connectivity pruning).";
  let description = [{
    The `pconv` dialect represents convolutions whose weights were pruned with
    *pattern pruning* (each `kh x kw` kernel keeps the taps of one mask out of a
    small library of K masks) and *connectivity pruning* (whole kernels, i.e.
    input-to-output channel connections, removed). Only the non-zero weights
    are stored, packed filter by filter and kernel by kernel, and a per-kernel
    table of pattern ids says which mask each kernel keeps. Code generation can
    therefore emit straight-line, mask-free code per pattern and skip pruned
    kernels entirely.
  }];
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

class PConv_Op<string mnemonic, list<Trait> traits = []>
    : Op<PConv_Dialect, mnemonic, traits>;

#endif // PCONV_DIALECT_PCONVDIALECT_TD
