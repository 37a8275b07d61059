// RUN: trnx-opt %s --pass-pipeline='builtin.module(func.func(trn-convert-linalg))' -split-input-file | FileCheck %s

// An all-parallel generic becomes one trn.ewise with the body in f32; a
// broadcast input (map (d0, d1) -> (d1)) is reshaped to the iteration rank.
// CHECK-LABEL: func.func @elementwise
// CHECK-SAME: (%[[A:.*]]: tensor<4x8xf32>, %[[B:.*]]: tensor<8xf32>)
// CHECK: %[[BR:.*]] = trn.reshape %[[B]] : tensor<8xf32> -> tensor<1x8xf32>
// CHECK: trn.ewise(%[[A]], %[[BR]]) : (tensor<4x8xf32>, tensor<1x8xf32>) -> tensor<4x8xf32>
// CHECK-NEXT: ^bb0(%[[X:.*]]: f32, %[[Y:.*]]: f32):
// CHECK-NEXT:   %[[S:.*]] = arith.addf %[[X]], %[[Y]] : f32
// CHECK-NEXT:   %[[E:.*]] = math.exp %[[S]] : f32
// CHECK-NEXT:   trn.yield %[[E]] : f32
// CHECK-NOT: linalg
func.func @elementwise(%a: tensor<4x8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>,
                                        affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<4x8xf32>, tensor<8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    %t = math.exp %s : f32
    linalg.yield %t : f32
  } -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

// A generic that only permutes its input is a view, not a kernel.
// CHECK-LABEL: func.func @copy_is_transpose
// CHECK-NEXT: %[[T:.*]] = trn.transpose %arg0 {permutation = array<i64: 1, 0>} : tensor<4x8xf32> -> tensor<8x4xf32>
// CHECK-NEXT: return %[[T]]
func.func @copy_is_transpose(%a: tensor<4x8xf32>) -> tensor<8x4xf32> {
  %e = tensor.empty() : tensor<8x4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<4x8xf32>) outs(%e : tensor<8x4xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  } -> tensor<8x4xf32>
  return %r : tensor<8x4xf32>
}

// -----

// Contractions with a zero init become trn.matmul; batch_matmul keeps its batch dim.
// CHECK-LABEL: func.func @matmul
// CHECK-NEXT: %[[M:.*]] = trn.matmul %arg0, %arg1 : tensor<4x8xf32>, tensor<8x16xf32> -> tensor<4x16xf32>
// CHECK-NEXT: return %[[M]]
func.func @matmul(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  %r = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x16xf32>) outs(%f : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %r : tensor<4x16xf32>
}

// CHECK-LABEL: func.func @batch_matmul
// CHECK-NEXT: trn.matmul %arg0, %arg1 : tensor<2x4x8xf32>, tensor<2x8x16xf32> -> tensor<2x4x16xf32>
func.func @batch_matmul(%a: tensor<2x4x8xf32>, %b: tensor<2x8x16xf32>) -> tensor<2x4x16xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %r = linalg.batch_matmul ins(%a, %b : tensor<2x4x8xf32>, tensor<2x8x16xf32>) outs(%f : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  return %r : tensor<2x4x16xf32>
}

// A transposed operand is transposed (a view) into [K, N].
// CHECK-LABEL: func.func @matmul_transpose_b
// CHECK-NEXT: %[[T:.*]] = trn.transpose %arg1 {permutation = array<i64: 1, 0>} : tensor<16x8xf32> -> tensor<8x16xf32>
// CHECK-NEXT: trn.matmul %arg0, %[[T]] : tensor<4x8xf32>, tensor<8x16xf32> -> tensor<4x16xf32>
func.func @matmul_transpose_b(%a: tensor<4x8xf32>, %b: tensor<16x8xf32>) -> tensor<4x16xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  %r = linalg.matmul_transpose_b ins(%a, %b : tensor<4x8xf32>, tensor<16x8xf32>) outs(%f : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %r : tensor<4x16xf32>
}

// A non-zero init accumulates: matmul, then an elementwise add of the init.
// CHECK-LABEL: func.func @matmul_accumulates
// CHECK-NEXT: %[[M:.*]] = trn.matmul %arg0, %arg1
// CHECK-NEXT: trn.ewise(%[[M]], %arg2)
// CHECK: arith.addf
func.func @matmul_accumulates(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>, %c: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x16xf32>) outs(%c : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %r : tensor<4x16xf32>
}

// Not a multiply-accumulate (exp(a) * b): not a matmul, but an elementwise
// prologue and a sum over k.
// CHECK-LABEL: func.func @not_a_matmul
// CHECK-NOT: trn.matmul
// CHECK: trn.ewise
// CHECK: math.exp
// CHECK: trn.reduce "sum" %{{.*}} {axes = array<i64: 2>, keep_dims = false} : tensor<4x16x8xf32> -> tensor<4x16xf32>
func.func @not_a_matmul(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>,
                                        affine_map<(m, n, k) -> (m, n)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<4x8xf32>, tensor<8x16xf32>) outs(%f : tensor<4x16xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %ex = math.exp %x : f32
    %p = arith.mulf %ex, %y : f32
    %s = arith.addf %p, %o : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  return %r : tensor<4x16xf32>
}

// -----

