// The assembler's error reporting: every syntax error is an Error whose
// message starts with "t.s:LINE:COL: " at the offending token, followed by a
// cause that names the problem. Expected positions are marked with '@' in the
// test text (the marker is removed before parsing).
#include "isa/AsmParser.h"
#include "isa/AsmPrinter.h"
#include "isa/Container.h"
#include "isa/Error.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

using namespace trnx;

namespace {

const char *kPrelude = ".target trn3\n.cores 2\n.tensor x input fp32 [128,512]\n.stream core=0 engine=dve\n";
constexpr int kPreludeLines = 4;

struct Located {
  std::string text;
  int line = 0, col = 0;
};

// Removes the single '@' of `marked` and returns its 1-based line and column.
Located locate(const std::string &marked) {
  Located r;
  size_t at = marked.find('@');
  if (at == std::string::npos || marked.find('@', at + 1) != std::string::npos)
    throw std::logic_error("test bug: need exactly one '@' in: " + marked);
  r.text = marked.substr(0, at) + marked.substr(at + 1);
  r.line = 1;
  size_t lineStart = 0;
  for (size_t i = 0; i < at; ++i)
    if (marked[i] == '\n') {
      ++r.line;
      lineStart = i + 1;
    }
  r.col = static_cast<int>(at - lineStart) + 1;
  return r;
}

std::string parseError(const std::string &text) {
  try {
    parseAssembly(text, "t.s");
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

void expectErrorAt(const std::string &marked, const std::string &cause) {
  Located l = locate(marked);
  SCOPED_TRACE(l.text);
  std::string msg = parseError(l.text);
  ASSERT_FALSE(msg.empty()) << "parsed without error";
  std::string prefix = "t.s:" + std::to_string(l.line) + ":" + std::to_string(l.col) + ": ";
  EXPECT_EQ(msg.rfind(prefix, 0), 0u) << "message: " << msg << "\nexpected prefix: " << prefix;
  EXPECT_NE(msg.find(cause), std::string::npos) << "message: " << msg << "\nexpected cause: " << cause;
}

// An instruction line after the prelude (so it is line 5).
void expectInstructionError(const std::string &markedLine, const std::string &cause) {
  expectErrorAt(std::string(kPrelude) + markedLine + "\n", cause);
}

const std::string kDst = "sbuf[0:128]+0x0:fp32[[1,512]]";

} // namespace

TEST(AsmParser, LocateHelperCountsLinesAndColumns) {
  Located l = locate("ab\ncd@e\n");
  EXPECT_EQ(l.text, "ab\ncde\n");
  EXPECT_EQ(l.line, 2);
  EXPECT_EQ(l.col, 3);
  EXPECT_EQ(kPreludeLines, 4);
}

TEST(AsmParser, UnknownMnemonic) {
  expectInstructionError("  @matmull dst=" + kDst, "unknown instruction 'matmull'");
  expectInstructionError("@memset_ dst=" + kDst, "unknown instruction 'memset_'");
  // The line number counts comments and blank lines.
  expectErrorAt(std::string(kPrelude) + "; comment\n\n  # another\n  memset dst=" + kDst + "\n\t@bogus\n",
                "unknown instruction 'bogus'");
}

TEST(AsmParser, UnknownField) {
  expectInstructionError("memset dst=" + kDst + " @vlaue=1", "'memset' has no field 'vlaue' (fields: dst, value)");
  expectInstructionError("sem_signal @dst=" + kDst, "'sem_signal' has no field 'dst'");
  expectInstructionError("barrier @count=2", "'barrier' has no field 'count' (fields: scope)");
}

TEST(AsmParser, MissingRequiredField) {
  // Reported at the end of the line (before a trailing comment).
  expectInstructionError("tensor_tensor dst=" + kDst + " src0=" + kDst + " src1=" + kDst + "@",
                         "'tensor_tensor' needs field 'op'");
  expectInstructionError("tensor_tensor dst=" + kDst + " op=add src1=" + kDst + " @; comment",
                         "'tensor_tensor' needs field 'src0'");
  expectInstructionError("loop@", "'loop' needs field 'count'");
  expectInstructionError("matmul dst=psum[0:128]+0x0:fp32[[1,512]] moving=" + kDst + "@",
                         "'matmul' needs field 'stationary'");
  expectInstructionError("tensor_scalar dst=" + kDst + " src=" + kDst + "@", "'tensor_scalar' needs field 'op0'");
}

TEST(AsmParser, FieldGivenTwice) {
  expectInstructionError("memset dst=" + kDst + " value=1 @value=2", "field 'value' given twice");
  expectInstructionError("memset dst=" + kDst + " @dst=" + kDst, "field 'dst' given twice");
  expectInstructionError("sem_wait wait=s0>=1 @wait=s1>=1", "field 'wait' given twice");
  expectInstructionError("sem_signal signal=s0+1 @signal=s0+1", "field 'signal' given twice");
  expectInstructionError("sem_signal signal=s0+1 loc=0 @loc=1", "field 'loc' given twice");
}

TEST(AsmParser, BadOperandSyntax) {
  struct Case {
    std::string operand; // with '@' at the error
    const char *cause;
  };
  const Case cases[] = {
      {"@sbux[0:128]+0x0:fp32[[1,4]]", "unknown memory space 'sbux' (sbuf, psum, hbm)"},
      {"sbuf@(0:128]+0x0:fp32[[1,4]]", "expected '[' after the memory space"},
      {"sbuf[0@-128]+0x0:fp32[[1,4]]", "expected ':' between partition start and end"},
      {"sbuf[@:128]+0x0:fp32[[1,4]]", "expected an integer for partition start"},
      {"sbuf[0:128@+0x0:fp32[[1,4]]", "expected ']' to close the partition range"},
      {"sbuf[64:@32]+0x0:fp32[[1,4]]", "partition end is before its start"},
      {"sbuf[0:@65536]+0x0:fp32[[1,4]]", "partition end 65536 is out of range [0, 65535]"},
      {"sbuf[0:128]+0x0@=fp32[[1,4]]", "expected ':' before the operand dtype"},
      {"sbuf[0:128]+@:fp32[[1,4]]", "expected an integer for offset"},
      {"sbuf[0:128]+0x0:@fp33[[1,4]]", "unknown dtype 'fp33'"},
      {"sbuf[0:128]+0x0:fp32@([1,4]]", "expected '[' to open the [stride,count] list"},
      {"sbuf[0:128]+0x0:fp32[@1,4]]", "expected '[' to open a [stride,count] pair"},
      {"sbuf[0:128]+0x0:fp32[[1@ 4]]", "expected ',' between stride and count"},
      {"sbuf[0:128]+0x0:fp32[[1,4@,2]]", "expected ']' to close the pair"},
      {"sbuf[0:128]+0x0:fp32[[1,4]@[1,2]]", "expected ',' between [stride,count] pairs"},
      {"sbuf[0:128]+0x0:fp32[[1,4]@", "expected ',' between [stride,count] pairs"},
      {"sbuf[0:128]+0x0:fp32[[@2147483648,4]]", "stride 2147483648 is out of range"},
      {"sbuf[0:128]+0x0:fp32[[1,@-1]]", "count -1 is out of range [0, 4294967295]"},
      {"sbuf[0:128]+0x0:fp32[[1,@4294967296]]", "count 4294967296 is out of range"},
      {"sbuf[0:128]+0x0:fp32[[1,1],[1,1],[1,1],[1,1],[1,1]]@", "more than 4 free dims"},
      {"sbuf[0:128]+4*@j0:fp32[[1,4]]", "expected a loop index i0..i3 after '*'"},
      {"sbuf[0:128]+4*i@4:fp32[[1,4]]", "loop level 4 is out of range [0, 3]"},
      {"sbuf[0:128]@+2147483648*i0:fp32[[1,4]]", "loop step is out of the int32 range"},
      {"sbuf[0:128]+@0x4000000000000000:fp32[[1,4]]", "offset 0x4000000000000000 is out of range"},
      {"sbuf[0:128]+@99999999999999999999:fp32[[1,4]]", "offset is out of range"},
      // Several terms may not add up beyond the range of one.
      {"sbuf[0:128]+0x3fffffffffffffff@+0x3fffffffffffffff+0x3fffffffffffffff:fp32[[1,4]]", "offset is out of range"},
      {"sbuf[0:128]-0x3fffffffffffffff@-1:fp32[[1,4]]", "offset is out of range"},
      {"hbm[@nope]+0x0:fp32[[512,128],[1,512]]", "unknown tensor 'nope'"},
      {"hbm[@\"x \"]+0x0:fp32[[512,128],[1,512]]", "unknown tensor 'x '"},
      {"hbm[#@-1]+0x0:fp32[[512,128],[1,512]]", "tensor index -1 is out of range"},
      {"hbm[x]+0x0:fp32[]@", "an hbm operand needs a [row_stride,rows] pair first"},
      {"hbm[x]+0x0:fp32[[512,65536],[1,512]]@", "hbm row count exceeds 65535"},
      {"hbm[x]+0x0:fp32[[512,128],[1,1],[1,1],[1,1],[1,1],[1,1]]@", "more than 4 free dims"},
  };
  for (const Case &c : cases)
    expectInstructionError("dma_copy src=hbm[x]+0x0:fp32[[512,128],[1,4]] dst=" + c.operand, c.cause);
}

TEST(AsmParser, BadScalarFields) {
  expectInstructionError("tensor_tensor dst=" + kDst + " src0=" + kDst + " src1=" + kDst + " op=@plus",
                         "unknown operator 'plus'");
  expectInstructionError("activation dst=" + kDst + " src=" + kDst + " func=@gelu2", "unknown activation function 'gelu2'");
  expectInstructionError("barrier scope=@world", "'world' is not one of core|chip");
  expectInstructionError("matmul mode=@triple", "'triple' is not one of normal|double_row");
  expectInstructionError("dma_copy transpose=@2", "transpose 2 is out of range [0, 1]");
  expectInstructionError("memset dst=" + kDst + " value=@abc", "expected a number, found 'abc'");
  expectInstructionError("memset dst=" + kDst + " value=@0x10", "expected a number, found '0x10'");
  expectInstructionError("memset dst=" + kDst + " value=@nan1", "expected a number, found 'nan1'");
  expectInstructionError("memset dst=" + kDst + " value=@1.5.2", "expected a number, found '1.5.2'");
  expectInstructionError("memset dst=" + kDst + " value=@", "expected a number, found ''");
  expectInstructionError("memset dst=" + kDst + " value=@1e39", "number '1e39' overflows fp32");
  expectInstructionError("memset dst=" + kDst + " value=f32:@0x100000000", "float bits 0x100000000 is out of range");
  expectInstructionError("iota dst=" + kDst + " base=@2147483648", "base 2147483648 is out of range [-2147483648, 2147483647]");
  expectInstructionError("iota dst=" + kDst + " step3=@-2147483649", "step3 -2147483649 is out of range");
  expectInstructionError("iota dst=" + kDst + " base=@x", "expected an integer for base");
  expectInstructionError("loop count=@99999999999", "count 99999999999 is out of range");
}

TEST(AsmParser, BadWaitSignalLoc) {
  expectInstructionError("sem_wait wait=@0>=1", "expected 's' to name a semaphore (s0, s1, ...)");
  expectInstructionError("sem_wait wait=s0@=1", "expected '>' in 'sN>=value'");
  expectInstructionError("sem_wait wait=s0>@1", "expected '=' in 'sN>=value'");
  expectInstructionError("sem_wait wait=s@65535>=1", "semaphore 65535 is out of range [0, 65534]");
  expectInstructionError("sem_wait wait=s0>=@4294967296", "wait value 4294967296 is out of range");
  expectInstructionError("sem_wait @wait=s0>=1-2", "wait value is out of range");
  expectInstructionError("sem_wait @wait=s0>=4294967295+1", "wait value is out of range");
  expectInstructionError("sem_wait wait=s0>=0x0+0x3fffffffffffffff@+0x3fffffffffffffff", "wait value is out of range");
  expectInstructionError("sem_wait wait=s0>=1+2*@k0", "expected a loop index i0..i3 after '*'");
  expectInstructionError("sem_signal signal=s0@-1", "expected '+' in 'sN+increment'");
  expectInstructionError("sem_signal signal=s0+@65536", "increment 65536 is out of range [0, 65535]");
  expectInstructionError("sem_signal signal=s0+1 loc=@4294967295", "location id 4294967295 is out of range");
  expectInstructionError("sem_signal signal=s0+1 loc@ 1", "expected '=' after the field name");
}

TEST(AsmParser, IntegerRangesOfDirectives) {
  expectErrorAt(".cores @0\n", "core count 0 is out of range [1, 1024]");
  expectErrorAt(".cores @2000\n", "core count 2000 is out of range [1, 1024]");
  expectErrorAt(".cores @two\n", "expected an integer for core count");
  expectErrorAt(".stream core=@1024 engine=pe\n", "core 1024 is out of range [0, 1023]");
  expectErrorAt(".stream core=0 engine=@q64\n", "unknown engine 'q64'");
  expectErrorAt(".stream core=0 engine=@gpu\n", "unknown engine 'gpu'");
  expectErrorAt(".stream @queue=1 engine=pe\n", "unknown stream key 'queue' (core, engine)");
  expectErrorAt(".stream core=0@\n", ".stream needs core= and engine=");
  expectErrorAt(".tensor x input fp32 [@-1]\n", "dimension -1 is out of range");
  expectErrorAt(".tensor x input fp32 [@1099511627777]\n", "dimension 1099511627777 is out of range");
  expectErrorAt(".tensor x input fp32 [1,1,1,1,1,1,1,1,1@]\n", "tensor rank exceeds 8");
  expectErrorAt(".tensor x input fp32 [4] hbm=@0x4000000000001\n", "hbm offset 0x4000000000001 is out of range");
  expectErrorAt(".tensor x input fp32 [4] size=@-4\n", "size -4 is out of range");
  expectErrorAt(".tensor x input fp32 [4] @offset=0\n", "unknown tensor key 'offset' (hbm, size)");
  // Byte counts are checked, not wrapped: 2^62 fp32 elements are 2^64 bytes
  // (which wraps to 0), 2^51 bytes exceed the 2^50-byte tensor limit.
  expectErrorAt(".tensor y output fp32 @[1099511627776,4194304]\n",
                "tensor 'y' needs more than 2^64 bytes for its shape; a tensor has at most 2^50 (1 PiB)");
  expectErrorAt(".tensor y output fp32 @[1099511627776,1099511627776,1099511627776]\n",
                "tensor 'y' needs more than 2^64 bytes");
  expectErrorAt(".tensor y output fp32 @[1099511627776,512]\n",
                "tensor 'y' needs 2251799813685248 bytes for its shape; a tensor has at most 2^50 (1 PiB)");
  // Placed after a 2^50-byte tensor, the next one would start beyond 2^50.
  expectErrorAt(".tensor a scratch int8 [1048576,1073741824] hbm=0x40\n.tensor b scratch int8 @[1]\n",
                "tensor 'b' would start at HBM offset 1125899906842688, beyond the 2^50-byte address space");
  expectErrorAt(".tensor x @inout fp32 [4]\n", "expected a tensor role (input, output, weight, scratch)");
  expectErrorAt(".tensor x input fp32 [4@ 4]\n", "expected ',' between dimensions");
  expectErrorAt(".tensor x input fp32 @4\n", "expected '[' to open the tensor shape");
  expectErrorAt(".loc 0 \"a.mlir\" @-1 2 \"op\"\n", "line -1 is out of range");
  expectErrorAt(".loc 0 \"a.mlir\" 1 @4294967296 \"op\"\n", "column 4294967296 is out of range");
  expectErrorAt(".loc 0 @a.mlir 1 2 \"op\"\n", "expected '\"' to open a string");
}

TEST(AsmParser, BadDtype) {
  expectErrorAt(".tensor x input @float32 [4]\n", "unknown dtype 'float32'");
  expectErrorAt(".tensor x input @FP32 [4]\n", "unknown dtype 'FP32'");
  expectInstructionError("memset dst=sbuf[0:128]+0x0:@fp64[[1,4]]", "unknown dtype 'fp64'");
  expectInstructionError("memset dst=sbuf[0:128]+0x0:@[[1,4]]", "expected a name");
}

TEST(AsmParser, UnknownTensor) {
  expectErrorAt(".data @w 00\n", "unknown tensor 'w'");
  expectErrorAt(".tensor w weight int8 [1]\n.data @\"w2\" 00\n", "unknown tensor 'w2'");
  expectInstructionError("dma_copy dst=hbm[@y]+0x0:fp32[[512,128],[1,512]] src=" + kDst, "unknown tensor 'y'");
}

TEST(AsmParser, Strings) {
  expectErrorAt(".loc 0 \"model.mlir 3 5 op@\n", "unterminated string");
  expectErrorAt(".loc 0 \"model.mlir\" 3 5 \"op@\n", "unterminated string");
  expectErrorAt(".target \"trn3@", "unterminated string");
  expectErrorAt(".loc 0 \"a\\@q\" 3 5 \"op\"\n", "invalid escape in string");
  expectErrorAt(".loc 0 \"a\\@x4\" 3 5 \"op\"\n", "invalid escape in string");
  // Valid escapes.
  Program p = parseAssembly(".loc 0 \"a\\\"b\\\\c\\x41\\x00\" 3 5 \"\"\n", "t.s");
  ASSERT_EQ(p.locs.size(), 1u);
  EXPECT_EQ(p.locs[0].file, std::string("a\"b\\cA\0", 7));
  EXPECT_EQ(p.locs[0].op, "");
  EXPECT_EQ(p.locs[0].line, 3u);
  EXPECT_EQ(p.locs[0].column, 5u);
}

TEST(AsmParser, InstructionBeforeStream) {
  expectErrorAt(".cores 1\n  @memset dst=" + kDst + "\n", "instruction before any .stream directive");
}

TEST(AsmParser, DuplicateStream) {
  expectErrorAt(".stream core=0 engine=pe\n.stream core=0 engine=act\n@.stream engine=pe core=0\n",
                "stream core=0 engine=pe is already defined");
  expectErrorAt(".stream core=0 engine=q3\n  @.stream core=0 engine=q3 ; again\n", "stream core=0 engine=q3 is already defined");
  // Same engine on another core is a different stream.
  Program p = parseAssembly(".cores 2\n.stream core=0 engine=q3\n.stream core=1 engine=q3\n", "t.s");
  EXPECT_EQ(p.streams.size(), 2u);
}

TEST(AsmParser, StreamOnUndeclaredCore) {
  // Checked once the whole file is read (.cores may come later); the error
  // still points at the stream's core.
  expectErrorAt(".cores 2\n.stream core=0 engine=pe\n.stream engine=act core=@2\n", "stream for core 2 but .cores is 2");
  expectErrorAt(".stream core=@1 engine=pe\n", "stream for core 1 but .cores is 1");
  Program p = parseAssembly(".stream core=3 engine=pe\n.cores 4\n", "t.s");
  EXPECT_EQ(p.numCores, 4);
}

TEST(AsmParser, DuplicateTensor) {
  expectErrorAt(".tensor x input fp32 [4]\n.tensor y input fp32 [4]\n.tensor @x output fp32 [4]\n",
                "tensor 'x' is already defined");
  expectErrorAt(".tensor \"a b\" input fp32 [4]\n.tensor @\"a b\" output fp32 [4]\n", "tensor 'a b' is already defined");
}

TEST(AsmParser, UnknownDirective) {
  expectErrorAt("@.section text\n", "unknown directive '.section'");
  expectErrorAt(".cores 1\n   @.streams core=0 engine=pe\n", "unknown directive '.streams'");
}

TEST(AsmParser, LocIdsInOrder) {
  expectErrorAt(".loc @1 \"a\" 1 1 \"\"\n", "location ids must be numbered 0, 1, 2, ... in order; expected 0");
  expectErrorAt(".loc 0 \"a\" 1 1 \"\"\n.loc 1 \"b\" 1 1 \"\"\n.loc @1 \"c\" 1 1 \"\"\n",
                "location ids must be numbered 0, 1, 2, ... in order; expected 2");
}

TEST(AsmParser, DataHexDigits) {
  expectErrorAt(".tensor w weight int8 [2]\n.data w 012@\n", "expected an even number of hex digits");
  expectErrorAt(".tensor w weight int8 [2]\n.data w 0@g\n", "expected an even number of hex digits");
  expectErrorAt(".tensor w weight int8 [4]\n.data w 0102 @0304\n", "unexpected text at the end of the line");
  // Lines append; upper and lower case both read.
  Program p = parseAssembly(".tensor w weight int8 [4]\n.data w 0aFf\n.data w 10 ; rest\n.data w\n.data w 7f\n", "t.s");
  EXPECT_EQ(p.tensors[0].data, (std::vector<uint8_t>{0x0a, 0xff, 0x10, 0x7f}));
}

TEST(AsmParser, TrailingGarbage) {
  expectErrorAt(".cores 2 @x\n", "unexpected text at the end of the line");
  expectErrorAt(".target trn3 @trn2\n", "unexpected text at the end of the line");
  expectErrorAt(".loc 0 \"a\" 1 2 \"op\" @extra\n", "unexpected text at the end of the line");
  expectErrorAt(".tensor x input fp32 [4]@]\n", "expected a name");
  expectInstructionError("memset dst=" + kDst + " value=1 @)", "expected a name");
  expectInstructionError("memset dst=" + kDst + "@) value=1", "expected a name");
  expectInstructionError("memset dst=" + kDst + " value=@1.0#comment", "expected a number, found '1.0#comment'");
}

TEST(AsmParser, AcceptsWhatTheDocumentShows) {
  // The syntax examples of docs/isa.md.
  std::string text = std::string(".target trn3\n.cores 1\n") +
                     ".tensor x input fp32 [128,512] hbm=0x0          ; role\n"
                     ".tensor w weight bf16 [128,128] hbm=0x40000 size=0x8000\n"
                     ".data w 0000803f\n"
                     ".loc 0 \"model.mlir\" 12 5 \"tosa.matmul\"\n"
                     ".stream core=0 engine=q0\n"
                     "  dma_copy dst=sbuf[0:128]+0:fp32[[1,512]] src=hbm[x]+0:fp32[[512,128],[1,512]] signal=s0+1\n"
                     ".stream core=0 engine=act\n"
                     "  loop count=4\n"
                     "    activation dst=sbuf[0:128]+0x0:fp32[[1,512]] src=sbuf[0:128]+0x0:fp32[[1,512]] func=gelu "
                     "wait=s0>=1+1*i0 loc=0\n"
                     "  endloop\n"
                     "  # hash comment\n"
                     "  memset dst=sbuf[0:128]+0x0+2048*i0+64*i1:bf16[[1,32]] value=-inf ; offsets with steps\n";
  Program p = parseAssembly(text, "doc.s");
  EXPECT_EQ(p.target, "trn3");
  ASSERT_EQ(p.tensors.size(), 2u);
  EXPECT_EQ(p.tensors[1].hbmOffset, 0x40000u);
  EXPECT_EQ(p.tensors[1].sizeBytes, 0x8000u);
  EXPECT_EQ(p.tensors[1].data.size(), 4u);
  ASSERT_EQ(p.streams.size(), 2u);
  EXPECT_EQ(p.streams[0].engine, (EngineId{EngineKind::DMA, 0}));
  const Instruction &act = p.streams[1].code[1];
  EXPECT_EQ(act.opcode, Opcode::Activation);
  EXPECT_EQ(act.wait.sem, 0);
  EXPECT_EQ(act.wait.value, 1u);
  EXPECT_EQ(act.wait.step[0], 1);
  EXPECT_EQ(act.loc, 0u);
  const Instruction &ms = p.streams[1].code[3];
  EXPECT_EQ(ms.ap[0].offsetStep[0], 2048);
  EXPECT_EQ(ms.ap[0].offsetStep[1], 64);
  EXPECT_TRUE(std::isinf(ms.f32[0]) && ms.f32[0] < 0);
  // Default placement: tensors without hbm= follow the previous ones, 64-byte aligned.
  Program q = parseAssembly(".tensor a input int8 [3]\n.tensor b input int8 [5]\n.tensor c input int8 [1] hbm=0x1000\n"
                            ".tensor d input int8 [1]\n",
                            "t.s");
  EXPECT_EQ(q.tensors[0].hbmOffset, 0u);
  EXPECT_EQ(q.tensors[1].hbmOffset, 64u);
  EXPECT_EQ(q.tensors[3].hbmOffset, 0x1040u);
}

TEST(AsmParser, OffsetAndWaitArithmetic) {
  Program p = parseAssembly(std::string(kPrelude) +
                                "memset dst=sbuf[0:128]+0x10-4+8*i0-3*i0+0*i1-0x8*i2:fp32[[1,4]] "
                                "wait=s3>=10-2+5*i1-5*i1+7*i3 signal=s2+0\n",
                            "t.s");
  const Instruction &inst = p.streams[0].code[0];
  EXPECT_EQ(inst.ap[0].offset, 12);
  EXPECT_EQ(inst.ap[0].offsetStep, (std::array<int32_t, 4>{5, 0, -8, 0}));
  EXPECT_EQ(inst.wait.value, 8u);
  EXPECT_EQ(inst.wait.step, (std::array<int32_t, 4>{0, 0, 0, 7}));
  EXPECT_EQ(inst.signal.sem, 2);
  EXPECT_EQ(inst.signal.increment, 0);
}

TEST(AsmParser, FileErrorsNameThePath) {
  std::string path = std::string(TRNX_SOURCE_DIR) + "/examples/asm/does-not-exist.s";
  try {
    parseAssemblyFile(path);
    FAIL() << "no error";
  } catch (const Error &e) {
    EXPECT_EQ(std::string(e.what()), path + ": cannot open file");
  }
}

TEST(AsmParser, ErrorsInAFileNameThatFile) {
  char dir[] = "/tmp/trnx_asm_parser_testXXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/bad.s";
  writeFileBytes(path, std::vector<uint8_t>{'.', 'c', 'o', 'r', 'e', 's', ' ', '1', '\n', ' ', '.', 'x', '\n'});
  try {
    parseAssemblyFile(path);
    ADD_FAILURE() << "no error";
  } catch (const Error &e) {
    EXPECT_EQ(std::string(e.what()), path + ":2:2: unknown directive '.x'");
  }
  std::remove(path.c_str());
  rmdir(dir);
}
