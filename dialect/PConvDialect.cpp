//===- PConvDialect.cpp - The pconv dialect -------------------------------===//
//
// Dialect registration and the #pconv.patterns attribute (parser, printer,
// verifier).
//
//===----------------------------------------------------------------------===//

#include "dialect/PConvDialect.h"
#include "dialect/PConvOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::pconv;

#include "dialect/PConvDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/PConvAttrs.cpp.inc"

void PConvDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialect/PConvOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialect/PConvAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// PatternLibraryAttr
//===----------------------------------------------------------------------===//

/// `<` kh `x` kw `,` `taps` `=` n `,` `[` `[` pos (`,` pos)* `]` (`,` ...)* `]` `>`
Attribute PatternLibraryAttr::parse(AsmParser &parser, Type) {
  SmallVector<int64_t, 2> kernelShape;
  int64_t taps = 0;
  SmallVector<int64_t> positions;
  if (parser.parseLess() ||
      parser.parseDimensionList(kernelShape, /*allowDynamic=*/false,
                                /*withTrailingX=*/false) ||
      parser.parseComma() || parser.parseKeyword("taps") ||
      parser.parseEqual() || parser.parseInteger(taps) || parser.parseComma())
    return {};
  auto parsePattern = [&]() -> ParseResult {
    return parser.parseCommaSeparatedList(
        AsmParser::Delimiter::Square, [&]() -> ParseResult {
          int64_t pos;
          if (parser.parseInteger(pos))
            return failure();
          positions.push_back(pos);
          return success();
        });
  };
  if (parser.parseCommaSeparatedList(AsmParser::Delimiter::Square,
                                     parsePattern) ||
      parser.parseGreater())
    return {};
  return PatternLibraryAttr::getChecked(
      [&]() { return parser.emitError(parser.getNameLoc()); },
      parser.getContext(), kernelShape, taps, positions);
}

void PatternLibraryAttr::print(AsmPrinter &printer) const {
  printer << "<" << getKernelShape()[0] << "x" << getKernelShape()[1]
          << ", taps = " << getTaps() << ", [";
  for (int64_t id = 0, e = getNumPatterns(); id < e; ++id) {
    if (id)
      printer << ", ";
    printer << "[";
    llvm::interleaveComma(getPattern(id), printer);
    printer << "]";
  }
  printer << "]>";
}

LogicalResult
PatternLibraryAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                           ArrayRef<int64_t> kernelShape, int64_t taps,
                           ArrayRef<int64_t> positions) {
  if (kernelShape.size() != 2 || kernelShape[0] < 1 || kernelShape[1] < 1)
    return emitError() << "pattern library kernel shape must be 2-D and "
                          "positive, got "
                       << kernelShape.size() << " dimensions";
  int64_t area = kernelShape[0] * kernelShape[1];
  if (taps < 1 || taps > area)
    return emitError() << "pattern library taps must be in [1, " << area
                       << "], got " << taps;
  if (positions.empty())
    return emitError() << "pattern library must hold at least one pattern";
  if (positions.size() % taps != 0)
    return emitError() << "every pattern must keep exactly " << taps
                       << " taps, but " << positions.size()
                       << " positions do not split into patterns of " << taps;
  int64_t numPatterns = positions.size() / taps;
  if (numPatterns > 127)
    return emitError() << "pattern library holds at most 127 patterns, got "
                       << numPatterns;
  llvm::DenseSet<uint64_t> seen;
  for (int64_t id = 0; id < numPatterns; ++id) {
    ArrayRef<int64_t> pattern = positions.slice(id * taps, taps);
    uint64_t bits = 0;
    for (int64_t t = 0; t < taps; ++t) {
      if (pattern[t] < 0 || pattern[t] >= area)
        return emitError() << "pattern " << id << " has position "
                           << pattern[t] << " outside [0, " << area << ")";
      if (t > 0 && pattern[t] <= pattern[t - 1])
        return emitError() << "pattern " << id
                           << " positions must be strictly increasing";
      if (area <= 64)
        bits |= uint64_t(1) << pattern[t];
    }
    if (area <= 64 && !seen.insert(bits).second)
      return emitError() << "pattern " << id << " repeats an earlier pattern";
  }
  return success();
}
