"""trnx-as and trnx-objdump on the command line: byte-identical assemble /
disassemble round trips of the examples, the -h summary, and one 'error:' line
with exit status 1 for every kind of failure."""
import random
import re

import pytest

from conftest import assert_one_error_line

EXAMPLES = ["gemm_512", "softmax", "layernorm"]


def example(source_dir, name):
    return source_dir / "examples" / "asm" / f"{name}.s"


@pytest.mark.parametrize("name", EXAMPLES)
def test_assemble_disassemble_round_trip_is_byte_identical(tools, source_dir, tmp_path, name):
    first = tools.assemble(example(source_dir, name), tmp_path / "a.tnx")
    data = first.read_bytes()
    assert data[:8] == b"TRNXPROG"
    # -d writes the listing to a file with -o, or to stdout (the default action).
    tools.run("trnx-objdump", "-d", first, "-o", tmp_path / "a.s")
    listing = (tmp_path / "a.s").read_text()
    stdout = tools.run("trnx-objdump", first).stdout
    assert stdout == listing
    assert ".stream core=0 engine=" in listing
    second = tools.assemble(tmp_path / "a.s", tmp_path / "b.tnx")
    assert second.read_bytes() == data
    # The listing of the second binary is the same text (a fixed point).
    assert tools.run("trnx-objdump", "-d", second).stdout == listing


def test_round_trip_keeps_weight_data_and_no_data_omits_it(tools, tmp_path):
    src = tmp_path / "w.s"
    src.write_text(".target trn3\n.cores 1\n.tensor w weight bf16 [40]\n.data w " + "00" * 16 + "\n"
                   ".data w " + "".join(f"{i:02x}" for i in range(64)) + "\n"
                   ".stream core=0 engine=q0\n"
                   "  dma_copy dst=sbuf[0:1]+0x0:bf16[[1,40]] src=hbm[w]+0x0:bf16[[0,1],[1,40]]\n")
    first = tools.assemble(src, tmp_path / "w.tnx")
    listing = tools.run("trnx-objdump", "-d", first).stdout
    assert "0102030405" in listing
    (tmp_path / "w2.s").write_text(listing)
    assert tools.assemble(tmp_path / "w2.s", tmp_path / "w2.tnx").read_bytes() == first.read_bytes()
    short = tools.run("trnx-objdump", "-d", "--no-data", first).stdout
    assert "0102030405" not in short
    assert "; .data w (80 bytes omitted)" in short


def test_summary_mentions_tensors_and_streams(tools, source_dir, tmp_path):
    prog = tools.assemble(example(source_dir, "gemm_512"), tmp_path / "g.tnx")
    out = tools.run("trnx-objdump", "-h", prog).stdout
    assert "target: trn3" in out
    assert "cores: 1" in out
    assert re.search(r"^tensors: 3 \(\d+ bytes of HBM\)$", out, re.M), out
    for name, role in [("a", "input"), ("b", "input"), ("c", "output")]:
        assert re.search(rf"^  {name} {role} \w+ \[512,512\] at \d+, \d+ bytes$", out, re.M), out
    m = re.search(r"^streams: (\d+) \((\d+) instructions\)$", out, re.M)
    assert m, out
    streams = re.findall(r"^  core 0 (\w+): (\d+)$", out, re.M)
    assert len(streams) == int(m.group(1))
    assert sum(int(n) for _, n in streams) == int(m.group(2))
    assert {"pe", "act", "q0"} <= {e for e, _ in streams}
    # -h alone prints no listing; -h -d prints both.
    assert ".stream" not in out
    both = tools.run("trnx-objdump", "-h", "-d", prog).stdout
    assert both.startswith(out) and ".stream core=0 engine=pe" in both


def test_help_texts(tools):
    assert "usage: trnx-as" in tools.run("trnx-as", "-h").stdout
    assert "usage: trnx-as" in tools.run("trnx-as", "--help").stdout
    assert "usage: trnx-objdump" in tools.run("trnx-objdump", "--help").stdout


def test_syntax_error_names_file_line_and_column(tools, tmp_path):
    src = tmp_path / "bad.s"
    src.write_text(".cores 1\n.stream core=0 engine=dve\n  memset dst=sbuf[0:128]+0x0:fp32[[1,4]]\n"
                   "  memset dst=sbux[0:128]+0x0:fp32[[1,4]]\n")
    out = tmp_path / "bad.tnx"
    proc = tools.run("trnx-as", src, "-o", out, check=False)
    assert_one_error_line(proc)
    assert proc.stderr.strip() == f"{src}:4:14: error: unknown memory space 'sbux' (sbuf, psum, hbm)"
    assert not out.exists()


