//===- LowerToVectors.cpp - Vectorized lowering of pconv.conv2d -----------===//
//
// Output-stationary, register-blocked vector code for pattern convs (any
// stride, through a column-phase-split padded input):
// a tile of R rows x V vectors of one filter lives in registers while all the
// filter's kept kernels are applied, pattern by pattern, with straight-line
// taps and each input vector loaded once per kernel (load-redundancy
// elimination).
//
//===----------------------------------------------------------------------===//

#include "dialect/PConvOps.h"
#include "passes/Passes.h"
#include "passes/LoweringUtils.h"

#include "llvm/ADT/DenseMap.h"

#include <functional>
#include <limits>
#include <set>

namespace mlir {
namespace pconv {
#define GEN_PASS_DEF_LOWERTOVECTORSPASS
#include "passes/Passes.h.inc"
} // namespace pconv
} // namespace mlir

using namespace mlir;
using namespace mlir::pconv;

namespace {

/// The input a tile's taps read, laid out so that the taps of `vw`
/// consecutive outputs are one contiguous vector:
/// buffer[n][c][inRow][copy][col], see tapColumn. Tap loads need no bounds
/// checks except in the flat form (`masked`), which reads the input itself.
struct TapSource {
  Value buffer;
  /// Where tap column offset dx lives: (index of dimension 3, columns).
  std::function<std::pair<int64_t, int64_t>(int64_t)> tapColumn;
  bool masked = false;
  /// The pitched flat form: input rows are `rowPitch` columns of one flat
  /// row (tap row dy reads dy * rowPitch columns further); at stride
  /// `phases` > 1 one such row per phase plane (createFlatPaddedCopy): tap
  /// (dy, dx) reads plane (dy % phases, dx % phases) (dy / phases) *
  /// rowPitch + dx / phases columns further.
  int64_t rowPitch = 0, phases = 1;
  /// Pitched form: where the flat grid starts in its row (pitchedBase).
  int64_t base = 0;
  /// The direct form: `buffer` is the unpadded N x C x H x W input itself,
  /// read with masked loads (lanes in the padding are zeros), at stride 2
  /// two loads deinterleaved; no copy. For convs whose filters keep at most
  /// one kernel (depthwise): there a copy costs as much as the conv.
  bool direct = false;
  int64_t top = 0, left = 0, height = 0, width = 0, stride = 1;
  /// Tap vectors that straddle two aligned vectors of the padded copy are
  /// assembled from those two with a lane shuffle instead of one unaligned
  /// load (`aligned-loads`). The upper vector stays inside the copy: padded
  /// rows are whole vectors past the widest tap, and the pitched flat row
  /// gets one vector of slack.
  bool alignedShifts = false;
  /// With alignedShifts at stride 1: the straddling vectors of odd (input
  /// row + tile vector) are unaligned loads instead (`mixed-shifts`).
  bool mixedShifts = false;

  /// The row form: a zero-padded copy read row by row (neither the direct,
  /// the flat nor the pitched form).
  bool rowForm() const { return !direct && !masked && !rowPitch; }

  /// Direct form: the vector of taps at column shift dx for tile vector v of
  /// a tile starting at output column col0, from padded-input row inRow.
  /// Without `checkRows` the caller guarantees that inRow is inside the
  /// input (not a padding row).
  Value loadDirect(OpBuilder &b, Location loc, Value zeroVec, Value batch,
                   Value channel, Value inRow, Value col0, int64_t dx,
                   int64_t v, bool checkRows) const {
    auto vecType = cast<VectorType>(zeroVec.getType());
    int64_t vw = vecType.getDimSize(0);
    auto idx = [&](int64_t c) { return cIdx(b, loc, c); };
    using P = arith::CmpIPredicate;
    Value row = arith::SubIOp::create(b, loc, inRow, idx(top));
    Value rowOk;
    if (checkRows) {
      rowOk = arith::AndIOp::create(
          b, loc, arith::CmpIOp::create(b, loc, P::sge, row, idx(0)),
          arith::CmpIOp::create(b, loc, P::slt, row, idx(height)));
      row = arith::SelectOp::create(b, loc, rowOk, row, idx(0));
    }
    // Output column c reads input column c * stride + dx - left.
    Value x = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, col0, idx(stride)),
        idx(v * vw * stride + dx - left));
    if (stride == 2)
      return loadDeinterleaved(b, loc, buffer, batch, channel, row, x, zeroVec,
                               false, rowOk)[0];
    // The vw columns from x: lanes l with 0 <= x + l < width (none in a
    // padding row); x may be negative, masked-off lanes are never read.
    // Without row checks the mask of a vector inside the row folds away.
    Value mask = createColumnMask(b, loc, vw, x, width, rowOk);
    return vector::MaskedLoadOp::create(b, loc, vecType, buffer,
                                        ValueRange{batch, channel, row, x},
                                        mask, zeroVec);
  }

  /// Direct form: whether input rows [first, first + rows) of the padded
  /// coordinates are all rows of the input (none in the padding); at
  /// compile time, and as IR for a row known at run time.
  bool rowsInside(int64_t first, int64_t rows) const {
    return first >= top && first + rows <= top + height;
  }
  Value rowsInside(OpBuilder &b, Location loc, Value inRow0,
                   int64_t rows) const {
    using P = arith::CmpIPredicate;
    return arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, P::sge, inRow0, cIdx(b, loc, top)),
        arith::CmpIOp::create(
            b, loc, P::sle,
            arith::AddIOp::create(b, loc, inRow0, cIdx(b, loc, rows)),
            cIdx(b, loc, top + height)));
  }
};

/// The zero-padded input copy of a stride-1 conv in its row form (neither
/// pitched nor flat nor direct, no shifted copies): N x C x hp x wp, the
/// input at (top, left); rows for whole row blocks, whole vectors past the
/// widest tap.
struct PaddedGeometry {
  int64_t hp = 0, wp = 0, top = 0, left = 0;
};
static PaddedGeometry rowPaddedGeometry(const ConvShape &s,
                                        const TileShape &tile) {
  PaddedGeometry g;
  ArrayRef<int64_t> pad = s.padding, dil = s.dilations;
  g.hp = std::max(s.height + pad[0] + pad[2],
                  (tile.rowBlocks * tile.rows - 1) * s.strides[0] +
                      (s.kernelHeight - 1) * dil[0] + 1);
  g.wp = paddedPhaseWidth(s, tile);
  g.top = pad[0];
  g.left = pad[1];
  return g;
}

/// Where the pitched flat grid of a stride-1 conv starts in its row: the
/// offset in [0, vw) that puts the most of the library's taps on aligned
/// vectors. Tap (dy, dx) of output vector v reads the grid at v * vw + dy *
/// pitch + dx, a lane shuffle of two aligned vectors unless that is a
/// multiple of vw. Pattern libraries keep the centre in every pattern, so
/// the base aligns the centre tap.
static int64_t pitchedBase(Conv2DOp op, const ConvShape &s, int64_t pitch,
                           int64_t vw) {
  PatternLibraryAttr library = op.getLibrary();
  int64_t kw = library.getKernelShape()[1];
  auto baseFor = [&](int64_t pos) {
    int64_t shift = (pos / kw) * s.dilations[0] * pitch +
                    (pos % kw) * s.dilations[1];
    return (vw - shift % vw) % vw;
  };
  SmallVector<int64_t> aligned(vw, 0);
  for (int64_t k = 0; k < library.getNumPatterns(); ++k)
    for (int64_t pos : library.getPattern(k))
      ++aligned[baseFor(pos)];
  // Ties go to the centre's base, then to the smallest.
  int64_t best = baseFor(library.getKernelArea() / 2);
  for (int64_t base = 0; base < vw; ++base)
    if (aligned[base] > aligned[best])
      best = base;
  return best;
}

/// How pattern convs read their input (the pass's load options). Dense
/// tiles read with none of them (unaligned loads from the row form).
struct LoadScheme {
  bool shiftedCopies = false, alignedLoads = false, mixedShifts = false,
       directLoads = false;
};

/// Widest tile (vectors per row) whose straddling tap vectors are half
/// unaligned loads (`mixed-shifts`): VGG-16's 2 x 7 tiles at 224x224 ran
/// 1.09x (64 -> 64) and 1.17x (3 -> 64) slower with them.
constexpr int64_t kMixedShiftsMaxVectors = 4;

static TapSource createTapSource(OpBuilder &b, Location loc, Conv2DOp op,
                                 const ConvShape &s, const TileShape &tile,
                                 const LoadScheme &scheme = {},
                                 Value prePadded = Value()) {
  bool alignedLoads = scheme.alignedLoads;
  Type f32 = b.getF32Type();
  int64_t n = s.batch, h = s.height, w = s.width, vw = tile.vectorWidth;
  int64_t kh = s.kernelHeight, kw = s.kernelWidth;
  ArrayRef<int64_t> pad = s.padding, dil = s.dilations;
  int64_t sh = s.strides[0], sw = s.strides[1];
  Value source = toReadOnlyBuffer(b, loc, op.getInput());
  TapSource src;
  src.tapColumn = [sw](int64_t dx) { return std::make_pair(dx % sw, dx / sw); };
  src.alignedShifts = alignedLoads;
  src.mixedShifts = alignedLoads && scheme.mixedShifts && sh == 1 &&
                    sw == 1 && tile.vectors <= kMixedShiftsMaxVectors;
  if (tile.flatten) {
    // 1x1, no padding: each channel one row of OH * OW pixels; partial
    // vectors are masked. At stride 1 the input itself; at a larger stride a
    // compact copy of the pixels the conv reads (1/(sh*sw) of the input),
    // so it runs as the same flat matmul.
    int64_t pixels = s.outHeight * s.outWidth;
    src.masked = tile.coveredWidth() != pixels;
    if (sh != 1 || sw != 1) {
      src.buffer = createSubsampledCopy(b, loc, source, sh, sw, s.outHeight,
                                        s.outWidth, vw);
      return src;
    }
    Value flat = memref::CollapseShapeOp::create(
        b, loc, source, ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});
    src.buffer = memref::ExpandShapeOp::create(
        b, loc, MemRefType::get({n, s.channels, 1, 1, h * w}, f32), flat,
        ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3, 4}});
    return src;
  }
  if (tile.pitch) {
    // The padded map as one flat row (at stride 2 one per phase plane),
    // long enough for every tap of every tile vector.
    int64_t p = tile.pitch, st = sh;
    int64_t length = std::max<int64_t>(
        llvm::divideCeil(h + pad[0] + pad[2], st) * p,
        tile.coveredWidth() + (kh - 1) * dil[0] / st * p +
            (kw - 1) * dil[1] / st + (alignedLoads ? vw : 0));
    src.rowPitch = p;
    src.phases = st;
    src.base = alignedLoads && st == 1 ? pitchedBase(op, s, p, vw) : 0;
    src.buffer = createFlatPaddedCopy(b, loc, source, st, p, length, pad[0],
                                      pad[1], vw, src.base);
    return src;
  }
  if (scheme.directLoads && s.strides[1] <= 2 &&
      atMostOneKernelPerFilter(op)) {
    src.direct = true;
    src.buffer = source;
    src.top = pad[0];
    src.left = pad[1];
    src.height = h;
    src.width = w;
    src.stride = sw;
    return src;
  }
  // Zero-padded input, large enough for whole tiles: no bounds checks. Its
  // columns are split into `sw` phases (rank 5: N, C, H, phase, W/sw), so a
  // tap of `vw` consecutive outputs is one contiguous vector at any stride.
  PaddedGeometry rowForm = rowPaddedGeometry(s, tile);
  int64_t hp = rowForm.hp;
  int64_t tileWidth = tile.chunks * tile.vectors * vw;
  if (sw == 1 && scheme.shiftedCopies && kw > 1) {
    // One copy per column shift of the kernel: every tap load is aligned.
    int64_t wp = paddedWidth(
        w, pad[1],
        std::max(w + pad[1] + pad[3], tileWidth + (kw - 1) * dil[1]) + vw,
        vw);
    Value flat =
        createZeroPaddedCopy(b, loc, source, hp, wp, pad[0], pad[1], vw);
    src.buffer = createShiftedCopies(b, loc, flat, kw, dil[1], tileWidth, vw);
    int64_t step = dil[1];
    src.tapColumn = [step](int64_t dx) {
      return std::make_pair(dx / step, int64_t(0));
    };
  } else if (sw == 1) {
    int64_t wp = rowForm.wp;
    // The producer may have written its output into this layout already.
    Value flat = prePadded ? prePadded
                           : createZeroPaddedCopy(b, loc, source, hp, wp,
                                                  pad[0], pad[1], vw);
    src.buffer = memref::ExpandShapeOp::create(
        b, loc, MemRefType::get({n, s.channels, hp, 1, wp}, f32), flat,
        ArrayRef<ReassociationIndices>{{0}, {1}, {2}, {3, 4}});
  } else {
    src.buffer = createPhaseSplitCopy(b, loc, source, hp, sw,
                                      paddedPhaseWidth(s, tile), pad[0], pad[1],
                                      vw);
  }
  return src;
}

/// What a tile lowering writes, and adds, besides its input: the output
/// buffer, the N x F x H' x W' view its tiles write (createOutput), the bias
/// and the residual view the tiles add (createResidualView; null where the
/// op has none).
struct ConvOutput {
  Value out, view, bias, residual;
  int64_t height, width; // H', W'
  /// Written into a consumer's zero-padded input (createOutput's `into`):
  /// that buffer, whose halo the tiles write (OutputTile::setHalo), and
  /// where `out` lies in it; null otherwise.
  Value padded;
  HaloGeometry halo{};
};

/// Stores runs of consecutive pixels of a flat 1x1 conv's H x W output
/// into its consumer's zero-padded input (ConvOutput::padded), seen flat as
/// N x F x 1 x PH * PW (ConvOutput::view): pixel p lands at (top + p / W) PW
/// + left + p % W. A run of at most W pixels spans at most two rows: one
/// masked store per row, the second PW - W elements further on. The stores
/// also write the halo: the run that ends a row zeroes the PW - W elements
/// up to the next row's first pixel (its right columns, the next row's left
/// ones, contiguous), the map's first run everything before its first
/// pixel, its last run everything after the last row's gap. Each halo line
/// is then written by the thread that writes the pixels beside it, and no
/// fill runs first.
struct FlatPaddedWriter {
  Location loc;
  Value flat, zeroVec;
  int64_t H, W, PH, PW, top, left, vw;

