# Install rules and the CMake package: another out-of-tree project does
#   find_package(PConv CONFIG REQUIRED)     # -DPConv_DIR=<prefix>/lib/cmake/pconv
#   target_link_libraries(app PRIVATE PConv::MLIRPConvPasses)
# and gets the pconv dialect, the passes, their headers and generated .inc
# files, MLIR's include directories and the flags libMLIR.so needs
# (docs/integration.md).
include(CMakePackageConfigHelpers)

set(PCONV_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/pconv)
set(PCONV_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/pconv)

# Sources include "dialect/..." and "passes/..."; installed, those folders sit
# under include/pconv/.
foreach(lib MLIRPConv MLIRPConvPasses)
  target_include_directories(${lib} INTERFACE
    $<INSTALL_INTERFACE:${PCONV_INSTALL_INCLUDEDIR}>)
endforeach()

# Headers, ODS sources and the tablegen'd .inc files they include. Internal
# helpers of the passes (LoweringUtils.h) stay private.
install(FILES
  dialect/PConvDialect.h dialect/PConvOps.h
  dialect/PConvDialect.td dialect/PConvAttrs.td dialect/PConvOps.td
  DESTINATION ${PCONV_INSTALL_INCLUDEDIR}/dialect)
install(FILES passes/Passes.h passes/Passes.td
  DESTINATION ${PCONV_INSTALL_INCLUDEDIR}/passes)
install(DIRECTORY ${PROJECT_BINARY_DIR}/dialect ${PROJECT_BINARY_DIR}/passes
  DESTINATION ${PCONV_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.inc" PATTERN "CMakeFiles" EXCLUDE)

# Installed executables find the wheel's libMLIR.so/libLLVM.so like the
# build-tree ones do.
set(_pconv_rpath "${MLIR_INSTALL_PREFIX}/lib;${LLVM_LIBRARY_DIR}")
set_target_properties(pconv-opt pconv-translate PConvPlugin PROPERTIES
  INSTALL_RPATH "${_pconv_rpath}")

install(TARGETS MLIRPConv MLIRPConvPasses pconv-opt pconv-translate PConvPlugin
  EXPORT PConvTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT PConvTargets NAMESPACE PConv:: DESTINATION ${PCONV_INSTALL_CMAKEDIR})
install(EXPORT PConvRuntimeTargets NAMESPACE PConv:: DESTINATION ${PCONV_INSTALL_CMAKEDIR})

configure_package_config_file(cmake/PConvConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/PConvConfig.cmake
  INSTALL_DESTINATION ${PCONV_INSTALL_CMAKEDIR}
  PATH_VARS PCONV_INSTALL_INCLUDEDIR)
install(FILES ${PROJECT_BINARY_DIR}/cmake/PConvConfig.cmake
  DESTINATION ${PCONV_INSTALL_CMAKEDIR})
