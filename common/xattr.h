// Extended attributes of a path itself (a symlink's own, never its target's), named the Linux
// way, "<namespace>.<name>". Linux: the *xattr(2) calls (common/xattr_linux.cc). FreeBSD:
// extattr(2) (common/xattr_freebsd.cc), where "user." is EXTATTR_NAMESPACE_USER and "system."
// EXTATTR_NAMESPACE_SYSTEM; names in any other namespace (security., trusted.) have no FreeBSD
// form and are neither listed nor set there.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace stockade {

// The names on `path`; empty where the filesystem keeps none.
absl::StatusOr<std::vector<std::string>> ListLinkXattrs(const std::string& path);
// NotFound when `path` has no attribute `name`.
absl::StatusOr<std::string> GetLinkXattr(const std::string& path, const std::string& name);
// Unimplemented for a namespace the OS has no form of.
absl::Status SetLinkXattr(const std::string& path, const std::string& name,
                          const std::string& value);

}  // namespace stockade
