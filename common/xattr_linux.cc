#include <sys/xattr.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/xattr.h"

namespace stockade {

absl::StatusOr<std::vector<std::string>> ListLinkXattrs(const std::string& path) {
  std::string names;
  while (true) {
    const ssize_t size = ::llistxattr(path.c_str(), nullptr, 0);
    if (size < 0) {
      if (errno == ENOTSUP) return std::vector<std::string>{};
      return ErrnoError(errno, absl::StrCat("list the extended attributes of ", path));
    }
    names.resize(static_cast<size_t>(size));
    const ssize_t got = ::llistxattr(path.c_str(), names.data(), names.size());
    if (got < 0 && errno == ERANGE) continue;  // one was added meanwhile
    if (got < 0) return ErrnoError(errno, absl::StrCat("list the extended attributes of ", path));
    names.resize(static_cast<size_t>(got));
    break;
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < names.size();) {
    const size_t len = ::strnlen(names.data() + i, names.size() - i);
    if (len > 0) out.emplace_back(names.data() + i, len);
    i += len + 1;
  }
  return out;
}

absl::StatusOr<std::string> GetLinkXattr(const std::string& path, const std::string& name) {
  while (true) {
    const ssize_t size = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (size < 0) {
      if (errno == ENODATA || errno == ENOTSUP) {
        return absl::NotFoundError(absl::StrCat(path, " has no attribute ", name));
      }
      return ErrnoError(errno, absl::StrCat("read attribute ", name, " of ", path));
    }
    std::string value(static_cast<size_t>(size), '\0');
    const ssize_t got = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    if (got < 0 && errno == ERANGE) continue;
    if (got < 0) return ErrnoError(errno, absl::StrCat("read attribute ", name, " of ", path));
    value.resize(static_cast<size_t>(got));
    return value;
  }
}

absl::Status SetLinkXattr(const std::string& path, const std::string& name,
                          const std::string& value) {
  if (::lsetxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0) != 0) {
    return ErrnoError(errno, absl::StrCat("set attribute ", name, " on ", path));
  }
  return absl::OkStatus();
}

}  // namespace stockade
