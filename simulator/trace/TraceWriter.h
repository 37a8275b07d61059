// Perfetto / Chrome trace-event JSON of a run: a process per core, a thread
// per engine and DMA queue, one slice per executed instruction (named by
// mnemonic, with the source op and location), and an HBM bandwidth counter.
#pragma once

#include "isa/Program.h"
#include "simulator/machine/Machine.h"

#include <string>

namespace trnx {

std::string traceToJson(const Program &program, const RunStats &stats);

} // namespace trnx