// Reductions: sum over the last axis, sum of squares (prologue), max over axis 0.
// CHECK-LABEL: func.func @reduce_sum
// CHECK-NEXT: trn.reduce "sum" %arg0 {axes = array<i64: 1>, keep_dims = false} : tensor<4x8xf32> -> tensor<4xf32>
func.func @reduce_sum(%a: tensor<4x8xf32>) -> tensor<4xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%a : tensor<4x8xf32>) outs(%f : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %s = arith.addf %x, %o : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// CHECK-LABEL: func.func @sum_of_squares
// CHECK: %[[SQ:.*]] = trn.ewise(%arg0) : (tensor<4x8xf32>) -> tensor<4x8xf32>
// CHECK: arith.mulf %[[V:.*]], %[[V]] : f32
// CHECK: trn.reduce "sum" %[[SQ]] {axes = array<i64: 1>, keep_dims = false}
func.func @sum_of_squares(%a: tensor<4x8xf32>) -> tensor<4xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%a : tensor<4x8xf32>) outs(%f : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %q = arith.mulf %x, %x : f32
    %s = arith.addf %q, %o : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// CHECK-LABEL: func.func @reduce_max_axis0
// CHECK-NEXT: trn.reduce "max" %arg0 {axes = array<i64: 0>, keep_dims = false} : tensor<4x8xf32> -> tensor<8xf32>
func.func @reduce_max_axis0(%a: tensor<4x8xf32>) -> tensor<8xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<8xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %r = linalg.reduce ins(%a : tensor<4x8xf32>) outs(%f : tensor<8xf32>) dimensions = [0]
    (%x: f32, %o: f32) {
      %m = arith.maximumf %x, %o : f32
      linalg.yield %m : f32
    }
  return %r : tensor<8xf32>
}

// -----

// Data movement: transpose, reshape, strided slice, concat, pad.
// CHECK-LABEL: func.func @data_movement
// CHECK: trn.transpose %arg0 {permutation = array<i64: 1, 0>} : tensor<4x8xf32> -> tensor<8x4xf32>
// CHECK: trn.reshape %arg0 : tensor<4x8xf32> -> tensor<2x2x8xf32>
// CHECK: trn.slice %arg0 {offsets = array<i64: 1, 0>, strides = array<i64: 2, 1>} : tensor<4x8xf32> -> tensor<2x8xf32>
// CHECK: trn.concat(%arg0, %arg1) {axis = 0 : i64} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<8x8xf32>
// CHECK: trn.pad %arg0 {high = array<i64: 1, 2>, low = array<i64: 1, 0>, value = -1.000000e+00 : f32} : tensor<4x8xf32> -> tensor<6x10xf32>
// CHECK-NOT: tensor.
// CHECK-NOT: linalg.
func.func @data_movement(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>)
    -> (tensor<8x4xf32>, tensor<2x2x8xf32>, tensor<2x8xf32>, tensor<8x8xf32>, tensor<6x10xf32>) {
  %e = tensor.empty() : tensor<8x4xf32>
  %t = linalg.transpose ins(%a : tensor<4x8xf32>) outs(%e : tensor<8x4xf32>) permutation = [1, 0]
  %x = tensor.expand_shape %a [[0, 1], [2]] output_shape [2, 2, 8] : tensor<4x8xf32> into tensor<2x2x8xf32>
  %s = tensor.extract_slice %a[1, 0] [2, 8] [2, 1] : tensor<4x8xf32> to tensor<2x8xf32>
  %c = tensor.concat dim(0) %a, %b : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<8x8xf32>
  %m1 = arith.constant -1.0 : f32
  %p = tensor.pad %a low[1, 0] high[1, 2] {
  ^bb0(%i: index, %j: index):
    tensor.yield %m1 : f32
  } : tensor<4x8xf32> to tensor<6x10xf32>
  return %t, %x, %s, %c, %p : tensor<8x4xf32>, tensor<2x2x8xf32>, tensor<2x8xf32>, tensor<8x8xf32>, tensor<6x10xf32>
}

// -----

// An embedding lookup (tensor.extract of a row picked by an index input).
// CHECK-LABEL: func.func @embedding
// CHECK-NEXT: trn.gather %arg0[%arg1] : tensor<100x16xf32>, tensor<8xi32> -> tensor<8x16xf32>
func.func @embedding(%table: tensor<100x16xf32>, %ids: tensor<8xi32>) -> tensor<8x16xf32> {
  %e = tensor.empty() : tensor<8x16xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%ids : tensor<8xi32>) outs(%e : tensor<8x16xf32>) {
  ^bb0(%id: i32, %o: f32):
    %row = arith.index_cast %id : i32 to index
    %col = linalg.index 1 : index
    %y = tensor.extract %table[%row, %col] : tensor<100x16xf32>
    linalg.yield %y : f32
  } -> tensor<8x16xf32>
  return %r : tensor<8x16xf32>
}

// -----

// linalg.softmax along a dimension other than the last: moved last and back (views).
// CHECK-LABEL: func.func @softmax_dim0
// CHECK-NEXT: %[[T:.*]] = trn.transpose %arg0 {permutation = array<i64: 1, 0>} : tensor<4x8xf32> -> tensor<8x4xf32>
// CHECK-NEXT: %[[S:.*]] = trn.softmax %[[T]] : tensor<8x4xf32> -> tensor<8x4xf32>
// CHECK-NEXT: trn.transpose %[[S]] {permutation = array<i64: 1, 0>} : tensor<8x4xf32> -> tensor<4x8xf32>
func.func @softmax_dim0(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %r = linalg.softmax dimension(0) ins(%a : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}
