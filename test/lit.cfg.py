# -*- Python -*-
# lit configuration for PConv's IR tests. Needs no configure step: tools come
# from build/bin (pconv-opt, pconv-translate) and the pinned LLVM/MLIR wheels.
import os
import shutil
import sys
import sysconfig

import lit.formats

config.name = "PConv"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.test_source_root, "..", "build", "test")
config.excludes = ["python", "lit.cfg.py", "Inputs"]

root = os.path.abspath(os.path.join(config.test_source_root, ".."))
site = sysconfig.get_paths()["purelib"]
tool_dirs = [
    os.path.join(root, "build", "bin"),
    os.path.join(site, "llvm", "bin"),
    os.path.join(site, "mlir", "bin"),
]
config.environment["PATH"] = os.pathsep.join(tool_dirs + [config.environment.get("PATH", os.environ["PATH"])])
config.substitutions.append(("%python", sys.executable))
# The dialect + pass plugin for the wheel's upstream mlir-opt (plugin/).
config.substitutions.append(("%pconv_plugin", os.path.join(root, "build", "lib", "PConvPlugin.so")))
config.substitutions.append(("%host_omp_dir", "/usr/lib/llvm-14/lib"))
aarch64_omp = os.path.join(root, "build", "aarch64-sysroot", "usr", "lib", "llvm-14", "lib")
config.substitutions.append(("%aarch64_omp_dir", aarch64_omp))
config.substitutions.append(("%aarch64_sysroot", "/usr/aarch64-linux-gnu"))

# Integration tests run generated code; gate them on the runtimes they need.
if os.path.exists("/usr/lib/llvm-14/lib/libomp.so.5") and shutil.which("cc"):
    config.available_features.add("host-omp")
if (shutil.which("qemu-aarch64") and shutil.which("aarch64-linux-gnu-gcc")
        and os.path.exists(os.path.join(aarch64_omp, "libomp.so.5"))):
    config.available_features.add("qemu-aarch64")