@pytest.mark.parametrize("text,where,cause", [
    ("matmull x=1\n", "3:1", "unknown instruction 'matmull'"),
    ("memset dst=sbuf[0:1]+0x0:fp32[[1,1]] value=1 value=2\n", "3:46", "field 'value' given twice"),
    ("tensor_tensor dst=sbuf[0:1]+0x0:fp32[[1,1]]\n", "3:44", "'tensor_tensor' needs field 'src0'"),
    (".loc 1 \"f\" 1 1 \"op\"\n", "3:6", "location ids must be numbered"),
])
def test_more_syntax_errors(tools, tmp_path, text, where, cause):
    src = tmp_path / "e.s"
    src.write_text(".cores 1\n.stream core=0 engine=pool\n" + text)
    proc = tools.run("trnx-as", src, "-o", tmp_path / "e.tnx", check=False)
    assert_one_error_line(proc)
    assert proc.stderr.startswith(f"{src}:{where}: error: "), proc.stderr
    assert cause in proc.stderr


def test_assembler_usage_errors(tools, source_dir, tmp_path):
    good = example(source_dir, "softmax")
    cases = [
        ((tmp_path / "missing.s", "-o", tmp_path / "x.tnx"), f"{tmp_path / 'missing.s'}: cannot open file"),
        ((good,), "no output file: pass -o OUTPUT.tnx"),
        ((good, "-o"), "-o needs a file name"),
        (("-o", tmp_path / "x.tnx"), "no input file (see --help)"),
        ((good, "--frobnicate", "-o", tmp_path / "x.tnx"), "unknown option '--frobnicate' (see --help)"),
        ((good, good, "-o", tmp_path / "x.tnx"), "more than one input file"),
        ((), "no input file"),
        ((good, "-o", tmp_path / "no-such-dir" / "x.tnx"), "cannot open file for writing"),
    ]
    for args, message in cases:
        proc = tools.run("trnx-as", *args, check=False)
        assert_one_error_line(proc)
        assert message in proc.stderr, (args, proc.stderr)
        assert proc.stdout == ""
    assert not (tmp_path / "x.tnx").exists()


def test_objdump_usage_errors(tools, source_dir, tmp_path):
    prog = tools.assemble(example(source_dir, "layernorm"), tmp_path / "l.tnx")
    cases = [
        ((tmp_path / "missing.tnx",), f"{tmp_path / 'missing.tnx'}: cannot open file"),
        (("-d",), "no input file (see --help)"),
        ((prog, "-x"), "unknown option '-x' (see --help)"),
        ((prog, prog), "more than one input file"),
        ((prog, "-o"), "-o needs a file name"),
        ((prog, "-o", tmp_path / "no-such-dir" / "l.s"), "cannot open file for writing"),
    ]
    for args, message in cases:
        proc = tools.run("trnx-objdump", *args, check=False)
        assert_one_error_line(proc)
        assert message in proc.stderr, (args, proc.stderr)


