// Writes msgpack the way go-cty's msgpack.Marshal does for Nomad configs (nil for unset,
// integers in the smallest encoding, strings as str), for the plugin tests and harness.
#pragma once

#include <msgpuck.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace stockade::testing {

class MsgpackWriter {
 public:
  MsgpackWriter& Nil() {
    return Put(mp_sizeof_nil(), [](char* p) { return mp_encode_nil(p); });
  }
  MsgpackWriter& Bool(bool v) {
    return Put(mp_sizeof_bool(v), [v](char* p) { return mp_encode_bool(p, v); });
  }
  MsgpackWriter& Int(int64_t v) {
    if (v >= 0) {
      const uint64_t u = static_cast<uint64_t>(v);
      return Put(mp_sizeof_uint(u), [u](char* p) { return mp_encode_uint(p, u); });
    }
    return Put(mp_sizeof_int(v), [v](char* p) { return mp_encode_int(p, v); });
  }
  MsgpackWriter& Double(double v) {
    return Put(mp_sizeof_double(v), [v](char* p) { return mp_encode_double(p, v); });
  }
  MsgpackWriter& Str(absl::string_view s) {
    const uint32_t n = static_cast<uint32_t>(s.size());
    return Put(mp_sizeof_str(n), [s, n](char* p) { return mp_encode_str(p, s.data(), n); });
  }
  MsgpackWriter& Bin(absl::string_view s) {
    const uint32_t n = static_cast<uint32_t>(s.size());
    return Put(mp_sizeof_bin(n), [s, n](char* p) { return mp_encode_bin(p, s.data(), n); });
  }
  MsgpackWriter& Array(uint32_t n) {
    return Put(mp_sizeof_array(n), [n](char* p) { return mp_encode_array(p, n); });
  }
  MsgpackWriter& Map(uint32_t n) {
    return Put(mp_sizeof_map(n), [n](char* p) { return mp_encode_map(p, n); });
  }
  MsgpackWriter& Strings(const std::vector<std::string>& items) {
    Array(static_cast<uint32_t>(items.size()));
    for (const std::string& s : items) Str(s);
    return *this;
  }
  MsgpackWriter& Raw(absl::string_view bytes) {
    out_.append(bytes.data(), bytes.size());
    return *this;
  }
  const std::string& bytes() const { return out_; }

 private:
  template <typename F>
  MsgpackWriter& Put(uint32_t size, F encode) {
    const size_t at = out_.size();
    out_.resize(at + size);
    encode(out_.data() + at);
    return *this;
  }
  std::string out_;
};

}  // namespace stockade::testing
