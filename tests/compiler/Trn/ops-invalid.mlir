// RUN: trnx-opt %s -split-input-file -verify-diagnostics

// The verifiers of the trn ops: the shape and type rules the kernel
// generators rely on.

func.func @matmul_rank(%a: tensor<16xf32>, %b: tensor<16x8xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{operands and result must have the same rank >= 2}}
  %0 = trn.matmul %a, %b : tensor<16xf32>, tensor<16x8xf32> -> tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

func.func @matmul_contraction(%a: tensor<4x16xf32>, %b: tensor<12x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{contraction sizes differ: 16 vs 12}}
  %0 = trn.matmul %a, %b : tensor<4x16xf32>, tensor<12x8xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @matmul_result(%a: tensor<4x16xf32>, %b: tensor<16x8xf32>) -> tensor<8x4xf32> {
  // expected-error @+1 {{result must be [..., M, N]}}
  %0 = trn.matmul %a, %b : tensor<4x16xf32>, tensor<16x8xf32> -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}

// -----

func.func @matmul_batch(%a: tensor<2x4x16xf32>, %b: tensor<3x16x8xf32>) -> tensor<2x4x8xf32> {
  // expected-error @+1 {{batch dims must match (rhs may broadcast size 1)}}
  %0 = trn.matmul %a, %b : tensor<2x4x16xf32>, tensor<3x16x8xf32> -> tensor<2x4x8xf32>
  return %0 : tensor<2x4x8xf32>
}

// -----

func.func @matmul_epilogue_broadcast(%a: tensor<4x16xf32>, %b: tensor<16x8xf32>, %c: tensor<3xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{epilogue input of shape 'tensor<3xf32>' does not broadcast to the result}}
  %0 = trn.matmul %a, %b epilogue(%c : tensor<3xf32>) : tensor<4x16xf32>, tensor<16x8xf32> -> tensor<4x8xf32> {
  ^bb0(%acc: f32, %x: f32):
    trn.yield %acc : f32
  }
  return %0 : tensor<4x8xf32>
}

// -----

func.func @matmul_epilogue_without_body(%a: tensor<4x16xf32>, %b: tensor<16x8xf32>, %c: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{epilogue inputs need an epilogue body}}
  %0 = trn.matmul %a, %b epilogue(%c : tensor<8xf32>) : tensor<4x16xf32>, tensor<16x8xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @matmul_epilogue_arguments(%a: tensor<4x16xf32>, %b: tensor<16x8xf32>, %c: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{body needs 2 arguments, has 1}}
  %0 = trn.matmul %a, %b epilogue(%c : tensor<8xf32>) : tensor<4x16xf32>, tensor<16x8xf32> -> tensor<4x8xf32> {
  ^bb0(%acc: f32):
    trn.yield %acc : f32
  }
  return %0 : tensor<4x8xf32>
}

// -----

func.func @matmul_epilogue_yield(%a: tensor<4x16xf32>, %b: tensor<16x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{body must yield 'f32'}}
  %0 = trn.matmul %a, %b : tensor<4x16xf32>, tensor<16x8xf32> -> tensor<4x8xf32> {
  ^bb0(%acc: f32):
    %z = arith.constant 0.0 : f32
    %c = arith.cmpf ogt, %acc, %z : f32
    trn.yield %c : i1
  }
  return %0 : tensor<4x8xf32>
}

// -----

func.func @ewise_broadcast(%a: tensor<4x8xf32>, %b: tensor<4xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{input of type 'tensor<4xf32>' does not broadcast to 'tensor<4x8xf32>'}}
  %0 = trn.ewise(%a, %b) : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8xf32> {
  ^bb0(%x: f32, %y: f32):
    trn.yield %x : f32
  }
  return %0 : tensor<4x8xf32>
}

// -----

func.func @ewise_arguments(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{body needs one argument per input}}
  %0 = trn.ewise(%a) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%x: f32, %y: f32):
    trn.yield %x : f32
  }
  return %0 : tensor<4x8xf32>
}

// -----