  FlatPaddedWriter(OpBuilder &b, Location loc, const TileShape &tile,
                   const ConvOutput &io)
      : loc(loc), flat(io.view) {
    auto type = cast<MemRefType>(io.padded.getType());
    H = io.halo.height;
    W = io.halo.width;
    PH = type.getDimSize(2);
    PW = type.getDimSize(3);
    top = io.halo.top;
    left = io.halo.left;
    vw = tile.vectorWidth;
    zeroVec = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(VectorType::get({vw}, b.getF32Type()),
                               b.getF32FloatAttr(0.0f)));
  }

  /// Zero vectors over the flat positions [start, start + length).
  void zero(OpBuilder &b, Value batch, Value f, OpFoldResult start,
            int64_t length) const {
    fillColumns(b, loc, flat, zeroVec, batch, f, cIdx(b, loc, 0), start,
                length);
  }

  /// The first `count` (<= W, an index) lanes of `value`: filter f's pixels
  /// p0, p0 + 1, ...; `first` / `last` (i1): whether the run is the map's
  /// first / last.
  void store(OpBuilder &b, Value batch, Value f, Value p0, Value value,
             Value count, Value first, Value last) const {
    auto maskType = VectorType::get(
        {cast<VectorType>(value.getType()).getDimSize(0)}, b.getI1Type());
    Value c0 = cIdx(b, loc, 0);
    Value x0 = arith::RemUIOp::create(b, loc, p0, cIdx(b, loc, W));
    Value y0 = arith::DivUIOp::create(b, loc, p0, cIdx(b, loc, W));
    Value rowStart = arith::MulIOp::create(
        b, loc, arith::AddIOp::create(b, loc, y0, cIdx(b, loc, top)),
        cIdx(b, loc, PW));
    Value q0 = arith::AddIOp::create(
        b, loc, rowStart, arith::AddIOp::create(b, loc, x0, cIdx(b, loc, left)));
    Value toRowEnd = arith::SubIOp::create(b, loc, cIdx(b, loc, W), x0);
    Value inRow = vector::CreateMaskOp::create(
        b, loc, maskType,
        ValueRange{arith::MinUIOp::create(b, loc, toRowEnd, count)});
    vector::MaskedStoreOp::create(b, loc, flat, ValueRange{batch, f, c0, q0},
                                  inRow, value);
    Value rest = arith::AndIOp::create(
        b, loc, vector::CreateMaskOp::create(b, loc, maskType, count),
        arith::XOrIOp::create(
            b, loc, inRow,
            arith::ConstantOp::create(
                b, loc, DenseElementsAttr::get(maskType, true))));
    vector::MaskedStoreOp::create(
        b, loc, flat,
        ValueRange{batch, f, c0,
                   arith::AddIOp::create(b, loc, q0, cIdx(b, loc, PW - W))},
        rest, value);
    // The gap after row y0 if the run ends it: from column left + W on.
    Value endsRow = arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, toRowEnd,
                              count),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, y0,
                              cIdx(b, loc, H)));
    buildIf(b, loc, endsRow, [&](OpBuilder &b) {
      zero(b, batch, f,
           arith::AddIOp::create(b, loc, rowStart, cIdx(b, loc, left + W))
               .getResult(),
           PW - W);
    });
    buildIf(b, loc, first, [&](OpBuilder &b) {
      zero(b, batch, f, b.getIndexAttr(0), top * PW + left);
    });
    int64_t tail = (top + H) * PW + left;
    buildIf(b, loc, last, [&](OpBuilder &b) {
      zero(b, batch, f, b.getIndexAttr(tail), PH * PW - tail);
    });
  }
};

/// Where a parallel task's register tile starts, and its width: V vectors,
/// or the tail chunk's (TileShape::tailVectors) when the code runs only for
/// the last chunk.
struct TaskOrigin {
  Value batch, row0, inRow0, col0, group;
  int64_t vectors;
  /// Whether the code may run for the last column chunk (the one that can
  /// end past the output width); false for the full chunks before a tail.
  bool mayBeLast;
};

/// One parallel task's register tile of R rows x V vectors at (row0, col0)
/// of the output: the rows inside the output, the lanes of partial vectors,
/// and loads / stores of one filter's tile. `out` is N x F x H' x W' (the
/// flat form's view has H' = 1).
struct OutputTile {
  Location loc;
  Value out, batch, zeroVec;
  VectorType vecType;
  int64_t R, V, vw, width;
  bool fullRows;
  SmallVector<Value> rows, rowInside, cols;
  /// Lanes of tile vector v inside the output, as a mask and as a count;
  /// null where always whole.
  SmallVector<Value> masks, laneCounts;
  /// Whether store() writes whole vectors with streaming stores (an i1 of
  /// streamingCondition()); null: never.
  Value streaming;
  /// Halo writes (setHalo; null: none): `out` is the interior of `padded`,
  /// a zero-padded buffer, at (halo.top, halo.left), and each store of a
  /// filter's tile also zeroes the halo beside its rows: left of them in
  /// the first column chunk, right of them in the last (the i1s), the rows
  /// above and below the interior in the first chunk's tiles that hold
  /// the first and the last row. The halo's lines are then written by the
  /// thread that writes the rows next to them, and no fill runs before.
  Value padded;
  HaloGeometry halo{};
  Value firstChunk, lastChunk;
  /// Flat (1x1) tiles writing a padded buffer: its writer (null: none).
  const FlatPaddedWriter *flatPadded = nullptr;
  /// Compact mode (setCompact; 0: off): the tile is one row of V vectors
  /// over the whole flat grid `compactPitch` wide (grid position q = y *
  /// compactPitch + x), and `out` is the N x F x OH x OW output itself.
  int64_t compactPitch = 0, outHeight = 0, outWidth = 0;

  OutputTile(OpBuilder &b, Location loc, Value out, const TaskOrigin &task,
             const TileShape &tile, int64_t height, int64_t width,
             Value zeroVec)
      : loc(loc), out(out), batch(task.batch), zeroVec(zeroVec),
        vecType(cast<VectorType>(zeroVec.getType())), R(tile.rows),
        V(task.vectors), vw(tile.vectorWidth), width(width),
        fullRows(tile.rowBlocks * R == height) {
    for (int64_t r = 0; r < R; ++r) {
      rows.push_back(
          arith::AddIOp::create(b, loc, task.row0, cIdx(b, loc, r)));
      rowInside.push_back(
          fullRows ? Value()
                   : arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                           rows.back(), cIdx(b, loc, height)));
    }
    auto maskType = VectorType::get({vw}, b.getI1Type());
    for (int64_t v = 0; v < V; ++v) {
      cols.push_back(
          arith::AddIOp::create(b, loc, task.col0, cIdx(b, loc, v * vw)));
      // Vector v of the last chunk (and so of every chunk) is whole, or the
      // code never runs the last chunk: no mask.
      if (!task.mayBeLast || tile.lastChunkStart() + (v + 1) * vw <= width) {
        masks.push_back(Value());
        laneCounts.push_back(Value());
        continue;
      }
      // lanes = clamp(width - col, 0, vw)
      Value left =
          arith::SubIOp::create(b, loc, cIdx(b, loc, width), cols.back());
      Value lanes = arith::MaxSIOp::create(
          b, loc, arith::MinSIOp::create(b, loc, left, cIdx(b, loc, vw)),
          cIdx(b, loc, 0));
      masks.push_back(
          vector::CreateMaskOp::create(b, loc, maskType, ValueRange{lanes}));
      laneCounts.push_back(lanes);
    }
  }

  /// Writes and reads the output itself instead of a flat grid `gridPitch`
  /// wide (see writesCompact): grid vector v holds positions q = v vw + l.
  void setCompact(int64_t gridPitch, int64_t height, int64_t width) {
    assert(R == 1 && "a compact tile is one row of the flat grid");
    compactPitch = gridPitch;
    outHeight = height;
    outWidth = width;
  }

  void setHalo(OpBuilder &b, Value paddedBuffer, const HaloGeometry &g,
               const TaskOrigin &task, const TileShape &tile) {
    padded = paddedBuffer;
    halo = g;
    auto flag = [&](bool value) -> Value {
      return arith::ConstantIntOp::create(b, loc, value, 1);
    };
    auto chunkAt = [&](int64_t col) -> Value {
      return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, task.col0,
                                   cIdx(b, loc, col));
    };
    firstChunk = tile.chunks == 1 ? flag(true) : chunkAt(0);
    lastChunk = tile.chunks == 1  ? flag(true)
                : task.mayBeLast  ? chunkAt(tile.lastChunkStart())
                                  : flag(false);
  }

  /// The halo beside output row `row` of `filter` (setHalo).
  void storeRowHalo(OpBuilder &b, Value filter, Value row) const {
    fillRowHalo(b, loc, padded, zeroVec, batch, filter,
                arith::AddIOp::create(b, loc, row, cIdx(b, loc, halo.top)),
                halo, firstChunk, lastChunk);
  }

  /// The halo rows above and below the interior, if this tile (first
  /// chunk) holds output row `first` == 0 / `last` >= the last row.
  void storeEdgeRows(OpBuilder &b, Value filter, Value first,
                     Value last) const {
    Value atTop = arith::AndIOp::create(
        b, loc, firstChunk,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, first,
                              cIdx(b, loc, 0)));
    buildIf(b, loc, atTop, [&](OpBuilder &b) {
      fillEdgeRows(b, loc, padded, zeroVec, batch, filter, halo, true);
    });
    Value atBottom = arith::AndIOp::create(
        b, loc, firstChunk,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, last,
                              cIdx(b, loc, halo.height - 1)));
    buildIf(b, loc, atBottom, [&](OpBuilder &b) {
      fillEdgeRows(b, loc, padded, zeroVec, batch, filter, halo, false);
    });
  }

  /// A run of grid vector v's lanes [lane0, lane0 + length) that holds
  /// output row y's columns [x0, x0 + length).
  struct RowSegment {
    int64_t y, x0, length, lane0;
  };

  /// Vector v's lanes inside the output (x < OW, y < OH), in runs along
  /// output rows; constants, as the compact tile's vectors start at v vw.
  SmallVector<RowSegment> rowSegments(int64_t v) const {
    SmallVector<RowSegment> segments;
    for (int64_t l = 0; l < vw; ++l) {
      int64_t q = v * vw + l, y = q / compactPitch, x = q % compactPitch;
      if (y >= outHeight || x >= outWidth)
        continue;
      if (!segments.empty() && segments.back().y == y &&
          segments.back().lane0 + segments.back().length == l)
        ++segments.back().length;
      else
        segments.push_back({y, x, 1, l});
    }
    return segments;
  }

  Value segmentMask(OpBuilder &b, int64_t length) const {
    return vector::ConstantMaskOp::create(
        b, loc, VectorType::get({vw}, b.getI1Type()),
        ArrayRef<int64_t>{length});
  }

  /// Compact mode: filter `filter`'s V grid vectors read from `buffer`
  /// (N x F x OH x OW): each row segment one masked load, its lanes moved
  /// to their grid places by a constant shuffle; lanes outside the output
  /// are zero.
  SmallVector<Value> loadCompact(OpBuilder &b, Value filter,
                                 Value buffer) const {
    SmallVector<Value> acc;
    for (int64_t v = 0; v < V; ++v) {
      Value grid = zeroVec;
      for (const RowSegment &seg : rowSegments(v)) {
        Value row = vector::MaskedLoadOp::create(
            b, loc, vecType, buffer,
            ValueRange{batch, filter, cIdx(b, loc, seg.y),
                       cIdx(b, loc, seg.x0)},
            segmentMask(b, seg.length), zeroVec);
        SmallVector<int64_t> pick;
        for (int64_t l = 0; l < vw; ++l)
          pick.push_back(l >= seg.lane0 && l < seg.lane0 + seg.length
                             ? vw + l - seg.lane0
                             : l);
        grid = vector::ShuffleOp::create(b, loc, grid, row, pick);
      }
      acc.push_back(grid);
    }
    return acc;
  }

  /// Compact mode: each row segment of the V grid vectors shuffled to the
  /// front and stored with a mask at its place in the output.
  void storeCompact(OpBuilder &b, Value filter, ArrayRef<Value> acc) const {
    for (int64_t v = 0; v < V; ++v)
      for (const RowSegment &seg : rowSegments(v)) {
        SmallVector<int64_t> pick;
        for (int64_t l = 0; l < vw; ++l)
          pick.push_back(l < seg.length ? seg.lane0 + l : seg.lane0);
        Value row = vector::ShuffleOp::create(b, loc, acc[v], acc[v], pick);
        vector::MaskedStoreOp::create(
            b, loc, out,
            ValueRange{batch, filter, cIdx(b, loc, seg.y),
                       cIdx(b, loc, seg.x0)},
            segmentMask(b, seg.length), row);
      }
  }

  /// Runs `body` for tile row r if it lies inside the output (no guard when
  /// all rows do); `body` returns the row's V vectors (or none), rows
  /// outside yield zeros.
  SmallVector<Value>
  perRow(OpBuilder &b, int64_t r, bool yields,
         function_ref<SmallVector<Value>(OpBuilder &)> body) const {
    if (fullRows)
      return body(b);
    SmallVector<Type> types(yields ? V : 0, vecType);
    auto ifOp = scf::IfOp::create(b, loc, types, rowInside[r],
                                  /*withElseRegion=*/yields);
    OpBuilder::InsertionGuard guard(b);
    if (!yields) { // the then block already ends in scf.yield
      b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
      body(b);
      return {};
    }
    b.setInsertionPointToStart(ifOp.thenBlock());
    scf::YieldOp::create(b, loc, body(b));
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc, SmallVector<Value>(V, zeroVec));
    return SmallVector<Value>(ifOp.getResults());
  }

  /// A vector of `buffer` at `indices`, masked like tile vector v.
  Value loadVector(OpBuilder &b, Value buffer, ValueRange indices,
                   int64_t v) const {
    if (!masks[v])
      return vector::LoadOp::create(b, loc, vecType, buffer, indices);
    return vector::MaskedLoadOp::create(b, loc, vecType, buffer, indices,
                                        masks[v], zeroVec);
  }

  /// Filter `filter`'s R x V output vectors (partial sums), or those of
  /// `buffer` (shaped like the output view, e.g. a residual).
  SmallVector<Value> load(OpBuilder &b, Value filter,
                          Value buffer = Value()) const {
    if (!buffer)
      buffer = out;
    if (compactPitch)
      return loadCompact(b, filter, buffer);
    SmallVector<Value> acc;
    for (int64_t r = 0; r < R; ++r)
      llvm::append_range(acc, perRow(b, r, true, [&](OpBuilder &b) {
                           SmallVector<Value> row;
                           for (int64_t v = 0; v < V; ++v)
                             row.push_back(loadVector(
                                 b, buffer, {batch, filter, rows[r], cols[v]},
                                 v));
                           return row;
                         }));
    return acc;
  }

  /// A whole vector at `idx` of the output: a streaming (non-temporal,
  /// aligned) store where `streaming` holds at run time.
  void storeWhole(OpBuilder &b, Value value, ValueRange idx) const {
    if (!streaming) {
      vector::StoreOp::create(b, loc, value, out, idx);
      return;
    }
    auto ifOp = scf::IfOp::create(b, loc, TypeRange(), streaming,
                                  /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    vector::StoreOp::create(
        b, loc, value, out, idx, /*nontemporal=*/true,
        llvm::MaybeAlign(vecType.getNumElements() * sizeof(float)));
    b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
    vector::StoreOp::create(b, loc, value, out, idx);
  }

  void store(OpBuilder &b, Value filter, ArrayRef<Value> acc) const {
    if (flatPadded) {
      assert(R == 1 && "a flat tile is one row of the flat map");
      Value full = cIdx(b, loc, vw), total = cIdx(b, loc, width);
      for (int64_t v = 0; v < V; ++v) {
        Value count = laneCounts[v] ? laneCounts[v] : full;
        Value end = arith::AddIOp::create(b, loc, cols[v], full);
        flatPadded->store(
            b, batch, filter, cols[v], acc[v], count,
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, cols[v],
                                  cIdx(b, loc, 0)),
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, end,
                                  total));
      }
      return;
    }
    if (compactPitch) {
      storeCompact(b, filter, acc);
      if (padded) // the compact tile is the whole plane
        fillPlaneHalo(b, loc, padded, zeroVec, batch, filter, halo);
      return;
    }
    for (int64_t r = 0; r < R; ++r)
      perRow(b, r, false, [&](OpBuilder &b) {
        for (int64_t v = 0; v < V; ++v) {
          SmallVector<Value> idx = {batch, filter, rows[r], cols[v]};
          if (!masks[v])
            storeWhole(b, acc[r * V + v], idx);
          else
            vector::MaskedStoreOp::create(b, loc, out, idx, masks[v],
                                          acc[r * V + v]);
        }
        if (padded)
          storeRowHalo(b, filter, rows[r]);
        return SmallVector<Value>();
      });
    if (padded)
      storeEdgeRows(b, filter, rows.front(), rows.back());
  }

  /// Stores the max over the 2 x 2 windows of the tile (R even, the tile at
  /// an even row, a column that is a multiple of 2 vw) into `out`, the
  /// N x F x H/2 x W/2 pooled result: rows paired with a max, then the
  /// even and odd lanes of two neighbouring vectors picked by two lane
  /// shuffles and maxed (vw pooled outputs from 2 vw columns; an odd last
  /// vector gives vw / 2). Max-pooling commutes with the (monotone)
  /// activation already applied.
  void storePooled(OpBuilder &b, Value filter, ArrayRef<Value> acc) const {
    assert(R % 2 == 0 && "a pooled tile holds whole row pairs");
    SmallVector<int64_t> even, odd;
    for (int64_t l = 0; l < vw; ++l) {
      even.push_back(2 * l);
      odd.push_back(2 * l + 1);
    }
    Value c2 = cIdx(b, loc, 2);
    auto maskType = VectorType::get({vw}, b.getI1Type());
    for (int64_t r = 0; r < R; r += 2)
      perRow(b, r, false, [&](OpBuilder &b) { // rows r, r + 1: both or none
        SmallVector<Value> rowMax;
        for (int64_t v = 0; v < V; ++v)
          rowMax.push_back(arith::MaximumFOp::create(
              b, loc, acc[r * V + v], acc[(r + 1) * V + v]));
        Value row = arith::DivUIOp::create(b, loc, rows[r], c2);
        for (int64_t v = 0; v < V; v += 2) {
          bool pair = v + 1 < V;
          Value hi = pair ? rowMax[v + 1] : rowMax[v];
          Value pooled = arith::MaximumFOp::create(
              b, loc,
              vector::ShuffleOp::create(b, loc, rowMax[v], hi, even),
              vector::ShuffleOp::create(b, loc, rowMax[v], hi, odd));
          Value col = arith::DivUIOp::create(b, loc, cols[v], c2);
          SmallVector<Value> idx = {batch, filter, row, col};
          if (pair && !masks[v] && !masks[v + 1]) {
            vector::StoreOp::create(b, loc, pooled, out, idx);
            continue;
          }
          // lanes = clamp((width - col) / 2, 0, vw or vw / 2)
          Value left = arith::DivSIOp::create(
              b, loc, arith::SubIOp::create(b, loc, cIdx(b, loc, width), cols[v]),
              c2);
          Value lanes = arith::MaxSIOp::create(
              b, loc,
              arith::MinSIOp::create(b, loc, left,
                                     cIdx(b, loc, pair ? vw : vw / 2)),
              cIdx(b, loc, 0));
          vector::MaskedStoreOp::create(
              b, loc, out, idx,
              vector::CreateMaskOp::create(b, loc, maskType, ValueRange{lanes}),
              pooled);
        }
        if (padded)
          storeRowHalo(b, filter, row);
        return SmallVector<Value>();
      });
    if (padded)
      storeEdgeRows(b, filter, arith::DivUIOp::create(b, loc, rows.front(), c2),
                    arith::DivUIOp::create(b, loc, rows[R - 2], c2));
  }
};

