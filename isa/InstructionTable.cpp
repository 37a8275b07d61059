// The rows of the instruction table (see InstructionSet.h). Text written here
// is what docs/isa.md shows for each instruction.
#include "isa/Error.h"
#include "isa/Instruction.h"

#include <cstring>

namespace trnx {
namespace {

constexpr SpaceMask kSbuf = spaceBit(MemSpace::SBUF);
constexpr SpaceMask kPsum = spaceBit(MemSpace::PSUM);
constexpr SpaceMask kHbm = spaceBit(MemSpace::HBM);
constexpr SpaceMask kOnChip = kSbuf | kPsum;

constexpr EngineMask kPE = engineBit(EngineKind::PE);
constexpr EngineMask kACT = engineBit(EngineKind::ACT);
constexpr EngineMask kDVE = engineBit(EngineKind::DVE);
constexpr EngineMask kPOOL = engineBit(EngineKind::POOL);
constexpr EngineMask kDMA = engineBit(EngineKind::DMA);

FieldSpec ap(const char *name, uint8_t slot, SpaceMask spaces, const char *doc) {
  return {name, FieldKind::Ap, slot, spaces, true, 0, nullptr, doc};
}
FieldSpec optAp(const char *name, uint8_t slot, SpaceMask spaces, const char *doc) {
  return {name, FieldKind::OptAp, slot, spaces, false, 0, nullptr, doc};
}
FieldSpec flag(const char *name, uint8_t slot, const char *doc) {
  return {name, FieldKind::Bool, slot, 0, false, 0, nullptr, doc};
}
FieldSpec alu(const char *name, uint8_t slot, bool required, AluOp def, const char *doc) {
  return {name, FieldKind::Alu, slot, 0, required, static_cast<double>(def), nullptr, doc};
}
FieldSpec act(const char *name, uint8_t slot, const char *doc) {
  return {name, FieldKind::Act, slot, 0, false, 0, nullptr, doc};
}
FieldSpec choice(const char *name, uint8_t slot, const char *choices, const char *doc) {
  return {name, FieldKind::Choice, slot, 0, false, 0, choices, doc};
}
FieldSpec f32(const char *name, uint8_t slot, double def, const char *doc) {
  return {name, FieldKind::F32, slot, 0, false, def, nullptr, doc};
}
FieldSpec i32(const char *name, uint8_t slot, bool required, double def, const char *doc) {
  return {name, FieldKind::I32, slot, 0, required, def, nullptr, doc};
}

// Fields shared by iota and affine_select: the affine expression
// base + pstep*p + step0*i0 + ... over the destination's partitions and free dims.
std::vector<FieldSpec> affineFields(std::vector<FieldSpec> head) {
  head.push_back(i32("base", 0, false, 0, "constant term"));
  head.push_back(i32("pstep", 1, false, 0, "multiplier of the partition index"));
  head.push_back(i32("step0", 2, false, 0, "multiplier of free index 0 (outermost)"));
  head.push_back(i32("step1", 3, false, 0, "multiplier of free index 1"));
  head.push_back(i32("step2", 4, false, 0, "multiplier of free index 2"));
  head.push_back(i32("step3", 5, false, 0, "multiplier of free index 3"));
  return head;
}

// Fields every collective ends with: which replica-group set the ranks meet in,
// how many CC channels carry it and the DMA QoS priority (NKI's collectives).
std::vector<FieldSpec> collectiveFields(std::vector<FieldSpec> head) {
  head.push_back(i32("groups", 0, false, 0,
                     "replica-group set (`.replica_group` id); the rank meets the other members of its group"));
  head.push_back(i32("channels", 1, false, 1,
                     "collective channels (1-16, one CC-Core each) the transfer is split over"));
  head.push_back(i32("priority", 2, false, 0, "DMA QoS priority 0-3 (as NKI's collectives take)"));
  return head;
}

// Appended to each collective's semantics (a macro: the table holds literals).
#define TRNX_COLLECTIVE_COMMON                                                                      \
  " Ranks meet in the group of replica-group set `groups` that holds them; the group's rank list "   \
  "gives each member its position g = 0..G-1. Operands are flat element sequences (rows or "         \
  "partitions outermost, then the free dims) of one dtype, in HBM or SBUF. The instruction runs "    \
  "on a DMA queue: `wait=` is its start semaphore (set by the engine that produced src) and "        \
  "`signal=` its done semaphore, so compute runs on while the data moves. Every member of the "      \
  "group issues the same collectives of a set in the same order (the n-th ones match)."

constexpr const char *kCollectiveCost =
    "collective time from the system model (docs/multichip.md): algorithm chosen by message size "
    "(mesh, ring, recursive halving/doubling, hierarchical), per-hop latency and link bandwidth "
    "shared with overlapping collectives";

std::vector<OpcodeInfo> buildTable() {
  std::vector<OpcodeInfo> t;
  t.push_back({Opcode::Matmul, "matmul", kPE,
               {ap("dst", 0, kPsum, "[M, N] result in one PSUM bank; fp32, or bf16 where the target allows"),
                ap("stationary", 1, kSbuf, "[K, M] operand loaded into the array; K on partitions"),
                ap("moving", 2, kSbuf, "[K, N] operand streamed through the array; K on partitions"),
                flag("acc", 0, "add into dst instead of overwriting it"),
                choice("mode", 0, "normal|double_row",
                       "double_row: fp8 operands [P, 2, M] and [P, 2, N], K = 2P (two rows per PE)")},
               CostKind::Matmul, "systolic matrix multiply into PSUM",
               "dst[m, n] (+)= sum_k stationary[k, m] * moving[k, n], products and sums in fp32, k in "
               "order. K = partitions of both operands (<= pe.rows); in double_row mode K = 2P with "
               "the row pair as the outermost free dim of both operands. "
               "M = stationary free size (<= pe.cols), N = moving free size (<= pe.moving_free_max). "
               "dst has M partitions starting at 0 and N elements that stay inside one PSUM bank. "
               "Legal on arrays that hold a stationary operand (pe_array.dataflow ws or is; the "
               "dataflow decides which GEMM operand a compiler makes stationary), not on os arrays.",
               "one systolic pass (docs/timing.md): stream = max(N, pe_array.min_ii_cycles) PE cycles, "
               "x pe_array.fp32_ii_multiplier when an operand is fp32; with pe_array.weight_load_overlap "
               "max(stream, load) and the result visible pe.latency_cycles + pe_array.fill_drain_cycles "
               "later, else load + fill_drain_cycles + stream (SCALE-Sim's fold) and visible "
               "pe.latency_cycles later; load = pe.rows / pe_array.weight_load_rows_per_cycle. The same "
               "on ws and is arrays: the stationary operand is held, the moving one streams"});
  t.push_back({Opcode::Transpose, "transpose", kPE,
               {ap("dst", 0, kPsum, "[F, P] result"), ap("src", 1, kSbuf, "[P, F] input, F <= pe.cols")},
               CostKind::PeTranspose, "PE transpose (matmul against the identity)",
               "dst[f, p] = src[p, f], exact for every value including NaN and Inf. dst dtype equals "
               "src dtype, or is fp32.",
               "max(P, min(pe_array.min_ii_cycles, F)) PE cycles; result visible pe.latency_cycles + "
               "pe_array.fill_drain_cycles later (without pe_array.weight_load_overlap: load + "
               "fill_drain_cycles more busy cycles instead)"});
  t.push_back({Opcode::Activation, "activation", kACT,
               {ap("dst", 0, kOnChip, "[P, F] result"), ap("src", 1, kOnChip, "[P, F] input"),
                act("func", 0, "function applied elementwise"),
                f32("scale", 0, 1.0, "multiplier of the input"),
                optAp("scale_ap", 2, kSbuf, "[P, 1] per-partition scale, replacing `scale`"),
                f32("bias", 1, 0.0, "added after scaling"),
                optAp("bias_ap", 3, kSbuf, "[P, 1] per-partition bias, replacing `bias`"),
                alu("reduce", 1, false, AluOp::None, "add|max|min over the free dims of the result"),
                optAp("reduce_dst", 4, kSbuf, "[P, 1] receives the reduction")},
               CostKind::Activation, "func(x * scale + bias) with an optional free-axis reduction",
               "y = func(src * scale + bias) in fp32; dst = y rounded to dst's dtype. With `reduce`, "
               "reduce_dst[p] = reduce over all free elements of y (fp32, before dst rounding). An _ap "
               "operand replaces its immediate, which must then be left at its default.",
               "max(act.min_ii_cycles, N / act.elements_per_cycle(dtype)) ACT cycles, plus "
               "act.min_ii_cycles with `reduce`; result visible act.latency_cycles later"});
  t.push_back({Opcode::TensorTensor, "tensor_tensor", kDVE | kPOOL,
               {ap("dst", 0, kOnChip, "[P, F] result"), ap("src0", 1, kOnChip, "[P, F] left operand"),
                ap("src1", 2, kOnChip, "[P, F] right operand"),
                alu("op", 0, true, AluOp::Add, "operator")},
               CostKind::TensorTensor, "elementwise binary operator on two tensors",
               "dst = src0 op src1 elementwise in fp32. All three have the same partition count and "
               "free size.",
               "N if an input is in PSUM or both inputs are contiguous bf16/fp16 with op add, sub or "
               "mul; otherwise 2N. Divided by the engine's elements_per_cycle(dtype), at least "
               "min_ii_cycles"});
  t.push_back({Opcode::TensorScalar, "tensor_scalar", kDVE | kACT | kPOOL,
               {ap("dst", 0, kOnChip, "[P, F] result"), ap("src", 1, kOnChip, "[P, F] input"),
                alu("op0", 0, true, AluOp::Add, "first operator"),
                f32("scalar0", 0, 0.0, "right operand of op0"),
                optAp("scalar0_ap", 2, kSbuf, "[P, 1] per-partition operand replacing scalar0"),
                alu("op1", 1, false, AluOp::None, "optional second operator"),
                f32("scalar1", 1, 0.0, "right operand of op1"),
                optAp("scalar1_ap", 3, kSbuf, "[P, 1] per-partition operand replacing scalar1")},
               CostKind::TensorScalar, "one or two operators against scalars",
               "t = src op0 s0; if op1: t = t op1 s1; dst = t (fp32 datapath). s is the immediate or "
               "the partition's value of the _ap operand.",
               "max(min_ii_cycles, N / elements_per_cycle(dtype)); DVE bf16/fp16 SBUF->SBUF with "
               "contiguous free dims runs at dve.fast_copy_elements_per_cycle"});
  t.push_back({Opcode::TensorReduce, "tensor_reduce", kDVE | kPOOL,
               {ap("dst", 0, kOnChip, "[P, outer] result"), ap("src", 1, kOnChip, "[P, F] input"),
                alu("op", 0, true, AluOp::Add, "add|max|min"),
                i32("axes", 0, false, 1, "how many innermost free dims of src are reduced")},
               CostKind::TensorReduce, "reduction over the innermost free dims",
               "dst[p, o] = reduce over the `axes` innermost free dims of src, in fp32. dst's free "
               "size equals the product of src's remaining (outer) dims.",
               "N/2 for bf16/fp16 add or max, else N; / elements_per_cycle, at least min_ii_cycles"});
  t.push_back({Opcode::TensorCopy, "tensor_copy", kDVE | kACT | kPOOL,
               {ap("dst", 0, kOnChip, "[P, F] result"), ap("src", 1, kOnChip, "[P, F] input")},
               CostKind::TensorCopy, "copy with dtype conversion",
               "dst = src converted to dst's dtype (RNE, saturation rules in Data types).",
               "as tensor_scalar"});
  t.push_back({Opcode::Select, "select", kDVE,
               {ap("dst", 0, kOnChip, "[P, F] result"), ap("pred", 1, kOnChip, "[P, F] predicate"),
                ap("on_true", 2, kOnChip, "[P, F] taken where pred != 0"),
                ap("on_false", 3, kOnChip, "[P, F] taken where pred == 0")},
               CostKind::Select, "elementwise choice between two tensors",
               "dst = pred != 0 ? on_true : on_false (NaN predicates count as true).",
               "2N / elements_per_cycle (assumption: two-input vector op), at least min_ii_cycles"});
  t.push_back({Opcode::Iota, "iota", kPOOL,
               affineFields({ap("dst", 0, kOnChip, "[P, F] result")}), CostKind::PoolAffine,
               "affine index pattern",
               "dst[p, i0, i1, ...] = base + pstep*p + step0*i0 + step1*i1 + ... (integer arithmetic, "
               "then converted to dst's dtype).",
               "pool.fixed_cycles + N / pool.elements_per_cycle GpSimd cycles"});
  t.push_back({Opcode::AffineSelect, "affine_select", kPOOL,
               affineFields({ap("dst", 0, kOnChip, "[P, F] result"), ap("src", 1, kOnChip, "[P, F] input"),
                             alu("cmp", 0, true, AluOp::Ge, "eq|ne|lt|le|gt|ge against zero"),
                             f32("fill", 0, 0.0, "value where the predicate is false")}),
               CostKind::PoolAffine, "mask by an affine predicate (e.g. causal masks)",
               "dst = (expr cmp 0) ? src : fill, expr as in iota.",
               "pool.fixed_cycles + N / pool.elements_per_cycle GpSimd cycles"});
  t.push_back({Opcode::Memset, "memset", kDVE | kPOOL | kACT,
               {ap("dst", 0, kOnChip, "[P, F] destination"), f32("value", 0, 0.0, "value stored")},
               CostKind::Memset, "fill with a constant", "dst = value rounded to dst's dtype.",
               "N/2 for a bf16/fp16 zero fill, else N; / elements_per_cycle, at least min_ii_cycles"});
  t.push_back({Opcode::PartitionReduce, "partition_reduce", kPOOL,
               {ap("dst", 0, kOnChip, "[1, F] result (one partition)"),
                ap("src", 1, kOnChip, "[P, F] input"), alu("op", 0, true, AluOp::Add, "add|max|min")},
               CostKind::PartitionOp, "reduction across partitions",
               "dst[0, f] = reduce over p of src[p, f], in fp32, in partition order.",
               "pool.fixed_cycles + N * ceil(P / pool.partitions_per_cycle) GpSimd cycles"});
  t.push_back({Opcode::PartitionBroadcast, "partition_broadcast", kPOOL,
               {ap("dst", 0, kOnChip, "[P, F] result"), ap("src", 1, kOnChip, "[1, F] input (one partition)")},
               CostKind::PartitionOp, "copy one partition to many", "dst[p, f] = src[0, f].",
               "pool.fixed_cycles + N * ceil(P / pool.partitions_per_cycle) GpSimd cycles"});
  t.push_back({Opcode::BnStats, "bn_stats", kDVE,
               {ap("dst", 0, kSbuf, "[P, 3] fp32: count, mean, M2"), ap("src", 1, kOnChip, "[P, F] input, F <= 512")},
               CostKind::BnStats, "per-partition count, mean and sum of squared deviations",
               "dst[p] = (F, mean(src[p]), sum((src[p] - mean)^2)) in fp32; groups from several "
               "bn_stats calls are combined by bn_aggr.",
               "max(dve.min_ii_cycles, N) DVE cycles"});
  t.push_back({Opcode::BnAggr, "bn_aggr", kDVE,
               {ap("dst", 0, kSbuf, "[P, 2] fp32: mean, population variance"),
                ap("src", 1, kSbuf, "[P, 3*G] fp32 groups written by bn_stats")},
               CostKind::BnAggr, "combine bn_stats groups into mean and variance",
               "Chan's parallel combination of the G (count, mean, M2) triples; "
               "dst[p] = (mean, M2_total / count_total).",
               "max(dve.min_ii_cycles, 13*N/3) DVE cycles"});
  t.push_back({Opcode::DmaCopy, "dma_copy", kDMA,
               {ap("dst", 0, kHbm | kSbuf, "destination"), ap("src", 1, kHbm | kSbuf, "source"),
                flag("transpose", 0,
                     "use the DMA transpose unit (2- or 4-byte dtypes): same data movement, "
                     "efficiency dma.transpose_efficiency instead of element-sized descriptors")},
               CostKind::Dma, "copy between HBM and SBUF or within either",
               "Row r of src (a partition, or an HBM row at offset + r*partition_stride) is copied "
               "element by element to row r of dst. Both sides have the same dtype, row count and "
               "free size.",
               "queue busy for dma.issue_overhead_seconds, then the bytes move at a shared rate: a "
               "transfer is one descriptor stream per row spread over the core's DMA engines, so each "
               "core serves its transfers oldest first, each taking min(rows, free engines) engines "
               "and moving engines * dma.engine_bytes_per_second * efficiency (efficiency = run / (run "
               "+ dma.descriptor_overhead_bytes), run = contiguous bytes per descriptor); HBM traffic "
               "of all cores is capped at hbm.bytes_per_second * hbm.max_utilization; "
               "complete hbm.latency_seconds after the last byte"});
  t.push_back({Opcode::DmaGather, "dma_gather", kDMA,
               {ap("dst", 0, kSbuf, "[P, F] destination"),
                ap("src", 1, kHbm, "table: row pattern (partition_stride = row pitch, free dims = one row)"),
                ap("index", 2, kSbuf, "[P, 1] int32 row indices")},
               CostKind::Dma, "indirect row gather (embedding lookup)",
               "dst[p, :] = src row index[p] (rows at offset + index*partition_stride). An index "
               "outside [0, src rows) stops the simulation with an error naming the instruction.",
               "as dma_copy"});
  t.push_back({Opcode::SemWait, "sem_wait", kAnyEngine, {}, CostKind::Control,
               "block the stream until a semaphore reaches a value",
               "Requires a `wait=`; does nothing else.", "engine control_cycles"});
  t.push_back({Opcode::SemSignal, "sem_signal", kAnyEngine, {}, CostKind::Control,
               "increment a semaphore", "Requires a `signal=`; does nothing else.",
               "engine control_cycles"});
  t.push_back({Opcode::Barrier, "barrier", kAnyEngine,
               {choice("scope", 0, "core|chip", "streams that meet: this core's, or every core's")},
               CostKind::Control, "wait until every stream in scope reaches its matching barrier",
               "The n-th barrier of a scope in each stream completes when every stream in the scope "
               "(every stream of the program for chip, of the core for core) has reached its n-th "
               "barrier of that scope.",
               "engine control_cycles after the last stream arrives"});
  t.push_back({Opcode::Loop, "loop", kAnyEngine,
               {i32("count", 0, true, 1, "iterations (>= 1)")}, CostKind::Control,
               "repeat the instructions up to the matching endloop",
               "Runs the body `count` times. Inside, operand offsets and wait values advance by "
               "their `*iL` steps, where iL counts iterations of the loop at nesting depth L "
               "(i0 = outermost). At most 4 levels.",
               "0 cycles (zero-overhead hardware loop: an assumption)"});
  t.push_back({Opcode::EndLoop, "endloop", kAnyEngine, {}, CostKind::Control,
               "end of a loop body", "Closes the innermost open loop.", "0 cycles"});
  t.push_back({Opcode::MatmulMx, "matmul_mx", kPE,
               {ap("dst", 0, kPsum, "[M, N] result in one PSUM bank; fp32, or bf16 where the target allows"),
                ap("stationary", 1, kSbuf,
                   "[P, R*M] MX elements (fp8e4m3, fp8e5m2, or fp4e2m1x2 bytes holding two values each)"),
                ap("moving", 2, kSbuf, "[P, R*N] MX elements, as stationary"),
                ap("stationary_scale", 3, kSbuf, "[K/32, M] e8m0: one scale per 32 rows of K per column"),
                ap("moving_scale", 4, kSbuf, "[K/32, N] e8m0: one scale per 32 rows of K per column"),
                i32("k_rows", 0, false, 1,
                    "R: rows of K per partition (the MX packing); K = P*R, row k = p*R + r is the r-th "
                    "block of M (or N) values of partition p"),
                flag("acc", 0, "add into dst instead of overwriting it")},
               CostKind::MatmulMx, "MX (OCP microscaling) block-scaled matrix multiply into PSUM",
               "dst[m, n] (+)= sum_k (stationary[k, m] * 2^(ss[k/32, m] - 127)) * (moving[k, n] * "
               "2^(ms[k/32, n] - 127)), each product exact and rounded once to fp32, summed in fp32 "
               "in k order; a scale of 0xFF (NaN) makes every product of its block NaN. K = P*R must be "
               "a multiple of 32, P <= pe.rows, and R <= the chip's MX packing of both element formats "
               "(pe_array.mxfp8_rate_multiplier for fp8, pe_array.mxfp4_rate_multiplier for fp4e2m1x2; "
               "a format whose multiplier is 0 is illegal). M and N count values: two per fp4e2m1x2 byte, "
               "low nibble = even column; M <= pe.cols, N <= pe.moving_free_max. Scale operands have K/32 "
               "partitions (block b = k/32 on partition start+b) and M or N e8m0 elements. Element formats "
               "may differ (fp8 x fp4). dst as for matmul.",
               "one systolic pass as matmul, with K = P*R packed R rows per PE row at the slower "
               "format's multiplier: max(N, pe_array.min_ii_cycles) PE cycles; the packed stationary "
               "loads in pe.rows / pe_array.weight_load_rows_per_cycle cycles, hidden under the previous "
               "pass when pe_array.weight_load_overlap (see docs/timing.md); result visible after "
               "pe.latency_cycles + pe_array.fill_drain_cycles"});
  t.push_back({Opcode::MatmulOs, "matmul_os", kPE,
               {ap("dst", 0, kPsum, "[M, N] result in one PSUM bank; fp32, or bf16 where the target allows"),
                ap("a", 1, kSbuf, "[M, K] operand: M on partitions (array rows), K streamed along the free dims"),
                ap("b", 2, kSbuf, "[N, K] operand: N on partitions (array columns), K streamed along the free dims"),
                flag("acc", 0, "add into dst instead of overwriting it")},
               CostKind::MatmulOs, "output-stationary systolic matrix multiply into PSUM",
               "dst[m, n] (+)= sum_k a[m, k] * b[n, k], products and sums in fp32, k in order. Only on "
               "an output-stationary array (pe_array.dataflow os), where matmul is illegal: the outputs "
               "stay in the PEs while a's rows enter from the left and b's rows from the top, one k per "
               "cycle. M = a's partitions (<= pe.rows), N = b's partitions (<= pe.cols), K = the free "
               "size of both (<= pe.moving_free_max). dst has M partitions starting at 0 and N elements "
               "inside one PSUM bank.",
               "one output-stationary pass (docs/timing.md): stream = max(K, pe_array.min_ii_cycles) PE "
               "cycles, x pe_array.fp32_ii_multiplier when an operand is fp32; no stationary load; with "
               "pe_array.weight_load_overlap the next pass follows behind this one and the result is "
               "visible pe.latency_cycles + pe_array.fill_drain_cycles later, else fill_drain_cycles + "
               "stream busy (SCALE-Sim's os fold)"});
  const SpaceMask kHbmSbuf = kHbm | kSbuf;
  t.push_back({Opcode::AllReduce, "all_reduce", kDMA,
               collectiveFields({ap("dst", 0, kHbmSbuf, "result, as many elements as src"),
                                 ap("src", 1, kHbmSbuf, "this rank's contribution"),
                                 alu("op", 0, true, AluOp::Add, "add|max|min")}),
               CostKind::Collective, "all-reduce across the ranks of a replica group",
               "dst = op over the group's members of their src, elementwise, in fp32 in "
                            "position order, rounded once to dst's dtype; every member gets the same "
                            "result." TRNX_COLLECTIVE_COMMON,
               kCollectiveCost});
  t.push_back({Opcode::AllGather, "all_gather", kDMA,
               collectiveFields({ap("dst", 0, kHbmSbuf, "G times src's elements"),
                                 ap("src", 1, kHbmSbuf, "this rank's part")}),
               CostKind::Collective, "all-gather across the ranks of a replica group",
               "dst = src of position 0, then src of position 1, ..., position G-1 "
                            "(bit-exact copies)." TRNX_COLLECTIVE_COMMON,
               kCollectiveCost});
  t.push_back({Opcode::ReduceScatter, "reduce_scatter", kDMA,
               collectiveFields({ap("dst", 0, kHbmSbuf, "src's elements / G"),
                                 ap("src", 1, kHbmSbuf, "G equal chunks"),
                                 alu("op", 0, true, AluOp::Add, "add|max|min")}),
               CostKind::Collective, "reduce-scatter across the ranks of a replica group",
               "src is G equal chunks; dst of position g = op over the members of their "
                            "chunk g, in fp32 in position order, rounded once to dst's dtype." TRNX_COLLECTIVE_COMMON,
               kCollectiveCost});
  t.push_back({Opcode::AllToAll, "all_to_all", kDMA,
               collectiveFields({ap("dst", 0, kHbmSbuf, "G equal chunks received"),
                                 ap("src", 1, kHbmSbuf, "G equal chunks to send, as many elements as dst")}),
               CostKind::Collective, "all-to-all exchange of equal chunks (expert-parallel dispatch)",
               "chunk j of position i's src becomes chunk i of position j's dst "
                            "(bit-exact)." TRNX_COLLECTIVE_COMMON,
               kCollectiveCost});
  t.push_back({Opcode::AllToAllV, "all_to_all_v", kDMA,
               collectiveFields({ap("dst", 0, kHbmSbuf, "receive buffer"),
                                 ap("src", 1, kHbmSbuf, "send buffer"),
                                 ap("meta", 2, kHbmSbuf,
                                    "int32, 4*G elements: send_counts[G], send_displs[G], recv_counts[G], "
                                    "recv_displs[G], in elements")}),
               CostKind::Collective, "all-to-all with per-peer counts and displacements",
               "position i sends src[send_displs[j], +send_counts[j]) to position j, which "
                            "stores it at dst[recv_displs[i], +recv_counts[i]); recv_counts[i] of j must "
                            "equal send_counts[j] of i and every range must lie inside its operand "
                            "(checked when simulated, an error names the instruction); dst elements "
                            "that receive nothing keep their value." TRNX_COLLECTIVE_COMMON,
               kCollectiveCost});
  t.push_back({Opcode::Permute, "permute", kDMA,
               collectiveFields({ap("dst", 0, kHbmSbuf, "receive buffer, as many elements as src"),
                                 ap("src", 1, kHbmSbuf, "send buffer"),
                                 i32("shift", 3, false, 1, "position offset of the receiver, |shift| < G"),
                                 {"wrap", FieldKind::Bool, 0, 0, false, 1, nullptr,
                                  "0: sends past either end of the group are dropped (pipeline stages)"}}),
               CostKind::Collective, "collective permute: send to, and receive from, a ring neighbour",
               "position g sends src to position (g + shift) mod G, which stores it in dst "
                            "(send/recv pairs along the group's ring). With wrap=0 a send whose "
                            "receiver g + shift lies outside [0, G) is dropped, and a member nobody "
                            "sends to keeps dst unchanged." TRNX_COLLECTIVE_COMMON,
               kCollectiveCost});
  t.push_back({Opcode::RankId, "rank_id", kPOOL,
               {ap("dst", 0, kOnChip, "[P, F] result"),
                i32("groups", 0, false, -1, "-1: the rank id; else the position in the rank's group of that set")},
               CostKind::PoolAffine, "this rank's id (SPMD programs)",
               "dst = the rank id (0..ranks-1; 0 in a one-rank program), or with groups >= 0 the rank's "
               "position in its group of that replica-group set, converted to dst's dtype.",
               "pool.fixed_cycles + N / pool.elements_per_cycle GpSimd cycles"});
  t.push_back({Opcode::QuantizeMx, "quantize_mx", kDVE,
               {ap("dst", 0, kSbuf, "[P, F] MX elements (fp8e4m3 or fp8e5m2: MXFP8)"),
                ap("src", 1, kOnChip, "[P, F] values to quantise (fp32, bf16 or fp16)"),
                ap("scale_dst", 2, kSbuf, "[P, F/32] e8m0: one scale per block of 32 values"),
                i32("block_stride", 0, false, 1,
                    "C: the 32 values of a block are C elements apart in each partition's free order; "
                    "free index (g*32 + r)*C + c is value r of block g*C + c (1: NKI's contiguous blocks)")},
               CostKind::QuantizeMx, "OCP MX quantisation into element + block-scale tensors",
               "For each partition and block (32 values, see block_stride): amax = max |x|; the block's "
               "scale exponent is e = floor(log2 amax) - emax (emax 8 for fp8e4m3, 15 for fp8e5m2), "
               "clamped to [-127, 127] (-127 when amax is 0, NaN code 0xFF when a value is NaN or "
               "infinite); scale_dst = e + 127 and dst = x / 2^e rounded to dst's dtype (RNE, "
               "saturating), the OCP Microscaling v1.0 rule. matmul_mx reads the result. Only on chips "
               "with MX matmul (pe_array.mxfp8_rate_multiplier > 0).",
               "F / dve.fast_copy_elements_per_cycle cycles, at least min_ii_cycles (G3: 4 "
               "elements/partition/cycle on NC-v4)"});
  return t;
}

} // namespace

const std::vector<OpcodeInfo> &instructionTable() {
  static const std::vector<OpcodeInfo> table = [] {
    std::vector<OpcodeInfo> t = buildTable();
    if (static_cast<int>(t.size()) != kNumOpcodes)
      fail("internal: instruction table has ", t.size(), " rows for ", kNumOpcodes, " opcodes");
    for (size_t i = 0; i < t.size(); ++i)
      if (static_cast<size_t>(t[i].opcode) != i)
        fail("internal: instruction table row ", i, " is out of order");
    return t;
  }();
  return table;
}

const OpcodeInfo &opcodeInfo(Opcode op) { return instructionTable()[static_cast<size_t>(op)]; }

bool isValidOpcode(uint8_t raw) { return raw < kNumOpcodes; }

std::optional<Opcode> parseMnemonic(std::string_view mnemonic) {
  for (const OpcodeInfo &info : instructionTable())
    if (mnemonic == info.mnemonic)
      return info.opcode;
  return std::nullopt;
}

bool isWriteField(const FieldSpec &f) {
  const std::string_view n(f.name);
  return n == "dst" || (n.size() > 4 && n.substr(n.size() - 4) == "_dst");
}

const FieldSpec *findField(const OpcodeInfo &info, std::string_view name) {
  for (const FieldSpec &f : info.fields)
    if (name == f.name)
      return &f;
  return nullptr;
}

std::string_view aluOpName(AluOp op) {
  static const char *names[kNumAluOps] = {"none", "add", "sub", "rsub", "mul", "div",
                                          "rdiv", "max", "min", "pow", "eq",  "ne",
                                          "lt",   "le",  "gt",  "ge"};
  auto i = static_cast<unsigned>(op);
  return i < kNumAluOps ? names[i] : "?";
}

std::string_view actFuncName(ActFunc f) {
  static const char *names[kNumActFuncs] = {"identity", "relu", "gelu", "gelu_tanh", "silu",
                                            "sigmoid",  "tanh", "exp",  "log",       "sqrt",
                                            "rsqrt",    "square", "reciprocal", "erf", "abs"};
  auto i = static_cast<unsigned>(f);
  return i < kNumActFuncs ? names[i] : "?";
}

std::optional<AluOp> parseAluOp(std::string_view name) {
  for (int i = 0; i < kNumAluOps; ++i)
    if (aluOpName(static_cast<AluOp>(i)) == name)
      return static_cast<AluOp>(i);
  return std::nullopt;
}

std::optional<ActFunc> parseActFunc(std::string_view name) {
  for (int i = 0; i < kNumActFuncs; ++i)
    if (actFuncName(static_cast<ActFunc>(i)) == name)
      return static_cast<ActFunc>(i);
  return std::nullopt;
}

int choiceCount(const char *choices) {
  int n = 1;
  for (const char *c = choices; *c; ++c)
    n += *c == '|';
  return n;
}

std::string_view choiceName(const char *choices, int index) {
  std::string_view all(choices);
  for (int i = 0; i < index; ++i) {
    size_t bar = all.find('|');
    if (bar == std::string_view::npos)
      return "?";
    all.remove_prefix(bar + 1);
  }
  return all.substr(0, all.find('|'));
}

std::optional<int> parseChoice(const char *choices, std::string_view name) {
  for (int i = 0, n = choiceCount(choices); i < n; ++i)
    if (choiceName(choices, i) == name)
      return i;
  return std::nullopt;
}

Instruction makeInstruction(Opcode op) {
  Instruction inst;
  inst.opcode = op;
  for (const FieldSpec &f : opcodeInfo(op).fields) {
    switch (f.kind) {
    case FieldKind::Bool:
      inst.setFlag(f.slot, f.defaultValue != 0);
      break;
    case FieldKind::Alu:
    case FieldKind::Act:
    case FieldKind::Choice:
      inst.enums[f.slot] = static_cast<uint8_t>(f.defaultValue);
      break;
    case FieldKind::F32:
      inst.f32[f.slot] = static_cast<float>(f.defaultValue);
      break;
    case FieldKind::I32:
      inst.i32[f.slot] = static_cast<int32_t>(f.defaultValue);
      break;
    case FieldKind::Ap:
    case FieldKind::OptAp:
      break;
    }
  }
  return inst;
}

bool Instruction::operator==(const Instruction &o) const {
  if (opcode != o.opcode || flags != o.flags || enums != o.enums || i32 != o.i32 ||
      !(wait == o.wait) || !(signal == o.signal) || loc != o.loc)
    return false;
  if (std::memcmp(f32.data(), o.f32.data(), sizeof(f32)) != 0)
    return false;
  for (int i = 0; i < kMaxApSlots; ++i)
    if (ap[i] != o.ap[i])
      return false;
  return true;
}

} // namespace trnx
