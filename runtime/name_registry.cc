#include "runtime/name_registry.h"

#include "absl/strings/str_cat.h"

namespace stockade {

std::string SandboxName(const std::string& name, const std::string& ns, const std::string& uid,
                        uint32_t attempt) {
  return absl::StrCat(name, "_", ns, "_", uid, "_", attempt);
}

std::string ContainerName(const std::string& name, const std::string& pod_name,
                          const std::string& ns, const std::string& pod_uid, uint32_t attempt) {
  return absl::StrCat(name, "_", pod_name, "_", ns, "_", pod_uid, "_", attempt);
}

absl::Status NameRegistry::Reserve(const std::string& name, const std::string& id) {
  if (name.empty()) return absl::InvalidArgumentError("a name to reserve must not be empty");
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = names_.try_emplace(name, id);
  if (!inserted && it->second != id) {
    return absl::AlreadyExistsError(
        absl::StrCat("the name \"", name, "\" is reserved for ", it->second));
  }
  return absl::OkStatus();
}

void NameRegistry::Release(const std::string& name) {
  absl::MutexLock lock(&mu_);
  names_.erase(name);
}

std::string NameRegistry::Holder(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = names_.find(name);
  return it == names_.end() ? "" : it->second;
}

}  // namespace stockade
