// Operations of the trn dialect.
#ifndef TRNX_DIALECT_TRN_TRNOPS_TD
#define TRNX_DIALECT_TRN_TRNOPS_TD

include "trnx/Dialect/Trn/TrnDialect.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/BuiltinAttributes.td"

def Trn_MatmulOp : Trn_Op<"matmul", [Pure]> {
  let summary = "batched matrix multiply with a fused elementwise epilogue";
  let description = [{
    `result = epilogue(lhs @ rhs, epilogue_inputs...)`. lhs is [..., M, K],
    rhs [..., K, N] and the result [..., M, N]; batch dims are equal (a
    size-1 batch dim of rhs broadcasts). The PE multiplies `operand_type`
    values (default: the lhs element type) and accumulates in f32. The
    optional epilogue region takes the f32 accumulator and one f32 scalar per
    epilogue input (broadcast to the result shape) and yields the value
    stored.
  }];
  let arguments = (ins AnyRankedTensor:$lhs, AnyRankedTensor:$rhs,
                       Variadic<AnyRankedTensor>:$epilogue_inputs,
                       OptionalAttr<TypeAttr>:$operand_type);
  let results = (outs AnyRankedTensor:$result);
  let regions = (region AnyRegion:$epilogue);
  let assemblyFormat = [{
    $lhs `,` $rhs (`epilogue` `(` $epilogue_inputs^ `:` type($epilogue_inputs) `)`)? attr-dict
    `:` type($lhs) `,` type($rhs) `->` type($result) ($epilogue^)?
  }];
  let hasVerifier = 1;
}

def Trn_EwiseOp : Trn_Op<"ewise", [Pure]> {
  let summary = "fused elementwise computation";
  let description = [{
    Applies the scalar program of the body to every element. Inputs are
    broadcast to the result shape (numpy rules, aligned to the right). The
    body has one f32 argument per input and yields one scalar: it may use
    arith (addf, subf, mulf, divf, negf, maximumf, minimumf, cmpf, select,
    constant) and math (exp, log, tanh, erf, sqrt, rsqrt, absf, powf with a
    constant exponent) operations and trn.act. Values are computed in f32 and
    rounded to the result element type when stored.
  }];
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs);
  let results = (outs AnyRankedTensor:$result);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `(` $inputs `)` attr-dict `:` functional-type($inputs, $result) $body
  }];
  let hasVerifier = 1;
}

def Trn_ActOp : Trn_Op<"act", [Pure]> {
  let summary = "activation function on a scalar, inside trn.ewise";
  let description = [{
    `func(x * scale + bias)` for a function of the activation engine:
    identity, relu, gelu, gelu_tanh, silu, sigmoid, tanh, exp, log, sqrt,
    rsqrt, square, reciprocal, erf, abs.
  }];
  let arguments = (ins F32:$x, StrAttr:$func, DefaultValuedAttr<F32Attr, "1.0">:$scale,
                       DefaultValuedAttr<F32Attr, "0.0">:$bias);
  let results = (outs F32:$result);
  let assemblyFormat = "$func $x attr-dict";
  let hasVerifier = 1;
}

def Trn_YieldOp : Trn_Op<"yield", [Pure, Terminator]> {
  let summary = "the value a trn.ewise or trn.matmul epilogue body produces";
  let arguments = (ins AnyType:$value);
  let assemblyFormat = "$value attr-dict `:` type($value)";
}

