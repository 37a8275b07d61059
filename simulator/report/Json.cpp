// JSON writer implementation.
#include "simulator/report/Json.h"

#include <cmath>
#include <cstdio>

namespace trnx {

void JsonWriter::newline() {
  if (!pretty_)
    return;
  os_ << "\n" << std::string(2 * first_.size(), ' ');
}

void JsonWriter::separate() {
  if (afterKey_) {
    afterKey_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back())
      os_ << ",";
    first_.back() = false;
    newline();
  }
}

JsonWriter &JsonWriter::beginObject() {
  separate();
  os_ << "{";
  first_.push_back(true);
  return *this;
}

JsonWriter &JsonWriter::endObject() {
  bool empty = first_.back();
  first_.pop_back();
  if (!empty)
    newline();
  os_ << "}";
  return *this;
}

JsonWriter &JsonWriter::beginArray() {
  separate();
  os_ << "[";
  first_.push_back(true);
  return *this;
}

JsonWriter &JsonWriter::endArray() {
  bool empty = first_.back();
  first_.pop_back();
  if (!empty)
    newline();
  os_ << "]";
  return *this;
}

JsonWriter &JsonWriter::key(const std::string &k) {
  separate();
  os_ << "\"" << escape(k) << "\":" << (pretty_ ? " " : "");
  afterKey_ = true;
  return *this;
}

JsonWriter &JsonWriter::value(const std::string &s) {
  separate();
  os_ << "\"" << escape(s) << "\"";
  return *this;
}

JsonWriter &JsonWriter::value(double v) {
  separate();
  if (!std::isfinite(v)) {
    os_ << "null";
    return *this;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  os_ << buf;
  return *this;
}

JsonWriter &JsonWriter::value(int64_t v) {
  separate();
  os_ << v;
  return *this;
}

JsonWriter &JsonWriter::value(bool v) {
  separate();
  os_ << (v ? "true" : "false");
  return *this;
}

JsonWriter &JsonWriter::null() {
  separate();
  os_ << "null";
  return *this;
}

std::string JsonWriter::escape(const std::string &s) {
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\t': out += "\\t"; break;
    case '\r': out += "\\r"; break;
    default:
      if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
  }
  return out;
}

} // namespace trnx