/// Whether the pattern lowering can apply `op`'s fused max-pool in
/// registers with `tile`: 2 x 2 windows, tiles of whole row pairs on the
/// output's own rows (not the pitched flat grid or a flat 1x1 row), and one
/// channel block (partial sums are stored at full resolution between
/// blocks). Otherwise the pool is split off again (unfuseMaxPool).
static bool poolsInRegisters(Conv2DOp op, const TileShape &tile) {
  auto [ph, pw] = op.getPoolWindow();
  return ph == 2 && pw == 2 && op.hasTiledPool() && !tile.pitch && !tile.flatten &&
         tile.rows % 2 == 0 && tile.vectorWidth % 2 == 0 &&
         tile.channelBlock >= op.getNumChannels();
}

/// Input vectors of one channel for the taps of a tile, each loaded once
/// (load-redundancy elimination): one load per distinct (input row, column
/// shift, vector).
struct TapLoads {
  const TapSource &src;
  const OutputTile &tile;
  Value batch, channel, inRow0, col0;
  /// Direct form: whether loads check their rows (TapSource::loadDirect).
  bool checkRows;
  llvm::DenseMap<std::tuple<int64_t, int64_t, int64_t>, Value> loads;
  /// Plain vector loads of the padded input, keyed by (input row, copy,
  /// element offset from the tile's first column): aligned ones (offset a
  /// multiple of vw), and with mixedShifts or without alignedShifts also
  /// straddling ones.
  llvm::DenseMap<std::tuple<int64_t, int64_t, int64_t>, Value> aligned;

  Value get(OpBuilder &b, Location loc, int64_t inRow, int64_t dx, int64_t v) {
    Value &cached = loads[{inRow, dx, v}];
    if (!cached && src.direct) {
      cached = src.loadDirect(
          b, loc, tile.zeroVec, batch, channel,
          arith::AddIOp::create(b, loc, inRow0, cIdx(b, loc, inRow)), col0, dx,
          v, checkRows);
    } else if (!cached) {
      int64_t copy, shift;
      if (src.rowPitch) { // rows are runs of one flat row (per phase plane)
        int64_t st = src.phases; // inRow = dy: a pitched tile is one row
        copy = (inRow % st) * st + dx % st;
        shift = inRow / st * src.rowPitch + dx / st + src.base;
        inRow = 0;
      } else {
        std::tie(copy, shift) = src.tapColumn(dx);
      }
      int64_t vw = tile.vw, offset = v * vw + shift;
      if (src.masked) { // flat input
        cached = tile.loadVector(b, src.buffer, at(b, loc, inRow, copy, offset),
                                 v);
      } else if (!src.alignedShifts || offset % vw == 0 ||
                 (src.mixedShifts && (inRow + v) % 2)) {
        // Aligned, or a straddling vector loaded unaligned: all of them
        // without aligned shifts, every other one with mixed shifts (the
        // loads take half the work off the shuffles, see mixed-shifts).
        cached = alignedLoad(b, loc, inRow, copy, offset);
      } else {
        // A vector straddling two aligned ones: load both (shared with the
        // neighbouring vectors and taps) and pick its lanes (one port-5
        // lane shuffle on AVX-512) instead of a load split across two cache
        // lines.
        int64_t lo = llvm::alignDown(offset, vw), s = offset - lo;
        SmallVector<int64_t> lanes(vw);
        std::iota(lanes.begin(), lanes.end(), s);
        // On i32 lanes, where LLVM's x86 lowering can match the shift to
        // valignd / valignq; in the pattern loops it still picks
        // vpermt2ps / vpermt2pd (also one port-5 uop, plus a register copy
        // as it overwrites a source) for most of them (64->64 at 56x56: 8
        // of the 36 shifts per kernel are valignd / valignq).
        auto intType = VectorType::get({vw}, b.getI32Type());
        Value loVec = arith::BitcastOp::create(
            b, loc, intType, alignedLoad(b, loc, inRow, copy, lo));
        Value hiVec = arith::BitcastOp::create(
            b, loc, intType, alignedLoad(b, loc, inRow, copy, lo + vw));
        cached = arith::BitcastOp::create(
            b, loc, tile.vecType,
            vector::ShuffleOp::create(b, loc, loVec, hiVec, lanes));
      }
    }
    return cached;
  }

private:
  SmallVector<Value> at(OpBuilder &b, Location loc, int64_t inRow,
                        int64_t copy, int64_t offset) {
    Value r = arith::AddIOp::create(b, loc, inRow0, cIdx(b, loc, inRow));
    Value col = arith::AddIOp::create(b, loc, col0, cIdx(b, loc, offset));
    return {batch, channel, r, cIdx(b, loc, copy), col};
  }
  Value alignedLoad(OpBuilder &b, Location loc, int64_t inRow, int64_t copy,
                    int64_t offset) {
    Value &cached = aligned[{inRow, copy, offset}];
    if (!cached)
      cached = vector::LoadOp::create(b, loc, tile.vecType, src.buffer,
                                      at(b, loc, inRow, copy, offset));
    return cached;
  }
};

/// f32 values per 64-byte cache line.
constexpr int64_t kLineFloats = 16;

/// Software prefetch (into L1, for reading) of the tile input that channel
/// `channel` will supply: every cache line of the `inRows` rows from
/// `inRow0` that the tap vectors of a tile of `vectors` vectors at `col0`
/// touch, for column shifts dx of 0 .. kw - 1 (times the dilation), in
/// every copy (column phase) they read. Row-form padded copies only (not the
/// direct, flat or pitched forms).
static void prefetchTileInput(OpBuilder &b, Location loc, const TapSource &src,
                              Value batch, Value channel, Value inRow0,
                              Value col0, int64_t inRows, int64_t vectors,
                              int64_t vw, int64_t kw, int64_t dilation) {
  assert(src.rowForm() && "prefetches only from row-form padded copies");
  std::set<std::pair<int64_t, int64_t>> lines; // (copy, first column)
  for (int64_t dx = 0; dx < kw; ++dx) {
    auto [copy, shift] = src.tapColumn(dx * dilation);
    for (int64_t v = 0; v < vectors; ++v)
      for (int64_t col : {v * vw + shift, v * vw + shift + vw - 1})
        lines.insert({copy, llvm::alignDown(col, kLineFloats)});
  }
  for (int64_t y = 0; y < inRows; ++y) {
    Value row = arith::AddIOp::create(b, loc, inRow0, cIdx(b, loc, y));
    for (auto [copy, col] : lines)
      memref::PrefetchOp::create(
          b, loc, src.buffer,
          ValueRange{batch, channel, row, cIdx(b, loc, copy),
                     arith::AddIOp::create(b, loc, col0, cIdx(b, loc, col))},
          /*isWrite=*/false, /*localityHint=*/3, /*isDataCache=*/true);
  }
}

/// The entry `distance` after `entry` in a table of `size` entries, clamped
/// to the last one.
static Value entryAhead(OpBuilder &b, Location loc, int64_t size, Value entry,
                        int64_t distance) {
  return arith::MinUIOp::create(
      b, loc, arith::AddIOp::create(b, loc, entry, cIdx(b, loc, distance)),
      cIdx(b, loc, size - 1));
}

/// The input channel of the kernel `distance` entries after `entry` in a
/// channel table of `size` entries (the last entry's past the end).
static Value channelAhead(OpBuilder &b, Location loc, Value table, int64_t size,
                          Value entry, int64_t distance) {
  return loadIndex(b, loc, table, entryAhead(b, loc, size, entry, distance));
}

/// N x F x H x W `buffer` viewed as N x F x 1 x (H * W) (no copy).
static Value flatView(OpBuilder &b, Location loc, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  Value flat = memref::CollapseShapeOp::create(
      b, loc, buffer, ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});
  return memref::ExpandShapeOp::create(
      b, loc,
      MemRefType::get({type.getDimSize(0), type.getDimSize(1), 1,
                       type.getDimSize(2) * type.getDimSize(3)},
                      type.getElementType()),
      flat, ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});
}

/// The buffer of a lowered producer's result when it is a strided view (the
/// interior of the padded input it wrote for its padded consumer, see
/// LowerToVectorsPass); null otherwise.
static Value stridedProducerBuffer(Value tensor) {
  auto toTensor = tensor.getDefiningOp<bufferization::ToTensorOp>();
  if (!toTensor)
    return Value();
  auto type = cast<MemRefType>(toTensor.getBuffer().getType());
  return type.getLayout().isIdentity() ? Value() : toTensor.getBuffer();
}

/// The op's residual as a buffer: a producer's strided view as it is (read
/// in place, no copy out of the padded buffer), else the tensor's buffer.
static Value residualBuffer(OpBuilder &b, Location loc, Conv2DOp op) {
  if (Value view = stridedProducerBuffer(op.getResidual()))
    return view;
  return toReadOnlyBuffer(b, loc, op.getResidual());
}

/// Whether a pitched tile writes the output directly (OutputTile's compact
/// mode): one task covers the whole flat grid (one row block, one chunk:
/// the 7x7 maps), so every vector's grid positions are compile-time
/// constants and its x < OW lanes can be moved to their output places by
/// constant shuffles. Then there is no grid buffer and no copy out of it
/// (finishOutput), and the tiles add the residual and apply the activation
/// as in the row form.
static bool writesCompact(Conv2DOp op, const TileShape &tile) {
  return tile.pitch && tile.rowBlocks == 1 && tile.chunks == 1 &&
         tile.rows == 1 && !tile.tailVectors && !op.getMaxPool();
}

/// The op's residual as a buffer shaped like the output view the tiles
/// write, if the tiles add it; null without a residual and in the pitched
/// form unless it writes compact (else finishOutput() adds it on the copy
/// out of the grid).
static Value createResidualView(OpBuilder &b, Location loc, Conv2DOp op,
                                const TileShape &tile) {
  if (!op.getResidual() || (tile.pitch && !writesCompact(op, tile)))
    return Value();
  Value residual = residualBuffer(b, loc, op);
  return tile.flatten ? flatView(b, loc, residual) : residual;
}

/// Whether the tiles apply the op's ReLU in registers; in the pitched form
/// with a residual (not compact), finishOutput() applies it after the
/// residual is added.
static bool tilesApplyRelu(Conv2DOp op, const TileShape &tile) {
  return op.getRelu() &&
         !(op.getResidual() && tile.pitch && !writesCompact(op, tile));
}

