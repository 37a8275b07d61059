.target trn3
.cores 1
.tensor a scratch int8 [1048576,1073741824] hbm=0x40
.tensor b scratch int8 [1]
