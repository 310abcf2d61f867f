//===- PConvOps.h - pconv operations ----------------------------*- C++ -*-===//

#ifndef PCONV_DIALECT_PCONVOPS_H
#define PCONV_DIALECT_PCONVOPS_H

#include "dialect/PConvDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialect/PConvOps.h.inc"

#endif // PCONV_DIALECT_PCONVOPS_H
