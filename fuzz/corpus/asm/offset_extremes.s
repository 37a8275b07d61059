.target trn3
.cores 1
.stream core=0 engine=dve
  memset dst=sbuf[0:128]+0x3fffffffffffffff:fp32[[1,4]] value=1
  memset dst=sbuf[65000:65535]-0x3fffffffffffffff+2147483647*i0:fp32[[-2147483648,4294967295]] value=1