/// The output buffer and the N x F x H' x W' view the tiles write.
static std::pair<Value, Value> createOutput(OpBuilder &b, Location loc,
                                            Conv2DOp op, const TileShape &tile,
                                            int64_t &height, int64_t &width,
                                            const PaddedGeometry *into = nullptr,
                                            Value *padded = nullptr) {
  auto resultType = op.getResult().getType();
  Value out;
  if (into) {
    // Written straight into the consumer's zero-padded input: the tiles
    // write the interior (a strided view) and the halo beside it.
    int64_t n = resultType.getDimSize(0), f = resultType.getDimSize(1);
    int64_t h = resultType.getDimSize(2), w = resultType.getDimSize(3);
    *padded = memref::AllocOp::create(
        b, loc, MemRefType::get({n, f, into->hp, into->wp}, b.getF32Type()),
        b.getI64IntegerAttr(64));
    out = memref::SubViewOp::create(
        b, loc, *padded,
        ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(0),
                               b.getIndexAttr(into->top),
                               b.getIndexAttr(into->left)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(n), b.getIndexAttr(f),
                               b.getIndexAttr(h), b.getIndexAttr(w)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                               b.getIndexAttr(1), b.getIndexAttr(1)});
  } else {
    out = memref::AllocOp::create(
        b, loc, MemRefType::get(resultType.getShape(), b.getF32Type()),
        b.getI64IntegerAttr(64));
  }
  ConvShape s = ConvShape::of(op); // the tiles' (conv) coordinates
  height = s.outHeight;
  width = s.outWidth;
  if (tile.pitch) {
    // Tiles write a flat grid `pitch` wide; finishOutput() keeps x < OW.
    // In the compact mode they write the output itself.
    width = height * tile.pitch;
    height = 1;
    if (writesCompact(op, tile))
      return {out, out};
    Value grid = memref::AllocOp::create(
        b, loc,
        MemRefType::get({resultType.getDimSize(0), resultType.getDimSize(1), 1,
                         tile.chunks * tile.vectors * tile.vectorWidth},
                        b.getF32Type()),
        b.getI64IntegerAttr(64));
    return {out, grid};
  }
  if (!tile.flatten)
    return {out, out};
  width *= height;
  height = 1;
  // Into a padded buffer: its planes seen flat (FlatPaddedWriter).
  return {out, flatView(b, loc, into ? *padded : out)};
}

static ConvOutput createConvOutput(OpBuilder &b, Location loc, Conv2DOp op,
                                   const TileShape &tile,
                                   const PaddedGeometry *into = nullptr,
                                   Value *padded = nullptr) {
  ConvOutput o;
  std::tie(o.out, o.view) =
      createOutput(b, loc, op, tile, o.height, o.width, into, padded);
  if (into) {
    auto type = op.getResult().getType();
    o.padded = *padded;
    o.halo = HaloGeometry{into->top, into->left, type.getDimSize(2),
                          type.getDimSize(3)};
  }
  o.bias = op.getBias() ? toReadOnlyBuffer(b, loc, op.getBias()) : Value();
  o.residual = createResidualView(b, loc, op, tile);
  return o;
}

/// Streaming (non-temporal) stores write around the caches: a large
/// output is then written once, without first reading each line for
/// ownership (VGG-16's 3->64 conv at 224x224 alone: 0.40x the time). Only
/// for `op`'s result when the function returns it and nothing in the
/// function reads it: a map that the next op reads was faster from the
/// cache it stayed in (MobileNet-V2's 4.8 MB expansion outputs, streamed:
/// the network 1.045x the time). They need vector-aligned addresses, which
/// only the run-time buffer tells (a result's buffer is the caller's), so
/// this returns the i1 "the first element of `view` is vector-aligned", or
/// null where streaming never applies: results under `minBytes` (0:
/// never), tiles whose store is not final (more than one channel block, or
/// the pitched grid that is copied out afterwards), layouts whose rows
/// (every stride but the unit innermost one) are not whole vectors. The
/// tiles' vectors start at multiples of the vector width in the row.
static Value streamingCondition(OpBuilder &b, Location loc, Conv2DOp op,
                                Value view, const TileShape &tile,
                                int64_t channelBlocks, int64_t minBytes) {
  auto type = cast<MemRefType>(view.getType());
  int64_t vw = tile.vectorWidth;
  auto returned = [](Operation *user) { return isa<func::ReturnOp>(user); };
  if (minBytes <= 0 || channelBlocks != 1 || tile.pitch || op->use_empty() ||
      !llvm::all_of(op->getUsers(), returned) || !type.hasStaticShape() ||
      type.getNumElements() * int64_t(sizeof(float)) < minBytes)
    return {};
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)) || strides.empty() ||
      strides.back() != 1)
    return {};
  for (int64_t stride : ArrayRef<int64_t>(strides).drop_back())
    if (ShapedType::isDynamic(stride) || stride % vw != 0)
      return {};
  Value first = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, view);
  Value elements =
      ShapedType::isDynamic(offset)
          ? memref::ExtractStridedMetadataOp::create(b, loc, view).getOffset()
          : cIdx(b, loc, offset);
  first = arith::AddIOp::create(
      b, loc, first,
      arith::MulIOp::create(b, loc, elements, cIdx(b, loc, sizeof(float))));
  Value misalignment = arith::RemUIOp::create(
      b, loc, first, cIdx(b, loc, vw * int64_t(sizeof(float))));
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, misalignment,
                               cIdx(b, loc, 0));
}

/// The parallel loop over tasks (image, row block, column chunk, group):
/// `scf.parallel`, OpenMP later. With a tail chunk, `body` is built twice:
/// for the full chunks and, under `chunk == chunks - 1`, for the tail.
static void
createTaskLoop(OpBuilder &b, Location loc, const ConvShape &s,
               const TileShape &tile, int64_t groups,
               function_ref<void(OpBuilder &, Location, const TaskOrigin &)>
                   body) {
  Value c0 = cIdx(b, loc, 0), c1 = cIdx(b, loc, 1);
  scf::ParallelOp::create(
      b, loc, ValueRange{c0, c0, c0, c0},
      ValueRange{cIdx(b, loc, s.batch), cIdx(b, loc, tile.rowBlocks),
                 cIdx(b, loc, tile.chunks), cIdx(b, loc, groups)},
      ValueRange{c1, c1, c1, c1},
      [&](OpBuilder &b, Location loc, ValueRange ivs) {
        TaskOrigin o;
        o.batch = ivs[0];
        o.row0 = arith::MulIOp::create(b, loc, ivs[1], cIdx(b, loc, tile.rows));
        o.inRow0 =
            arith::MulIOp::create(b, loc, o.row0, cIdx(b, loc, s.strides[0]));
        o.col0 = arith::MulIOp::create(
            b, loc, ivs[2], cIdx(b, loc, tile.vectors * tile.vectorWidth));
        o.group = ivs[3];
        o.vectors = tile.vectors;
        o.mayBeLast = true;
        if (!tile.tailVectors) {
          body(b, loc, o);
          return;
        }
        Value isTail = arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::eq, ivs[2],
            cIdx(b, loc, tile.chunks - 1));
        auto ifOp = scf::IfOp::create(b, loc, TypeRange(), isTail,
                                      /*withElseRegion=*/true);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
        TaskOrigin tail = o;
        tail.vectors = tile.tailVectors;
        body(b, loc, tail);
        b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
        o.mayBeLast = false;
        body(b, loc, o);
      });
}

/// Replaces `op` by its output; in the pitched form, first copies the
/// x < OW columns of the flat grid `view` into the result `out` (adding the
/// residual and applying the activation there, if the op has a residual).
static void finishOutput(OpBuilder &b, Location loc, Conv2DOp op,
                         const TileShape &tile, const ConvOutput &io) {
  Value out = io.out, view = io.view;
  if (tile.pitch && !writesCompact(op, tile)) {
    auto type = cast<MemRefType>(out.getType());
    Value residual =
        op.getResidual() ? residualBuffer(b, loc, op) : Value();
    // Row by row, `lanes` columns at a time (the last masked).
    int64_t lanes = tile.vectorWidth, width = type.getDimSize(3);
    auto vecType = VectorType::get({lanes}, b.getF32Type());
    auto splat = [&](OpBuilder &b, Location loc, float x) -> Value {
      return vector::BroadcastOp::create(
          b, loc, vecType,
          arith::ConstantOp::create(b, loc, b.getF32FloatAttr(x)));
    };
    Value c0 = cIdx(b, loc, 0), c1 = cIdx(b, loc, 1);
    scf::ParallelOp::create(
        b, loc, ValueRange{c0, c0},
        ValueRange{cIdx(b, loc, type.getDimSize(0)),
                   cIdx(b, loc, type.getDimSize(1))},
        ValueRange{c1, c1}, [&](OpBuilder &b, Location loc, ValueRange nf) {
          Value zeroVec = splat(b, loc, 0.0f);
          scf::buildLoopNest(
              b, loc, ValueRange{c0, c0},
              ValueRange{cIdx(b, loc, type.getDimSize(2)),
                         cIdx(b, loc, width)},
              ValueRange{c1, cIdx(b, loc, lanes)},
              [&](OpBuilder &b, Location loc, ValueRange yx) {
                Value mask = vector::CreateMaskOp::create(
                    b, loc, VectorType::get({lanes}, b.getI1Type()),
                    ValueRange{arith::SubIOp::create(
                        b, loc, cIdx(b, loc, width), yx[1])});
                Value q = arith::AddIOp::create(
                    b, loc,
                    arith::MulIOp::create(b, loc, yx[0], cIdx(b, loc, tile.pitch)),
                    yx[1]);
                Value v = vector::MaskedLoadOp::create(
                    b, loc, vecType, view, ValueRange{nf[0], nf[1], c0, q},
                    mask, zeroVec);
                SmallVector<Value, 4> at{nf[0], nf[1], yx[0], yx[1]};
                if (residual) { // then the activation follows here too
                  v = arith::AddFOp::create(
                      b, loc, v,
                      vector::MaskedLoadOp::create(b, loc, vecType, residual,
                                                   at, mask, zeroVec));
                  if (op.getRelu())
                    v = activationMax(b, loc, v, zeroVec);
                  if (std::optional<APFloat> max = op.getReluMax())
                    v = activationMin(b, loc, v,
                                      splat(b, loc, max->convertToFloat()));
                }
                vector::MaskedStoreOp::create(b, loc, out, at, mask, v);
              });
          if (io.padded)
            fillPlaneHalo(b, loc, io.padded, zeroVec, nf[0], nf[1], io.halo);
        });
  }
  replaceWithOutputBuffer(b, op, out);
}

/// The channel-block loop of a task (created at the builder's point, which
/// moves into its body). With more than one block, accumulators start from
/// the bias in the first block and from the partial sums in the output
/// after it, and ReLU applies only after the last block: max(acc, floor)
/// with floor 0 there and -inf before.
struct ChannelBlocks {
  int64_t count;
  Value block, first, last, floor, ceiling;

  /// `reluMax`: the clamped ReLU's upper bound (min(x, max) after the last
  /// block, +inf before), if the op has one.
  ChannelBlocks(OpBuilder &b, Location loc, int64_t count, Value zero,
                Value zeroVec, std::optional<APFloat> reluMax)
      : count(count), floor(zeroVec) {
    auto loop = scf::ForOp::create(b, loc, cIdx(b, loc, 0),
                                   cIdx(b, loc, count), cIdx(b, loc, 1));
    b.setInsertionPointToStart(loop.getBody());
    block = loop.getInductionVar();
    auto vecType = cast<VectorType>(zeroVec.getType());
    Value max;
    if (reluMax) {
      max = arith::ConstantOp::create(
          b, loc, b.getF32FloatAttr(reluMax->convertToFloat()));
      ceiling = vector::BroadcastOp::create(b, loc, vecType, max);
    }
    if (count == 1)
      return;
    first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, block,
                                  cIdx(b, loc, 0));
    last = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, block,
                                 cIdx(b, loc, count - 1));
    auto infinity = [&](bool negative) -> Value {
      return arith::ConstantOp::create(
          b, loc,
          b.getF32FloatAttr(negative ? -std::numeric_limits<float>::infinity()
                                     : std::numeric_limits<float>::infinity()));
    };
    floor = vector::BroadcastOp::create(
        b, loc, vecType, arith::SelectOp::create(b, loc, last, zero, infinity(true)));
    if (reluMax)
      ceiling = vector::BroadcastOp::create(
          b, loc, vecType,
          arith::SelectOp::create(b, loc, last, max, infinity(false)));
  }

  /// The accumulators: `fresh` in the first block, `partial` after it.
  SmallVector<Value>
  init(OpBuilder &b, Location loc, ArrayRef<Value> fresh,
       function_ref<SmallVector<Value>(OpBuilder &)> partial) const {
    if (count == 1)
      return SmallVector<Value>(fresh);
    return select(
        b, loc, first, fresh.size(),
        [&](OpBuilder &) { return SmallVector<Value>(fresh); }, partial);
  }

  /// Adds `addend(b)` (one value per accumulator) to the accumulators in
  /// the last block only. The tiles add a residual this way, after the
  /// channel loop, rather than starting the accumulators from it: loaded at
  /// the start, a residual tile that is not in L1 holds up every FMA chain
  /// of the tile until it arrives; loaded at the end, the next tile's FMAs
  /// overlap its loads. A dense 1x1 conv 128 -> 512 at 28x28 with a
  /// residual: 1.063x the time of the conv without it when started from
  /// it, 1.026x added last (a separate add after the conv: 1.023x); whole
  /// ResNet-50 0.994x / 0.995x the time at 1 / 2 threads, ResNet-18 and
  /// MobileNet-V2 unchanged (within 0.5%).
  void addInLast(OpBuilder &b, Location loc, SmallVectorImpl<Value> &acc,
                 function_ref<SmallVector<Value>(OpBuilder &)> addend) const {
    auto sum = [&](OpBuilder &b) {
      SmallVector<Value> terms = addend(b), sums;
      for (auto [a, t] : llvm::zip_equal(acc, terms))
        sums.push_back(arith::AddFOp::create(b, loc, a, t));
      return sums;
    };
    SmallVector<Value> result =
        count == 1 ? sum(b)
                   : select(b, loc, last, acc.size(), sum, [&](OpBuilder &) {
                       return SmallVector<Value>(acc.begin(), acc.end());
                     });
    acc.assign(result);
  }

  /// `n` accumulator vectors: `then(b)` where `cond` holds, `otherwise(b)`
  /// elsewhere (an scf.if yielding them).
  SmallVector<Value>
  select(OpBuilder &b, Location loc, Value cond, size_t n,
         function_ref<SmallVector<Value>(OpBuilder &)> then,
         function_ref<SmallVector<Value>(OpBuilder &)> otherwise) const {
    SmallVector<Type> types(n, floor.getType());
    auto ifOp = scf::IfOp::create(b, loc, types, cond, true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    scf::YieldOp::create(b, loc, then(b));
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc, otherwise(b));
    return SmallVector<Value>(ifOp.getResults());
  }

  /// ReLU (clamped, with a ceiling) on the accumulators, in registers.
  void relu(OpBuilder &b, Location loc, SmallVectorImpl<Value> &acc) const {
    for (Value &a : acc) {
      a = activationMax(b, loc, a, floor);
      if (ceiling)
        a = activationMin(b, loc, a, ceiling);
    }
  }
};

