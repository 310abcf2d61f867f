//===- PConvDialect.h - The pconv dialect -----------------------*- C++ -*-===//
//
// Declares the pconv dialect and its attributes.
//
//===----------------------------------------------------------------------===//

#ifndef PCONV_DIALECT_PCONVDIALECT_H
#define PCONV_DIALECT_PCONVDIALECT_H

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/DialectImplementation.h"

#include "dialect/PConvDialect.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/PConvAttrs.h.inc"

#endif // PCONV_DIALECT_PCONVDIALECT_H
