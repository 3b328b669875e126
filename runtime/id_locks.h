// One mutex per pod or container ID, made on first use and dropped when nobody holds or waits
// for it, so that operations on one ID run one at a time while other IDs proceed.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"

namespace stockade {

struct IdLockEntry {
  absl::Mutex mu;
};

class IdLocks {
 public:
  class Held {
   public:
    Held(IdLocks& locks, std::string id, bool wait = true) : locks_(&locks), id_(std::move(id)) {
      entry_ = locks_->Acquire(id_);
      if (wait) {
        entry_->mu.Lock();
      } else if (!entry_->mu.TryLock()) {
        locks_->Release(id_, std::move(entry_));
      }
    }
    // False when made by TryLock and someone else holds the lock.
    bool held() const { return entry_ != nullptr; }
    Held(Held&& other) noexcept
        : locks_(other.locks_), id_(std::move(other.id_)), entry_(std::move(other.entry_)) {}
    Held(const Held&) = delete;
    ~Held() {
      if (entry_ == nullptr) return;
      entry_->mu.Unlock();
      locks_->Release(id_, std::move(entry_));
    }

   private:
    IdLocks* locks_;
    std::string id_;
    std::shared_ptr<IdLockEntry> entry_;
  };

  Held Lock(const std::string& id) { return Held(*this, id); }
  // Does not wait: check held() on the result.
  Held TryLock(const std::string& id) { return Held(*this, id, /*wait=*/false); }

 private:
  friend class Held;
  std::shared_ptr<IdLockEntry> Acquire(const std::string& id);
  void Release(const std::string& id, std::shared_ptr<IdLockEntry> entry);

  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<IdLockEntry>> entries_ ABSL_GUARDED_BY(mu_);
};

inline std::shared_ptr<IdLockEntry> IdLocks::Acquire(const std::string& id) {
  absl::MutexLock lock(&mu_);
  std::shared_ptr<IdLockEntry>& entry = entries_[id];
  if (entry == nullptr) entry = std::make_shared<IdLockEntry>();
  return entry;
}

inline void IdLocks::Release(const std::string& id, std::shared_ptr<IdLockEntry> entry) {
  absl::MutexLock lock(&mu_);
  entry.reset();
  auto it = entries_.find(id);
  // Only the map's own reference left: nobody holds or waits.
  if (it != entries_.end() && it->second.use_count() == 1) entries_.erase(it);
}

}  // namespace stockade
