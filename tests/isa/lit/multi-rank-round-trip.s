; An SPMD program of 4 ranks with every collective: the listing is canonical,
; and assembling it again gives the same bytes (container 1.1).
; RUN: trnx-as %s -o %t.tnx
; RUN: trnx-objdump -d %t.tnx -o %t.s
; RUN: FileCheck %s < %t.s
; RUN: trnx-as %t.s -o %t2.tnx
; RUN: cmp %t.tnx %t2.tnx
; RUN: trnx-objdump -h %t.tnx | FileCheck %s --check-prefix=SUMMARY

; CHECK: ; trnx assembly (container 1.1)
; CHECK-NEXT: .target trn3
; CHECK-NEXT: .cores 1
; CHECK-NEXT: .ranks 4
; CHECK-NEXT: .replica_group 0 [0,1,2,3]
; CHECK-NEXT: .replica_group 1 [0,2] [1,3]
; CHECK: .rank_data w 1 0000a0400000c040
; CHECK-NEXT: .rank_data w 3 0000e04000000041
; CHECK: all_reduce dst=hbm[x]+0x0:fp32{{\[\[}}64,128],[1,64]] src=hbm[x]+0x0:fp32{{\[\[}}64,128],[1,64]] op=add groups=1 channels=4 wait=s0>=1 signal=s1+1
; CHECK-NEXT: all_gather dst=hbm[g]+0x0:fp32{{\[\[}}64,512],[1,64]] src=hbm[x]+0x0:fp32{{\[\[}}64,128],[1,64]]
; CHECK-NEXT: reduce_scatter dst=sbuf[0:32]+0x0:fp32{{\[\[}}1,64]] src=hbm[x]+0x0:fp32{{\[\[}}64,128],[1,64]] op=max
; CHECK-NEXT: all_to_all dst=sbuf[0:128]+0x0:bf16{{\[\[}}1,8]] src=sbuf[0:128]+0x100:bf16{{\[\[}}1,8]] priority=2
; CHECK-NEXT: all_to_all_v dst=sbuf[0:128]+0x0:fp32{{\[\[}}1,8]] src=sbuf[0:128]+0x100:fp32{{\[\[}}1,8]] meta=sbuf[0:1]+0x400:int32{{\[\[}}1,16]]
; CHECK-NEXT: permute dst=sbuf[0:128]+0x0:fp32{{\[\[}}1,8]] src=sbuf[0:128]+0x100:fp32{{\[\[}}1,8]] shift=-1 wrap=0 groups=1
; CHECK: rank_id dst=sbuf[0:128]+0x0:int32{{\[\[}}1,1]]
; CHECK-NEXT: rank_id dst=sbuf[0:128]+0x4:int32{{\[\[}}1,1]] groups=1
; SUMMARY: ranks: 4

.target trn3
.cores 1
.ranks 4
.replica_group 0 [0,1,2,3]
.replica_group 1 [0,2] [1,3]
.tensor w weight fp32 [2]
.data w 0000803f00000040
.rank_data w 1 0000a0400000c040
.rank_data w 3 0000e04000000041
.tensor x input fp32 [128,64]
.tensor g output fp32 [512,64]
.stream core=0 engine=q0
  all_reduce dst=hbm[x]+0x0:fp32[[64,128],[1,64]] src=hbm[x]+0x0:fp32[[64,128],[1,64]] op=add groups=1 channels=4 wait=s0>=1 signal=s1+1
  all_gather dst=hbm[g]+0x0:fp32[[64,512],[1,64]] src=hbm[x]+0x0:fp32[[64,128],[1,64]]
  reduce_scatter dst=sbuf[0:32]+0x0:fp32[[1,64]] src=hbm[x]+0x0:fp32[[64,128],[1,64]] op=max
  all_to_all dst=sbuf[0:128]+0x0:bf16[[1,8]] src=sbuf[0:128]+0x100:bf16[[1,8]] priority=2
  all_to_all_v dst=sbuf[0:128]+0x0:fp32[[1,8]] src=sbuf[0:128]+0x100:fp32[[1,8]] meta=sbuf[0:1]+0x400:int32[[1,16]]
  permute dst=sbuf[0:128]+0x0:fp32[[1,8]] src=sbuf[0:128]+0x100:fp32[[1,8]] shift=-1 wrap=0 groups=1
.stream core=0 engine=pool
  rank_id dst=sbuf[0:128]+0x0:int32[[1,1]] signal=s0+1
  rank_id dst=sbuf[0:128]+0x4:int32[[1,1]] groups=1
