#include "common/remove_tree.h"

#include <filesystem>

namespace stockade {

void RemoveTreeQuietly(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

void RemoveEntriesStartingWith(const std::string& dir, const std::string& prefix) {
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (it->path().filename().string().rfind(prefix, 0) == 0) RemoveTreeQuietly(it->path());
  }
}

}  // namespace stockade
