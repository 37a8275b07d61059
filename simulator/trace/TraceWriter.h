// Perfetto / Chrome trace-event JSON of a run: a process per core, a thread
// per engine and DMA queue, one slice per executed instruction (named by
// mnemonic, with the source op and location), an HBM bandwidth counter and,
// given the chip, a chip power counter and, given the report's bottleneck,
// what bounded the run (docs/report.md "Trace").
#pragma once

#include "isa/Program.h"
#include "simulator/config/ChipConfig.h"
#include "simulator/machine/Machine.h"
#include "simulator/report/Bottleneck.h"

#include <string>

namespace trnx {

// `stats` must come from a run with MachineOptions::trace. Without `chip`
// there is no power counter. `bottleneck` (the run report's, timing runs) goes
// into otherData and an instant event at the end of the run, so the trace
// states the same bound as the report.
std::string traceToJson(const Program &program, const RunStats &stats, const ChipConfig *chip = nullptr,
                        const Bottleneck *bottleneck = nullptr);

} // namespace trnx
