; Bad multi-rank programs: one error line that names the file, line and
; column (assembler) or the instruction and the rule (verifier, run by
; trnx-sim), and exit status 1.
; RUN: rm -rf %t && split-file %s %t
; RUN: not trnx-as %t/set-order.s -o %t/a.tnx 2>&1 | FileCheck %s --check-prefix=ORDER
; ORDER: set-order.s:3:16: {{.*}}replica-group set ids must be numbered 0, 1, 2, ... in order; expected 0
; RUN: not trnx-as %t/bad-rank.s -o %t/a.tnx 2>&1 | FileCheck %s --check-prefix=RANK
; RANK: bad-rank.s:2:21: {{.*}}rank 65536 is out of range [0, 65535]
; RUN: not trnx-as %t/no-group.s -o %t/a.tnx 2>&1 | FileCheck %s --check-prefix=EMPTY
; EMPTY: no-group.s:1:17: {{.*}}.replica_group needs at least one [rank,...] group
; RUN: not trnx-as %t/zero-ranks.s -o %t/a.tnx 2>&1 | FileCheck %s --check-prefix=ZERO
; ZERO: zero-ranks.s:1:8: {{.*}}rank count 0 is out of range [1, 65535]
; RUN: not trnx-as %t/rank-data.s -o %t/a.tnx 2>&1 | FileCheck %s --check-prefix=DATA
; DATA: rank-data.s:1:12: {{.*}}unknown tensor 'w'
; RUN: trnx-as %t/twice.s -o %t/twice.tnx
; RUN: not trnx-sim %t/twice.tnx --chip trn3 --mode functional 2>&1 | FileCheck %s --check-prefix=TWICE
; TWICE: error: {{.*}}replica-group set 0: rank 1 is in groups 0 and 1 (each rank once)
; RUN: trnx-as %t/shape.s -o %t/shape.tnx
; RUN: not trnx-sim %t/shape.tnx --chip trn3 --mode functional 2>&1 | FileCheck %s --check-prefix=SHAPE
; SHAPE: error: {{.*}}core 0 q0 #0 (all_gather): dst has 64 elements and src 64 in groups of 2: all_gather needs dst = G x src
; RUN: trnx-as %t/sim.s -o %t/sim.tnx
; RUN: not trnx-sim %t/sim.tnx --chip trn3 --mode functional 2>&1 | FileCheck %s --check-prefix=SIM
; SIM: error: {{.*}}sim.tnx: a program of 2 ranks runs on a system: pass --system NAME|FILE.yaml

//--- set-order.s
.target trn3
.ranks 2
.replica_group 1 [0,1]
//--- bad-rank.s
.ranks 2
.replica_group 0 [0,65536]
//--- no-group.s
.replica_group 0
//--- zero-ranks.s
.ranks 0
//--- rank-data.s
.rank_data w 0 00
//--- twice.s
.ranks 3
.replica_group 0 [0,1] [1,2]
//--- shape.s
.ranks 2
.replica_group 0 [0,1]
.stream core=0 engine=q0
  all_gather dst=sbuf[0:1]+0x0:fp32[[1,64]] src=sbuf[0:1]+0x100:fp32[[1,64]]
//--- sim.s
.ranks 2
.replica_group 0 [1,0]
.stream core=0 engine=q0
  all_gather dst=sbuf[0:1]+0x0:fp32[[1,64]] src=sbuf[0:1]+0x100:fp32[[1,32]]
