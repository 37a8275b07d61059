// trnx-isa-doc: prints the instruction reference of docs/isa.md from the
// instruction table, so the document cannot drift from the code
// (tests/isa/test_isa_doc.py checks the committed copy).
#include "isa/AsmPrinter.h"
#include "isa/InstructionSet.h"
#include "isa/ToolMain.h"

#include <iostream>
#include <string>

namespace {

// Table cells cannot hold a bare '|'.
std::string cell(const std::string &text) {
  std::string out;
  for (char c : text)
    out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string engineList(trnx::EngineMask mask) {
  if (mask == trnx::kAnyEngine)
    return "any";
  std::string out;
  for (int k = 0; k < trnx::kNumEngineKinds; ++k)
    if (mask & (1u << k))
      out += std::string(out.empty() ? "" : ", ") +
             std::string(trnx::engineKindName(static_cast<trnx::EngineKind>(k)));
  return out;
}

std::string spaceList(trnx::SpaceMask mask) {
  std::string out;
  for (int s = 1; s <= 3; ++s)
    if (mask & (1u << s))
      out += std::string(out.empty() ? "" : "|") + std::string(trnx::spaceName(static_cast<trnx::MemSpace>(s)));
  return out;
}

std::string kindText(const trnx::FieldSpec &f) {
  using trnx::FieldKind;
  switch (f.kind) {
  case FieldKind::Ap: return "operand (" + spaceList(f.spaces) + ")";
  case FieldKind::OptAp: return "optional operand (" + spaceList(f.spaces) + ")";
  case FieldKind::Bool: return "0|1";
  case FieldKind::Alu: return "operator";
  case FieldKind::Act: return "function";
  case FieldKind::Choice: return f.choices;
  case FieldKind::F32: return "fp32";
  case FieldKind::I32: return "int32";
  }
  return "?";
}

std::string defaultText(const trnx::FieldSpec &f) {
  using trnx::FieldKind;
  if (f.kind == FieldKind::Ap)
    return "required";
  if (f.kind == FieldKind::OptAp)
    return "absent";
  if (f.required)
    return "required";
  switch (f.kind) {
  case FieldKind::Alu: return std::string(trnx::aluOpName(static_cast<trnx::AluOp>(f.defaultValue)));
  case FieldKind::Act: return std::string(trnx::actFuncName(static_cast<trnx::ActFunc>(f.defaultValue)));
  case FieldKind::Choice: return std::string(trnx::choiceName(f.choices, static_cast<int>(f.defaultValue)));
  case FieldKind::F32: return trnx::formatFloat(static_cast<float>(f.defaultValue));
  default: return std::to_string(static_cast<long long>(f.defaultValue));
  }
}

} // namespace

int main() {
  return trnx::runTool([]() {
    std::ostream &os = std::cout;
    os << "| opcode | mnemonic | engines | summary |\n|---|---|---|---|\n";
    for (const trnx::OpcodeInfo &info : trnx::instructionTable())
      os << "| " << static_cast<int>(info.opcode) << " | [`" << info.mnemonic << "`](#"
         << info.mnemonic << ") | " << engineList(info.engines) << " | " << cell(info.summary) << " |\n";
    os << "\nOperators (`operator` fields): ";
    for (int i = 0; i < trnx::kNumAluOps; ++i)
      os << (i ? ", " : "") << "`" << trnx::aluOpName(static_cast<trnx::AluOp>(i)) << "`";
    os << ".\n\nFunctions (`function` fields): ";
    for (int i = 0; i < trnx::kNumActFuncs; ++i)
      os << (i ? ", " : "") << "`" << trnx::actFuncName(static_cast<trnx::ActFunc>(i)) << "`";
    os << ".\n";
    for (const trnx::OpcodeInfo &info : trnx::instructionTable()) {
      os << "\n### " << info.mnemonic << "\n\n" << info.summary << ". Opcode "
         << static_cast<int>(info.opcode) << "; engines: " << engineList(info.engines) << ".\n\n";
      if (!info.fields.empty()) {
        os << "| field | kind | default | meaning |\n|---|---|---|---|\n";
        for (const trnx::FieldSpec &f : info.fields)
          os << "| `" << f.name << "` | " << cell(kindText(f)) << " | " << cell(defaultText(f))
             << " | " << cell(f.doc) << " |\n";
        os << "\n";
      }
      os << "**Semantics.** " << info.semantics << "\n\n**Cost.** " << info.costFormula << ".\n";
    }
    return 0;
  });
}
