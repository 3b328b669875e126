#include "cni/bridge/ipam.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace stockade::bridge {
namespace {

std::string Owner(const std::string& container_id, const std::string& ifname) {
  return absl::StrCat(container_id, "\n", ifname, "\n");
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

absl::StatusOr<AddressAllocator> AddressAllocator::Lock(const std::string& data_dir,
                                                        const std::string& network) {
  const std::string dir = absl::StrCat(data_dir, "/", network);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  }
  const std::string lock = dir + "/lock";
  const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open ", lock, ": ", std::strerror(errno)));
  }
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      ::close(fd);
      return absl::FailedPreconditionError(absl::StrCat("cannot lock ", lock));
    }
  }
  return AddressAllocator(dir, fd);
}

AddressAllocator::AddressAllocator(AddressAllocator&& other) noexcept
    : dir_(std::move(other.dir_)), lock_fd_(other.lock_fd_) {
  other.lock_fd_ = -1;
}

AddressAllocator::~AddressAllocator() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // closing releases the flock
}

std::vector<std::string> AddressAllocator::Allocated() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    const bool is_address =
        name.find('.') != std::string::npos || name.find(':') != std::string::npos;
    if (name != "lock" && is_address) out.push_back(name);
  }
  return out;
}

std::vector<std::string> AddressAllocator::Held(const std::string& container_id,
                                                const std::string& ifname) const {
  std::vector<std::string> held;
  const std::string owner = Owner(container_id, ifname);
  for (const std::string& address : Allocated()) {
    if (ReadText(absl::StrCat(dir_, "/", address)) == owner) held.push_back(address);
  }
  return held;
}

absl::StatusOr<std::string> AddressAllocator::Allocate(const AddressRange& range,
                                                       const std::string& container_id,
                                                       const std::string& ifname) {
  for (const std::string& address : Held(container_id, ifname)) {
    if ((address.find(':') != std::string::npos) == range.v6()) return address;
  }
  const uint64_t count = AllocatableAddresses(range.subnet);
  const uint64_t first = range.first != 0 ? range.first : 2;
  const uint64_t last = range.last != 0 ? range.last : count + 1;
  for (uint64_t n = first; n <= last; ++n) {
    absl::StatusOr<std::string> address = AddressAt(range.subnet, n);
    if (!address.ok()) break;
    if (*address == range.gateway) continue;
    const std::string path = absl::StrCat(dir_, "/", *address);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      return absl::FailedPreconditionError(
          absl::StrCat("cannot record ", path, ": ", std::strerror(errno)));
    }
    const std::string owner = Owner(container_id, ifname);
    const bool written =
        ::write(fd, owner.data(), owner.size()) == static_cast<ssize_t>(owner.size());
    ::fsync(fd);
    ::close(fd);
    if (!written) {
      ::unlink(path.c_str());
      return absl::FailedPreconditionError(absl::StrCat("cannot record ", path));
    }
    return *address;
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("no free address in ", range.subnet, ": all ", last - first + 1,
                   " of its range are allocated; widen the range or remove pods"));
}

absl::Status AddressAllocator::Release(const std::string& container_id, const std::string& ifname) {
  for (const std::string& address : Held(container_id, ifname)) {
    const std::string path = absl::StrCat(dir_, "/", address);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return absl::FailedPreconditionError(absl::StrCat("cannot release ", path));
    }
  }
  return absl::OkStatus();
}

}  // namespace stockade::bridge
