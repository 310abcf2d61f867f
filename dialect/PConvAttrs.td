//===- PConvAttrs.td - pconv attributes ----------------------*- tablegen -*-===//

#ifndef PCONV_DIALECT_PCONVATTRS_TD
#define PCONV_DIALECT_PCONVATTRS_TD

include "dialect/PConvDialect.td"
include "mlir/IR/AttrTypeBase.td"

def PConv_PatternLibraryAttr : AttrDef<PConv_Dialect, "PatternLibrary"> {
  let mnemonic = "patterns";
  let summary = "An ordered library of kernel patterns with equal tap counts";
  let description = [{
    A pattern is a mask over a `kh x kw` kernel that keeps exactly `taps`
    positions, written as the sorted list of kept positions in row-major order
    (`row * kw + col`; the centre of a 3x3 kernel is 4). The id of a pattern is
    its index in the library. The library is verified: every pattern keeps
    `taps` distinct in-range positions, patterns are distinct, and there are at
    most 127 of them (ids fit the `i8` kernel table with -1 as "pruned").

    Example, the library `{centre + up/left/right, centre + down/left/right}`:

    ```mlir
    #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5], [3, 4, 5, 7]]>
    ```

    This is the same encoding as Python's `pconv.patterns.PatternLibrary`.
  }];
  let parameters = (ins
    ArrayRefParameter<"int64_t", "kernel shape (kh, kw)">:$kernelShape,
    "int64_t":$taps,
    ArrayRefParameter<"int64_t", "K x taps kept positions, row-major">:$positions
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Number of patterns K in the library.
    int64_t getNumPatterns() const { return getPositions().size() / getTaps(); }
    /// The kept positions of pattern `id`, sorted, row-major.
    ::llvm::ArrayRef<int64_t> getPattern(int64_t id) const {
      return getPositions().slice(id * getTaps(), getTaps());
    }
    /// kh * kw.
    int64_t getKernelArea() const {
      return getKernelShape()[0] * getKernelShape()[1];
    }
  }];
}

#endif // PCONV_DIALECT_PCONVATTRS_TD
