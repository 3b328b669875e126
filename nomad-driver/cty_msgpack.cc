#include <msgpuck.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "nomad-driver/cty_value.h"

namespace stockade::nomad {
namespace {

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed msgpack configuration: ", what));
}

// The bytes of an array's or a map's header (its first byte and count).
size_t ContainerHeaderSize(uint8_t first) {
  if (first == 0xdc || first == 0xde) return 3;
  if (first == 0xdd || first == 0xdf) return 5;
  return 1;
}

// Checks that the value at *p lies within `end` before msgpuck's decoders (which trust their
// input) read it. A scalar is checked whole by mp_check; a container's header here, with a
// count no larger than the bytes left (every element takes one at least), since mp_check's own
// counter overflows on counts above 2^31 and would pass a hostile payload.
absl::Status CheckNext(const char* p, const char* end) {
  if (p >= end) return Malformed("truncated");
  const uint8_t first = static_cast<uint8_t>(*p);
  if (first == 0xc1) return Malformed("the reserved byte 0xc1");
  const mp_type type = mp_typeof(*p);
  if (type != MP_ARRAY && type != MP_MAP) {
    const char* q = p;
    if (mp_check(&q, end) != 0) return Malformed("truncated");
    return absl::OkStatus();
  }
  const size_t header = ContainerHeaderSize(first);
  if (static_cast<size_t>(end - p) < header) return Malformed("truncated");
  const char* q = p;
  const uint64_t count = type == MP_ARRAY ? mp_decode_array(&q) : 2ull * mp_decode_map(&q);
  if (count > static_cast<uint64_t>(end - q)) return Malformed("truncated");
  return absl::OkStatus();
}

// Decodes the value at *p (checked first), advancing *p past it.
absl::StatusOr<CtyValue> DecodeValue(const char** p, const char* end, int depth) {
  if (depth > kMaxCtyDepth) return Malformed(absl::StrCat("nested deeper than ", kMaxCtyDepth));
  if (absl::Status s = CheckNext(*p, end); !s.ok()) return s;
  CtyValue v;
  switch (mp_typeof(**p)) {
    case MP_NIL:
      mp_decode_nil(p);
      return v;
    case MP_BOOL:
      v.kind = CtyValue::Kind::kBool;
      v.boolean = mp_decode_bool(p);
      return v;
    case MP_UINT: {
      v.kind = CtyValue::Kind::kNumber;
      const uint64_t u = mp_decode_uint(p);
      if (u <= static_cast<uint64_t>(INT64_MAX)) {
        v.integer = static_cast<int64_t>(u);
        v.real = static_cast<double>(u);
      } else {
        v.real = static_cast<double>(u);
      }
      return v;
    }
    case MP_INT:
      v.kind = CtyValue::Kind::kNumber;
      v.integer = mp_decode_int(p);
      v.real = static_cast<double>(*v.integer);
      return v;
    case MP_FLOAT:
    case MP_DOUBLE: {
      v.kind = CtyValue::Kind::kNumber;
      v.real = mp_typeof(**p) == MP_FLOAT ? mp_decode_float(p) : mp_decode_double(p);
      if (!std::isfinite(v.real)) return Malformed("a number that is not finite");
      if (std::trunc(v.real) == v.real && std::fabs(v.real) < 9.2e18) {
        v.integer = static_cast<int64_t>(v.real);
      }
      return v;
    }
    case MP_STR:
    case MP_BIN: {
      uint32_t len = 0;
      const char* s = mp_typeof(**p) == MP_STR ? mp_decode_str(p, &len) : mp_decode_bin(p, &len);
      v.kind = CtyValue::Kind::kString;
      v.text.assign(s, len);
      return v;
    }
    case MP_ARRAY: {
      const uint32_t n = mp_decode_array(p);
      v.kind = CtyValue::Kind::kList;
      for (uint32_t i = 0; i < n; ++i) {
        absl::StatusOr<CtyValue> item = DecodeValue(p, end, depth + 1);
        if (!item.ok()) return item.status();
        v.items.push_back(*std::move(item));
      }
      return v;
    }
    case MP_MAP: {
      const uint32_t n = mp_decode_map(p);
      v.kind = CtyValue::Kind::kMap;
      for (uint32_t i = 0; i < n; ++i) {
        if (absl::Status s = CheckNext(*p, end); !s.ok()) return s;
        const mp_type key_type = mp_typeof(**p);
        if (key_type != MP_STR && key_type != MP_BIN)
          return Malformed("a map key that is not a string");
        uint32_t len = 0;
        const char* k = key_type == MP_STR ? mp_decode_str(p, &len) : mp_decode_bin(p, &len);
        std::string key(k, len);
        if (v.Find(key) != nullptr) return Malformed(absl::StrCat("the key \"", key, "\" twice"));
        absl::StatusOr<CtyValue> value = DecodeValue(p, end, depth + 1);
        if (!value.ok()) return value.status();
        v.keys.push_back(std::move(key));
        v.items.push_back(*std::move(value));
      }
      return v;
    }
    case MP_EXT: {
      // msgpuck 1.0 has no extension decoder: the type byte follows the header (fixext 1-16:
      // 1 byte; ext 8/16/32: 1 + 1/2/4 length bytes), all within what CheckNext verified.
      const uint8_t first = static_cast<uint8_t>(**p);
      const size_t type_at = first >= 0xd4 && first <= 0xd8 ? 1
                             : first == 0xc7                ? 2
                             : first == 0xc8                ? 3
                                                            : 5;
      const int8_t type = static_cast<int8_t>((*p)[type_at]);
      mp_next(p);
      if (type != 0) return Malformed(absl::StrCat("a msgpack extension of type ", type));
      v.kind = CtyValue::Kind::kUnknown;  // go-cty's unknown value: not known until run time
      return v;
    }
  }
  return Malformed("an unknown msgpack type");
}

}  // namespace

const CtyValue* CtyValue::Find(absl::string_view key) const {
  if (kind != Kind::kMap) return nullptr;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] == key) return &items[i];
  }
  return nullptr;
}

absl::string_view CtyKindName(CtyValue::Kind kind) {
  switch (kind) {
    case CtyValue::Kind::kNull:
      return "null";
    case CtyValue::Kind::kUnknown:
      return "an unknown value";
    case CtyValue::Kind::kBool:
      return "a bool";
    case CtyValue::Kind::kNumber:
      return "a number";
    case CtyValue::Kind::kString:
      return "a string";
    case CtyValue::Kind::kList:
      return "a list";
    case CtyValue::Kind::kMap:
      return "a map";
  }
  return "a value";
}

absl::StatusOr<CtyValue> DecodeCtyMsgpack(absl::string_view bytes) {
  if (bytes.empty()) return Malformed("no bytes");
  const char* p = bytes.data();
  const char* const end = bytes.data() + bytes.size();
  absl::StatusOr<CtyValue> value = DecodeValue(&p, end, 0);
  if (!value.ok()) return value.status();
  if (p != end) return Malformed(absl::StrCat(end - p, " bytes after the value"));
  return value;
}

}  // namespace stockade::nomad
