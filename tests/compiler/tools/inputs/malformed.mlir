// Not valid MLIR (an undefined value); used by trnx-compile-errors.mlir.
func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = tosa.exp %y : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
