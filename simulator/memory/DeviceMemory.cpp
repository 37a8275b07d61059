// Memory image and operand load/store for functional simulation.
#include "simulator/memory/DeviceMemory.h"

#include "isa/Error.h"

#include <cstdlib>
#include <cstring>
#include <type_traits>

namespace trnx {

ZeroedBuffer::ZeroedBuffer(size_t bytes) : size_(bytes) {
  auto *p = static_cast<uint8_t *>(std::calloc(bytes ? bytes : 1, 1));
  if (!p)
    fail("cannot allocate ", bytes, " bytes of simulated memory on this host");
  data_.reset(p);
}

void ZeroedBuffer::Free::operator()(uint8_t *p) const { std::free(p); }

DeviceMemory::DeviceMemory(const Program &program, const ChipConfig &chip)
    : program_(program), hbm_(program.hbmExtent()), sbuf_(chip.cores), psum_(chip.cores),
      sbufPartition_(static_cast<uint64_t>(chip.sbuf_bytes_per_partition)),
      psumPartition_(static_cast<uint64_t>(chip.psum_bytes_per_partition)),
      partitions_(chip.partitions) {
  for (const TensorInfo &t : program.tensors)
    if (!t.data.empty())
      std::memcpy(hbm_.data() + t.hbmOffset, t.data.data(), t.data.size());
}

uint8_t *DeviceMemory::sbuf(int core) {
  if (!sbuf_[core].data())
    sbuf_[core] = ZeroedBuffer(sbufPartition_ * partitions_);
  return sbuf_[core].data();
}

uint8_t *DeviceMemory::psum(int core) {
  if (!psum_[core].data())
    psum_[core] = ZeroedBuffer(psumPartition_ * partitions_);
  return psum_[core].data();
}

int64_t loopOffset(const std::array<int32_t, kMaxLoopDepth> &steps, const LoopIndices &iv) {
  int64_t off = 0;
  for (int l = 0; l < kMaxLoopDepth; ++l)
    off += static_cast<int64_t>(steps[l]) * iv[l];
  return off;
}

uint8_t *DeviceMemory::rowBase(int core, const AccessPattern &ap, const LoopIndices &iv, int64_t row) {
  const int64_t offset = ap.offset + loopOffset(ap.offsetStep, iv);
  switch (ap.space) {
  case MemSpace::HBM: {
    const TensorInfo &t = program_.tensors[ap.tensor];
    return hbm() + t.hbmOffset + offset +
           row * static_cast<int64_t>(ap.partitionStride) * dtypeSize(ap.dtype);
  }
  case MemSpace::SBUF:
    return sbuf(core) + (ap.partitionStart + row) * sbufPartition_ + offset;
  case MemSpace::PSUM:
    return psum(core) + (ap.partitionStart + row) * psumPartition_ + offset;
  case MemSpace::None:
    break;
  }
  fail("internal: operand without a memory space");
}

void freeOffsets(const AccessPattern &ap, std::vector<int64_t> &out) {
  out.assign(1, 0);
  for (int d = 0; d < ap.numDims; ++d) {
    std::vector<int64_t> next;
    next.reserve(out.size() * ap.dims[d].count);
    for (int64_t base : out)
      for (uint32_t i = 0; i < ap.dims[d].count; ++i)
        next.push_back(base + static_cast<int64_t>(ap.dims[d].stride) * i);
    out.swap(next);
  }
}

void loadOperand(DeviceMemory &mem, int core, const AccessPattern &ap, const LoopIndices &iv,
                 std::vector<float> &out) {
  std::vector<int64_t> offs;
  freeOffsets(ap, offs);
  const size_t free = offs.size();
  const unsigned es = dtypeSize(ap.dtype);
  out.resize(free * ap.partitionCount);
  for (int64_t r = 0; r < ap.partitionCount; ++r) {
    const uint8_t *base = mem.rowBase(core, ap, iv, r);
    float *dst = out.data() + r * free;
    if (ap.dtype == DType::FP32) {
      for (size_t f = 0; f < free; ++f)
        std::memcpy(dst + f, base + offs[f] * 4, 4);
    } else {
      for (size_t f = 0; f < free; ++f)
        dst[f] = loadElement(ap.dtype, base + offs[f] * es);
    }
  }
}

void storeOperand(DeviceMemory &mem, int core, const AccessPattern &ap, const LoopIndices &iv,
                  const std::vector<float> &values) {
  std::vector<int64_t> offs;
  freeOffsets(ap, offs);
  const size_t free = offs.size();
  const unsigned es = dtypeSize(ap.dtype);
  for (int64_t r = 0; r < ap.partitionCount; ++r) {
    uint8_t *base = mem.rowBase(core, ap, iv, r);
    const float *src = values.data() + r * free;
    for (size_t f = 0; f < free; ++f)
      storeElement(ap.dtype, base + offs[f] * es, src[f]);
  }
}

namespace {

// Moves an operand's bytes between device memory and a packed [rows, free]
// host buffer, one contiguous copy per row where the free dims allow.
template <bool ToDevice>
void copyOperandBytes(DeviceMemory &mem, int core, const AccessPattern &ap, const LoopIndices &iv,
                      std::conditional_t<ToDevice, const uint8_t *, uint8_t *> packed) {
  std::vector<int64_t> offs;
  freeOffsets(ap, offs);
  const size_t free = offs.size();
  const unsigned es = dtypeSize(ap.dtype);
  const bool contiguous = ap.contiguousFree() && free && offs[0] == 0;
  for (int64_t r = 0; r < ap.partitionCount; ++r) {
    uint8_t *base = mem.rowBase(core, ap, iv, r);
    auto row = packed + r * free * es;
    if (contiguous) {
      if constexpr (ToDevice)
        std::memcpy(base, row, free * es);
      else
        std::memcpy(row, base, free * es);
      continue;
    }
    for (size_t f = 0; f < free; ++f) {
      if constexpr (ToDevice)
        std::memcpy(base + offs[f] * es, row + f * es, es);
      else
        std::memcpy(row + f * es, base + offs[f] * es, es);
    }
  }
}

} // namespace

void loadOperandBytes(DeviceMemory &mem, int core, const AccessPattern &ap, const LoopIndices &iv,
                      std::vector<uint8_t> &out) {
  out.resize(ap.freeSize() * ap.partitionCount * dtypeSize(ap.dtype));
  copyOperandBytes<false>(mem, core, ap, iv, out.data());
}

void storeOperandBytes(DeviceMemory &mem, int core, const AccessPattern &ap, const LoopIndices &iv,
                       const std::vector<uint8_t> &bytes) {
  copyOperandBytes<true>(mem, core, ap, iv, bytes.data());
}

} // namespace trnx
