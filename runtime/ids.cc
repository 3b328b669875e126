#include "runtime/ids.h"

#include <algorithm>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace stockade {

std::string NewId() {
  // std::random_device reads the kernel's CSPRNG (getrandom) on Linux and FreeBSD.
  static thread_local std::random_device device;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  id.reserve(64);
  for (int i = 0; i < 8; ++i) {
    uint32_t word = device();
    for (int j = 0; j < 8; ++j) {
      id.push_back(kHex[word & 0xf]);
      word >>= 4;
    }
  }
  return id;
}

bool IsValidId(const std::string& id) {
  return id.size() == 64 && std::all_of(id.begin(), id.end(), [](char c) {
           return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f');
         });
}

absl::Status IdIndex::Add(const std::string& id) {
  if (!IsValidId(id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("id \"", id, "\" is not 64 lowercase hex characters"));
  }
  absl::MutexLock lock(&mu_);
  ids_.insert(id);
  return absl::OkStatus();
}

void IdIndex::Remove(const std::string& id) {
  absl::MutexLock lock(&mu_);
  ids_.erase(id);
}

absl::StatusOr<std::string> IdIndex::Resolve(const std::string& prefix) const {
  if (prefix.empty()) return absl::InvalidArgumentError("Prefix can't be empty");
  absl::MutexLock lock(&mu_);
  auto it = ids_.lower_bound(prefix);
  if (it == ids_.end() || !absl::StartsWith(*it, prefix)) {
    return absl::NotFoundError(absl::StrCat("no ID starts with \"", prefix, "\""));
  }
  auto next = std::next(it);
  if (next != ids_.end() && absl::StartsWith(*next, prefix)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Multiple IDs found with provided prefix: ", prefix));
  }
  return *it;
}

size_t IdIndex::size() const {
  absl::MutexLock lock(&mu_);
  return ids_.size();
}

}  // namespace stockade
