; C[512,512] (fp32) = A[512,512] @ B[512,512] (bf16), one core, hand scheduled.
;
; B is loaded once with K on partitions. A is read through the DMA transpose
; unit as A^T tiles [K=128, M=128] (four K-tiles per 128-row block of A), into
; two SBUF buffers so block m+1 loads while the PE works on block m. Each block
; accumulates 4 matmuls into a PSUM bank (two banks alternate); ACT moves a
; finished bank to one of two SBUF output buffers and q1 stores it.
;
; SBUF bytes per partition: B [kt][n] 0x0000-0x0fff, A^T buffers 0x1000/0x1400
; ([kt][m], 256 B per K-tile), output buffers 0x1800/0x2000. PSUM banks 0x0/0x800.
;
; Semaphores (t = row block 0..3, buffer b = t % 2, loops unrolled by 2):
;   s0 B loaded                         s1 A^T(t) loaded  <=> s1 >= t+1
;   s2 A^T buffer released (2 primed)   PE done with A^T(j) <=> s2 >= j+3
;   s3 PSUM block t accumulated <=> s3 >= t+1
;   s4 PSUM bank evacuated (2 primed)   evac(j) <=> s4 >= j+3
;   s5 output stored (2 primed)         store(j) <=> s5 >= j+3
.target trn3
.cores 1
.tensor a input bf16 [512,512]
.tensor b input bf16 [512,512]
.tensor c output fp32 [512,512]

.stream core=0 engine=q0
  dma_copy dst=sbuf[0:128]+0x0:bf16[[512,4],[1,512]] src=hbm[b]+0x0:bf16[[512,128],[65536,4],[1,512]] signal=s0+1
  loop count=2
    dma_copy dst=sbuf[0:128]+0x1000:bf16[[128,4],[1,128]] src=hbm[a]+0x0+262144*i0:bf16[[1,128],[128,4],[512,128]] transpose=1 wait=s2>=1+2*i0 signal=s1+1
    dma_copy dst=sbuf[0:128]+0x1400:bf16[[128,4],[1,128]] src=hbm[a]+0x20000+262144*i0:bf16[[1,128],[128,4],[512,128]] transpose=1 wait=s2>=2+2*i0 signal=s1+1
  endloop

.stream core=0 engine=pe
  sem_signal signal=s2+2
  sem_wait wait=s0>=1
  loop count=2
    sem_wait wait=s4>=1+2*i0
    matmul dst=psum[0:128]+0x0:fp32[[1,512]] stationary=sbuf[0:128]+0x1000:bf16[[1,128]] moving=sbuf[0:128]+0x0:bf16[[1,512]] wait=s1>=1+2*i0
    matmul dst=psum[0:128]+0x0:fp32[[1,512]] stationary=sbuf[0:128]+0x1100:bf16[[1,128]] moving=sbuf[0:128]+0x400:bf16[[1,512]] acc=1
    matmul dst=psum[0:128]+0x0:fp32[[1,512]] stationary=sbuf[0:128]+0x1200:bf16[[1,128]] moving=sbuf[0:128]+0x800:bf16[[1,512]] acc=1
    matmul dst=psum[0:128]+0x0:fp32[[1,512]] stationary=sbuf[0:128]+0x1300:bf16[[1,128]] moving=sbuf[0:128]+0xc00:bf16[[1,512]] acc=1 signal=s3+1
    sem_signal signal=s2+1
    sem_wait wait=s4>=2+2*i0
    matmul dst=psum[0:128]+0x800:fp32[[1,512]] stationary=sbuf[0:128]+0x1400:bf16[[1,128]] moving=sbuf[0:128]+0x0:bf16[[1,512]] wait=s1>=2+2*i0
    matmul dst=psum[0:128]+0x800:fp32[[1,512]] stationary=sbuf[0:128]+0x1500:bf16[[1,128]] moving=sbuf[0:128]+0x400:bf16[[1,512]] acc=1
    matmul dst=psum[0:128]+0x800:fp32[[1,512]] stationary=sbuf[0:128]+0x1600:bf16[[1,128]] moving=sbuf[0:128]+0x800:bf16[[1,512]] acc=1
    matmul dst=psum[0:128]+0x800:fp32[[1,512]] stationary=sbuf[0:128]+0x1700:bf16[[1,128]] moving=sbuf[0:128]+0xc00:bf16[[1,512]] acc=1 signal=s3+1
    sem_signal signal=s2+1
  endloop

.stream core=0 engine=act
  sem_signal signal=s4+2
  loop count=2
    sem_wait wait=s5>=1+2*i0
    activation dst=sbuf[0:128]+0x1800:fp32[[1,512]] src=psum[0:128]+0x0:fp32[[1,512]] wait=s3>=1+2*i0 signal=s4+1
    sem_wait wait=s5>=2+2*i0
    activation dst=sbuf[0:128]+0x2000:fp32[[1,512]] src=psum[0:128]+0x800:fp32[[1,512]] wait=s3>=2+2*i0 signal=s4+1
  endloop

.stream core=0 engine=q1
  sem_signal signal=s5+2
  loop count=2
    dma_copy dst=hbm[c]+0x0+524288*i0:fp32[[512,128],[1,512]] src=sbuf[0:128]+0x1800:fp32[[1,512]] wait=s4>=3+2*i0 signal=s5+1
    dma_copy dst=hbm[c]+0x40000+524288*i0:fp32[[512,128],[1,512]] src=sbuf[0:128]+0x2000:fp32[[1,512]] wait=s4>=4+2*i0 signal=s5+1
  endloop
