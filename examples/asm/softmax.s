; Row softmax of x[512,512] (fp32), one core: four 128-row tiles, double
; buffered. Per tile t (buffer b = t % 2, loops unrolled by 2):
;   DVE  mx = max(x); mx = -mx                      (s1: mx(t) ready)
;   ACT  e = exp(x + mx), sum = sum(e)              (s2: exp(t) done, 2 primed)
;   DVE  r = 1 / sum; e = e * r                     (s3: y(t) ready)
;   q0 loads x(t) once exp(t-2) has read the buffer; q1 stores y(t).
; SBUF bytes per partition: x 0x0000/0x0800, e/y 0x1000/0x1800,
; mx 0x2000/0x2010, sum 0x2040/0x2050.
; Semaphores: s0 x(t) loaded <=> s0 >= t+1; s1 mx(t) <=> s1 >= t+1;
; s2 exp(j) <=> s2 >= j+3; s3 y(t) <=> s3 >= t+1; s4 store(j) <=> s4 >= j+3.
.target trn3
.cores 1
.tensor x input fp32 [512,512]
.tensor y output fp32 [512,512]

.stream core=0 engine=q0
  loop count=2
    dma_copy dst=sbuf[0:128]+0x0:fp32[[1,512]] src=hbm[x]+0x0+524288*i0:fp32[[512,128],[1,512]] wait=s2>=1+2*i0 signal=s0+1
    dma_copy dst=sbuf[0:128]+0x800:fp32[[1,512]] src=hbm[x]+0x40000+524288*i0:fp32[[512,128],[1,512]] wait=s2>=2+2*i0 signal=s0+1
  endloop

.stream core=0 engine=dve
  loop count=2
    tensor_reduce dst=sbuf[0:128]+0x2000:fp32[[1,1]] src=sbuf[0:128]+0x0:fp32[[1,512]] op=max wait=s0>=1+2*i0
    tensor_scalar dst=sbuf[0:128]+0x2000:fp32[[1,1]] src=sbuf[0:128]+0x2000:fp32[[1,1]] op0=mul scalar0=-1 signal=s1+1
    tensor_scalar dst=sbuf[0:128]+0x2040:fp32[[1,1]] src=sbuf[0:128]+0x2040:fp32[[1,1]] op0=rdiv scalar0=1 wait=s2>=3+2*i0
    tensor_scalar dst=sbuf[0:128]+0x1000:fp32[[1,512]] src=sbuf[0:128]+0x1000:fp32[[1,512]] op0=mul scalar0_ap=sbuf[0:128]+0x2040:fp32[[1,1]] signal=s3+1
    tensor_reduce dst=sbuf[0:128]+0x2010:fp32[[1,1]] src=sbuf[0:128]+0x800:fp32[[1,512]] op=max wait=s0>=2+2*i0
    tensor_scalar dst=sbuf[0:128]+0x2010:fp32[[1,1]] src=sbuf[0:128]+0x2010:fp32[[1,1]] op0=mul scalar0=-1 signal=s1+1
    tensor_scalar dst=sbuf[0:128]+0x2050:fp32[[1,1]] src=sbuf[0:128]+0x2050:fp32[[1,1]] op0=rdiv scalar0=1 wait=s2>=4+2*i0
    tensor_scalar dst=sbuf[0:128]+0x1800:fp32[[1,512]] src=sbuf[0:128]+0x1800:fp32[[1,512]] op0=mul scalar0_ap=sbuf[0:128]+0x2050:fp32[[1,1]] signal=s3+1
  endloop

.stream core=0 engine=act
  sem_signal signal=s2+2
  loop count=2
    sem_wait wait=s4>=1+2*i0
    activation dst=sbuf[0:128]+0x1000:fp32[[1,512]] src=sbuf[0:128]+0x0:fp32[[1,512]] func=exp bias_ap=sbuf[0:128]+0x2000:fp32[[1,1]] reduce=add reduce_dst=sbuf[0:128]+0x2040:fp32[[1,1]] wait=s1>=1+2*i0 signal=s2+1
    sem_wait wait=s4>=2+2*i0
    activation dst=sbuf[0:128]+0x1800:fp32[[1,512]] src=sbuf[0:128]+0x800:fp32[[1,512]] func=exp bias_ap=sbuf[0:128]+0x2010:fp32[[1,1]] reduce=add reduce_dst=sbuf[0:128]+0x2050:fp32[[1,1]] wait=s1>=2+2*i0 signal=s2+1
  endloop

.stream core=0 engine=q1
  sem_signal signal=s4+2
  loop count=2
    dma_copy dst=hbm[y]+0x0+524288*i0:fp32[[512,128],[1,512]] src=sbuf[0:128]+0x1000:fp32[[1,512]] wait=s3>=1+2*i0 signal=s4+1
    dma_copy dst=hbm[y]+0x40000+524288*i0:fp32[[512,128],[1,512]] src=sbuf[0:128]+0x1800:fp32[[1,512]] wait=s3>=2+2*i0 signal=s4+1
  endloop
