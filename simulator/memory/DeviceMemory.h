// Backing store of a functional run: the chip's HBM (the program's tensor
// table extent) and each core's SBUF and PSUM. Pages are allocated zeroed and
// lazily (calloc), so an 8-core chip costs only what the program touches.
#pragma once

#include "isa/AccessPattern.h"
#include "isa/Program.h"
#include "simulator/config/ChipConfig.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace trnx {

class ZeroedBuffer {
public:
  ZeroedBuffer() = default;
  explicit ZeroedBuffer(size_t bytes);
  uint8_t *data() { return data_.get(); }
  const uint8_t *data() const { return data_.get(); }
  size_t size() const { return size_; }

private:
  struct Free {
    void operator()(uint8_t *p) const;
  };
  std::unique_ptr<uint8_t, Free> data_;
  size_t size_ = 0;
};

// Loop iteration indices of the enclosing loops (level 0 = outermost).
using LoopIndices = std::array<int64_t, kMaxLoopDepth>;

class DeviceMemory {
public:
  DeviceMemory(const Program &program, const ChipConfig &chip);

  uint8_t *hbm() { return hbm_.data(); }
  size_t hbmBytes() const { return hbm_.size(); }
  uint8_t *sbuf(int core);
  uint8_t *psum(int core);
  uint64_t sbufPartitionBytes() const { return sbufPartition_; }
  uint64_t psumPartitionBytes() const { return psumPartition_; }

  // Address of row r (partition partitionStart+r, or HBM row r) of an
  // operand at loop indices iv, and the element offsets of its free dims.
  uint8_t *rowBase(int core, const AccessPattern &ap, const LoopIndices &iv, int64_t row);
  const Program &program() const { return program_; }

private:
  const Program &program_;
  ZeroedBuffer hbm_;
  std::vector<ZeroedBuffer> sbuf_, psum_;
  uint64_t sbufPartition_, psumPartition_;
  int partitions_;
};

// Element offsets (in elements, relative to the row base) of an operand's free
// dims in access order.
void freeOffsets(const AccessPattern &ap, std::vector<int64_t> &out);
int64_t loopOffset(const std::array<int32_t, kMaxLoopDepth> &steps, const LoopIndices &iv);

// Reads an operand as fp32 values, row-major [rows, free].
void loadOperand(DeviceMemory &mem, int core, const AccessPattern &ap, const LoopIndices &iv,
                 std::vector<float> &out);
// Writes fp32 values (row-major [rows, free]) with the operand's dtype rounding.
void storeOperand(DeviceMemory &mem, int core, const AccessPattern &ap, const LoopIndices &iv,
                  const std::vector<float> &values);
// Raw element bytes, row-major (for bit-exact copies).
void loadOperandBytes(DeviceMemory &mem, int core, const AccessPattern &ap, const LoopIndices &iv,
                      std::vector<uint8_t> &out);
void storeOperandBytes(DeviceMemory &mem, int core, const AccessPattern &ap, const LoopIndices &iv,
                       const std::vector<uint8_t> &bytes);

} // namespace trnx