func.func @ewise_argument_type(%a: tensor<4x8xbf16>) -> tensor<4x8xf32> {
  // expected-error @+1 {{body arguments must be f32}}
  %0 = trn.ewise(%a) : (tensor<4x8xbf16>) -> tensor<4x8xf32> {
  ^bb0(%x: bf16):
    %y = arith.extf %x : bf16 to f32
    trn.yield %y : f32
  }
  return %0 : tensor<4x8xf32>
}

// -----

func.func @ewise_yield(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{body must yield f32 or i1}}
  %0 = trn.ewise(%a) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%x: f32):
    %y = arith.truncf %x : f32 to bf16
    trn.yield %y : bf16
  }
  return %0 : tensor<4x8xf32>
}

// -----

func.func @act_function(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = trn.ewise(%a) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%x: f32):
    // expected-error @+1 {{unknown activation function 'swish'}}
    %y = trn.act "swish" %x
    trn.yield %y : f32
  }
  return %0 : tensor<4x8xf32>
}

// -----

func.func @reduce_kind(%a: tensor<4x8xf32>) -> tensor<4x1xf32> {
  // expected-error @+1 {{kind must be sum, max or min}}
  %0 = trn.reduce "mean" %a {axes = array<i64: 1>} : tensor<4x8xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

func.func @reduce_axis(%a: tensor<4x8xf32>) -> tensor<4x1xf32> {
  // expected-error @+1 {{invalid or repeated axis 2}}
  %0 = trn.reduce "sum" %a {axes = array<i64: 2>} : tensor<4x8xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

func.func @reduce_repeated_axis(%a: tensor<4x8xf32>) -> tensor<4x1xf32> {
  // expected-error @+1 {{invalid or repeated axis 1}}
  %0 = trn.reduce "sum" %a {axes = array<i64: 1, 1>} : tensor<4x8xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

func.func @reduce_shape(%a: tensor<4x8xf32>) -> tensor<4x1xf32> {
  // expected-error @+1 {{result shape does not match the reduction}}
  %0 = trn.reduce "max" %a {axes = array<i64: 1>, keep_dims = false} : tensor<4x8xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

func.func @softmax_shape(%a: tensor<4x8xf32>) -> tensor<8x4xf32> {
  // expected-error @+1 {{result shape must equal the input shape}}
  %0 = trn.softmax %a : tensor<4x8xf32> -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}

// -----

func.func @layernorm_shape(%a: tensor<4x8xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{result shape must equal the input shape}}
  %0 = trn.layernorm %a {epsilon = 1.0e-5 : f32} : tensor<4x8xf32> -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @layernorm_scale(%a: tensor<4x8xf32>, %g: tensor<4xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{scale and shift must have the size of the last axis}}
  %0 = trn.layernorm %a scale %g : tensor<4xf32> {epsilon = 1.0e-5 : f32} : tensor<4x8xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @rmsnorm_scale(%a: tensor<4x8xf32>, %g: tensor<16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{scale and shift must have the size of the last axis}}
  %0 = trn.rmsnorm %a scale %g : tensor<16xf32> {epsilon = 1.0e-6 : f32} : tensor<4x8xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @transpose_permutation(%a: tensor<4x8xf32>) -> tensor<8x4xf32> {
  // expected-error @+1 {{invalid permutation}}
  %0 = trn.transpose %a {permutation = array<i64: 1, 1>} : tensor<4x8xf32> -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}

// -----

func.func @transpose_rank(%a: tensor<4x8xf32>) -> tensor<8x4xf32> {
  // expected-error @+1 {{permutation must list every dimension}}
  %0 = trn.transpose %a {permutation = array<i64: 1, 0, 2>} : tensor<4x8xf32> -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}

// -----

func.func @transpose_result(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{result dim 0 must be input dim 1}}
  %0 = trn.transpose %a {permutation = array<i64: 1, 0>} : tensor<4x8xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @transpose_element_type(%a: tensor<4x8xf32>) -> tensor<8x4xbf16> {
  // expected-error @+1 {{result element type 'bf16' must be the input's ('f32')}}
  %0 = trn.transpose %a {permutation = array<i64: 1, 0>} : tensor<4x8xf32> -> tensor<8x4xbf16>
  return %0 : tensor<8x4xbf16>
}

// -----

func.func @reshape_count(%a: tensor<4x8xf32>) -> tensor<30xf32> {
  // expected-error @+1 {{reshape must keep the element count}}
  %0 = trn.reshape %a : tensor<4x8xf32> -> tensor<30xf32>
  return %0 : tensor<30xf32>
}

// -----

// A reshape is a view: it cannot convert.
func.func @reshape_element_type(%a: tensor<4x8xf32>) -> tensor<32xbf16> {
  // expected-error @+1 {{result element type 'bf16' must be the input's ('f32')}}
  %0 = trn.reshape %a : tensor<4x8xf32> -> tensor<32xbf16>
  return %0 : tensor<32xbf16>
}

// -----

func.func @slice_bounds(%a: tensor<4x8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{slice of dim 0 is out of bounds}}
  %0 = trn.slice %a {offsets = array<i64: 2, 0>, strides = array<i64: 2, 1>} : tensor<4x8xf32> -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @slice_rank(%a: tensor<4x8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{offsets and strides must cover every dimension}}
  %0 = trn.slice %a {offsets = array<i64: 0>, strides = array<i64: 1>} : tensor<4x8xf32> -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @slice_element_type(%a: tensor<4x8xf32>) -> tensor<2x8xi32> {
  // expected-error @+1 {{result element type 'i32' must be the input's ('f32')}}
  %0 = trn.slice %a {offsets = array<i64: 0, 0>, strides = array<i64: 1, 1>} : tensor<4x8xf32> -> tensor<2x8xi32>
  return %0 : tensor<2x8xi32>
}

// -----

func.func @concat_axis(%a: tensor<4x8xf32>) -> tensor<8x8xf32> {
  // expected-error @+1 {{axis out of range}}
  %0 = trn.concat(%a, %a) {axis = 2 : i64} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<8x8xf32>
  return %0 : tensor<8x8xf32>
}

// -----

func.func @concat_other_dims(%a: tensor<4x8xf32>, %b: tensor<4x6xf32>) -> tensor<8x8xf32> {
  // expected-error @+1 {{inputs differ outside the concatenation axis}}
  %0 = trn.concat(%a, %b) {axis = 0 : i64} : (tensor<4x8xf32>, tensor<4x6xf32>) -> tensor<8x8xf32>
  return %0 : tensor<8x8xf32>
}

// -----

func.func @concat_size(%a: tensor<4x8xf32>) -> tensor<9x8xf32> {
  // expected-error @+1 {{result size along the axis must be the sum of the inputs'}}
  %0 = trn.concat(%a, %a) {axis = 0 : i64} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<9x8xf32>
  return %0 : tensor<9x8xf32>
}

// -----

func.func @concat_element_type(%a: tensor<4x8xf32>, %b: tensor<4x8xbf16>) -> tensor<8x8xf32> {
  // expected-error @+1 {{inputs must have the result's element type 'f32'}}
  %0 = trn.concat(%a, %b) {axis = 0 : i64} : (tensor<4x8xf32>, tensor<4x8xbf16>) -> tensor<8x8xf32>
  return %0 : tensor<8x8xf32>
}

// -----

func.func @insert_slice_result(%a: tensor<2x8xf32>, %d: tensor<4x8xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{result type must equal the dest type}}
  %0 = trn.insert_slice %a into %d {offsets = array<i64: 0, 0>, strides = array<i64: 1, 1>} : tensor<2x8xf32> into tensor<4x8xf32> -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @insert_slice_bounds(%a: tensor<2x8xf32>, %d: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{slice of dim 0 is out of bounds}}
  %0 = trn.insert_slice %a into %d {offsets = array<i64: 3, 0>, strides = array<i64: 1, 1>} : tensor<2x8xf32> into tensor<4x8xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @insert_slice_element_type(%a: tensor<2x8xbf16>, %d: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{dest element type 'f32' must be the input's ('bf16')}}
  %0 = trn.insert_slice %a into %d {offsets = array<i64: 0, 0>, strides = array<i64: 1, 1>} : tensor<2x8xbf16> into tensor<4x8xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @pad_negative(%a: tensor<4x8xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{negative padding is not supported}}
  %0 = trn.pad %a {low = array<i64: -1, 0>, high = array<i64: 0, 0>, value = 0.0 : f32} : tensor<4x8xf32> -> tensor<3x8xf32>
  return %0 : tensor<3x8xf32>
}

// -----

func.func @pad_result(%a: tensor<4x8xf32>) -> tensor<6x8xf32> {
  // expected-error @+1 {{result dim 0 must be input + low + high}}
  %0 = trn.pad %a {low = array<i64: 1, 0>, high = array<i64: 0, 0>, value = 0.0 : f32} : tensor<4x8xf32> -> tensor<6x8xf32>
  return %0 : tensor<6x8xf32>
}

// -----

func.func @pad_element_type(%a: tensor<4x8xf32>) -> tensor<5x8xbf16> {
  // expected-error @+1 {{result element type 'bf16' must be the input's ('f32')}}
  %0 = trn.pad %a {low = array<i64: 1, 0>, high = array<i64: 0, 0>, value = 0.0 : f32} : tensor<4x8xf32> -> tensor<5x8xbf16>
  return %0 : tensor<5x8xbf16>
}

// -----

func.func @gather_table(%t: tensor<2x100x8xf32>, %i: tensor<4xi32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{table must be 2-D}}
  %0 = trn.gather %t[%i] : tensor<2x100x8xf32>, tensor<4xi32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @gather_indices(%t: tensor<100x8xf32>, %i: tensor<4xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{indices must be i32 or i64}}
  %0 = trn.gather %t[%i] : tensor<100x8xf32>, tensor<4xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @gather_result(%t: tensor<100x8xf32>, %i: tensor<4xi32>) -> tensor<8x4xf32> {
  // expected-error @+1 {{result must be indices shape + [row size]}}
  %0 = trn.gather %t[%i] : tensor<100x8xf32>, tensor<4xi32> -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}

// -----

// A gather copies rows with DMA, which does not convert.
func.func @gather_element_type(%t: tensor<100x8xf32>, %i: tensor<4xi32>) -> tensor<4x8xbf16> {
  // expected-error @+1 {{result element type 'bf16' must be the input's ('f32')}}
  %0 = trn.gather %t[%i] : tensor<100x8xf32>, tensor<4xi32> -> tensor<4x8xbf16>
  return %0 : tensor<4x8xbf16>
}

// -----

// Attention: K and V must hold the same keys.
func.func @attention_keys(%q: tensor<1x8x16xf32>, %k: tensor<1x16x10xf32>, %v: tensor<1x12x16xf32>) -> tensor<1x8x16xf32> {
  // expected-error @+1 {{kT has 10 keys, v 12}}
  %0 = trn.attention %q, %k, %v {scale = 0.25 : f32} : tensor<1x8x16xf32>, tensor<1x16x10xf32>, tensor<1x12x16xf32> -> tensor<1x8x16xf32>
  return %0 : tensor<1x8x16xf32>
}

// -----

// Attention: the group of query heads must divide the query rows.
func.func @attention_group(%q: tensor<1x9x16xf32>, %k: tensor<1x16x10xf32>, %v: tensor<1x10x16xf32>) -> tensor<1x9x16xf32> {
  // expected-error @+1 {{group 2 does not divide the 9 query rows}}
  %0 = trn.attention %q, %k, %v {scale = 0.25 : f32, group = 2} : tensor<1x9x16xf32>, tensor<1x16x10xf32>, tensor<1x10x16xf32> -> tensor<1x9x16xf32>
  return %0 : tensor<1x9x16xf32>
}

// -----

// Attention: the softmax scale must be positive (the kernel's running max relies on it).
func.func @attention_scale(%q: tensor<1x8x16xf32>, %k: tensor<1x16x10xf32>, %v: tensor<1x10x16xf32>) -> tensor<1x8x16xf32> {
  // expected-error @+1 {{scale must be positive}}
  %0 = trn.attention %q, %k, %v {scale = -0.25 : f32} : tensor<1x8x16xf32>, tensor<1x16x10xf32>, tensor<1x10x16xf32> -> tensor<1x8x16xf32>
  return %0 : tensor<1x8x16xf32>
}
