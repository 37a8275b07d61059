.target trn3
.cores 1
.tensor y output fp32 [1099511627776,4194304]
