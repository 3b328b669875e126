// stockade-bridge's address allocator: one file per allocated address under
// <data dir>/<network>/, holding the container ID and interface, changed only under an
// exclusive lock on <data dir>/<network>/lock (held for the whole plugin call).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cni/bridge/bridge_plan.h"

namespace stockade::bridge {

class AddressAllocator {
 public:
  // Takes the network's lock (waiting for it); released when this is destroyed.
  static absl::StatusOr<AddressAllocator> Lock(const std::string& data_dir,
                                               const std::string& network);
  AddressAllocator(AddressAllocator&& other) noexcept;
  ~AddressAllocator();

  // The address of (container, ifname) in `range`, reusing the one it already holds (ADD is
  // idempotent). ResourceExhausted when the range is full.
  absl::StatusOr<std::string> Allocate(const AddressRange& range, const std::string& container_id,
                                       const std::string& ifname);
  // Every address allocated in this network, to anyone.
  std::vector<std::string> Allocated() const;
  // Every address held by (container, ifname).
  std::vector<std::string> Held(const std::string& container_id, const std::string& ifname) const;
  // Releases them; releasing nothing is no error.
  absl::Status Release(const std::string& container_id, const std::string& ifname);

 private:
  AddressAllocator(std::string dir, int lock_fd) : dir_(std::move(dir)), lock_fd_(lock_fd) {}
  std::string dir_;
  int lock_fd_ = -1;
};

}  // namespace stockade::bridge
