; LayerNorm over the last dim of x[512,512] (fp32) with gamma, beta [512]:
; y = (x - mean) / sqrt(var + 1e-5) * gamma + beta, population variance.
; One core, four 128-row tiles, double buffered (b = t % 2, loops unrolled):
;   DVE  bn_stats/bn_aggr -> mean, var; rstd = (var + eps)^-0.5;
;        nmr = -mean * rstd                              (s1: stats(t) ready)
;   ACT  y = x * rstd + nmr                              (s2: norm(t), 2 primed)
;   DVE  y = y * gamma + beta                            (s3: y(t) ready)
; gamma and beta are broadcast to every partition by DMAs with row stride 0.
; SBUF bytes per partition: x 0x0000/0x0800, y 0x1000/0x1800, gamma 0x2000,
; beta 0x2800, stats 0x3000/0x3010, mean|var 0x3020/0x3030,
; rstd 0x3040/0x3050, nmr 0x3060/0x3070.
; Semaphores: s0 x(t) <=> s0 >= t+1; s1 stats(t) <=> s1 >= t+1;
; s2 norm(j) <=> s2 >= j+3; s3 y(t) <=> s3 >= t+1; s4 store(j) <=> s4 >= j+3;
; s5 gamma and beta loaded (2).
.target trn3
.cores 1
.tensor x input fp32 [512,512]
.tensor gamma input fp32 [512]
.tensor beta input fp32 [512]
.tensor y output fp32 [512,512]

.stream core=0 engine=q0
  dma_copy dst=sbuf[0:128]+0x2000:fp32[[1,512]] src=hbm[gamma]+0x0:fp32[[0,128],[1,512]] signal=s5+1
  dma_copy dst=sbuf[0:128]+0x2800:fp32[[1,512]] src=hbm[beta]+0x0:fp32[[0,128],[1,512]] signal=s5+1
  loop count=2
    dma_copy dst=sbuf[0:128]+0x0:fp32[[1,512]] src=hbm[x]+0x0+524288*i0:fp32[[512,128],[1,512]] wait=s2>=1+2*i0 signal=s0+1
    dma_copy dst=sbuf[0:128]+0x800:fp32[[1,512]] src=hbm[x]+0x40000+524288*i0:fp32[[512,128],[1,512]] wait=s2>=2+2*i0 signal=s0+1
  endloop

.stream core=0 engine=dve
  sem_wait wait=s5>=2
  loop count=2
    bn_stats dst=sbuf[0:128]+0x3000:fp32[[1,3]] src=sbuf[0:128]+0x0:fp32[[1,512]] wait=s0>=1+2*i0
    bn_aggr dst=sbuf[0:128]+0x3020:fp32[[1,2]] src=sbuf[0:128]+0x3000:fp32[[1,3]]
    tensor_scalar dst=sbuf[0:128]+0x3040:fp32[[1,1]] src=sbuf[0:128]+0x3024:fp32[[1,1]] op0=add scalar0=1e-05 op1=pow scalar1=-0.5
    tensor_scalar dst=sbuf[0:128]+0x3060:fp32[[1,1]] src=sbuf[0:128]+0x3020:fp32[[1,1]] op0=mul scalar0_ap=sbuf[0:128]+0x3040:fp32[[1,1]] op1=mul scalar1=-1 signal=s1+1
    tensor_tensor dst=sbuf[0:128]+0x1000:fp32[[1,512]] src0=sbuf[0:128]+0x1000:fp32[[1,512]] src1=sbuf[0:128]+0x2000:fp32[[1,512]] op=mul wait=s2>=3+2*i0
    tensor_tensor dst=sbuf[0:128]+0x1000:fp32[[1,512]] src0=sbuf[0:128]+0x1000:fp32[[1,512]] src1=sbuf[0:128]+0x2800:fp32[[1,512]] op=add signal=s3+1
    bn_stats dst=sbuf[0:128]+0x3010:fp32[[1,3]] src=sbuf[0:128]+0x800:fp32[[1,512]] wait=s0>=2+2*i0
    bn_aggr dst=sbuf[0:128]+0x3030:fp32[[1,2]] src=sbuf[0:128]+0x3010:fp32[[1,3]]
    tensor_scalar dst=sbuf[0:128]+0x3050:fp32[[1,1]] src=sbuf[0:128]+0x3034:fp32[[1,1]] op0=add scalar0=1e-05 op1=pow scalar1=-0.5
    tensor_scalar dst=sbuf[0:128]+0x3070:fp32[[1,1]] src=sbuf[0:128]+0x3030:fp32[[1,1]] op0=mul scalar0_ap=sbuf[0:128]+0x3050:fp32[[1,1]] op1=mul scalar1=-1 signal=s1+1
    tensor_tensor dst=sbuf[0:128]+0x1800:fp32[[1,512]] src0=sbuf[0:128]+0x1800:fp32[[1,512]] src1=sbuf[0:128]+0x2000:fp32[[1,512]] op=mul wait=s2>=4+2*i0
    tensor_tensor dst=sbuf[0:128]+0x1800:fp32[[1,512]] src0=sbuf[0:128]+0x1800:fp32[[1,512]] src1=sbuf[0:128]+0x2800:fp32[[1,512]] op=add signal=s3+1
  endloop

.stream core=0 engine=act
  sem_signal signal=s2+2
  loop count=2
    sem_wait wait=s4>=1+2*i0
    activation dst=sbuf[0:128]+0x1000:fp32[[1,512]] src=sbuf[0:128]+0x0:fp32[[1,512]] scale_ap=sbuf[0:128]+0x3040:fp32[[1,1]] bias_ap=sbuf[0:128]+0x3060:fp32[[1,1]] wait=s1>=1+2*i0 signal=s2+1
    sem_wait wait=s4>=2+2*i0
    activation dst=sbuf[0:128]+0x1800:fp32[[1,512]] src=sbuf[0:128]+0x800:fp32[[1,512]] scale_ap=sbuf[0:128]+0x3050:fp32[[1,1]] bias_ap=sbuf[0:128]+0x3070:fp32[[1,1]] wait=s1>=2+2*i0 signal=s2+1
  endloop

.stream core=0 engine=q1
  sem_signal signal=s4+2
  loop count=2
    dma_copy dst=hbm[y]+0x0+524288*i0:fp32[[512,128],[1,512]] src=sbuf[0:128]+0x1000:fp32[[1,512]] wait=s3>=1+2*i0 signal=s4+1
    dma_copy dst=hbm[y]+0x40000+524288*i0:fp32[[512,128],[1,512]] src=sbuf[0:128]+0x1800:fp32[[1,512]] wait=s3>=2+2*i0 signal=s4+1
  endloop
