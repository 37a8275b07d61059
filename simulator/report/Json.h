// A minimal streaming JSON writer (objects, arrays, strings, numbers) for
// reports and traces. Numbers are written so they parse back exactly.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace trnx {

class JsonWriter {
public:
  explicit JsonWriter(std::ostream &os, bool pretty = true) : os_(os), pretty_(pretty) {}

  JsonWriter &beginObject();
  JsonWriter &endObject();
  JsonWriter &beginArray();
  JsonWriter &endArray();
  JsonWriter &key(const std::string &k);
  JsonWriter &value(const std::string &s);
  JsonWriter &value(const char *s) { return value(std::string(s)); }
  JsonWriter &value(double v);
  JsonWriter &value(int64_t v);
  JsonWriter &value(uint64_t v) { return value(static_cast<int64_t>(v)); }
  JsonWriter &value(int v) { return value(static_cast<int64_t>(v)); }
  JsonWriter &value(bool v);
  JsonWriter &null();
  template <typename T> JsonWriter &field(const std::string &k, const T &v) { return key(k).value(v); }

  static std::string escape(const std::string &s);

private:
  void separate();
  void newline();
  std::ostream &os_;
  bool pretty_;
  std::vector<bool> first_; // per open container: no element written yet
  bool afterKey_ = false;
};

} // namespace trnx
