// The PE array's dataflow (SCALE-Sim's names): which operand of a GEMM
// C[M,N] = A[M,K] x B[K,N] stays in the array while the others stream.
//   ws: B (weights, SCALE-Sim's filter) is held; A streams.
//   is: A (inputs, SCALE-Sim's ifmap) is held; B streams.
//   os: C (outputs) is held; A and B both stream along K.
// ws and is arrays run `matmul` (a stationary operand and a moving one); an
// os array runs `matmul_os` (both operands K-along-free). Which GEMM operand
// a compiler makes stationary follows the dataflow.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace trnx {

enum class Dataflow : uint8_t { WeightStationary, OutputStationary, InputStationary };

constexpr const char *dataflowName(Dataflow d) {
  return d == Dataflow::WeightStationary ? "ws" : d == Dataflow::OutputStationary ? "os" : "is";
}

inline std::optional<Dataflow> parseDataflowName(std::string_view s) {
  if (s == "ws")
    return Dataflow::WeightStationary;
  if (s == "os")
    return Dataflow::OutputStationary;
  if (s == "is")
    return Dataflow::InputStationary;
  return std::nullopt;
}

// True when the array holds a stationary operand (matmul, matmul_mx, transpose).
constexpr bool holdsStationary(Dataflow d) { return d != Dataflow::OutputStationary; }

} // namespace trnx