def test_corrupt_binaries_are_one_error_line(tools, source_dir, tmp_path):
    data = tools.assemble(example(source_dir, "softmax"), tmp_path / "s.tnx").read_bytes()
    rng = random.Random(5)
    cases = {
        "empty.tnx": (b"", "file is 0 bytes, shorter than the 24-byte header"),
        "short.tnx": (data[:20], "file is 20 bytes, shorter than the 24-byte header"),
        "truncated.tnx": (data[: len(data) // 2], "checksum mismatch: the file is corrupted"),
        "random.tnx": (bytes(rng.randrange(256) for _ in range(500)), "not a trnx program (bad magic)"),
        "flipped.tnx": (data[:100] + bytes([data[100] ^ 1]) + data[101:], "checksum mismatch"),
        "text.tnx": (example(source_dir, "softmax").read_bytes(), "not a trnx program (bad magic)"),
        "version.tnx": (data[:8] + b"\x02\x00" + data[10:], "container version 2.0 is not supported"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        for flag in ("-d", "-h"):
            proc = tools.run("trnx-objdump", flag, path, check=False)
            assert_one_error_line(proc)
            assert proc.stderr.startswith(f"error: {path}: "), proc.stderr
            assert message in proc.stderr, (name, proc.stderr)
            assert proc.stdout == ""


def test_every_truncation_of_a_binary_fails_cleanly(tools, source_dir, tmp_path):
    data = tools.assemble(example(source_dir, "softmax"), tmp_path / "s.tnx").read_bytes()
    path = tmp_path / "cut.tnx"
    for n in sorted({0, 1, 8, 23, 24, 25, 30, 40, 100, len(data) // 3, len(data) - 5, len(data) - 1}):
        path.write_bytes(data[:n])
        proc = tools.run("trnx-objdump", path, check=False)
        assert_one_error_line(proc)


def test_assembling_random_text_fails_with_one_error_line(tools, tmp_path):
    rng = random.Random(11)
    src = tmp_path / "junk.s"
    alphabet = "abcdefgilmnoprstuvwxyz_.[]:+-*=,;\"#0123456789 \t\n"
    failures = 0
    for _ in range(20):
        src.write_text("".join(rng.choice(alphabet) for _ in range(200)))
        proc = tools.run("trnx-as", src, "-o", tmp_path / "junk.tnx", check=False)
        if proc.returncode == 0:
            continue  # a comment-only or empty file is a valid (empty) program
        failures += 1
        assert_one_error_line(proc)
        assert re.match(rf"{re.escape(str(src))}:\d+:\d+: error: ", proc.stderr), proc.stderr
    assert failures >= 15


def test_empty_source_assembles_to_an_empty_program(tools, tmp_path):
    src = tmp_path / "empty.s"
    src.write_text("")
    prog = tools.assemble(src, tmp_path / "empty.tnx")
    out = tools.run("trnx-objdump", "-h", prog).stdout
    assert "tensors: 0" in out and "streams: 0 (0 instructions)" in out


@pytest.mark.parametrize("shape,cause", [
    # 2^62 fp32 elements: 2^64 bytes, which used to wrap to 0 and "succeed".
    ("[1099511627776,4194304]", "tensor 'y' needs more than 2^64 bytes for its shape"),
    ("[1099511627776,512]", "tensor 'y' needs 2251799813685248 bytes for its shape"),
])
def test_tensor_sizes_that_overflow_are_refused(tools, tmp_path, shape, cause):
    src = tmp_path / "big.s"
    src.write_text(f".target trn3\n.cores 1\n.tensor y output fp32 {shape}\n")
    out = tmp_path / "big.tnx"
    proc = tools.run("trnx-as", src, "-o", out, check=False)
    assert_one_error_line(proc)
    assert proc.stderr.startswith(f"{src}:3:23: error: {cause}"), proc.stderr
    assert not out.exists()


def test_tensor_larger_than_the_chip_is_refused_by_the_simulator(tools, tmp_path):
    src = tmp_path / "big.s"
    src.write_text(".target trn3\n.cores 1\n.tensor y output fp32 [1073741824,1024]\n")
    prog = tools.assemble(src, tmp_path / "big.tnx")
    proc = tools.run("trnx-sim", prog, "--output-dir", tmp_path, check=False)
    assert_one_error_line(proc)
    assert "the program needs 4398046511104 bytes of HBM; the chip has" in proc.stderr
    assert not (tmp_path / "y.npy").exists()


def test_outputs_that_are_inputs_are_refused(tools, source_dir, tmp_path):
    src = tmp_path / "s.s"
    src.write_text(example(source_dir, "softmax").read_text())
    before = src.read_bytes()
    proc = tools.run("trnx-as", src, "-o", src, check=False)
    assert_one_error_line(proc)
    assert f"{src}: is also an input" in proc.stderr
    assert src.read_bytes() == before
    prog = tools.assemble(src, tmp_path / "s.tnx")
    data = prog.read_bytes()
    for args in (["-d", prog, "-o", prog], ["-d", prog, "-o", tmp_path / "." / "s.tnx"]):
        proc = tools.run("trnx-objdump", *args, check=False)
        assert_one_error_line(proc)
        assert "is also an input" in proc.stderr
    proc = tools.run("trnx-sim", prog, "--mode", "timing", "--report", prog, check=False)
    assert_one_error_line(proc)
    assert "is also an input" in proc.stderr
    assert prog.read_bytes() == data
