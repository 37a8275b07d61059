// Chip-config key registry and typed get/set of fields by key.
#include "simulator/config/ConfigFields.h"

#include "isa/Error.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

namespace trnx {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

#define FIELD(KEY, TYPE, MEMBER, MIN, MAX, DOC, USES)                                              \
  ConfigField {                                                                                     \
    KEY, FieldType::TYPE, MIN, MAX, DOC, [](ChipConfig &c) -> void * { return &c.MEMBER; }, USES   \
  }

constexpr unsigned C = kKeyCodegen, T = kKeyTiming, E = kKeyEnergy, P = kKeyPower;

#define ENGINE_FIELDS(E)                                                                            \
  FIELD(#E ".clock_hz", Double, E.clock_hz, 1e6, 1e11, "engine clock, Hz", T),                          \
      FIELD(#E ".min_ii_cycles", Double, E.min_ii_cycles, 0, 1e6,                                   \
            "minimum initiation interval of a data instruction, cycles", T),                          \
      FIELD(#E ".latency_cycles", Double, E.latency_cycles, 0, 1e7,                                 \
            "completion-to-visible latency (semaphore signal delay), cycles", T),                     \
      FIELD(#E ".control_cycles", Double, E.control_cycles, 0, 1e6,                                 \
            "cost of sem_wait/sem_signal/barrier, cycles", T),                                        \
      FIELD(#E ".elements_per_cycle", Double, E.elements_per_cycle, 1e-3, 1e4,                      \
            "fp32/int elements per cycle per partition", T),                                          \
      FIELD(#E ".elements_per_cycle_16bit", Double, E.elements_per_cycle_16bit, 1e-3, 1e4,          \
            "bf16/fp16/fp8 elements per cycle per partition", T),                                     \
      FIELD(#E ".fast_copy_elements_per_cycle", Double, E.fast_copy_elements_per_cycle, 1e-3, 1e4, \
            "16-bit contiguous SBUF->SBUF copy/tensor_scalar elements per cycle per partition", T),   \
      FIELD(#E ".fixed_cycles", Double, E.fixed_cycles, 0, 1e6, "per-instruction start-up, cycles", T), \
      FIELD(#E ".partitions_per_cycle", Double, E.partitions_per_cycle, 1e-3, 1e4,                  \
            "partitions combined per cycle by cross-partition ops", T)

std::vector<ConfigField> buildFields() {
  return {
      FIELD("name", String, name, 0, 0, "chip name", 0),
      FIELD("description", String, description, 0, 0, "one-line description", 0),
      FIELD("cores", Int, cores, 1, 1024, "NeuronCores per chip", C),
      FIELD("partitions", Int, partitions, 1, 4096, "SBUF/PSUM partitions per core", C),
      FIELD("sbuf_bytes_per_partition", Double, sbuf_bytes_per_partition, 1, 1e9, "SBUF bytes per partition", C),
      FIELD("psum_bytes_per_partition", Double, psum_bytes_per_partition, 1, 1e9, "PSUM bytes per partition", C | T),
      FIELD("psum_banks", Int, psum_banks, 1, 1024, "PSUM accumulation banks", C | T),
      FIELD("semaphores_per_core", Int, semaphores_per_core, 1, 65535, "semaphores per core", C),
      FIELD("semaphore_latency_seconds", Double, semaphore_latency_seconds, 0, 1,
            "semaphore increment to visible at a waiting engine, s", T),
      FIELD("psum_bank_conflicts", Bool, psum_bank_conflicts, 0, 1,
            "an engine touching a PSUM bank waits while another engine's instruction uses it", T),
      FIELD("engine_port_exclusion", Bool, engine_port_exclusion, 0, 1,
            "NC-v2 port sharing: DVE and GpSimd never access SBUF at once, ACT and DVE never PSUM", T),
      FIELD("dma_queues_per_core", Int, dma_queues_per_core, 1, 64, "DMA queues per core", C),
      FIELD("bn_stats_free_max", Int, bn_stats_free_max, 1, 1 << 20, "bn_stats elements per partition", C),
      ENGINE_FIELDS(pe),
      ENGINE_FIELDS(act),
      ENGINE_FIELDS(dve),
      ENGINE_FIELDS(pool),
      ENGINE_FIELDS(sp),
      FIELD("pe_array.rows", Int, pe_array.rows, 1, 4096, "systolic rows (max K per matmul)", C | T),
      FIELD("pe_array.cols", Int, pe_array.cols, 1, 4096, "systolic columns (max M per matmul)", C | T),
      FIELD("pe_array.moving_free_max", Int, pe_array.moving_free_max, 1, 1 << 20, "max N per matmul (max K per matmul_os): vectors streamed per pass", C),
      FIELD("pe_array.fp32_ii_multiplier", Double, pe_array.fp32_ii_multiplier, 1, 64,
            "initiation-interval multiplier for fp32 operands", T),
      FIELD("pe_array.double_row", Bool, pe_array.double_row, 0, 1, "fp8 double-row mode", C),
      FIELD("pe_array.input_dtypes", DTypeList, pe_array.input_dtypes, 0, 0, "matmul operand dtypes", C),
      FIELD("pe_array.output_dtypes", DTypeList, pe_array.output_dtypes, 0, 0, "matmul PSUM result dtypes", C),
      FIELD("pe_array.dataflow", String, pe_array.dataflow, 0, 0,
            "ws (weight-), os (output-) or is (input-stationary), as in SCALE-Sim: which operand the compiler holds in the array", C),
      FIELD("pe_array.min_ii_cycles", Double, pe_array.min_ii_cycles, 0, 1e6,
            "minimum streaming cycles of one pass (matmul initiation interval floor)", T),
      FIELD("pe_array.fill_drain_cycles", Double, pe_array.fill_drain_cycles, 0, 1e6,
            "pipeline fill + drain of one pass, cycles; a systolic array's skew is (rows-1)+(cols-1)", T),
      FIELD("pe_array.weight_load_overlap", Bool, pe_array.weight_load_overlap, 0, 1,
            "stationary load in the background and passes pipelined (false: load, fill, stream, "
            "drain in series, as SCALE-Sim)", T),
      FIELD("pe_array.weight_load_rows_per_cycle", Double, pe_array.weight_load_rows_per_cycle, 1e-3, 4096,
            "stationary (ws) or input (is) rows loaded into the array per cycle", T),
      FIELD("pe_array.mxfp8_rate_multiplier", Double, pe_array.mxfp8_rate_multiplier, 0, 1024,
            "MXFP8 MACs per PE per cycle relative to bf16 (K per pass = rows x this); 0 = no MX", C),
      FIELD("pe_array.mxfp4_rate_multiplier", Double, pe_array.mxfp4_rate_multiplier, 0, 1024,
            "MXFP4 MACs per PE per cycle relative to bf16 (K per pass = rows x this); 0 = no MX", C),
      FIELD("dma.engines_per_core", Int, dma.engines_per_core, 1, 1024, "DMA engines per core", T),
      FIELD("dma.engine_bytes_per_second", Double, dma.engine_bytes_per_second, 1, 1e15,
            "bandwidth of one DMA engine, bytes/s", T),
      FIELD("dma.issue_overhead_seconds", Double, dma.issue_overhead_seconds, 0, 1,
            "queue time to issue one DMA instruction, s", T),
      FIELD("dma.descriptor_overhead_bytes", Double, dma.descriptor_overhead_bytes, 0, 1e9,
            "per-descriptor cost in byte-equivalents (efficiency = run/(run+this))", T),
      FIELD("dma.transpose_efficiency", Double, dma.transpose_efficiency, 1e-3, 1,
            "efficiency of the DMA transpose unit", T),
      FIELD("hbm.capacity_bytes", Double, hbm.capacity_bytes, 1, 1e15, "HBM capacity per chip, bytes", C),
      FIELD("hbm.bytes_per_second", Double, hbm.bytes_per_second, 1, 1e15, "HBM peak bandwidth per chip, bytes/s", T),
      FIELD("hbm.latency_seconds", Double, hbm.latency_seconds, 0, 1, "HBM access latency, s", T),
      FIELD("hbm.max_utilization", Double, hbm.max_utilization, 1e-3, 1,
            "fraction of peak bandwidth HBM sustains under load", T),
      FIELD("energy.pe_mac_fp32_joules", Double, energy.pe_mac_fp32_joules, 0, 1, "PE energy per fp32 MAC, J", E),
      FIELD("energy.pe_mac_bf16_joules", Double, energy.pe_mac_bf16_joules, 0, 1, "PE energy per bf16/fp16 MAC, J", E),
      FIELD("energy.pe_mac_fp8_joules", Double, energy.pe_mac_fp8_joules, 0, 1, "PE energy per fp8 MAC, J", E),
      FIELD("energy.act_element_joules", Double, energy.act_element_joules, 0, 1, "ACT energy per element, J", E),
      FIELD("energy.dve_element_joules", Double, energy.dve_element_joules, 0, 1, "DVE energy per element, J", E),
      FIELD("energy.pool_element_joules", Double, energy.pool_element_joules, 0, 1, "GpSimd energy per element, J", E),
      FIELD("energy.sbuf_byte_joules", Double, energy.sbuf_byte_joules, 0, 1, "SBUF energy per byte accessed, J", E),
      FIELD("energy.psum_byte_joules", Double, energy.psum_byte_joules, 0, 1, "PSUM energy per byte accessed, J", E),
      FIELD("energy.hbm_byte_joules", Double, energy.hbm_byte_joules, 0, 1, "HBM energy per byte moved, J", E),
      FIELD("energy.pe_mac_fp4_joules", Double, energy.pe_mac_fp4_joules, 0, 1,
            "PE energy per MX fp4 MAC, J (used once the ISA has MX fp4)", E),
      FIELD("energy.link_byte_joules", Double, energy.link_byte_joules, 0, 1,
            "chip-to-chip link energy per byte per link traversal, J (system timing runs only: a single-chip run has no "
            "link traffic, so the single-chip key audit sees no use)", 0),
      FIELD("energy.static_watts", Double, energy.static_watts, 0, 1e6, "chip static and idle power, W", E),
      FIELD("power.tdp_watts", Double, power.tdp_watts, 1, 1e6,
            "chip power a peak-rate GEMM loop is calibrated to, W", P),
      FIELD("power.host_watts_per_chip", Double, power.host_watts_per_chip, 0, 1e6,
            "per-chip share of host CPU, DRAM, NIC and fan power, W", P),
      FIELD("power.network_watts_per_chip", Double, power.network_watts_per_chip, 0, 1e6,
            "per-chip share of network switch and optics power, W", P),
      FIELD("power.pue", Double, power.pue, 1, 10, "facility power usage effectiveness (total / IT)", P),
  };
}

// Engine keys with no effect on a given engine, and why (the audit test
// checks that changing them changes nothing).
const std::pair<const char *, const char *> kNoEffect[] = {
    {"pe.min_ii_cycles", "PE instructions take their floor from pe_array.min_ii_cycles"},
    {"pe.elements_per_cycle", "the PE runs no element-wise instructions (matmul cost: pe_array.*)"},
    {"pe.elements_per_cycle_16bit", "the PE runs no element-wise instructions (matmul cost: pe_array.*)"},
    {"pe.fast_copy_elements_per_cycle", "the PE runs no element-wise instructions (matmul cost: pe_array.*)"},
    {"pe.fixed_cycles", "the PE runs no GpSimd affine or cross-partition instructions"},
    {"pe.partitions_per_cycle", "the PE runs no cross-partition instructions"},
    {"act.fixed_cycles", "ACT runs no GpSimd affine or cross-partition instructions"},
    {"act.partitions_per_cycle", "ACT runs no cross-partition instructions"},
    {"dve.fixed_cycles", "DVE runs no GpSimd affine or cross-partition instructions"},
    {"dve.partitions_per_cycle", "DVE runs no cross-partition instructions"},
    {"pool.fast_copy_elements_per_cycle", "GpSimd has no fast copy mode (DVE's and ACT's only)"},
    {"sp.min_ii_cycles", "SP runs control instructions only (sp.control_cycles)"},
    {"sp.latency_cycles", "SP runs control instructions only; their signals are visible at once"},
    {"sp.elements_per_cycle", "SP runs control instructions only"},
    {"sp.elements_per_cycle_16bit", "SP runs control instructions only"},
    {"sp.fast_copy_elements_per_cycle", "SP runs control instructions only"},
    {"sp.fixed_cycles", "SP runs control instructions only"},
    {"sp.partitions_per_cycle", "SP runs control instructions only"},
};

std::vector<ConfigField> buildRegistry() {
  std::vector<ConfigField> fields = buildFields();
  for (ConfigField &f : fields)
    for (const auto &[key, why] : kNoEffect)
      if (f.key == key) {
        f.uses = 0;
        f.doc += " (no effect: " + std::string(why) + ")";
      }
  return fields;
}

#undef ENGINE_FIELDS
#undef FIELD

} // namespace

std::string keyUseNames(unsigned uses) {
  std::string out;
  for (auto [bit, name] : {std::pair{kKeyCodegen, "codegen"}, std::pair{kKeyTiming, "timing"},
                           std::pair{kKeyEnergy, "energy"}, std::pair{kKeyPower, "power"}})
    if (uses & bit)
      out += (out.empty() ? "" : ", ") + std::string(name);
  return out.empty() ? "no effect" : out;
}

namespace {

std::string formatDouble(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

double parseNumber(std::string_view text, bool integer) {
  std::string s(text);
  char *end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v))
    fail("expected ", integer ? "an integer" : "a number", ", got '", s, "'");
  if (integer && v != std::floor(v))
    fail("expected an integer, got '", s, "'");
  return v;
}

} // namespace

const std::vector<ConfigField> &configFields() {
  static const std::vector<ConfigField> fields = buildRegistry();
  return fields;
}

const ConfigField *findConfigField(std::string_view key) {
  for (const ConfigField &f : configFields())
    if (f.key == key)
      return &f;
  return nullptr;
}

double ConfigField::getNumber(const ChipConfig &c) const {
  void *p = access(const_cast<ChipConfig &>(c));
  switch (type) {
  case FieldType::Int: return *static_cast<int *>(p);
  case FieldType::Double: return *static_cast<double *>(p);
  case FieldType::Bool: return *static_cast<bool *>(p) ? 1 : 0;
  default: fail("'", key, "' is not a number");
  }
}

void ConfigField::setNumber(ChipConfig &c, double v) const {
  if (!(v >= min && v <= max))
    fail("'", key, "' = ", formatDouble(v), " is out of range [", formatDouble(min), ", ",
         formatDouble(max), "]");
  void *p = access(c);
  switch (type) {
  case FieldType::Int:
    if (v != std::floor(v))
      fail("'", key, "' must be an integer, got ", formatDouble(v));
    *static_cast<int *>(p) = static_cast<int>(v);
    break;
  case FieldType::Double: *static_cast<double *>(p) = v; break;
  case FieldType::Bool: *static_cast<bool *>(p) = v != 0; break;
  default: fail("'", key, "' is not a number");
  }
}

std::string ConfigField::get(const ChipConfig &c) const {
  void *p = access(const_cast<ChipConfig &>(c));
  switch (type) {
  case FieldType::String: return *static_cast<std::string *>(p);
  case FieldType::Bool: return *static_cast<bool *>(p) ? "true" : "false";
  case FieldType::Int: return std::to_string(*static_cast<int *>(p));
  case FieldType::Double: return formatDouble(*static_cast<double *>(p));
  case FieldType::DTypeList: {
    DTypeMask m = *static_cast<DTypeMask *>(p);
    std::string out = "[";
    for (int i = 0; i < kNumDTypes; ++i)
      if (m & (1u << i))
        out += std::string(out.size() > 1 ? ", " : "") + std::string(dtypeName(static_cast<DType>(i)));
    return out + "]";
  }
  }
  return "";
}

void ConfigField::set(ChipConfig &c, std::string_view text) const {
  void *p = access(c);
  switch (type) {
  case FieldType::String:
    *static_cast<std::string *>(p) = std::string(text);
    return;
  case FieldType::Bool:
    if (text == "true" || text == "1")
      *static_cast<bool *>(p) = true;
    else if (text == "false" || text == "0")
      *static_cast<bool *>(p) = false;
    else
      fail("expected true or false, got '", text, "'");
    return;
  case FieldType::Int:
  case FieldType::Double:
    setNumber(c, parseNumber(text, type == FieldType::Int));
    return;
  case FieldType::DTypeList: {
    // "[bf16, fp8e4m3]" or "bf16,fp8e4m3"
    std::string s(text);
    for (char &ch : s)
      if (ch == '[' || ch == ']' || ch == ',')
        ch = ' ';
    std::istringstream is(s);
    DTypeMask mask = 0;
    std::string name;
    while (is >> name) {
      auto dt = parseDType(name);
      if (!dt)
        fail("unknown dtype '", name, "'");
      mask |= dtypeBit(*dt);
    }
    *static_cast<DTypeMask *>(p) = mask;
    return;
  }
  }
}

} // namespace trnx
