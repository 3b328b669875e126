#include "imagestore/layer_path.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace stockade {

absl::StatusOr<std::vector<std::string>> CleanLayerPath(absl::string_view name) {
  if (!name.empty() && name.front() == '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("layer entry \"", name, "\" has an absolute path"));
  }
  if (name.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("layer entry name contains a NUL byte");
  }
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(name, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      return absl::InvalidArgumentError(absl::StrCat(
          "layer entry \"", name, "\" contains \"..\" and could land outside the layer root"));
    }
    parts.emplace_back(part);
  }
  return parts;
}

}  // namespace stockade