/// `op`'s constant weights (used by `op` alone) repacked in `schedule`'s
/// order, kernel `entry`'s taps at entry * taps, as a read-only buffer: a
/// kernel then costs no weight-offset load and the weights stream in order.
/// Null for weights that are not such a constant (arguments, shared
/// tensors: a copy per op would store them twice).
static Value scheduleOrderWeights(OpBuilder &b, Location loc, Conv2DOp op,
                                  const PatternSchedule &schedule) {
  std::string why;
  if (!op.getWeights().hasOneUse())
    return Value();
  FailureOr<std::vector<float>> packed = readConstantF32(op.getWeights(), why);
  if (failed(packed))
    return Value();
  int64_t taps = op.getLibrary().getTaps();
  std::vector<float> ordered;
  ordered.reserve(schedule.weightOffset.size() * taps);
  for (int32_t offset : schedule.weightOffset)
    ordered.insert(ordered.end(), packed->begin() + offset,
                   packed->begin() + offset + taps);
  return toReadOnlyBuffer(b, loc, createF32Constant(b, loc, ordered));
}

/// How far ahead (bytes) a weight stream that comes from memory is
/// prefetched: 64 kernels of 4 taps, ~0.15 us of a 7x7 pattern conv's
/// FMAs (16 per kernel), more than a miss to memory takes.
constexpr int64_t kWeightPrefetchBytes = 1024;

/// Independent FMA chains that keep the FMA units busy: 2 pipes x 4 cycles
/// of latency on the AVX-512 cores measured here (Zen 5; Skylake-X alike).
constexpr int64_t kFmaChains = 8;

static LogicalResult lowerPatternConv(Conv2DOp op, const TileShape &tile,
                                      const LoadScheme &scheme,
                                      int64_t prefetchDistance,
                                      int64_t weightStreamBytes,
                                      int64_t streamingBytes, bool &streamed,
                                      Value inPadded = Value(),
                                      const PaddedGeometry *outInto = nullptr,
                                      Value *outPadded = nullptr) {
  // The schedule: pconv-group-patterns' (checked), or built for the tile.
  FailureOr<std::optional<PatternSchedule>> stored =
      PatternSchedule::fromOp(op);
  if (failed(stored))
    return failure();
  PatternSchedule schedule =
      *stored ? std::move(**stored)
              : PatternSchedule::build(op, tile.channelBlock, tile.groups);
  assert(!tile.tailVectors && "pattern convs take balanced chunks, no tail");

  OpBuilder b(op);
  Location loc = op.getLoc();
  Type f32 = b.getF32Type();
  ConvShape s = ConvShape::of(op);
  int64_t kw = s.kernelWidth, sh = s.strides[0];
  ArrayRef<int64_t> dil = s.dilations;
  PatternLibraryAttr library = op.getLibrary();
  int64_t numPatterns = library.getNumPatterns(), taps = library.getTaps();
  int64_t vw = tile.vectorWidth, V = tile.vectors, R = tile.rows;
  int64_t blocks = schedule.numChannelBlocks;
  auto vecType = VectorType::get({vw}, f32);

  TapSource src =
      createTapSource(b, loc, op, s, tile, scheme, inPadded);
  bool oneKernel = atMostOneKernelPerFilter(op);
  ConvOutput io = createConvOutput(b, loc, op, tile, outInto, outPadded);
  Value streaming =
      streamingCondition(b, loc, op, io.view, tile, blocks, streamingBytes);
  streamed = bool(streaming);
  bool anyKept = !schedule.empty();
  bool pooled = bool(op.getMaxPool());
  if (pooled && (!poolsInRegisters(op, tile) || blocks != 1))
    return op.emitOpError("internal: max_pool that the tile cannot pool in "
                          "registers reached the pattern lowering");
  // Constant weights in schedule order where possible, else through the
  // offset table.
  Value weights = anyKept ? scheduleOrderWeights(b, loc, op, schedule) : Value();
  bool scheduleOrder = bool(weights);
  if (anyKept && !weights)
    weights = toReadOnlyBuffer(b, loc, op.getWeights());
  ScheduleBuffers tables =
      createScheduleBuffers(b, loc, schedule, !scheduleOrder);

  Value c0 = cIdx(b, loc, 0), c1 = cIdx(b, loc, 1);
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  Value zeroVec = vector::BroadcastOp::create(b, loc, vecType, zero);

  int64_t rowSpan = (R - 1) * sh + (s.kernelHeight - 1) * dil[0] + 1;
  bool prefetchTaps = prefetchDistance > 0 && anyKept && sh == 1 &&
                      s.strides[1] == 1 && src.rowForm();
  // Kept weights too big to stay in L2 from one call to the next
  // (`weightStreamBytes`: half the L2 share) come from memory on every
  // call, as one stream in schedule order (with the channel table beside
  // it); the hardware prefetcher restarts that stream at every 4 KiB page,
  // so each kernel prefetches both kWeightPrefetchBytes ahead. ResNet-18's
  // layer 4 (1.2 MB of kept weights per conv), same-process A/B of the
  // whole network: 0.984x / 0.92x the time at 1 / 2 threads. Smaller
  // weights stay in L2 (or come in before the stream restarts matter):
  // prefetched everywhere, ResNet-18 ran 1.015x-0.99x.
  int64_t numEntries = int64_t(schedule.channel.size());
  bool prefetchWeights = prefetchDistance > 0 && anyKept && scheduleOrder &&
                         numEntries * taps * 4 >= weightStreamBytes;
  // Parallel tasks: (image, row block, column chunk, filter group), filter
  // groups balanced by kept work. Inside a task, channel blocks outside and
  // the group's filters inside: the block's input rows stay in L1 while
  // every filter of the group applies its kernels of that block.
  // A task's code; `checkRows`: whether the direct form's loads check for
  // padding rows.
  auto taskBody = [&](OpBuilder &b, Location loc, const TaskOrigin &task,
                      bool checkRows) {
    Value batch = task.batch, inRow0 = task.inRow0, col0 = task.col0;
    Value filterBegin = loadIndex(b, loc, tables.groupStart, task.group);
    Value filterEnd = loadIndex(
        b, loc, tables.groupStart,
        arith::AddIOp::create(b, loc, task.group, c1));
    OutputTile outTile(b, loc, io.view, task, tile, io.height, io.width, zeroVec);
    outTile.streaming = streaming;
    if (io.padded)
      outTile.setHalo(b, io.padded, io.halo, task, tile);
    if (writesCompact(op, tile))
      outTile.setCompact(tile.pitch, s.outHeight, s.outWidth);

    OpBuilder::InsertionGuard guard(b);
    ChannelBlocks cb(b, loc, blocks, zero, zeroVec, op.getReluMax());
    Value block = cb.block;
    auto filterLoop =
        scf::ForOp::create(b, loc, filterBegin, filterEnd, c1);
    b.setInsertionPointToStart(filterLoop.getBody());
    Value filter = filterLoop.getInductionVar();

    // Accumulators: the bias in the first block, the partial sums of the
    // earlier blocks after it (a residual is added in the last block, see
    // ChannelBlocks::addInLast).
    Value initVec = vector::BroadcastOp::create(
        b, loc, vecType,
        io.bias ? memref::LoadOp::create(b, loc, io.bias, filter).getResult()
             : zero);
    SmallVector<Value> acc =
        cb.init(b, loc, SmallVector<Value>(R * V, initVec),
                [&](OpBuilder &b) { return outTile.load(b, filter); });

    // rowPtr[(f * blocks + cb) * P + p]: the P + 1 bounds of this
    // (filter, block), loaded once.
    Value base = arith::MulIOp::create(
        b, loc,
        arith::AddIOp::create(
            b, loc,
            arith::MulIOp::create(b, loc, filter, cIdx(b, loc, blocks)),
            block),
        cIdx(b, loc, numPatterns));
    SmallVector<Value> bounds(numPatterns + 1);
    auto bound = [&](int64_t p) {
      if (!bounds[p])
        bounds[p] = loadIndex(
            b, loc, tables.rowPtr,
            arith::AddIOp::create(b, loc, base, cIdx(b, loc, p)));
      return bounds[p];
    };
    // A tile of at most half as many accumulators as FMAs in flight
    // (pitched 7x7 maps: 1 x 4 vectors) sums alternate taps into a
    // second set, added at the end: twice the independent FMA chains,
    // which run through every kernel of the filter (ResNet-18's 512->512
    // at 7x7 1.24x). Not for bigger tiles (a second set spills: tiles
    // of 14 and 16 accumulators ran 0.55-0.85x), nor for one kernel per
    // filter (depthwise: 4 FMAs per chain, and the next filter's chains
    // overlap them; 0.98x).
    int64_t tileAccs = R * V;
    int64_t sets = 2 * tileAccs <= kFmaChains && !oneKernel ? 2 : 1;
    for (int64_t i = tileAccs; i < sets * tileAccs; ++i)
      acc.push_back(zeroVec);
    for (int64_t pattern = 0; anyKept && pattern < numPatterns;
         ++pattern) {
      if (!schedule.patternUsed[pattern])
        continue;
      ArrayRef<int64_t> positions = library.getPattern(pattern);
      auto kernelLoop = scf::ForOp::create(
          b, loc, bound(pattern), bound(pattern + 1), c1, acc,
          [&](OpBuilder &b, Location loc, Value entry, ValueRange iter) {
            Value ch = loadIndex(b, loc, tables.channel, entry);
            // A filter's kernels visit channels in no order the hardware
            // prefetcher follows, and its tile input over all channels
            // stays in L2, not L1: prefetch the rows of the kernel
            // `prefetchDistance` entries ahead (the next filter's first
            // ones near the end). VGG-16's stride-1 layers alone: 1.04-1.09x
            // at 4 ahead, 16 ahead slower. Stride 2 reads about twice the
            // rows per FMA and ran 1.18-1.28x slower with it (ResNet-18);
            // the pitched 7x7 maps gained 1%, so neither prefetches.
            if (prefetchTaps)
              prefetchTileInput(
                  b, loc, src, batch,
                  channelAhead(b, loc, tables.channel,
                               int64_t(schedule.channel.size()), entry,
                               prefetchDistance),
                  inRow0, col0, rowSpan, V, vw, kw, dil[1]);
            if (prefetchWeights) {
              Value w = arith::MulIOp::create(
                  b, loc,
                  entryAhead(b, loc, numEntries, entry,
                             kWeightPrefetchBytes / (4 * taps)),
                  cIdx(b, loc, taps));
              memref::PrefetchOp::create(b, loc, weights, ValueRange{w},
                                         /*isWrite=*/false,
                                         /*localityHint=*/3,
                                         /*isDataCache=*/true);
              memref::PrefetchOp::create(
                  b, loc, tables.channel,
                  ValueRange{entryAhead(b, loc, numEntries, entry,
                                        kWeightPrefetchBytes / 4)},
                  /*isWrite=*/false, /*localityHint=*/3, /*isDataCache=*/true);
            }
            Value offset =
                scheduleOrder
                    ? arith::MulIOp::create(b, loc, entry, cIdx(b, loc, taps))
                          .getResult()
                    : loadIndex(b, loc, tables.weightOffset, entry);
            SmallVector<Value> tapWeights;
            for (int64_t t = 0; t < taps; ++t) {
              Value idx =
                  arith::AddIOp::create(b, loc, offset, cIdx(b, loc, t));
              Value wt = memref::LoadOp::create(b, loc, weights, idx);
              tapWeights.push_back(
                  vector::BroadcastOp::create(b, loc, vecType, wt));
            }
            TapLoads in{src, outTile, batch, ch, inRow0, col0, checkRows, {}};
            SmallVector<Value> next(iter.begin(), iter.end());
            // Input-row-major: every FMA that reads input row y (any
            // tap, any tile row) is emitted together, so the row's
            // vectors and lane shuffles die right after; in tap-major
            // order they stayed live across taps and spilled.
            SmallVector<int64_t> dys, dxs;
            for (int64_t p : positions) {
              dys.push_back((p / kw) * dil[0]);
              dxs.push_back((p % kw) * dil[1]);
            }
            int64_t lastRow = (R - 1) * sh + *llvm::max_element(dys);
            for (int64_t y = 0; y <= lastRow; ++y)
              for (int64_t t = 0; t < taps; ++t) {
                int64_t dy = dys[t];
                if (y < dy || (y - dy) % sh || (y - dy) / sh >= R)
                  continue;
                int64_t r = (y - dy) / sh, set = (t % sets) * tileAccs;
                for (int64_t v = 0; v < V; ++v)
                  next[set + r * V + v] = vector::FMAOp::create(
                      b, loc, in.get(b, loc, y, dxs[t], v), tapWeights[t],
                      next[set + r * V + v]);
              }
            scf::YieldOp::create(b, loc, next);
          });
      acc.assign(kernelLoop.getResults().begin(),
                 kernelLoop.getResults().end());
    }
    for (int64_t i = tileAccs; i < int64_t(acc.size()); ++i)
      acc[i % tileAccs] =
          arith::AddFOp::create(b, loc, acc[i % tileAccs], acc[i]);
    acc.resize(tileAccs);
    if (io.residual)
      cb.addInLast(b, loc, acc, [&](OpBuilder &b) {
        return outTile.load(b, filter, io.residual);
      });

    // Fused activation (and max-pool), in registers; write the tile once.
    if (tilesApplyRelu(op, tile))
      cb.relu(b, loc, acc);
    if (pooled)
      outTile.storePooled(b, filter, acc);
    else
      outTile.store(b, filter, acc);
  };
  // The direct form checks the row of every load only in the row blocks
  // that reach the padding; the others run a copy of the code without the
  // checks, whose masks fold away inside the rows (MobileNet-V2's depthwise
  // convs at 112x112 and 56x56: 1.10-1.21x pattern-pruned, 1.13-1.42x
  // dense). The copy is made only where both kinds of row block exist.
  int64_t inside = 0; // row blocks inside the input's rows (direct form)
  for (int64_t blk = 0; src.direct && blk < tile.rowBlocks; ++blk)
    inside += src.rowsInside(blk * R * sh, rowSpan);
  createTaskLoop(
      b, loc, s, tile, schedule.numGroups(),
      [&](OpBuilder &b, Location loc, const TaskOrigin &task) {
        if (inside == 0 || inside == tile.rowBlocks) {
          taskBody(b, loc, task, /*checkRows=*/inside == 0);
          return;
        }
        auto ifOp = scf::IfOp::create(
            b, loc, TypeRange(), src.rowsInside(b, loc, task.inRow0, rowSpan),
            /*withElseRegion=*/true);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
        taskBody(b, loc, task, false);
        b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
        taskBody(b, loc, task, true);
      });

  finishOutput(b, loc, op, tile, io);
  return success();
}

/// One filter's run of pixels out of transposeRows: lane `lane` of the
/// input vectors, as a vector of the power-of-two width covering them.
struct TransposedRun {
  int64_t lane;
  Value pixels;
};

