// trnx-opt: runs any registered pass (upstream MLIR and trnx) on MLIR input;
// the test driver of every trnx pass (tests/compiler/*.mlir).
#include "trnx/Dialect/Trn/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "isa/Version.h"
#include "llvm/Support/CommandLine.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  registry.insert<trnx::trn::TrnDialect>();
  mlir::registerAllPasses();
  trnx::trn::registerTrnPasses();
  llvm::cl::AddExtraVersionPrinter(
      [](llvm::raw_ostream &os) { os << trnx::toolVersionLine("trnx-opt") << "\n"; });
  return mlir::asMainReturnCode(mlir::MlirOptMain(argc, argv, "trnx optimizer driver\n", registry));
}
