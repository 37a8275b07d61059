"""trnx-sim --system: a multi-rank program runs one rank per chip of a system
preset or file (functional mode); each rank's outputs land in DIR/rankR/, and
every misuse is one 'error:' line with exit status 1."""
import numpy as np

from conftest import assert_one_error_line

PROGRAM = """.target trn2
.ranks 16
.replica_group 0 [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]
.replica_group 1 [0,1,2,3] [4,5,6,7] [8,9,10,11] [12,13,14,15]
.tensor x input fp32 [4,8]
.tensor y output fp32 [4,8]
.tensor z output fp32 [16,8]
.tensor r output int32 [1]
.stream core=0 engine=q0
  dma_copy dst=sbuf[0:4]+0x0:fp32[[1,8]] src=hbm[x]+0x0:fp32[[8,4],[1,8]] signal=s0+1
.stream core=0 engine=pool
  rank_id dst=sbuf[0:4]+0x40:fp32[[1,8]] signal=s2+1
  rank_id dst=sbuf[0:1]+0x80:int32[[1,1]] groups=1 signal=s2+1
.stream core=0 engine=dve
  tensor_tensor dst=sbuf[0:4]+0x0:fp32[[1,8]] src0=sbuf[0:4]+0x0:fp32[[1,8]] src1=sbuf[0:4]+0x40:fp32[[1,8]] op=add wait=s0>=1 signal=s1+1
.stream core=0 engine=q1
  all_reduce dst=hbm[y]+0x0:fp32[[8,4],[1,8]] src=sbuf[0:4]+0x0:fp32[[1,8]] op=max wait=s1>=1
  all_gather dst=hbm[z]+0x0:fp32[[8,16],[1,8]] src=sbuf[0:4]+0x0:fp32[[1,8]] groups=1
  dma_copy dst=hbm[r]+0x0:int32[[0,1],[1,1]] src=sbuf[0:1]+0x80:int32[[1,1]] wait=s2>=2
"""


def test_sixteen_ranks_on_a_trn2_server(tools, tmp_path):
    src = tmp_path / "p.s"
    src.write_text(PROGRAM)
    prog = tools.assemble(src, tmp_path / "p.tnx")
    x = np.arange(32, dtype=np.float32).reshape(4, 8) / 4
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out"
    run = tools.run("trnx-sim", prog, "--system", "trn2-server", "--mode", "functional", "--input",
                    f"x={tmp_path / 'x.npy'}", "--output-dir", out)
    assert "on trn2-server (16 x trn2, mode functional)" in run.stdout
    for rank in range(16):
        d = out / f"rank{rank}"
        np.testing.assert_array_equal(np.load(d / "y.npy"), x + 15)  # max over ranks of x + rank
        group = rank // 4 * 4
        want = np.concatenate([x + g for g in range(group, group + 4)])
        np.testing.assert_array_equal(np.load(d / "z.npy"), want)
        assert np.load(d / "r.npy").tolist() == [rank % 4]


def test_system_misuse_is_one_error_line(tools, tmp_path):
    src = tmp_path / "p.s"
    src.write_text(PROGRAM)
    prog = tools.assemble(src, tmp_path / "p.tnx")
    np.save(tmp_path / "x.npy", np.zeros((4, 8), np.float32))
    x = f"x={tmp_path / 'x.npy'}"
    cases = [
        ([prog, "--mode", "functional", "--input", x], "a program of 16 ranks runs on a system: pass --system"),
        ([prog, "--system", "trn2-ultraserver", "--mode", "functional", "--input", x],
         "the program has 16 ranks, system trn2-ultraserver has 64 chips"),
        ([prog, "--system", "trn2-server", "--input", x], "pass --mode functional"),
        ([prog, "--system", "trn2-server", "--mode", "functional", "--chip", "trn3", "--input", x],
         "--chip and --system both name the chip"),
        ([prog, "--system", "nowhere.yaml", "--mode", "functional", "--input", x],
         "'nowhere.yaml' is neither a system preset"),
        ([prog, "--system", "trn2-server", "--mode", "functional"], "input 'x' was not given"),
    ]
    for args, message in cases:
        proc = tools.run("trnx-sim", *args, check=False)
        assert_one_error_line(proc)
        assert message in proc.stderr, (args, proc.stderr)
