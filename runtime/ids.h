// Sandbox, container and exec IDs as CRI clients expect them: 64 lowercase hex characters from
// 32 random bytes, resolvable by any unique prefix (containerd's truncindex).
#pragma once

#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace stockade {

std::string NewId();

class IdIndex {
 public:
  // InvalidArgument for an id that is not 64 lowercase hex characters.
  absl::Status Add(const std::string& id);
  void Remove(const std::string& id);
  // The one id starting with `prefix`. NotFound when none does; InvalidArgument when the
  // prefix is empty or several ids share it.
  absl::StatusOr<std::string> Resolve(const std::string& prefix) const;
  size_t size() const;

 private:
  mutable absl::Mutex mu_;
  std::set<std::string> ids_ ABSL_GUARDED_BY(mu_);
};

bool IsValidId(const std::string& id);

}  // namespace stockade
