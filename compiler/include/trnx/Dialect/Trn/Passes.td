// Passes of the trnx compiler, in pipeline order.
#ifndef TRNX_DIALECT_TRN_PASSES_TD
#define TRNX_DIALECT_TRN_PASSES_TD

include "mlir/Pass/PassBase.td"

def TrnAnnotateOrigins : Pass<"trn-annotate-origins", "::mlir::func::FuncOp"> {
  let summary = "Name each op's location after the op, for traces and per-op reports";
  let description = [{
    Wraps every operation's location in a NameLoc carrying the op's name
    (e.g. "tosa.matmul"), so the kernels generated from it can say which
    model op they came from after conversions have replaced the op.
  }];
}

def TrnConvertLinalg : Pass<"trn-convert-linalg", "::mlir::func::FuncOp"> {
  let summary = "Convert linalg-on-tensors, tensor and arith tensor ops to the trn dialect";
  let description = [{
    linalg named ops and generics (elementwise, reductions, contractions),
    tensor reshapes, slices, concatenation and padding, and dense constants
    become trn ops. Anything left is reported as not supported on the target.
  }];
  let options = [Option<"target", "target", "std::string", "\"trn3\"", "target name for diagnostics">];
  let dependentDialects = ["::trnx::trn::TrnDialect", "::mlir::arith::ArithDialect", "::mlir::math::MathDialect"];
}

def TrnRecognizeComposites : Pass<"trn-recognize-composites", "::mlir::func::FuncOp"> {
  let summary = "Recognise softmax, log-softmax, LayerNorm and RMSNorm";
  let description = [{
    Matches the compositions model exporters produce (max/sub/exp/sum/div
    chains, mean/variance chains with an optional scale and shift,
    x*rsqrt(mean(x^2)+eps) with an optional scale), in any operand order,
    and replaces them with trn.softmax, trn.layernorm and trn.rmsnorm.
  }];
  let dependentDialects = ["::trnx::trn::TrnDialect"];
}

def TrnRecognizeActivations : Pass<"trn-recognize-activations", "::mlir::func::FuncOp"> {
  let summary = "Recognise activation functions inside elementwise bodies";
  let description = [{
    Inside trn.ewise bodies and matmul epilogues, replaces the scalar
    compositions of SiLU (x*sigmoid(x)), sigmoid (1/(1+exp(-x))), GELU in its
    erf and tanh forms and ReLU (max(x, 0), clamp to [0, inf)) with trn.act,
    which the activation engine runs as one instruction. Runs after fusion so
    patterns split across exported ops are in one body.
  }];
  let dependentDialects = ["::trnx::trn::TrnDialect"];
}

def TrnFuseElementwise : Pass<"trn-fuse-elementwise", "::mlir::func::FuncOp"> {
  let summary = "Fuse elementwise producers into consumers and into matmul epilogues";
  let description = [{
    Merges a trn.ewise into its trn.ewise consumer when it has no other user
    and its result is not broadcast, and folds a trn.ewise whose first input
    is a single-use trn.matmul result into that matmul's epilogue, so the
    intermediate never leaves the chip. Splat constant inputs become
    constants inside the body.
  }];
  let dependentDialects = ["::trnx::trn::TrnDialect"];
}

def TrnAutoCast : Pass<"trn-auto-cast", "::mlir::func::FuncOp"> {
  let summary = "Choose matmul operand types (and intermediate types) like neuronx-cc --auto-cast";
  let options = [
    Option<"mode", "mode", "std::string", "\"matmul\"", "none, matmul or all">,
    Option<"castType", "type", "std::string", "\"bf16\"", "bf16, fp16 or fp8e4m3">
  ];
  let dependentDialects = ["::trnx::trn::TrnDialect"];
}

#endif
