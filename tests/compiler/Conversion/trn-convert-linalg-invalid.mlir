// RUN: trnx-opt %s --pass-pipeline='builtin.module(func.func(trn-convert-linalg))' -split-input-file -verify-diagnostics
// RUN: not trnx-opt %s --pass-pipeline='builtin.module(func.func(trn-convert-linalg{target=trn2}))' -split-input-file 2>&1 | FileCheck %s --check-prefix=TRN2

// What the engines cannot compute is reported at the op, naming the target.
// TRN2: error: 'linalg.generic' is not supported on trn2
// TRN2: error: 'linalg.generic' is not supported on trn2 (dynamic shape
// TRN2: error: 'tosa.sin' is not supported on trn2
func.func @sine(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  // expected-error @+1 {{'linalg.generic' is not supported on trn3}}
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %s = math.sin %x : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

// A dynamic shape is named as the reason.
func.func @dynamic(%a: tensor<?x8xf32>, %n: index) -> tensor<?x8xf32> {
  %e = tensor.empty(%n) : tensor<?x8xf32>
  // expected-error @+1 {{'linalg.generic' is not supported on trn3 (dynamic shape 'tensor<?x8xf32>')}}
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<?x8xf32>) outs(%e : tensor<?x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %t = math.exp %x : f32
    linalg.yield %t : f32
  } -> tensor<?x8xf32>
  return %r : tensor<?x8xf32>
}

// -----

// An op of another dialect that nothing lowered is reported by name.
func.func @leftover(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'tosa.sin' is not supported on trn3}}
  %r = tosa.sin %a : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}
