//===- ChooseTiles.cpp - Pick each pattern conv's tile and blocking -------===//
//
// Writes `pconv.tile` on every pconv.conv2d: the auto-tuner's choices (the
// `tiles` option, by op index) where given, the model-based default
// otherwise. Later passes (pconv-group-patterns, pconv-lower-to-vectors)
// read the attribute, so the choice is visible and editable in the IR.
//
//===----------------------------------------------------------------------===//

#include "passes/LoweringUtils.h"
#include "passes/Passes.h"

namespace mlir {
namespace pconv {
#define GEN_PASS_DEF_CHOOSETILESPASS
#include "passes/Passes.h.inc"
} // namespace pconv
} // namespace mlir

using namespace mlir;
using namespace mlir::pconv;

namespace {

/// Parses
/// `index=rows,vectors,channel_block,filter_groups[,filter_block[,filter_lanes]];...`.
static FailureOr<llvm::DenseMap<int64_t, SmallVector<int64_t, 4>>>
parseTiles(StringRef spec, Operation *anchor) {
  llvm::DenseMap<int64_t, SmallVector<int64_t, 4>> tiles;
  SmallVector<StringRef> entries;
  spec.split(entries, ';', -1, /*KeepEmpty=*/false);
  for (StringRef entry : entries) {
    auto [key, value] = entry.trim().split('=');
    int64_t index;
    SmallVector<StringRef> fields;
    value.split(fields, ',');
    SmallVector<int64_t, 4> numbers;
    for (StringRef field : fields) {
      int64_t number;
      if (field.trim().getAsInteger(10, number) || number < 0)
        break;
      numbers.push_back(number);
    }
    if (key.trim().getAsInteger(10, index) || index < 0 ||
        numbers.size() < 4 || numbers.size() > 6 ||
        (numbers.size() == 6 && numbers[5] > 1)) {
      anchor->emitError() << "pconv-choose-tiles: bad entry '" << entry
                          << "' in tiles; expected "
                             "'index=rows,vectors,channel_block,filter_groups"
                             "[,filter_block[,filter_lanes]]' (0: the model "
                             "picks that field; filter_block: dense convs "
                             "only; filter_lanes: 0 or 1)";
      return failure();
    }
    tiles[index] = numbers;
  }
  return tiles;
}

struct ChooseTilesPass
    : public pconv::impl::ChooseTilesPassBase<ChooseTilesPass> {
  using ChooseTilesPassBase::ChooseTilesPassBase;

  void runOnOperation() override {
    auto tiles = parseTiles(this->tiles, getOperation());
    if (failed(tiles))
      return signalPassFailure();
    TileModel model{vectorWidth, maxAccumulators, maxVectorsPerRow,
                    maxRows,     cacheBytes,      minTasks,
                    denseCacheBytes, denseAccumulators, tailChunks,
                    filterLanes, rowBlockBytes};
    int64_t index = 0;
    WalkResult result = getOperation()->walk([&](Conv2DOp op) {
      auto it = tiles->find(index++);
      if (it != tiles->end()) {
        Builder b(op.getContext());
        SmallVector<NamedAttribute> fields;
        static constexpr StringLiteral names[] = {
            "rows", "vectors", "channel_block", "filter_groups",
            "filter_block", "filter_lanes"};
        for (auto [name, value] : llvm::zip(names, it->second))
          if (value > 0)
            fields.push_back(b.getNamedAttr(name, b.getI64IntegerAttr(value)));
        op->setAttr(kTileAttrName, b.getDictionaryAttr(fields));
        ++numTuned;
      }
      // Complete (or check) the attribute with the model.
      FailureOr<TileShape> tile = chooseTile(op, model);
      if (failed(tile))
        return WalkResult::interrupt();
      setTileAttr(op, *tile);
      ++numChosen;
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    if (!tiles->empty() && tiles->size() > size_t(index)) {
      getOperation()->emitError()
          << "pconv-choose-tiles: tiles name " << tiles->size()
          << " convolutions but the module has " << index;
      return signalPassFailure();
    }
  }
};

} // namespace
