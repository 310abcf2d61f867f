//===- PConvOps.td - pconv operations ------------------------*- tablegen -*-===//

#ifndef PCONV_DIALECT_PCONVOPS_TD
#define PCONV_DIALECT_PCONVOPS_TD

include "dialect/PConvDialect.td"
include "dialect/PConvAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def PConv_Conv2DOp : PConv_Op<"conv2d", [Pure, AttrSizedOperandSegments]> {
  let summary = "2-D convolution with pattern-sparse, packed weights (NCHW)";
  let description = [{
    Computes `result = conv2d(input, W) + bias` where the dense filter bank `W`
    of shape `F x C x kh x kw` is stored sparsely:

    - `kernel_patterns` is an `F x C` table of `i8` pattern ids into
      `library`; the id `-1` marks a pruned kernel (connection removed).
    - `weights` holds the non-zero weights only: filter by filter, kernel by
      kernel (input channels in increasing order, pruned kernels skipped),
      taps in the pattern's position order. Its length is therefore
      `kept kernels x taps`.

    The input is NCHW with static shape; `padding` is `[top, left, bottom,
    right]` zero padding; `strides` and `dilations` are `[h, w]`. The optional
    `bias` has one value per filter. The optional `residual` (a tensor of the
    result's type) is added to every output before the activation: a residual
    block's `relu(conv(x) + bias + shortcut)` in one op, the sum never stored
    and re-read. With `relu`, the epilogue applies
    `max(x, 0)` to every output before it is stored (fused activation); with
    `relu_max` (positive, and only with `relu`) also `min(x, relu_max)`: a
    clamped ReLU such as ReLU6. With `max_pool [ph, pw]` the result is
    the max over `ph x pw` windows of those activated outputs: a following
    max-pool computed before the store, so the full-resolution map is never
    written (no `residual`, which would apply at the conv's resolution).
    By default the windows do not overlap (stride = window, no padding; the
    conv's output height and width must be multiples of the window);
    `pool_strides [sh, sw]` (at most the window) and `pool_padding [top,
    left, bottom, right]` (each less than the window; padded positions never
    win, as in a pool over a -inf padded map) give overlapping windows such
    as ResNet's 3x3 / 2 pool with padding 1: the result is
    `(H + top + bottom - ph) / sh + 1` rows (floor), likewise columns.

    Example (2 filters, 2 input channels, filter 1 keeps only channel 0):

    ```mlir
    %y = pconv.conv2d %x, %w bias(%b)
           library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5], [3, 4, 5, 7]]>
           kernels dense<[[0, 1], [1, -1]]> : tensor<2x2xi8>
           strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
           : (tensor<1x2x8x8xf32>, tensor<12xf32>, tensor<2xf32>) -> tensor<1x2x8x8xf32>
    ```
  }];
  let arguments = (ins
    4DTensorOf<[F32]>:$input,
    1DTensorOf<[F32]>:$weights,
    Optional<1DTensorOf<[F32]>>:$bias,
    Optional<4DTensorOf<[F32]>>:$residual,
    PConv_PatternLibraryAttr:$library,
    SignlessIntElementsAttr<8>:$kernel_patterns,
    DenseI64ArrayAttr:$strides,
    DenseI64ArrayAttr:$padding,
    DenseI64ArrayAttr:$dilations,
    UnitAttr:$relu,
    OptionalAttr<F32Attr>:$relu_max,
    OptionalAttr<DenseI64ArrayAttr>:$max_pool,
    OptionalAttr<DenseI64ArrayAttr>:$pool_strides,
    OptionalAttr<DenseI64ArrayAttr>:$pool_padding
  );
  let results = (outs 4DTensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $input `,` $weights (`bias` `(` $bias^ `)`)? (`residual` `(` $residual^ `)`)?
    `library` qualified($library)
    `kernels` $kernel_patterns
    `strides` $strides `padding` $padding `dilations` $dilations
    (`relu` $relu^)? (`relu_max` $relu_max^)? (`max_pool` $max_pool^)?
    (`pool_strides` $pool_strides^)? (`pool_padding` $pool_padding^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Number of filters F (output channels).
    int64_t getNumFilters();
    /// Number of input channels C.
    int64_t getNumChannels();
    /// Number of kernels that are not pruned.
    int64_t getNumKeptKernels();
    /// Output shape implied by input shape, kernel shape, strides, padding and
    /// dilations (the convolution's, before a fused `max_pool`); failure if
    /// it is empty or not computable.
    ::mlir::FailureOr<::llvm::SmallVector<int64_t, 4>> inferResultShape();
    /// The fused max-pool window [ph, pw]; [1, 1] without one.
    std::pair<int64_t, int64_t> getPoolWindow() {
      if (auto pool = getMaxPool(); pool && pool->size() == 2)
        return {(*pool)[0], (*pool)[1]};
      return {1, 1};
    }
    /// The fused max-pool's strides [sh, sw]: the window unless
    /// `pool_strides` says otherwise.
    std::pair<int64_t, int64_t> getPoolStride() {
      if (auto st = getPoolStrides(); st && st->size() == 2)
        return {(*st)[0], (*st)[1]};
      return getPoolWindow();
    }
    /// The fused max-pool's padding [top, left, bottom, right]; zeros
    /// without `pool_padding`.
    ::llvm::SmallVector<int64_t, 4> getPoolPads() {
      if (auto pad = getPoolPadding(); pad && pad->size() == 4)
        return ::llvm::SmallVector<int64_t, 4>(*pad);
      return {0, 0, 0, 0};
    }
    /// Whether the fused max-pool (if any) has non-overlapping windows that
    /// tile the conv's output: stride = window, no padding.
    bool hasTiledPool() {
      return getPoolStride() == getPoolWindow() &&
             ::llvm::all_of(getPoolPads(), [](int64_t p) { return p == 0; });
    }
  }];
}

#endif // PCONV_DIALECT_PCONVOPS_TD
