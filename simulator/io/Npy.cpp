// .npy reader/writer (format versions 1.0-3.0, little-endian, C order).
#include "simulator/io/Npy.h"

#include "isa/CheckedMath.h"
#include "isa/Container.h"
#include "isa/Error.h"

#include <cstring>
#include <limits>
#include <sstream>

namespace trnx {
namespace {

struct DescrInfo {
  const char *descr;
  size_t size;
  char kind; // f float, i signed, u unsigned, b bool
};
constexpr DescrInfo kDescrs[] = {{"<f4", 4, 'f'}, {"<f8", 8, 'f'}, {"<f2", 2, 'f'}, {"<i4", 4, 'i'},
                                 {"<i8", 8, 'i'}, {"|i1", 1, 'i'}, {"<i2", 2, 'i'}, {"|u1", 1, 'u'},
                                 {"|b1", 1, 'b'}};

const DescrInfo *findDescr(const std::string &d) {
  for (const DescrInfo &i : kDescrs)
    if (d == i.descr)
      return &i;
  return nullptr;
}

// Extracts the value text of 'key' from the header dict.
std::string headerField(const std::string &header, const std::string &key, const std::string &origin) {
  size_t at = header.find("'" + key + "'");
  if (at == std::string::npos)
    fail(origin, ": .npy header has no '", key, "'");
  at = header.find(':', at);
  if (at == std::string::npos)
    fail(origin, ": malformed .npy header");
  ++at;
  while (at < header.size() && header[at] == ' ')
    ++at;
  size_t end = at;
  if (end < header.size() && header[end] == '(') {
    end = header.find(')', end);
    if (end == std::string::npos)
      fail(origin, ": malformed .npy shape");
    return header.substr(at, end - at + 1);
  }
  if (end < header.size() && header[end] == '\'') {
    size_t close = header.find('\'', end + 1);
    if (close == std::string::npos)
      fail(origin, ": malformed .npy header");
    return header.substr(end + 1, close - end - 1);
  }
  while (end < header.size() && header[end] != ',' && header[end] != '}')
    ++end;
  return header.substr(at, end - at);
}

double readValue(const uint8_t *p, const DescrInfo &d) {
  switch (d.kind) {
  case 'f':
    if (d.size == 4) {
      float v;
      std::memcpy(&v, p, 4);
      return v;
    } else if (d.size == 8) {
      double v;
      std::memcpy(&v, p, 8);
      return v;
    } else {
      uint16_t h;
      std::memcpy(&h, p, 2);
      return decode(DType::FP16, h);
    }
  case 'i':
    if (d.size == 1)
      return static_cast<int8_t>(*p);
    if (d.size == 2) {
      int16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
    if (d.size == 4) {
      int32_t v;
      std::memcpy(&v, p, 4);
      return v;
    } else {
      int64_t v;
      std::memcpy(&v, p, 8);
      return static_cast<double>(v);
    }
  default:
    return *p;
  }
}

} // namespace

size_t HostArray::elementCount() const {
  size_t n = 1;
  for (int64_t d : shape)
    n = saturatingMul(n, static_cast<uint64_t>(d));
  return n;
}

size_t HostArray::itemSize() const {
  const DescrInfo *d = findDescr(descr);
  return d ? d->size : 0;
}

HostArray parseNpy(const std::vector<uint8_t> &bytes, const std::string &origin) {
  static const char magic[] = "\x93NUMPY";
  if (bytes.size() < 10 || std::memcmp(bytes.data(), magic, 6) != 0)
    fail(origin, ": not a .npy file");
  const int major = bytes[6];
  size_t headerLen, start;
  if (major == 1) {
    headerLen = bytes[8] | (bytes[9] << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      fail(origin, ": truncated .npy header");
    headerLen = bytes[8] | (bytes[9] << 8) | (bytes[10] << 16) | (size_t(bytes[11]) << 24);
    start = 12;
  } else {
    fail(origin, ": unsupported .npy version ", major);
  }
  if (start + headerLen > bytes.size())
    fail(origin, ": truncated .npy header");
  std::string header(reinterpret_cast<const char *>(bytes.data() + start), headerLen);
  HostArray a;
  a.descr = headerField(header, "descr", origin);
  if (a.descr == "<u1" || a.descr == "<b1" || a.descr == "<i1")
    a.descr = "|" + a.descr.substr(1);
  // Object arrays ('|O') hold pickles: refused here, never unpickled.
  if (a.descr.find('O') != std::string::npos)
    fail(origin, ": .npy object arrays (pickled Python objects) are not supported; save a numeric array");
  if (!findDescr(a.descr))
    fail(origin, ": unsupported .npy dtype '", a.descr, "' (float16/32/64, int8/16/32/64, uint8, bool)");
  std::string fortran = headerField(header, "fortran_order", origin);
  if (fortran.find("True") != std::string::npos)
    fail(origin, ": Fortran-ordered arrays are not supported (use np.ascontiguousarray)");
  // "(d0, d1, ...)" with an optional trailing comma; each size < 10^18 and
  // the total byte count must not overflow.
  std::string shape = headerField(header, "shape", origin);
  auto badShape = [&]() { fail(origin, ": malformed .npy shape '", shape, "'"); };
  if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')')
    badShape();
  const size_t close = shape.size() - 1;
  size_t dataBytes = a.itemSize();
  for (size_t i = 1;;) {
    while (i < close && shape[i] == ' ')
      ++i;
    if (i == close)
      break;
    const size_t first = i;
    while (i < close && shape[i] >= '0' && shape[i] <= '9')
      ++i;
    if (i == first || i - first > 18)
      badShape();
    const int64_t dim = std::stoll(shape.substr(first, i - first));
    a.shape.push_back(dim);
    if (dim != 0 && dataBytes > std::numeric_limits<size_t>::max() / static_cast<size_t>(dim))
      fail(origin, ": .npy shape ", shape, " is too large");
    dataBytes *= static_cast<size_t>(dim);
    if (i < close && shape[i] == 'L') // Python 2 longs
      ++i;
    while (i < close && shape[i] == ' ')
      ++i;
    if (i == close)
      break;
    if (shape[i] != ',')
      badShape();
    ++i;
  }
  size_t offset = start + headerLen;
  if (bytes.size() - offset != dataBytes)
    fail(origin, ": .npy data is ", bytes.size() - offset, " bytes, its header describes ", dataBytes);
  a.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(offset), bytes.end());
  return a;
}

HostArray readNpy(const std::string &path) { return parseNpy(readFileBytes(path), path); }

std::vector<uint8_t> serializeNpy(const HostArray &a) {
  std::ostringstream h;
  h << "{'descr': '" << a.descr << "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < a.shape.size(); ++i)
    h << a.shape[i] << (a.shape.size() == 1 ? "," : (i + 1 < a.shape.size() ? ", " : ""));
  h << "), }";
  std::string header = h.str();
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  const uint8_t prefix[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                              static_cast<uint8_t>(header.size() & 0xff),
                              static_cast<uint8_t>(header.size() >> 8)};
  std::vector<uint8_t> out(10 + header.size() + a.data.size());
  std::memcpy(out.data(), prefix, 10);
  std::memcpy(out.data() + 10, header.data(), header.size());
  if (!a.data.empty())
    std::memcpy(out.data() + 10 + header.size(), a.data.data(), a.data.size());
  return out;
}

void writeNpy(const std::string &path, const HostArray &a) { writeFileBytes(path, serializeNpy(a)); }

std::vector<uint8_t> arrayToTensorBytes(const HostArray &a, const TensorInfo &t) {
  if (a.shape != t.shape) {
    std::ostringstream os;
    auto dims = [&](const std::vector<int64_t> &s) {
      os << "(";
      for (size_t i = 0; i < s.size(); ++i)
        os << (i ? ", " : "") << s[i];
      os << ")";
    };
    os << "input '" << t.name << "' needs shape ";
    dims(t.shape);
    os << ", got ";
    dims(a.shape);
    fail(os.str());
  }
  const DescrInfo *d = findDescr(a.descr);
  if (!d)
    fail("input '", t.name, "': unsupported dtype '", a.descr, "'");
  const size_t n = a.elementCount();
  const unsigned es = dtypeSize(t.dtype);
  std::vector<uint8_t> out(t.sizeBytes, 0);
  // MX storage (packed fp4 pairs, e8m0 scales) comes as its raw bytes in uint8.
  if (t.dtype == DType::FP4E2M1X2 || (t.dtype == DType::E8M0 && d->kind == 'u')) {
    if (d->kind != 'u')
      fail("input '", t.name, "': ", dtypeName(t.dtype), " data must be given as uint8 bytes");
    if (n > 0)
      std::memcpy(out.data(), a.data.data(), n);
    return out;
  }
  for (size_t i = 0; i < n; ++i) {
    const uint8_t *p = a.data.data() + i * d->size;
    if (t.dtype == DType::INT32 && d->kind != 'f') {
      double v = readValue(p, *d);
      int32_t c = v > 2147483647.0 ? INT32_MAX : v < -2147483648.0 ? INT32_MIN : static_cast<int32_t>(v);
      std::memcpy(out.data() + i * 4, &c, 4);
    } else if (t.dtype == DType::FP32 && d->kind == 'f' && d->size == 4) {
      std::memcpy(out.data() + i * 4, p, 4);
    } else {
      storeElement(t.dtype, out.data() + i * es, static_cast<float>(readValue(p, *d)));
    }
  }
  return out;
}

HostArray tensorBytesToArray(const uint8_t *bytes, const TensorInfo &t) {
  HostArray a;
  a.shape = t.shape;
  const size_t n = t.elementCount();
  switch (t.dtype) {
  case DType::FP32:
  case DType::FP16:
  case DType::INT32:
    a.descr = t.dtype == DType::FP32 ? "<f4" : t.dtype == DType::FP16 ? "<f2" : "<i4";
    a.data.assign(bytes, bytes + n * dtypeSize(t.dtype));
    return a;
  case DType::FP4E2M1X2: // two values per byte: no numpy type holds them
    a.descr = "|u1";
    a.data.assign(bytes, bytes + n);
    return a;
  case DType::INT8:
    a.descr = "|i1";
    a.data.assign(bytes, bytes + n);
    return a;
  default: // bf16, fp8: widen exactly to fp32
    a.descr = "<f4";
    a.data.resize(n * 4);
    for (size_t i = 0; i < n; ++i) {
      float v = loadElement(t.dtype, bytes + i * dtypeSize(t.dtype));
      std::memcpy(a.data.data() + i * 4, &v, 4);
    }
    return a;
  }
}

} // namespace trnx
