// The path rules of layer extraction, as pure functions: an entry name from a tar header is
// turned into a clean relative path, or refused if it could land outside the layer root.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "imagestore/whiteouts.h"

namespace stockade {

// Splits `name` into clean components relative to the layer root: "./a//b/", "/a/b" and
// "a/c/../b" -> {"a","b"}; ".", "/" and "" -> {} (the root). Lexical only: symlinks on the way
// are the unpacker's concern. InvalidArgument for a ".." that would climb above the root.
absl::StatusOr<std::vector<std::string>> CleanLayerPath(absl::string_view name);

}  // namespace stockade
