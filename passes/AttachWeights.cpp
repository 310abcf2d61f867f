//===- AttachWeights.cpp - Attach dense_resource blobs from a file --------===//
//
// Memory-maps a .pcw weights file and points the builtin dialect's resource
// blobs at it, so that large models never go through a textual hex round trip.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>

namespace mlir {
namespace pconv {
#define GEN_PASS_DEF_ATTACHWEIGHTSPASS
#include "passes/Passes.h.inc"
} // namespace pconv
} // namespace mlir

using namespace mlir;
using namespace mlir::pconv;

namespace {

constexpr llvm::StringLiteral kMagic = "PCONVW01";
constexpr size_t kAlignment = 64;

struct TensorEntry {
  uint64_t offset;
  uint64_t nbytes;
};

/// Parses the header of a .pcw file; on failure returns a message.
static FailureOr<llvm::StringMap<TensorEntry>>
parseIndex(llvm::MemoryBuffer &buffer, std::string &error) {
  StringRef data = buffer.getBuffer();
  if (data.size() < 16 || !data.starts_with(kMagic)) {
    error = "not a PConv weights file (bad magic)";
    return failure();
  }
  uint64_t headerLen = 0;
  for (int i = 0; i < 8; ++i)
    headerLen |= uint64_t(uint8_t(data[8 + i])) << (8 * i);
  if (headerLen > data.size() - 16) {
    error = "truncated weights file (header runs past the end)";
    return failure();
  }
  llvm::Expected<llvm::json::Value> json =
      llvm::json::parse(data.substr(16, headerLen));
  if (!json) {
    error = "malformed weights file header: " + llvm::toString(json.takeError());
    return failure();
  }
  // The data section starts at the first aligned offset after the header;
  // tensor offsets are relative to it.
  uint64_t base = llvm::alignTo(16 + headerLen, kAlignment);
  llvm::StringMap<TensorEntry> index;
  const llvm::json::Object *root = json->getAsObject();
  const llvm::json::Array *tensors = root ? root->getArray("tensors") : nullptr;
  if (!tensors) {
    error = "malformed weights file header: no \"tensors\" array";
    return failure();
  }
  for (const llvm::json::Value &value : *tensors) {
    const llvm::json::Object *obj = value.getAsObject();
    std::optional<StringRef> name = obj ? obj->getString("name") : std::nullopt;
    std::optional<int64_t> offset = obj ? obj->getInteger("offset") : std::nullopt;
    std::optional<int64_t> nbytes = obj ? obj->getInteger("nbytes") : std::nullopt;
    if (!name || !offset || !nbytes || *offset < 0 || *nbytes < 0 ||
        uint64_t(*offset) % kAlignment != 0 ||
        base + uint64_t(*offset) + uint64_t(*nbytes) > data.size()) {
      error = "malformed or out-of-range tensor entry in weights file header";
      return failure();
    }
    index[*name] = {base + uint64_t(*offset), uint64_t(*nbytes)};
  }
  return index;
}

struct AttachWeightsPass
    : public pconv::impl::AttachWeightsPassBase<AttachWeightsPass> {
  using AttachWeightsPassBase::AttachWeightsPassBase;

  void runOnOperation() override {
    if (file.empty())
      return;
    auto bufferOrErr = llvm::MemoryBuffer::getFile(
        file, /*IsText=*/false, /*RequiresNullTerminator=*/false);
    if (!bufferOrErr) {
      getOperation().emitError("cannot open weights file '")
          << file << "': " << bufferOrErr.getError().message();
      return signalPassFailure();
    }
    std::shared_ptr<llvm::MemoryBuffer> buffer = std::move(*bufferOrErr);
    std::string error;
    FailureOr<llvm::StringMap<TensorEntry>> index = parseIndex(*buffer, error);
    if (failed(index)) {
      getOperation().emitError("weights file '") << file << "': " << error;
      return signalPassFailure();
    }

    auto &manager =
        DenseResourceElementsHandle::getManagerInterface(&getContext());
    WalkResult result = getOperation().walk([&](Operation *op) {
      for (NamedAttribute attr : op->getAttrs()) {
        auto resource = dyn_cast<DenseResourceElementsAttr>(attr.getValue());
        if (!resource)
          continue;
        StringRef key = resource.getRawHandle().getKey();
        auto it = index->find(key);
        if (it == index->end()) {
          if (resource.getRawHandle().getBlob())
            continue; // data inline in the module
          // Caught here, not as "resource does not exist" at translation.
          op->emitError("dense_resource '")
              << key << "' has no data: the weights file '" << file
              << "' has no such entry and the module holds no blob for it";
          return WalkResult::interrupt();
        }
        auto type = cast<ShapedType>(resource.getType());
        uint64_t expected = type.getNumElements() *
                            llvm::divideCeil(type.getElementTypeBitWidth(), 8);
        if (expected != it->second.nbytes) {
          op->emitError("weights file entry '")
              << key << "' has " << it->second.nbytes << " bytes but " << type
              << " needs " << expected;
          return WalkResult::interrupt();
        }
        if (resource.getRawHandle().getBlob())
          continue;
        ArrayRef<char> bytes(buffer->getBufferStart() + it->second.offset,
                             it->second.nbytes);
        // The deleter keeps the mapping alive as long as any blob uses it.
        // Declare only the element alignment: bytecode writers align resource
        // sections to the largest blob alignment, and readers of that
        // bytecode get buffers aligned to little more than that.
        size_t alignment = std::max<size_t>(
            1, llvm::divideCeil(type.getElementTypeBitWidth(), 8));
        manager.getBlobManager().update(
            key, AsmResourceBlob(bytes, alignment,
                                 [buffer](void *, size_t, size_t) {},
                                 /*dataIsMutable=*/false));
        ++numAttached;
      }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
