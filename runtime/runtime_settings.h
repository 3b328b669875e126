// Runtime-wide settings that kubelet pushes at run time (UpdateRuntimeConfig) and that must
// survive a daemon restart: today the node's pod CIDR, which stockade-bridge's IPAM uses.
#pragma once

#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "state/state_store.h"

namespace stockade {

// Parses kubelet's comma-separated pod CIDR list ("10.88.0.0/16,fd00::/64"); "" is valid and
// means "none". Each entry must be an IPv4 or IPv6 prefix with a prefix length in range.
absl::StatusOr<std::vector<std::string>> ParsePodCidrList(absl::string_view text);

class RuntimeSettings {
 public:
  // Reads the persisted settings (defaults when none were ever written).
  static absl::StatusOr<std::unique_ptr<RuntimeSettings>> Load(StateStore& store);

  // Validates and persists (synced) the pod CIDR list, then makes it current.
  absl::Status SetPodCidr(absl::string_view pod_cidr);
  std::string pod_cidr() const;

 private:
  explicit RuntimeSettings(StateStore& store) : store_(store) {}
  StateStore& store_;
  mutable absl::Mutex mu_;
  std::string pod_cidr_ ABSL_GUARDED_BY(mu_);
};

}  // namespace stockade