def Trn_ReduceOp : Trn_Op<"reduce", [Pure]> {
  let summary = "sum, max or min over axes";
  let arguments = (ins AnyRankedTensor:$input, StrAttr:$kind, DenseI64ArrayAttr:$axes,
                       DefaultValuedAttr<BoolAttr, "true">:$keep_dims);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Trn_SoftmaxOp : Trn_Op<"softmax", [Pure]> {
  let summary = "softmax (or log-softmax) along the last axis";
  let arguments = (ins AnyRankedTensor:$input, DefaultValuedAttr<BoolAttr, "false">:$log);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Trn_LayerNormOp : Trn_Op<"layernorm", [Pure, AttrSizedOperandSegments]> {
  let summary = "LayerNorm over the last axis with optional scale and shift";
  let description = [{
    `(x - mean) / sqrt(var + epsilon) * gamma + beta` with the population
    variance of the last axis. gamma and beta have the last axis' size.
  }];
  let arguments = (ins AnyRankedTensor:$input, Optional<AnyRankedTensor>:$gamma,
                       Optional<AnyRankedTensor>:$beta, F32Attr:$epsilon);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input (`scale` $gamma^ `:` type($gamma))? (`shift` $beta^ `:` type($beta))? attr-dict
    `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Trn_RmsNormOp : Trn_Op<"rmsnorm", [Pure]> {
  let summary = "RMSNorm over the last axis with an optional scale";
  let description = [{ `x / sqrt(mean(x^2) + epsilon) * gamma`. }];
  let arguments = (ins AnyRankedTensor:$input, Optional<AnyRankedTensor>:$gamma, F32Attr:$epsilon);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input (`scale` $gamma^ `:` type($gamma))? attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Trn_TransposeOp : Trn_Op<"transpose", [Pure]> {
  let summary = "permutation of dimensions";
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Trn_ReshapeOp : Trn_Op<"reshape", [Pure]> {
  let summary = "same elements, new shape (row-major)";
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Trn_SliceOp : Trn_Op<"slice", [Pure]> {
  let summary = "strided slice";
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$offsets, DenseI64ArrayAttr:$strides);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Trn_ConcatOp : Trn_Op<"concat", [Pure]> {
  let summary = "concatenation along an axis";
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs, I64Attr:$axis);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "`(` $inputs `)` attr-dict `:` functional-type($inputs, $result)";
  let hasVerifier = 1;
}

def Trn_InsertSliceOp : Trn_Op<"insert_slice", [Pure]> {
  let summary = "dest with a strided slice replaced by source";
  let description = [{
    The code generator writes in place when dest has no other use, so a
    chain of insert_slice ops into an empty tensor is a concatenation.
  }];
  let arguments = (ins AnyRankedTensor:$source, AnyRankedTensor:$dest, DenseI64ArrayAttr:$offsets,
                       DenseI64ArrayAttr:$strides);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$source `into` $dest attr-dict `:` type($source) `into` type($dest) `->` type($result)";
  let hasVerifier = 1;
}

def Trn_EmptyOp : Trn_Op<"empty", [Pure]> {
  let summary = "a tensor whose contents are not defined (the start of insert_slice chains)";
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "attr-dict `:` type($result)";
}

def Trn_PadOp : Trn_Op<"pad", [Pure]> {
  let summary = "constant padding";
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$low, DenseI64ArrayAttr:$high,
                       F32Attr:$value);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Trn_GatherOp : Trn_Op<"gather", [Pure]> {
  let summary = "rows of a 2-D table picked by integer indices (embedding lookup)";
  let description = [{ `result[i..., :] = table[indices[i...], :]`. }];
  let arguments = (ins AnyRankedTensor:$table, AnyRankedTensor:$indices);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$table `[` $indices `]` attr-dict `:` type($table) `,` type($indices) `->` type($result)";
  let hasVerifier = 1;
}

def Trn_MxMatmulOp : Trn_Op<"mx_matmul", [Pure]> {
  let summary = "matrix multiply by OCP MX block-scaled weights (MXFP8 or MXFP4)";
  let description = [{
    `result[..., N] = lhs[..., K] @ W`, W [K, N] given as its MX storage:
    `weights` holds the elements ([K, N] f8E4M3FN for format "mxfp8"; [K, N/2]
    i8 for "mxfp4", two e2m1 values per byte, low nibble = even column) and
    `scales` [K/32, N] i8 the e8m0 block scales (value = element x
    2^(scale - 127), one scale per 32 rows of K). The activations are
    quantised on chip to MXFP8 (e4m3, the same OCP block rule, quantize_mx)
    and both meet in matmul_mx, accumulating in f32. Needs a chip with MX
    matmul. K must be a multiple of 32.
  }];
  let arguments = (ins AnyRankedTensor:$lhs, AnyRankedTensor:$weights, AnyRankedTensor:$scales, StrAttr:$format);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $weights `,` $scales attr-dict `:` type($lhs) `,` type($weights) `,` type($scales) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Trn_AttentionOp : Trn_Op<"attention", [Pure]> {
  let summary = "fused scaled-dot-product attention (online softmax; scores never leave the core)";
  let description = [{
    `result[b, r, :] = sum_t p[b, r, t] * v[b, t, :]` with
    `p[b, r, :] = softmax_t(scale * sum_d q[b, r, d] * kT[b, d, t])` over the
    visible keys: q [B, G*S, Dh] holds the `group` G query heads that share
    key/value head b (row r = g*S + s, query position s), kT [B, Dh, T] the
    keys in the K-cache layout, v [B, T, Dh]. With `causal`, key t is visible
    to query s iff t <= s + query_offset (0 for prefill; a prefix of
    query_offset cached keys otherwise). The PE multiplies q's element type
    (bf16, or f32; k and v are converted to it on chip), accumulation and
    softmax are f32.
    scale > 0; Dh at most the PE array's moving width.
  }];
  let arguments = (ins AnyRankedTensor:$q, AnyRankedTensor:$kT, AnyRankedTensor:$v, F32Attr:$scale,
                       DefaultValuedAttr<BoolAttr, "false">:$causal,
                       DefaultValuedAttr<I64Attr, "1">:$group,
                       DefaultValuedAttr<I64Attr, "0">:$query_offset);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $q `,` $kT `,` $v attr-dict `:` type($q) `,` type($kT) `,` type($v) `->` type($result)
  }];
  let hasVerifier = 1;
}

#endif