/// Transposes P <= vw vectors of vw lanes (pixel p's vector: one value per
/// filter lane) into per-lane runs: for every lane j, the vector of the P
/// pixels' values (padded with zeros to R = the power of two >= P), built
/// with log2(R) stages of two-input shuffles (interleaving units of 1, 2, 4
/// ... lanes: unpck / shufps / vpermt2ps on x86), vw / R lanes per result
/// vector, then split. R * log2(R) shuffles per vw x P values instead of one
/// scalar move per value. The (pixel, lane) of every element is tracked at
/// compile time, so the runs come out labelled whatever the stage order.
static SmallVector<TransposedRun> transposeRows(OpBuilder &b, Location loc,
                                                ArrayRef<Value> rows,
                                                int64_t vw) {
  int64_t P = rows.size(), R = int64_t(llvm::PowerOf2Ceil(P));
  auto vecType = cast<VectorType>(rows.front().getType());
  Value zeros = P < R ? arith::ConstantOp::create(
                            b, loc, DenseElementsAttr::get(
                                        vecType, b.getF32FloatAttr(0.0f)))
                            .getResult()
                      : Value();
  // Each vector with the (pixel, lane) label of each of its elements.
  using Labels = SmallVector<std::pair<int64_t, int64_t>>;
  SmallVector<std::pair<Value, Labels>> list;
  for (int64_t p = 0; p < R; ++p) {
    Labels labels;
    for (int64_t l = 0; l < vw; ++l)
      labels.push_back({p, l});
    list.push_back({p < P ? rows[p] : zeros, labels});
  }
  for (int64_t unit = 1; unit < R; unit *= 2) {
    SmallVector<std::pair<Value, Labels>> lows, highs;
    for (size_t i = 0; i + 1 < list.size(); i += 2) {
      auto &[a, la] = list[i];
      auto &[c, lc] = list[i + 1];
      for (int64_t half = 0; half < 2; ++half) {
        SmallVector<int64_t> mask;
        Labels labels;
        for (int64_t u = 0; u < vw / (2 * unit); ++u)
          for (int64_t side = 0; side < 2; ++side)
            for (int64_t e = 0; e < unit; ++e) {
              int64_t from = half * vw / 2 + u * unit + e;
              mask.push_back(side * vw + from);
              labels.push_back(side ? lc[from] : la[from]);
            }
        Value shuffled = vector::ShuffleOp::create(b, loc, a, c, mask);
        (half ? highs : lows).push_back({shuffled, labels});
      }
    }
    list = lows;
    llvm::append_range(list, highs);
  }
  // Each vector now holds vw / R runs of R consecutive pixels of one lane.
  SmallVector<TransposedRun> runs;
  for (auto &[value, labels] : list)
    for (int64_t k = 0; k < vw / R; ++k) {
      int64_t lane = labels[k * R].second;
      bool ordered = true;
      for (int64_t e = 0; e < R; ++e)
        ordered &= labels[k * R + e] == std::make_pair(e, lane);
      assert(ordered && "transposeRows: a run is not one lane's pixels");
      (void)ordered;
      Value run = R == vw ? value
                          : vector::ExtractStridedSliceOp::create(
                                b, loc, value, ArrayRef<int64_t>{k * R},
                                ArrayRef<int64_t>{R}, ArrayRef<int64_t>{1})
                                .getResult();
      runs.push_back({lane, run});
    }
  return runs;
}

/// A dense flat 1x1 conv with filters along the lanes
/// (TileShape::filterLanes): tasks (image, filter group, run of P pixels);
/// per filter block of FB = V * vw filters, a P x V tile of accumulators
/// (pixel p, filters [v * vw, (v + 1) * vw) of the block) sums, over all
/// channels c, the broadcast input x[c][p] times the block's weight vector
/// w[c][v * vw ...] (weights repacked to [F / FB][C][FB]; bias loaded as
/// vectors). The tile is then transposed in registers (transposeRows) and
/// each filter's P pixels stored as one (masked) vector, the residual
/// added and the activation applied there if the op has a residual, before
/// the transposition otherwise.
static LogicalResult lowerFilterLaneConv(Conv2DOp op, const TileShape &tile,
                                         ArrayRef<float> packed,
                                         bool prefetchNextGroup,
                                         const PaddedGeometry *into = nullptr,
                                         Value *outPadded = nullptr) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  Type f32 = b.getF32Type();
  ConvShape s = ConvShape::of(op);
  int64_t C = s.channels, F = s.filters, vw = tile.vectorWidth;
  int64_t V = tile.vectors, FB = tile.filterBlock, pixels = s.outHeight * s.outWidth;
  auto vecType = VectorType::get({vw}, f32);

  // packed: [F][C] (one tap) -> [F / FB][C][FB].
  std::vector<float> blocked(packed.size());
  for (int64_t f = 0; f < F; ++f)
    for (int64_t c = 0; c < C; ++c)
      blocked[((f / FB) * C + c) * FB + f % FB] = packed[f * C + c];
  Value weights = toReadOnlyBuffer(b, loc, createF32Constant(b, loc, blocked));

  // The input as N x C x 1 x 1 x P (a compact copy at stride > 1).
  TapSource src = createTapSource(b, loc, op, s, tile);
  ConvOutput io = createConvOutput(b, loc, op, tile, into, outPadded);
  Value c0 = cIdx(b, loc, 0), c1 = cIdx(b, loc, 1);
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  // Written into the consumer's zero-padded input (io.padded): runs of
  // P <= W pixels, the halo with them (FlatPaddedWriter).
  std::optional<FlatPaddedWriter> padded;
  if (io.padded)
    padded.emplace(b, loc, tile, io);
  std::optional<APFloat> reluMax = op.getReluMax();
  Value maxScalar =
      reluMax ? arith::ConstantOp::create(
                    b, loc, b.getF32FloatAttr(reluMax->convertToFloat()))
                    .getResult()
              : Value();
  // The op's ReLU and its upper bound (as in finishOutput) on a vector.
  auto activate = [&](OpBuilder &b, Location loc, Value x) -> Value {
    auto vt = cast<VectorType>(x.getType());
    if (op.getRelu())
      x = activationMax(b, loc, x, vector::BroadcastOp::create(b, loc, vt, zero));
    if (maxScalar)
      x = activationMin(b, loc, x,
                        vector::BroadcastOp::create(b, loc, vt, maxScalar));
    return x;
  };

  // Tasks (image, filter group, run of pixels), runs inner: consecutive
  // tasks, and so each thread's share of them, reuse one group's weights
  // from L2, where run-major order streamed every weight once per run
  // (320->1280 at 7x7 1.09x, 960->320 1.12x, 512->2048 1.05x alone; whole
  // networks, whose weights come from memory once anyway, 1.00-1.01x).
  int64_t filterBlocks = F / FB, groups = tile.groups, runs = tile.chunks;
  int64_t last = pixels - (runs - 1) * tile.rows;
  scf::ParallelOp::create(
      b, loc, ValueRange{c0, c0, c0},
      ValueRange{cIdx(b, loc, s.batch), cIdx(b, loc, groups),
                 cIdx(b, loc, runs)},
      ValueRange{c1, c1, c1}, [&](OpBuilder &b, Location loc, ValueRange ivs) {
        Value batch = ivs[0], group = ivs[1], run = ivs[2];
        Value taskRun = run; // `run` below names a transposed run
        Value p0 = arith::MulIOp::create(b, loc, run,
                                         cIdx(b, loc, tile.rows));
        auto groupBound = [&](Value g) -> Value {
          return arith::DivUIOp::create(
              b, loc,
              arith::MulIOp::create(b, loc, g, cIdx(b, loc, filterBlocks)),
              cIdx(b, loc, groups));
        };
        Value groupBegin = groupBound(group);
        Value groupEnd = groupBound(arith::AddIOp::create(b, loc, group, c1));
        // A group's first run brings its weights from memory (a network's
        // weights do not stay in cache from one call to the next), at the
        // speed of memory: few FMAs per weight. Its other runs prefetch
        // the next group's weights into L2 instead, one line per channel
        // iteration, run r (1, 2, ...) the lines from (r - 1) x the run's
        // iterations on (the group's blocks x C), enough to cover them
        // from 5 runs on; the last group's prefetches stay on the last
        // line. With groups sized for two in L2 (chooseFilterLaneTile),
        // ResNet-50 (same-process A/B, the whole network): 0.978x /
        // 0.975x the time at 1 / 2 threads, MobileNet-V2 0.976x / 0.995x.
        // Per task: the channel iterations of a run, where the next group's
        // weights start.
        bool prefetching = prefetchNextGroup && runs > 1;
        Value iters, nextWeights;
        if (prefetching) {
          iters = arith::MulIOp::create(
              b, loc, arith::SubIOp::create(b, loc, groupEnd, groupBegin),
              cIdx(b, loc, C));
          nextWeights =
              arith::MulIOp::create(b, loc, groupEnd, cIdx(b, loc, C * FB));
        }
        auto prefetchGroupAhead = [&](OpBuilder &b, Location loc, Value run,
                                      Value block, Value ch) {
          Value iter = arith::AddIOp::create(
              b, loc,
              arith::MulIOp::create(
                  b, loc, arith::SubIOp::create(b, loc, block, groupBegin),
                  cIdx(b, loc, C)),
              ch);
          Value line = arith::AddIOp::create(
              b, loc,
              arith::MulIOp::create(
                  b, loc, arith::SubIOp::create(b, loc, run, c1), iters),
              iter);
          Value at = arith::MinUIOp::create(
              b, loc,
              arith::AddIOp::create(
                  b, loc, nextWeights,
                  arith::MulIOp::create(b, loc, line,
                                        cIdx(b, loc, kLineFloats))),
              cIdx(b, loc, F * C - 1));
          auto ifOp = scf::IfOp::create(
              b, loc, TypeRange(),
              arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, run, c0),
              /*withElseRegion=*/false);
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
          memref::PrefetchOp::create(b, loc, weights, ValueRange{at},
                                     /*isWrite=*/false, /*localityHint=*/3,
                                     /*isDataCache=*/true);
        };
        // The task's code for runs of P pixels.
        auto body = [&](OpBuilder &b, Location loc, int64_t P) {
          auto blockLoop = scf::ForOp::create(b, loc, groupBegin, groupEnd, c1);
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(blockLoop.getBody());
          Value filter0 = arith::MulIOp::create(
              b, loc, blockLoop.getInductionVar(), cIdx(b, loc, FB));
          SmallVector<Value> init;
          for (int64_t v = 0; v < V; ++v) {
            Value f =
                arith::AddIOp::create(b, loc, filter0, cIdx(b, loc, v * vw));
            init.push_back(
                io.bias ? vector::LoadOp::create(b, loc, vecType, io.bias,
                                                 ValueRange{f})
                              .getResult()
                        : vector::BroadcastOp::create(b, loc, vecType, zero)
                              .getResult());
          }
          SmallVector<Value> acc0;
          for (int64_t p = 0; p < P; ++p)
            llvm::append_range(acc0, init);
          Value blockBase = arith::MulIOp::create(
              b, loc, blockLoop.getInductionVar(), cIdx(b, loc, C * FB));
          auto channelLoop = scf::ForOp::create(
              b, loc, c0, cIdx(b, loc, C), c1, acc0,
              [&](OpBuilder &b, Location loc, Value ch, ValueRange iter) {
                Value base = arith::AddIOp::create(
                    b, loc, blockBase,
                    arith::MulIOp::create(b, loc, ch, cIdx(b, loc, FB)));
                if (prefetching)
                  prefetchGroupAhead(b, loc, run, blockLoop.getInductionVar(),
                                     ch);
                SmallVector<Value> w;
                for (int64_t v = 0; v < V; ++v)
                  w.push_back(vector::LoadOp::create(
                      b, loc, vecType, weights,
                      ValueRange{arith::AddIOp::create(b, loc, base,
                                                       cIdx(b, loc, v * vw))}));
                SmallVector<Value> next(iter.begin(), iter.end());
                for (int64_t p = 0; p < P; ++p) {
                  Value x = memref::LoadOp::create(
                      b, loc, src.buffer,
                      ValueRange{batch, ch, c0, c0,
                                 arith::AddIOp::create(b, loc, p0,
                                                       cIdx(b, loc, p))});
                  Value xs = vector::BroadcastOp::create(b, loc, vecType, x);
                  for (int64_t v = 0; v < V; ++v)
                    next[p * V + v] =
                        vector::FMAOp::create(b, loc, w[v], xs, next[p * V + v]);
                }
                scf::YieldOp::create(b, loc, next);
              });
          // Per filter vector v: the P pixel vectors (lanes: filters),
          // transposed in registers into runs of P pixels per filter.
          for (int64_t v = 0; v < V; ++v) {
            SmallVector<Value> rows;
            for (int64_t p = 0; p < P; ++p) {
              Value a = channelLoop.getResult(p * V + v);
              rows.push_back(io.residual ? a : activate(b, loc, a));
            }
            for (const TransposedRun &run : transposeRows(b, loc, rows, vw)) {
              Value f = arith::AddIOp::create(
                  b, loc, filter0, cIdx(b, loc, v * vw + run.lane));
              SmallVector<Value, 4> at{batch, f, c0, p0};
              Value y = run.pixels;
              auto runType = cast<VectorType>(y.getType());
              int64_t width = runType.getDimSize(0);
              Value mask =
                  width == P ? Value()
                             : vector::ConstantMaskOp::create(
                                   b, loc,
                                   VectorType::get({width}, b.getI1Type()),
                                   ArrayRef<int64_t>{P})
                                   .getResult();
              if (io.residual) {
                Value zeros = vector::BroadcastOp::create(b, loc, runType, zero);
                y = activate(b, loc,
                             arith::AddFOp::create(
                                 b, loc, y,
                                 width == P
                                     ? vector::LoadOp::create(b, loc, runType,
                                                              io.residual, at)
                                           .getResult()
                                     : vector::MaskedLoadOp::create(
                                           b, loc, runType, io.residual, at, mask,
                                           zeros)
                                           .getResult()));
              }
              if (padded)
                padded->store(
                    b, batch, f, p0, y, cIdx(b, loc, P),
                    arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                          taskRun, c0),
                    arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                          taskRun,
                                          cIdx(b, loc, tile.chunks - 1)));
              else if (width == P)
                vector::StoreOp::create(b, loc, y, io.view, at);
              else
                vector::MaskedStoreOp::create(b, loc, io.view, at, mask, y);
            }
          }
        };
        if (last == tile.rows) {
          body(b, loc, tile.rows);
          return;
        }
        Value isLast = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                             run, cIdx(b, loc, runs - 1));
        auto ifOp = scf::IfOp::create(b, loc, TypeRange(), isLast,
                                      /*withElseRegion=*/true);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
        body(b, loc, last);
        b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
        body(b, loc, tile.rows);
      });

  finishOutput(b, loc, op, tile, io);
  return success();
}

/// Whether the dense lowering applies `op`'s fused max-pool in its epilogue
/// (lowerPooledTasks): ResNet's stem, a dense conv whose 3x3 / 2 pool with
/// padding 1 (top and left; bottom and right 0 or 1) would otherwise read a
/// 3.2 MB map back after a -inf fill of its padded copy. Even output height
/// and width (then the pool halves them and never reads the bottom and right
/// padding), tiles of an even number of rows that cover the height exactly,
/// one channel block, row form (neither pitched nor flat), no tail chunk.
static bool poolsInEpilogue(Conv2DOp op, const TileShape &tile) {
  if (!op.getMaxPool() || op.hasTiledPool() || !isDenseConv(op))
    return false;
  ConvShape s = ConvShape::of(op);
  SmallVector<int64_t, 4> pads = op.getPoolPads();
  return op.getPoolWindow() == std::make_pair<int64_t, int64_t>(3, 3) &&
         op.getPoolStride() == std::make_pair<int64_t, int64_t>(2, 2) &&
         pads[0] == 1 && pads[1] == 1 && pads[2] <= 1 && pads[3] <= 1 &&
         s.outHeight % 2 == 0 && s.outWidth % 2 == 0 && tile.rows % 2 == 0 &&
         tile.rowBlocks * tile.rows == s.outHeight && !tile.pitch &&
         !tile.flatten && !tile.filterLanes && !tile.tailVectors &&
         tile.channelBlock >= s.channels;
}

