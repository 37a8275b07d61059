# lit configuration of the ISA tools' FileCheck tests (tests/isa/lit/*.s):
# trnx-as, trnx-objdump, and trnx-sim for the verifier's messages.
import os

import lit.formats

config.name = "trnx-isa"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".s"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.trnx_build_dir, "tests", "isa", "lit")
config.environment["PATH"] = os.pathsep.join(
    [os.path.join(config.trnx_build_dir, "isa"), os.path.join(config.trnx_build_dir, "simulator"),
     config.llvm_tools_dir, config.environment.get("PATH", "")])
