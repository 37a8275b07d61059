# lit configuration of the compiler's FileCheck tests (tests/compiler/**/*.mlir).
import os

import lit.formats

config.name = "trnx-compiler"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir"]
config.excludes = ["e2e", "inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.trnx_build_dir, "tests", "compiler")
config.environment["PATH"] = os.pathsep.join(
    [os.path.join(config.trnx_build_dir, "compiler"), config.llvm_tools_dir, config.environment.get("PATH", "")])
