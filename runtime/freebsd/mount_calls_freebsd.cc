#include <sys/mount.h>
#include <sys/param.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "runtime/freebsd/mount_calls.h"

namespace stockade::freebsd {
namespace {

absl::Status Mount(const MountStep& step) {
  std::vector<std::pair<std::string, std::string>> options = NmountOptions(step);
  char errmsg[255] = {0};
  std::vector<iovec> iov;
  for (auto& [name, value] : options) {
    iov.push_back({name.data(), name.size() + 1});
    // An option without a value ("ro") is passed with a null value.
    if (value.empty()) {
      iov.push_back({nullptr, 0});
    } else {
      iov.push_back({value.data(), value.size() + 1});
    }
  }
  static char kErrmsg[] = "errmsg";
  iov.push_back({kErrmsg, sizeof(kErrmsg)});
  iov.push_back({errmsg, sizeof(errmsg)});
  if (::nmount(iov.data(), static_cast<unsigned>(iov.size()), 0) != 0) {
    const int err = errno;
    std::string why = errmsg[0] != '\0' ? std::string(errmsg) : std::strerror(err);
    if (err == ENOENT || err == ENODEV) {
      // No such filesystem in the kernel: name the module to load.
      why += absl::StrCat(" (is ", step.fstype, " loaded? kldload ", step.fstype, ")");
    }
    return absl::FailedPreconditionError(
        absl::StrCat("mount ", step.fstype, " ", step.source, " at ", step.target, ": ", why));
  }
  return absl::OkStatus();
}

std::vector<std::string> MountPoints() {
  struct statfs* mounts = nullptr;
  const int n = ::getmntinfo(&mounts, MNT_NOWAIT);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.emplace_back(mounts[i].f_mntonname);
  return out;
}

}  // namespace

absl::Status MountAll(const std::vector<MountStep>& steps) {
  for (size_t i = 0; i < steps.size(); ++i) {
    if (absl::Status s = Mount(steps[i]); !s.ok()) {
      for (size_t j = i; j-- > 0;) ::unmount(steps[j].target.c_str(), MNT_FORCE);
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status UnmountAllUnder(const std::string& root) {
  for (const std::string& m : MountsToUnmount(MountPoints(), root)) {
    if (::unmount(m.c_str(), MNT_FORCE) != 0 && errno != EINVAL && errno != ENOENT) {
      return absl::InternalError(absl::StrCat("unmount ", m, ": ", std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

}  // namespace stockade::freebsd
