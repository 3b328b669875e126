#include "imagestore/layer_path.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace stockade {

absl::StatusOr<std::vector<std::string>> CleanLayerPath(absl::string_view name) {
  if (name.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("layer entry name contains a NUL byte");
  }
  // Names are relative to the layer root whatever their form ("/etc/x", "./etc/x", "etc/x"),
  // as containerd and Docker take them: umoci writes "/" as the first entry of every layer.
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(name, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (parts.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "layer entry \"", name, "\" contains \"..\" and would land outside the layer root"));
      }
      parts.pop_back();
      continue;
    }
    parts.emplace_back(part);
  }
  return parts;
}

}  // namespace stockade