/// The task loop of a conv whose 3x3 / 2 max-pool (padding 1) is applied
/// in its epilogue (poolsInEpilogue). Tasks are (image, filter block); each
/// walks the whole map down, row block by row block: `tile` computes a
/// register tile of the block's filters (the accumulators of filter j, row
/// r, vector v at (j * R + r) * V + v), which is activated and stored into
/// an L1 scratch of R + 1 conv rows per filter (row 0 carries the previous
/// block's last row, column 0 is the pool's left padding, -inf); then each
/// pair of rows is pooled: the vertical max of three scratch rows, the
/// horizontal max of columns 2x, 2x + 1, 2x + 2 by even / odd lane
/// shuffles, one (masked) vector store of `vw` pooled columns into `out`
/// (N x F x OH / 2 x OW / 2, any view). The conv's full-resolution map is
/// never written, the pool's padded copy never filled, and no row is
/// computed twice.
static void lowerPooledTasks(
    OpBuilder &b, Location loc, Conv2DOp op, const TileShape &tile,
    const ConvOutput &io, int64_t filterBlocks, Value zeroVec,
    function_ref<SmallVector<Value>(OpBuilder &, Location, const OutputTile &,
                                    Value, Value, Value, Value)>
        computeTile) {
  ConvShape s = ConvShape::of(op);
  Value out = io.view;
  int64_t FB = tile.filterBlock, R = tile.rows, V = tile.vectors;
  int64_t vw = tile.vectorWidth;
  int64_t pooledWidth = s.outWidth / 2;
  int64_t pooledVectors = llvm::divideCeil(pooledWidth, vw);
  // Scratch columns: 1 + the tiles' columns, and the pool's last read
  // (column 2 vw pooledVectors + 1) in whole vectors.
  int64_t width = llvm::alignTo(
      std::max(2 * vw * pooledVectors + 2 * vw,
               1 + tile.chunks * V * vw),
      vw);
  auto vecType = cast<VectorType>(zeroVec.getType());
  Type f32 = vecType.getElementType();
  auto scratchType = MemRefType::get({1, FB, R + 1, width}, f32);
  Value lowest = arith::ConstantOp::create(
      b, loc, b.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
  Value lowestVec = vector::BroadcastOp::create(b, loc, vecType, lowest);
  Value reluMax;
  if (std::optional<APFloat> max = op.getReluMax())
    reluMax = vector::BroadcastOp::create(
        b, loc, vecType,
        arith::ConstantOp::create(b, loc,
                                  b.getF32FloatAttr(max->convertToFloat())));
  Value c0 = cIdx(b, loc, 0), c1 = cIdx(b, loc, 1);
  SmallVector<int64_t> even, odd;
  for (int64_t l = 0; l < vw; ++l) {
    even.push_back(2 * l);
    odd.push_back(2 * l + 1);
  }
  scf::ParallelOp::create(
      b, loc, ValueRange{c0, c0},
      ValueRange{cIdx(b, loc, s.batch), cIdx(b, loc, filterBlocks)},
      ValueRange{c1, c1}, [&](OpBuilder &b, Location loc, ValueRange ivs) {
        Value batch = ivs[0], filterBlock = ivs[1];
        Value filter0 =
            arith::MulIOp::create(b, loc, filterBlock, cIdx(b, loc, FB));
        // On the heap (freed at the end of the task by the deallocation
        // pipeline): a stack allocation in an OpenMP loop body would need an
        // alloca scope, whose lowering splits the body's block.
        Value scratch = memref::AllocOp::create(b, loc, scratchType,
                                                b.getI64IntegerAttr(64));
        auto at = [&](OpBuilder &b, int64_t j, int64_t row,
                      int64_t col) -> SmallVector<Value> {
          return {c0, cIdx(b, loc, j), cIdx(b, loc, row), cIdx(b, loc, col)};
        };
        // Written into a padded buffer: the halo rows above and below
        // the block's planes (each pooled row's sides follow its stores).
        for (int64_t j = 0; io.padded && j < FB; ++j) {
          Value filter =
              arith::AddIOp::create(b, loc, filter0, cIdx(b, loc, j));
          for (bool above : {true, false})
            fillEdgeRows(b, loc, io.padded, zeroVec, batch, filter, io.halo,
                         above);
        }
        // Above the first row and left of every row: the pool's padding.
        for (int64_t j = 0; j < FB; ++j) {
          for (int64_t col = 0; col < width; col += vw)
            vector::StoreOp::create(b, loc, lowestVec, scratch,
                                    at(b, j, 0, col));
          for (int64_t row = 1; row <= R; ++row)
            memref::StoreOp::create(b, loc, lowest, scratch,
                                    at(b, j, row, 0));
        }
        // The tiles write rows 1 .. R from column 1 on.
        Value tileView = memref::SubViewOp::create(
            b, loc, scratch,
            ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(0),
                                   b.getIndexAttr(1), b.getIndexAttr(1)},
            ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(FB),
                                   b.getIndexAttr(R),
                                   b.getIndexAttr(width - 1)},
            ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                                   b.getIndexAttr(1), b.getIndexAttr(1)});
        auto rowLoop = scf::ForOp::create(b, loc, c0,
                                          cIdx(b, loc, tile.rowBlocks), c1);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(rowLoop.getBody());
        Value row0 = arith::MulIOp::create(b, loc, rowLoop.getInductionVar(),
                                           cIdx(b, loc, R));
        Value inRow0 =
            arith::MulIOp::create(b, loc, row0, cIdx(b, loc, s.strides[0]));
        auto chunkLoop =
            scf::ForOp::create(b, loc, c0, cIdx(b, loc, tile.chunks), c1);
        {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(chunkLoop.getBody());
          TaskOrigin task;
          task.batch = c0;
          task.row0 = c0;
          task.col0 = arith::MulIOp::create(b, loc, chunkLoop.getInductionVar(),
                                            cIdx(b, loc, V * vw));
          task.vectors = V;
          task.mayBeLast = true;
          OutputTile outTile(b, loc, tileView, task, tile,
                             tile.rowBlocks * R, s.outWidth, zeroVec);
          SmallVector<Value> acc = computeTile(b, loc, outTile, batch, inRow0,
                                               task.col0, filterBlock);
          for (Value &a : acc) {
            if (op.getRelu())
              a = activationMax(b, loc, a, zeroVec);
            if (reluMax)
              a = activationMin(b, loc, a, reluMax);
          }
          for (int64_t j = 0; j < FB; ++j)
            outTile.store(b, cIdx(b, loc, j),
                          ArrayRef<Value>(acc).slice(j * R * V, R * V));
        }
        // Pooled row pr of the block reads scratch rows 2 pr .. 2 pr + 2;
        // pooled column x the scratch columns 2x .. 2x + 2.
        Value pooledRow0 = arith::DivUIOp::create(b, loc, row0, cIdx(b, loc, 2));
        for (int64_t j = 0; j < FB; ++j) {
          Value filter = arith::AddIOp::create(b, loc, filter0, cIdx(b, loc, j));
          for (int64_t pr = 0; pr < R / 2; ++pr) {
            Value y = arith::AddIOp::create(b, loc, pooledRow0, cIdx(b, loc, pr));
            for (int64_t m = 0; m < pooledVectors; ++m) {
              // Columns 2 m vw + {0, vw, 2, vw + 2}, max over the 3 rows.
              SmallVector<Value, 4> cols;
              for (int64_t offset : {int64_t(0), vw, int64_t(2), vw + 2}) {
                Value v;
                for (int64_t k = 0; k < 3; ++k) {
                  Value x = vector::LoadOp::create(
                      b, loc, vecType, scratch,
                      at(b, j, 2 * pr + k, 2 * m * vw + offset));
                  v = v ? arith::MaximumFOp::create(b, loc, v, x).getResult()
                        : x;
                }
                cols.push_back(v);
              }
              Value first =
                  vector::ShuffleOp::create(b, loc, cols[0], cols[1], even);
              Value second =
                  vector::ShuffleOp::create(b, loc, cols[0], cols[1], odd);
              Value third =
                  vector::ShuffleOp::create(b, loc, cols[2], cols[3], even);
              Value pooled = arith::MaximumFOp::create(
                  b, loc, first,
                  arith::MaximumFOp::create(b, loc, second, third));
              SmallVector<Value, 4> index{batch, filter, y,
                                          cIdx(b, loc, m * vw)};
              int64_t lanes = std::min(vw, pooledWidth - m * vw);
              if (lanes == vw) {
                vector::StoreOp::create(b, loc, pooled, out, index);
              } else {
                Value mask = vector::ConstantMaskOp::create(
                    b, loc, VectorType::get({vw}, b.getI1Type()),
                    ArrayRef<int64_t>{lanes});
                vector::MaskedStoreOp::create(b, loc, out, index, mask,
                                              pooled);
              }
            }
            if (io.padded) {
              Value yes = arith::ConstantIntOp::create(b, loc, 1, 1);
              fillRowHalo(
                  b, loc, io.padded, zeroVec, batch, filter,
                  arith::AddIOp::create(b, loc, y, cIdx(b, loc, io.halo.top)),
                  io.halo, yes, yes);
            }
          }
          // The block's last row is the next block's row 0.
          for (int64_t col = 0; col < width; col += vw)
            vector::StoreOp::create(
                b, loc,
                vector::LoadOp::create(b, loc, vecType, scratch,
                                       at(b, j, R, col)),
                scratch, at(b, j, 0, col));
        }
      });
}

