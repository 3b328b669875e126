// A value of the plugin's or a task's configuration as Nomad sends it: go-cty's msgpack
// encoding of an HCL object (SetConfig's msgpack_config, StartTask's msgpack_driver_config),
// decoded into a plain tree. Every schema attribute is present; an unset one is null.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace stockade::nomad {

struct CtyValue {
  enum class Kind { kNull, kUnknown, kBool, kNumber, kString, kList, kMap };
  Kind kind = Kind::kNull;
  bool boolean = false;
  // kNumber: `integer` when it is integral and fits int64, else `real`.
  std::optional<int64_t> integer;
  double real = 0;
  std::string text;  // kString
  // kList (lists, sets, tuples): the elements. kMap (maps, objects): the values, in order, each
  // named by keys[i]. (Not a vector of pairs: a pair cannot hold this still incomplete type.)
  std::vector<CtyValue> items;
  std::vector<std::string> keys;

  bool is_null() const { return kind == Kind::kNull; }
  // The entry named `key` of a map, or nullptr.
  const CtyValue* Find(absl::string_view key) const;
};

// The deepest nesting accepted: configuration is a few levels deep; a hostile payload is not
// allowed to exhaust the stack.
inline constexpr int kMaxCtyDepth = 32;

// Decodes go-cty msgpack: nil, bool, every int and uint width, float32/64, str and bin (both as
// strings), arrays, maps with string keys; cty's unknown-value extension (type 0) as kUnknown;
// a dynamic value ([type JSON, value]) is not expected in a typed schema and is an error.
// Trailing bytes, truncation, other extensions and non-string keys are InvalidArgument.
absl::StatusOr<CtyValue> DecodeCtyMsgpack(absl::string_view bytes);

// A short description for error messages: "a string", "a list", "null".
absl::string_view CtyKindName(CtyValue::Kind kind);

}  // namespace stockade::nomad
