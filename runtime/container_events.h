// Container lifecycle events for kubelet's evented PLEG (CRI GetContainerEvents): CREATED,
// STARTED, STOPPED, DELETED, published by the core in the order they happen, fanned out to
// every subscriber. A subscriber that falls behind by kMaxQueued events loses the oldest and
// is told so (kubelet then relists, as after any gap).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace stockade {

// CRI ContainerEventType's numbers.
enum class ContainerEventType { kCreated = 0, kStarted = 1, kStopped = 2, kDeleted = 3 };

struct ContainerEvent {
  std::string container_id, pod_id;
  ContainerEventType type = ContainerEventType::kCreated;
  int64_t at_unix_nano = 0;
};

class ContainerEvents {
 public:
  static constexpr size_t kMaxQueued = 1000;

  class Subscription {
   public:
    ~Subscription();
    // The next event, waiting at most `timeout`; nullopt when none came.
    std::optional<ContainerEvent> Next(absl::Duration timeout);
    // Events dropped because this subscriber fell behind.
    uint64_t dropped() const;

   private:
    friend class ContainerEvents;
    explicit Subscription(ContainerEvents& events) : events_(events) {}
    ContainerEvents& events_;
    mutable absl::Mutex mu_;
    std::deque<ContainerEvent> queue_ ABSL_GUARDED_BY(mu_);
    uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  };

  std::unique_ptr<Subscription> Subscribe();
  void Publish(ContainerEvent event);
  size_t subscribers() const;

 private:
  mutable absl::Mutex mu_;
  std::set<Subscription*> subscribers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace stockade
