// A GPT-2-style decoder layer in TOSA, as a model exporter writes it:
// pre-LayerNorm, causal multi-head self-attention (4 heads of 64), a GELU
// MLP (256 -> 1024 -> 256), residual adds. Batch 1, 128 tokens, d_model 256.
// Weights are function arguments, so this file holds only the graph; the
// demo (scripts/demo.sh) and tests/examples/ feed them as inputs. Mark an
// argument {trnx.role = "weight"} instead to compile shape-only (the tensor
// becomes a weight of the program without data).
//
//   h   = x + Attn(LN1(x)) @ w_o + b_o
//   out = h + GELU(LN2(h) @ w_fc + b_fc) @ w_proj + b_proj
func.func @main(
    %x: tensor<1x128x256xf32> {trnx.name = "x"},
    %mask: tensor<1x128x128xf32> {trnx.name = "mask"},            // 0 or -1e9 (causal)
    %ln1_g: tensor<1x1x256xf32> {trnx.name = "ln1_g"}, %ln1_b: tensor<1x1x256xf32> {trnx.name = "ln1_b"},
    %w_qkv: tensor<1x256x768xf32> {trnx.name = "w_qkv"}, %b_qkv: tensor<1x1x768xf32> {trnx.name = "b_qkv"},
    %w_o: tensor<1x256x256xf32> {trnx.name = "w_o"}, %b_o: tensor<1x1x256xf32> {trnx.name = "b_o"},
    %ln2_g: tensor<1x1x256xf32> {trnx.name = "ln2_g"}, %ln2_b: tensor<1x1x256xf32> {trnx.name = "ln2_b"},
    %w_fc: tensor<1x256x1024xf32> {trnx.name = "w_fc"}, %b_fc: tensor<1x1x1024xf32> {trnx.name = "b_fc"},
    %w_proj: tensor<1x1024x256xf32> {trnx.name = "w_proj"}, %b_proj: tensor<1x1x256xf32> {trnx.name = "b_proj"})
    -> (tensor<1x128x256xf32> {trnx.name = "out"}) {
  %inv_d = "tosa.const"() <{value = dense<3.906250e-03> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>   // 1/256
  %eps = "tosa.const"() <{value = dense<1.000000e-05> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %scale = "tosa.const"() <{value = dense<1.250000e-01> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>  // 1/sqrt(64)
  %half = "tosa.const"() <{value = dense<5.000000e-01> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %one = "tosa.const"() <{value = dense<1.000000e+00> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %c3 = "tosa.const"() <{value = dense<4.471500e-02> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %k = "tosa.const"() <{value = dense<0.797884583> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>      // sqrt(2/pi)
  %split_heads = "tosa.const"() <{value = dense<[1, 0, 2]> : tensor<3xi32>}> : () -> tensor<3xi32>
  %keys_t = "tosa.const"() <{value = dense<[1, 2, 0]> : tensor<3xi32>}> : () -> tensor<3xi32>

  // --- LN1 -------------------------------------------------------------------
  %s1 = tosa.reduce_sum %x {axis = 2 : i32} : (tensor<1x128x256xf32>) -> tensor<1x128x1xf32>
  %mean1 = tosa.mul %s1, %inv_d {shift = 0 : i8} : (tensor<1x128x1xf32>, tensor<1x1x1xf32>) -> tensor<1x128x1xf32>
  %xc1 = tosa.sub %x, %mean1 : (tensor<1x128x256xf32>, tensor<1x128x1xf32>) -> tensor<1x128x256xf32>
  %sq1 = tosa.mul %xc1, %xc1 {shift = 0 : i8} : (tensor<1x128x256xf32>, tensor<1x128x256xf32>) -> tensor<1x128x256xf32>
  %ss1 = tosa.reduce_sum %sq1 {axis = 2 : i32} : (tensor<1x128x256xf32>) -> tensor<1x128x1xf32>
  %var1 = tosa.mul %ss1, %inv_d {shift = 0 : i8} : (tensor<1x128x1xf32>, tensor<1x1x1xf32>) -> tensor<1x128x1xf32>
  %ve1 = tosa.add %var1, %eps : (tensor<1x128x1xf32>, tensor<1x1x1xf32>) -> tensor<1x128x1xf32>
  %rs1 = tosa.rsqrt %ve1 : (tensor<1x128x1xf32>) -> tensor<1x128x1xf32>
  %n1 = tosa.mul %xc1, %rs1 {shift = 0 : i8} : (tensor<1x128x256xf32>, tensor<1x128x1xf32>) -> tensor<1x128x256xf32>
  %g1 = tosa.mul %n1, %ln1_g {shift = 0 : i8} : (tensor<1x128x256xf32>, tensor<1x1x256xf32>) -> tensor<1x128x256xf32>
  %a_in = tosa.add %g1, %ln1_b : (tensor<1x128x256xf32>, tensor<1x1x256xf32>) -> tensor<1x128x256xf32>

  // --- attention -------------------------------------------------------------
  %qkv0 = tosa.matmul %a_in, %w_qkv : (tensor<1x128x256xf32>, tensor<1x256x768xf32>) -> tensor<1x128x768xf32>
  %qkv = tosa.add %qkv0, %b_qkv : (tensor<1x128x768xf32>, tensor<1x1x768xf32>) -> tensor<1x128x768xf32>
  %q = tosa.slice %qkv {start = array<i64: 0, 0, 0>, size = array<i64: 1, 128, 256>} : (tensor<1x128x768xf32>) -> tensor<1x128x256xf32>
  %kk = tosa.slice %qkv {start = array<i64: 0, 0, 256>, size = array<i64: 1, 128, 256>} : (tensor<1x128x768xf32>) -> tensor<1x128x256xf32>
  %v = tosa.slice %qkv {start = array<i64: 0, 0, 512>, size = array<i64: 1, 128, 256>} : (tensor<1x128x768xf32>) -> tensor<1x128x256xf32>
  %q3 = tosa.reshape %q {new_shape = array<i64: 128, 4, 64>} : (tensor<1x128x256xf32>) -> tensor<128x4x64xf32>
  %k3 = tosa.reshape %kk {new_shape = array<i64: 128, 4, 64>} : (tensor<1x128x256xf32>) -> tensor<128x4x64xf32>
  %v3 = tosa.reshape %v {new_shape = array<i64: 128, 4, 64>} : (tensor<1x128x256xf32>) -> tensor<128x4x64xf32>
  %qh = tosa.transpose %q3, %split_heads : (tensor<128x4x64xf32>, tensor<3xi32>) -> tensor<4x128x64xf32>
  %kt = tosa.transpose %k3, %keys_t : (tensor<128x4x64xf32>, tensor<3xi32>) -> tensor<4x64x128xf32>
  %vh = tosa.transpose %v3, %split_heads : (tensor<128x4x64xf32>, tensor<3xi32>) -> tensor<4x128x64xf32>
  %qk = tosa.matmul %qh, %kt : (tensor<4x128x64xf32>, tensor<4x64x128xf32>) -> tensor<4x128x128xf32>
  %qks = tosa.mul %qk, %scale {shift = 0 : i8} : (tensor<4x128x128xf32>, tensor<1x1x1xf32>) -> tensor<4x128x128xf32>
  %scores = tosa.add %qks, %mask : (tensor<4x128x128xf32>, tensor<1x128x128xf32>) -> tensor<4x128x128xf32>
  %mx = tosa.reduce_max %scores {axis = 2 : i32} : (tensor<4x128x128xf32>) -> tensor<4x128x1xf32>
  %sh = tosa.sub %scores, %mx : (tensor<4x128x128xf32>, tensor<4x128x1xf32>) -> tensor<4x128x128xf32>
  %ex = tosa.exp %sh : (tensor<4x128x128xf32>) -> tensor<4x128x128xf32>
  %den = tosa.reduce_sum %ex {axis = 2 : i32} : (tensor<4x128x128xf32>) -> tensor<4x128x1xf32>
  %rden = tosa.reciprocal %den : (tensor<4x128x1xf32>) -> tensor<4x128x1xf32>
  %probs = tosa.mul %ex, %rden {shift = 0 : i8} : (tensor<4x128x128xf32>, tensor<4x128x1xf32>) -> tensor<4x128x128xf32>
  %ctx = tosa.matmul %probs, %vh : (tensor<4x128x128xf32>, tensor<4x128x64xf32>) -> tensor<4x128x64xf32>
  %ctx_t = tosa.transpose %ctx, %split_heads : (tensor<4x128x64xf32>, tensor<3xi32>) -> tensor<128x4x64xf32>
  %ctx2 = tosa.reshape %ctx_t {new_shape = array<i64: 1, 128, 256>} : (tensor<128x4x64xf32>) -> tensor<1x128x256xf32>
  %o0 = tosa.matmul %ctx2, %w_o : (tensor<1x128x256xf32>, tensor<1x256x256xf32>) -> tensor<1x128x256xf32>
  %o = tosa.add %o0, %b_o : (tensor<1x128x256xf32>, tensor<1x1x256xf32>) -> tensor<1x128x256xf32>
  %h = tosa.add %x, %o : (tensor<1x128x256xf32>, tensor<1x128x256xf32>) -> tensor<1x128x256xf32>

  // --- LN2 -------------------------------------------------------------------
  %s2 = tosa.reduce_sum %h {axis = 2 : i32} : (tensor<1x128x256xf32>) -> tensor<1x128x1xf32>
  %mean2 = tosa.mul %s2, %inv_d {shift = 0 : i8} : (tensor<1x128x1xf32>, tensor<1x1x1xf32>) -> tensor<1x128x1xf32>
  %xc2 = tosa.sub %h, %mean2 : (tensor<1x128x256xf32>, tensor<1x128x1xf32>) -> tensor<1x128x256xf32>
  %sq2 = tosa.mul %xc2, %xc2 {shift = 0 : i8} : (tensor<1x128x256xf32>, tensor<1x128x256xf32>) -> tensor<1x128x256xf32>
  %ss2 = tosa.reduce_sum %sq2 {axis = 2 : i32} : (tensor<1x128x256xf32>) -> tensor<1x128x1xf32>
  %var2 = tosa.mul %ss2, %inv_d {shift = 0 : i8} : (tensor<1x128x1xf32>, tensor<1x1x1xf32>) -> tensor<1x128x1xf32>
  %ve2 = tosa.add %var2, %eps : (tensor<1x128x1xf32>, tensor<1x1x1xf32>) -> tensor<1x128x1xf32>
  %rs2 = tosa.rsqrt %ve2 : (tensor<1x128x1xf32>) -> tensor<1x128x1xf32>
  %n2 = tosa.mul %xc2, %rs2 {shift = 0 : i8} : (tensor<1x128x256xf32>, tensor<1x128x1xf32>) -> tensor<1x128x256xf32>
  %g2 = tosa.mul %n2, %ln2_g {shift = 0 : i8} : (tensor<1x128x256xf32>, tensor<1x1x256xf32>) -> tensor<1x128x256xf32>
  %m_in = tosa.add %g2, %ln2_b : (tensor<1x128x256xf32>, tensor<1x1x256xf32>) -> tensor<1x128x256xf32>

  // --- MLP: GELU (tanh form, as GPT-2) ----------------------------------------
  %f0 = tosa.matmul %m_in, %w_fc : (tensor<1x128x256xf32>, tensor<1x256x1024xf32>) -> tensor<1x128x1024xf32>
  %f = tosa.add %f0, %b_fc : (tensor<1x128x1024xf32>, tensor<1x1x1024xf32>) -> tensor<1x128x1024xf32>
  %f2 = tosa.mul %f, %f {shift = 0 : i8} : (tensor<1x128x1024xf32>, tensor<1x128x1024xf32>) -> tensor<1x128x1024xf32>
  %f3 = tosa.mul %f2, %f {shift = 0 : i8} : (tensor<1x128x1024xf32>, tensor<1x128x1024xf32>) -> tensor<1x128x1024xf32>
  %cf3 = tosa.mul %f3, %c3 {shift = 0 : i8} : (tensor<1x128x1024xf32>, tensor<1x1x1xf32>) -> tensor<1x128x1024xf32>
  %poly = tosa.add %f, %cf3 : (tensor<1x128x1024xf32>, tensor<1x128x1024xf32>) -> tensor<1x128x1024xf32>
  %inner = tosa.mul %poly, %k {shift = 0 : i8} : (tensor<1x128x1024xf32>, tensor<1x1x1xf32>) -> tensor<1x128x1024xf32>
  %th = tosa.tanh %inner : (tensor<1x128x1024xf32>) -> tensor<1x128x1024xf32>
  %th1 = tosa.add %th, %one : (tensor<1x128x1024xf32>, tensor<1x1x1xf32>) -> tensor<1x128x1024xf32>
  %hf = tosa.mul %f, %half {shift = 0 : i8} : (tensor<1x128x1024xf32>, tensor<1x1x1xf32>) -> tensor<1x128x1024xf32>
  %gelu = tosa.mul %hf, %th1 {shift = 0 : i8} : (tensor<1x128x1024xf32>, tensor<1x128x1024xf32>) -> tensor<1x128x1024xf32>
  %p0 = tosa.matmul %gelu, %w_proj : (tensor<1x128x1024xf32>, tensor<1x1024x256xf32>) -> tensor<1x128x256xf32>
  %p = tosa.add %p0, %b_proj : (tensor<1x128x256xf32>, tensor<1x1x256xf32>) -> tensor<1x128x256xf32>
  %out = tosa.add %h, %p : (tensor<1x128x256xf32>, tensor<1x128x256xf32>) -> tensor<1x128x256xf32>
  return %out : tensor<1x128x256xf32>
}
