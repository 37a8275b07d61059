// Perfetto / Chrome trace-event JSON of a run: a process per core, a thread
// per engine and DMA queue, one slice per executed instruction (named by
// mnemonic, with the source op and location), an HBM bandwidth counter and,
// given the chip, a chip power counter (docs/report.md "Trace").
#pragma once

#include "isa/Program.h"
#include "simulator/config/ChipConfig.h"
#include "simulator/machine/Machine.h"

#include <string>

namespace trnx {

// `stats` must come from a run with MachineOptions::trace. Without `chip`
// there is no power counter.
std::string traceToJson(const Program &program, const RunStats &stats, const ChipConfig *chip = nullptr);

} // namespace trnx