/// A dense conv (every kernel kept, every tap): register tiles of
/// filterBlock filters x R rows x V vectors; each input vector feeds the
/// taps of all the block's filters, each broadcast weight all R x V output
/// vectors. Weights are repacked at compile time to
/// [F / filterBlock][C][taps][filterBlock], so a tile walks them in order.
/// A conv with shared-kernel filter blocks (sharedKernelBlock) takes the same
/// tile with one loop per pattern over the block's kept kernels, weights
/// repacked to [kernel][taps][filterBlock] in the blocks' kernel order.
static LogicalResult lowerDenseConv(Conv2DOp op, const TileShape &tile,
                                    int64_t prefetchDistance,
                                    int64_t streamingBytes, bool &streamed,
                                    Value inPadded = Value(),
                                    const PaddedGeometry *outInto = nullptr,
                                    Value *outPadded = nullptr) {
  std::string why;
  FailureOr<std::vector<float>> packed = readConstantF32(op.getWeights(), why);
  if (failed(packed))
    return op.emitOpError() << "cannot read its weights: " << why;
  if (tile.filterLanes) {
    assert(!inPadded && "flat 1x1 convs read no padding");
    return lowerFilterLaneConv(op, tile, *packed, prefetchDistance > 0,
                               outInto, outPadded);
  }

  OpBuilder b(op);
  Location loc = op.getLoc();
  Type f32 = b.getF32Type();
  ConvShape s = ConvShape::of(op);
  int64_t kw = s.kernelWidth, sh = s.strides[0];
  ArrayRef<int64_t> dil = s.dilations;
  ArrayRef<int64_t> positions = op.getLibrary().getPattern(0);
  int64_t taps = positions.size(), C = s.channels;
  int64_t vw = tile.vectorWidth, R = tile.rows;
  int64_t FB = tile.filterBlock;
  auto vecType = VectorType::get({vw}, f32);

  int64_t KC = tile.channelBlock, blocks = llvm::divideCeil(C, KC);

  // Shared-kernel blocks (not dense): the kept kernels of filter block fb
  // (the same for its FB filters), per channel block cb sorted by pattern,
  // channel ascending within a pattern: kernel k of the layer's list reads
  // channel kernelChannel[k]; block (fb, cb)'s pattern-p kernels are
  // [runStart[i], runStart[i + 1]) with i = (fb * blocks + cb) * P + p (one
  // end sentinel).
  bool shared = !isDenseConv(op);
  int64_t P = op.getLibrary().getNumPatterns();
  SmallVector<int32_t> kernelChannel, runStart;
  std::vector<float> blocked(packed->size());
  if (shared) {
    SmallVector<int8_t> ids(op.getKernelPatterns().getValues<int8_t>());
    SmallVector<int32_t> offsets = packedOffsets(ids, taps);
    for (int64_t fb = 0; fb < s.filters / FB; ++fb) {
      int64_t f0 = fb * FB;
      for (int64_t cb = 0; cb < blocks; ++cb) {
        int64_t cEnd = std::min(C, (cb + 1) * KC);
        for (int64_t p = 0; p < P; ++p) {
          runStart.push_back(int32_t(kernelChannel.size()));
          for (int64_t c = cb * KC; c < cEnd; ++c) {
            if (ids[f0 * C + c] != p)
              continue;
            int64_t k = kernelChannel.size();
            kernelChannel.push_back(int32_t(c));
            // blocked: [k][taps][FB]
            for (int64_t j = 0; j < FB; ++j)
              for (int64_t t = 0; t < taps; ++t)
                blocked[(k * taps + t) * FB + j] =
                    (*packed)[offsets[(f0 + j) * C + c] + t];
          }
        }
      }
    }
    runStart.push_back(int32_t(kernelChannel.size()));
  } else {
    // packed: [F][C][taps] -> blocked: [F / FB][C][taps][FB].
    for (int64_t f = 0; f < s.filters; ++f)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t t = 0; t < taps; ++t)
          blocked[(((f / FB) * C + c) * taps + t) * FB + f % FB] =
              (*packed)[(f * C + c) * taps + t];
  }
  Value weights = toReadOnlyBuffer(b, loc, createF32Constant(b, loc, blocked));
  Value channelTable, runTable;
  if (shared && !kernelChannel.empty()) {
    channelTable = createI32Table(b, loc, kernelChannel);
    runTable = createI32Table(b, loc, runStart);
  }

  // Unaligned loads: a dense tile is FMA-bound (each input vector feeds
  // filterBlock filters), and lane shuffles take FMA issue slots (port 5):
  // with them ResNet-50's 256 -> 256 3x3 at 14x14 ran 3.06 ms against 1.94.
  TapSource src = createTapSource(b, loc, op, s, tile, {}, inPadded);
  ConvOutput io = createConvOutput(b, loc, op, tile, outInto, outPadded);
  std::optional<FlatPaddedWriter> flatPadded;
  if (io.padded && tile.flatten)
    flatPadded.emplace(b, loc, tile, io);
  Value streaming = poolsInEpilogue(op, tile)
                        ? Value()
                        : streamingCondition(b, loc, op, io.view, tile, blocks,
                                             streamingBytes);
  streamed = bool(streaming);
  Value c1 = cIdx(b, loc, 1);
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  Value zeroVec = vector::BroadcastOp::create(b, loc, vecType, zero);

  // One register tile: where it reads and writes (the OutputTile), its
  // input origin and its vectors per row.
  struct TileOrigin {
    const OutputTile &out;
    Value batch, inRow0, col0;
    int64_t vectors;
  };
  // The FMAs of one kernel (input channel ch, taps at `positions`, weights
  // from `base` on) into the block's accumulators.
  auto kernel = [&](OpBuilder &b, Location loc, const TileOrigin &at,
                    Value ch, Value base, ArrayRef<int64_t> positions,
                    ValueRange iter) {
    TapLoads in{src, at.out, at.batch, ch, at.inRow0, at.col0, true, {}};
    int64_t V = at.vectors;
    SmallVector<Value> next(iter.begin(), iter.end());
    for (int64_t t = 0; t < taps; ++t) {
      int64_t dy = (positions[t] / kw) * dil[0];
      int64_t dx = (positions[t] % kw) * dil[1];
      for (int64_t j = 0; j < FB; ++j) {
        Value wt = memref::LoadOp::create(
            b, loc, weights,
            ValueRange{arith::AddIOp::create(
                b, loc, base, cIdx(b, loc, t * FB + j))});
        Value w = vector::BroadcastOp::create(b, loc, vecType, wt);
        for (int64_t r = 0; r < R; ++r)
          for (int64_t v = 0; v < V; ++v) {
            Value &a = next[(j * R + r) * V + v];
            a = vector::FMAOp::create(
                b, loc, in.get(b, loc, r * sh + dy, dx, v), w, a);
          }
      }
    }
    return next;
  };
  // A dense filter block's channels [begin, end) into `acc`: weights of
  // (filter block, channel) start at (filterBlock * C + c) * taps * FB.
  auto denseChannels = [&](OpBuilder &b, Location loc, const TileOrigin &at,
                           Value filterBlock, Value begin, Value end,
                           ValueRange acc) {
    Value blockBase = arith::MulIOp::create(b, loc, filterBlock,
                                            cIdx(b, loc, C * taps * FB));
    auto channelLoop = scf::ForOp::create(
        b, loc, begin, end, c1, acc,
        [&](OpBuilder &b, Location loc, Value ch, ValueRange iter) {
          Value base = arith::AddIOp::create(
              b, loc, blockBase,
              arith::MulIOp::create(b, loc, ch, cIdx(b, loc, taps * FB)));
          scf::YieldOp::create(b, loc,
                               kernel(b, loc, at, ch, base, positions, iter));
        });
    return SmallVector<Value>(channelLoop.getResults());
  };
  // The bias of filters [filter0, filter0 + FB), each broadcast to the
  // R x V accumulators of its filter.
  auto biasAccumulators = [&](OpBuilder &b, Location loc, Value filter0,
                              int64_t V, SmallVectorImpl<Value> &filters) {
    SmallVector<Value> fresh;
    for (int64_t j = 0; j < FB; ++j) {
      filters.push_back(
          arith::AddIOp::create(b, loc, filter0, cIdx(b, loc, j)));
      Value init = vector::BroadcastOp::create(
          b, loc, vecType,
          io.bias ? memref::LoadOp::create(b, loc, io.bias, filters.back())
                        .getResult()
                  : zero);
      fresh.append(R * V, init);
    }
    return fresh;
  };
  int64_t filterBlocks = s.filters / FB;
  if (poolsInEpilogue(op, tile)) {
    lowerPooledTasks(b, loc, op, tile, io, filterBlocks, zeroVec,
                     [&](OpBuilder &b, Location loc, const OutputTile &out,
                         Value batch, Value inRow0, Value col0,
                         Value filterBlock) {
                       Value filter0 = arith::MulIOp::create(
                           b, loc, filterBlock, cIdx(b, loc, FB));
                       SmallVector<Value> filters;
                       SmallVector<Value> acc = biasAccumulators(
                           b, loc, filter0, tile.vectors, filters);
                       return denseChannels(
                           b, loc,
                           TileOrigin{out, batch, inRow0, col0, tile.vectors},
                           filterBlock, cIdx(b, loc, 0), cIdx(b, loc, C), acc);
                     });
    finishOutput(b, loc, op, tile, io);
    return success();
  }

  // Parallel tasks: (image, row block, column chunk, filter group), a
  // group being a run of whole filter blocks. Inside a task, channel blocks
  // outside and the group's filter blocks inside: the block's tile input
  // stays in L1 while every filter block uses it.
  int64_t groups = tile.groups;
  createTaskLoop(
      b, loc, s, tile, groups,
      [&](OpBuilder &b, Location loc, const TaskOrigin &task) {
        Value batch = task.batch, inRow0 = task.inRow0, col0 = task.col0;
        int64_t V = task.vectors; // this chunk's (the tail's is narrower)
        // Group g holds filter blocks [g * FBs / G, (g + 1) * FBs / G).
        auto groupBound = [&](Value g) -> Value {
          return arith::DivUIOp::create(
              b, loc,
              arith::MulIOp::create(b, loc, g, cIdx(b, loc, filterBlocks)),
              cIdx(b, loc, groups));
        };
        Value groupBegin = groupBound(task.group);
        Value groupEnd =
            groupBound(arith::AddIOp::create(b, loc, task.group, c1));
        OutputTile outTile(b, loc, io.view, task, tile, io.height, io.width, zeroVec);
        outTile.streaming = streaming;
        if (flatPadded)
          outTile.flatPadded = &*flatPadded;
        else if (io.padded)
          outTile.setHalo(b, io.padded, io.halo, task, tile);
        if (writesCompact(op, tile))
          outTile.setCompact(tile.pitch, s.outHeight, s.outWidth);
        TileOrigin origin{outTile, batch, inRow0, col0, V};

        OpBuilder::InsertionGuard guard(b);
        ChannelBlocks cb(b, loc, blocks, zero, zeroVec, op.getReluMax());
        Value channelBegin =
            arith::MulIOp::create(b, loc, cb.block, cIdx(b, loc, KC));
        Value channelEnd = arith::MinUIOp::create(
            b, loc, arith::AddIOp::create(b, loc, channelBegin, cIdx(b, loc, KC)),
            cIdx(b, loc, C));
        auto blockLoop = scf::ForOp::create(b, loc, groupBegin, groupEnd, c1);
        b.setInsertionPointToStart(blockLoop.getBody());
        Value filterBlock = blockLoop.getInductionVar();
        Value filter0 =
            arith::MulIOp::create(b, loc, filterBlock, cIdx(b, loc, FB));
        SmallVector<Value> filters;
        SmallVector<Value> fresh =
            biasAccumulators(b, loc, filter0, V, filters);
        SmallVector<Value> acc =
            cb.init(b, loc, fresh, [&](OpBuilder &b) {
              SmallVector<Value> partial;
              for (Value f : filters)
                llvm::append_range(partial, outTile.load(b, f));
              return partial;
            });
        if (shared) {
          // One loop per pattern over the block's kernels of that pattern;
          // kernel k's weights start at k * taps * FB.
          // Runs of (filter block, channel block) start at
          // (filterBlock * blocks + cb) * P.
          Value runs = arith::MulIOp::create(
              b, loc,
              arith::AddIOp::create(
                  b, loc,
                  arith::MulIOp::create(b, loc, filterBlock,
                                        cIdx(b, loc, blocks)),
                  cb.block),
              cIdx(b, loc, P));
          for (int64_t p = 0; p < P && channelTable; ++p) {
            Value at = arith::AddIOp::create(b, loc, runs, cIdx(b, loc, p));
            Value begin = loadIndex(b, loc, runTable, at);
            Value end = loadIndex(b, loc, runTable,
                                  arith::AddIOp::create(b, loc, at, c1));
            auto patternLoop = scf::ForOp::create(
                b, loc, begin, end, c1, acc,
                [&](OpBuilder &b, Location loc, Value k, ValueRange iter) {
                  Value ch = loadIndex(b, loc, channelTable, k);
                  // The block's kernels read channels in no order the
                  // hardware prefetcher follows: prefetch the tile input
                  // of the kernel `prefetchDistance` ahead (its rows x
                  // V + 1 lines of the padded copy). Two ahead, stride 1:
                  // 64->64 at 56x56 0.798 vs 0.848 ms, 128->128 at 28x28
                  // 0.694 vs 0.738, 256->256 at 14x14 0.726 vs 0.768;
                  // neutral at stride 2. Four ahead ran like two
                  // (ResNet-18's layers, blocks of 8: 0.99-1.01x).
                  if (prefetchDistance > 0 && src.rowForm())
                    prefetchTileInput(
                        b, loc, src, batch,
                        channelAhead(b, loc, channelTable,
                                     int64_t(kernelChannel.size()), k,
                                     prefetchDistance),
                        inRow0, col0,
                        (R - 1) * sh + (s.kernelHeight - 1) * dil[0] + 1, V,
                        vw, s.kernelWidth, dil[1]);
                  Value base = arith::MulIOp::create(
                      b, loc, k, cIdx(b, loc, taps * FB));
                  scf::YieldOp::create(
                      b, loc,
                      kernel(b, loc, origin, ch, base,
                             op.getLibrary().getPattern(p), iter));
                });
            acc.assign(patternLoop.getResults().begin(),
                       patternLoop.getResults().end());
          }
        } else {
          acc = denseChannels(b, loc, origin, filterBlock, channelBegin,
                              channelEnd, acc);
        }
        if (io.residual)
          cb.addInLast(b, loc, acc, [&](OpBuilder &b) {
            SmallVector<Value> res;
            for (Value f : filters)
              llvm::append_range(res, outTile.load(b, f, io.residual));
            return res;
          });
        if (tilesApplyRelu(op, tile))
          cb.relu(b, loc, acc);
        for (int64_t j = 0; j < FB; ++j)
          outTile.store(b, filters[j],
                        ArrayRef<Value>(acc).slice(j * R * V, R * V));
      });

  finishOutput(b, loc, op, tile, io);
  return success();
}

/// Whether `conv` uses `value` only as its residual and its tiles can read
/// the residual as a strided view: not a flat row (a 1x1 conv's view of the
/// whole map must be contiguous).
static bool addsOnlyAsStridedResidual(Conv2DOp conv, Value value,
                                      const TileModel &model) {
  if (conv.getResidual() != value || conv.getInput() == value)
    return false;
  FailureOr<TileShape> tile = chooseTile(conv, model);
  return succeeded(tile) && !tile->flatten;
}

struct LowerToVectorsPass
    : public pconv::impl::LowerToVectorsPassBase<LowerToVectorsPass> {
  using LowerToVectorsPassBase::LowerToVectorsPassBase;

  void runOnOperation() override {
    if (vectorWidth == 0 || maxAccumulators == 0 || maxVectorsPerRow == 0 ||
        maxRows == 0 || minTasks == 0 || denseAccumulators == 0) {
      getOperation().emitError("pconv-lower-to-vectors: every option "
                               "(vector-width, max-accumulators, "
                               "dense-accumulators, max-vectors-per-row, "
                               "max-rows, min-tasks; "
                               "cache-bytes may be 0) must be positive");
      return signalPassFailure();
    }
    if (streamingBytes < 0) {
      getOperation().emitError("pconv-lower-to-vectors: streaming-bytes must "
                               "be 0 (off) or positive, got ")
          << int64_t(streamingBytes);
      return signalPassFailure();
    }
    SmallVector<Conv2DOp> convs;
    getOperation().walk([&](Conv2DOp op) { convs.push_back(op); });
    TileModel model{vectorWidth, maxAccumulators, maxVectorsPerRow, maxRows,
                    cacheBytes,  minTasks,        denseCacheBytes,  denseAccumulators,
                    tailChunks,  filterLanes,     rowBlockBytes};
    LoadScheme scheme{shiftedCopies, alignedLoads, mixedShifts, directLoads};
    // Producers writing into their consumer's zero-padded input: the
    // consumer's padded buffers, by consumer.
    llvm::DenseMap<Operation *, Value> prePadded;
    for (Conv2DOp op : convs) {
      FailureOr<TileShape> tile = chooseTile(op, model);
      if (failed(tile))
        return signalPassFailure();
      bool dense = isFilterBlockedConv(op);
      // Its producer may have written its padded input (looked up before
      // the op is replaced below).
      Value inPadded = prePadded.lookup(op);
      // Only the pattern tiles pool in registers; elsewhere the conv is
      // computed whole and pooled by the pooling op split off it.
      if (op.getMaxPool() && !(dense ? poolsInEpilogue(op, *tile)
                                     : poolsInRegisters(op, *tile)))
        op = unfuseMaxPool(op);
      std::optional<PaddedGeometry> into;
      Conv2DOp consumer;
      bool others = false; // residual users besides the padded consumer
      // Flat 1x1 convs store runs of pixels (a filter-lane tile's rows, a
      // pixel tile's vectors), which span at most two rows while no longer
      // than a row; a pixel tile stores its partial sums between channel
      // blocks into the flat output, so only with one block.
      ConvShape shape = ConvShape::of(op);
      bool flatRuns =
          tile->flatten &&
          (tile->filterLanes
               ? tile->rows <= shape.outWidth
               : tile->vectorWidth <= shape.outWidth &&
                     tile->channelBlock >= shape.channels);
      if (writePadded && (!tile->flatten || flatRuns)) {
        // The one live user reading it as its input (the import leaves dead
        // pads of conv results); other live users may only add it as their
        // residual, on tiles that read it as a strided view (ResNet-18's
        // block outputs: the next block's first conv and its residual).
        for (Operation *user : op->getUsers()) {
          if (isOpTriviallyDead(user))
            continue;
          auto conv = dyn_cast<Conv2DOp>(user);
          if (conv && addsOnlyAsStridedResidual(conv, op.getResult(), model)) {
            others = true;
            continue;
          }
          if (!conv || consumer || conv.getInput() != op.getResult()) {
            consumer = {}; // no padded buffer: `others` is never read
            break;
          }
          consumer = conv;
        }
      }
      // Dense and shared-kernel consumers read the same row form (they
      // never take shifted copies); depthwise ones read in place.
      if (consumer && consumer.getInput() == op.getResult() &&
          (isFilterBlockedConv(consumer) || !shiftedCopies) &&
          !(directLoads && atMostOneKernelPerFilter(consumer))) {
        FailureOr<TileShape> ct = chooseTile(consumer, model);
        ConvShape cs = ConvShape::of(consumer);
        if (succeeded(ct) && !ct->pitch && !ct->flatten &&
            cs.strides[0] == 1 && cs.strides[1] == 1)
          into = rowPaddedGeometry(cs, *ct);
      }
      Value padded;
      bool streamed = false;
      if (dense ? failed(lowerDenseConv(op, *tile, prefetchDistance,
                                        streamingBytes, streamed, inPadded,
                                        into ? &*into : nullptr, &padded))
                : failed(lowerPatternConv(op, *tile, scheme, prefetchDistance,
                                          rowBlockBytes / 2, streamingBytes,
                                          streamed, inPadded,
                                          into ? &*into : nullptr, &padded)))
        return signalPassFailure();
      numStreaming += streamed;
      if (padded) {
        prePadded[consumer] = padded;
        ++numWritePadded;
        numResidualViews += others;
      }
      ++(dense ? numDense : numLowered);
    }
  }
};

} // namespace
