// The .tnx binary container: encode a Program to bytes and decode it back.
// Layout in docs/isa.md ("Container format"). Decoding checks every length and
// enum, so corrupt input becomes an Error, never undefined behaviour.
#pragma once

#include "isa/Program.h"

#include <cstdint>
#include <string>
#include <vector>

namespace trnx {

std::vector<uint8_t> encodeProgram(const Program &program);

struct DecodeOptions {
  bool verifyChecksum = true; // off only to let fuzz tests reach the decoder
};
// Throws Error("offset N: cause") on malformed input.
Program decodeProgram(const uint8_t *data, size_t size, const DecodeOptions &options = {});

// File helpers; errors are prefixed with the path.
Program readProgramFile(const std::string &path, const DecodeOptions &options = {});
void writeProgramFile(const std::string &path, const Program &program);
std::vector<uint8_t> readFileBytes(const std::string &path);
void writeFileBytes(const std::string &path, const std::vector<uint8_t> &bytes);

uint32_t crc32(const uint8_t *data, size_t size);

} // namespace trnx
