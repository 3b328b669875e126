#include <sys/types.h>  // before <sys/extattr.h>, which uses its types

#include <sys/extattr.h>

#include <cerrno>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/xattr.h"

namespace stockade {
namespace {

constexpr std::pair<int, const char*> kNamespaces[] = {
    {EXTATTR_NAMESPACE_USER, "user."},
    {EXTATTR_NAMESPACE_SYSTEM, "system."},
};

// "user.foo" -> (EXTATTR_NAMESPACE_USER, "foo"); nullopt for a namespace FreeBSD has not.
std::optional<std::pair<int, std::string>> Split(const std::string& name) {
  for (const auto& [ns, prefix] : kNamespaces) {
    if (absl::StartsWith(name, prefix) && name.size() > strlen(prefix)) {
      return std::make_pair(ns, name.substr(strlen(prefix)));
    }
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ListLinkXattrs(const std::string& path) {
  std::vector<std::string> out;
  for (const auto& [ns, prefix] : kNamespaces) {
    std::string list;
    while (true) {
      const ssize_t size = ::extattr_list_link(path.c_str(), ns, nullptr, 0);
      if (size < 0) {
        // No such namespace here, or not ours to read (system needs privilege).
        if (errno == EOPNOTSUPP || errno == EPERM || errno == EACCES) break;
        return ErrnoError(errno, absl::StrCat("list the extended attributes of ", path));
      }
      list.resize(static_cast<size_t>(size));
      const ssize_t got = ::extattr_list_link(path.c_str(), ns, list.data(), list.size());
      if (got < 0) return ErrnoError(errno, absl::StrCat("list the extended attributes of ", path));
      list.resize(static_cast<size_t>(got));  // one added meanwhile is cut off: never overrun
      break;
    }
    // Each name is a length byte, then that many bytes, no NUL.
    for (size_t i = 0; i < list.size();) {
      const size_t len = static_cast<unsigned char>(list[i]);
      if (i + 1 + len > list.size()) break;
      if (len > 0) out.push_back(absl::StrCat(prefix, list.substr(i + 1, len)));
      i += 1 + len;
    }
  }
  return out;
}

absl::StatusOr<std::string> GetLinkXattr(const std::string& path, const std::string& name) {
  const std::optional<std::pair<int, std::string>> split = Split(name);
  if (!split) return absl::NotFoundError(absl::StrCat(path, " has no attribute ", name));
  {
    const ssize_t size =
        ::extattr_get_link(path.c_str(), split->first, split->second.c_str(), nullptr, 0);
    if (size < 0) {
      if (errno == ENOATTR || errno == EOPNOTSUPP) {
        return absl::NotFoundError(absl::StrCat(path, " has no attribute ", name));
      }
      return ErrnoError(errno, absl::StrCat("read attribute ", name, " of ", path));
    }
    std::string value(static_cast<size_t>(size), '\0');
    const ssize_t got = ::extattr_get_link(path.c_str(), split->first, split->second.c_str(),
                                           value.data(), value.size());
    if (got < 0) return ErrnoError(errno, absl::StrCat("read attribute ", name, " of ", path));
    value.resize(static_cast<size_t>(got));
    return value;
  }
}

absl::Status SetLinkXattr(const std::string& path, const std::string& name,
                          const std::string& value) {
  const std::optional<std::pair<int, std::string>> split = Split(name);
  if (!split) {
    return absl::UnimplementedError(absl::StrCat("FreeBSD has no extended attribute namespace for ",
                                                 name, " (only user. and system.)"));
  }
  if (::extattr_set_link(path.c_str(), split->first, split->second.c_str(), value.data(),
                         value.size()) < 0) {
    return ErrnoError(errno, absl::StrCat("set attribute ", name, " on ", path));
  }
  return absl::OkStatus();
}

}  // namespace stockade
