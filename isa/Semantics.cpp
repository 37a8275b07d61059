// Reference fp32 semantics of operators and activation functions.
#include "isa/Semantics.h"

#include <cmath>
#include <limits>

namespace trnx {

float applyAlu(AluOp op, float a, float b) {
  switch (op) {
  case AluOp::None: return a;
  case AluOp::Add: return a + b;
  case AluOp::Sub: return a - b;
  case AluOp::RSub: return b - a;
  case AluOp::Mul: return a * b;
  case AluOp::Div: return a / b;
  case AluOp::RDiv: return b / a;
  // max/min propagate NaN (IEEE maximum/minimum), as reductions must not hide NaN.
  case AluOp::Max: return (std::isnan(a) || std::isnan(b)) ? std::numeric_limits<float>::quiet_NaN() : (a > b ? a : b);
  case AluOp::Min: return (std::isnan(a) || std::isnan(b)) ? std::numeric_limits<float>::quiet_NaN() : (a < b ? a : b);
  case AluOp::Pow: return std::pow(a, b);
  case AluOp::Eq: return a == b ? 1.0f : 0.0f;
  case AluOp::Ne: return a != b ? 1.0f : 0.0f;
  case AluOp::Lt: return a < b ? 1.0f : 0.0f;
  case AluOp::Le: return a <= b ? 1.0f : 0.0f;
  case AluOp::Gt: return a > b ? 1.0f : 0.0f;
  case AluOp::Ge: return a >= b ? 1.0f : 0.0f;
  }
  return a;
}

float applyActivation(ActFunc f, float x) {
  switch (f) {
  case ActFunc::Identity: return x;
  case ActFunc::Relu: return x > 0.0f ? x : (std::isnan(x) ? x : 0.0f);
  case ActFunc::Gelu: return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
  case ActFunc::GeluTanh: {
    const float k = 0.79788456080286536f; // sqrt(2/pi)
    return 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
  }
  case ActFunc::Silu: return x / (1.0f + std::exp(-x));
  case ActFunc::Sigmoid: return 1.0f / (1.0f + std::exp(-x));
  case ActFunc::Tanh: return std::tanh(x);
  case ActFunc::Exp: return std::exp(x);
  case ActFunc::Log: return std::log(x);
  case ActFunc::Sqrt: return std::sqrt(x);
  case ActFunc::Rsqrt: return 1.0f / std::sqrt(x);
  case ActFunc::Square: return x * x;
  case ActFunc::Reciprocal: return 1.0f / x;
  case ActFunc::Erf: return std::erf(x);
  case ActFunc::Abs: return std::fabs(x);
  }
  return x;
}

float reduceIdentity(AluOp op) {
  switch (op) {
  case AluOp::Max: return -std::numeric_limits<float>::infinity();
  case AluOp::Min: return std::numeric_limits<float>::infinity();
  default: return 0.0f;
  }
}

bool isReduceOp(AluOp op) { return op == AluOp::Add || op == AluOp::Max || op == AluOp::Min; }

bool isCompareOp(AluOp op) {
  return op == AluOp::Eq || op == AluOp::Ne || op == AluOp::Lt || op == AluOp::Le ||
         op == AluOp::Gt || op == AluOp::Ge;
}

} // namespace trnx
