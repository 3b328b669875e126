// Reserves sandbox and container names before any side effect, as containerd does, so that
// kubelet's retry of a timed-out RunPodSandbox or CreateContainer gets ALREADY_EXISTS instead of
// a second pod. Reserving the same (name, id) pair again succeeds.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace stockade {

// "<pod name>_<namespace>_<pod uid>_<attempt>"
std::string SandboxName(const std::string& name, const std::string& ns, const std::string& uid,
                        uint32_t attempt);
// "<container name>_<pod name>_<namespace>_<pod uid>_<container attempt>"
std::string ContainerName(const std::string& name, const std::string& pod_name,
                          const std::string& ns, const std::string& pod_uid, uint32_t attempt);

class NameRegistry {
 public:
  // AlreadyExists, naming the holder, if another id holds `name`.
  absl::Status Reserve(const std::string& name, const std::string& id);
  void Release(const std::string& name);
  // The id holding `name`, or "" if none.
  std::string Holder(const std::string& name) const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::string> names_ ABSL_GUARDED_BY(mu_);
};

}  // namespace stockade
