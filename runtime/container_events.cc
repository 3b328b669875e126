#include "runtime/container_events.h"

namespace stockade {

ContainerEvents::Subscription::~Subscription() {
  absl::MutexLock lock(&events_.mu_);
  events_.subscribers_.erase(this);
}

std::optional<ContainerEvent> ContainerEvents::Subscription::Next(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty(); };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  if (queue_.empty()) return std::nullopt;
  ContainerEvent e = std::move(queue_.front());
  queue_.pop_front();
  return e;
}

uint64_t ContainerEvents::Subscription::dropped() const {
  absl::MutexLock lock(&mu_);
  return dropped_;
}

std::unique_ptr<ContainerEvents::Subscription> ContainerEvents::Subscribe() {
  std::unique_ptr<Subscription> s(new Subscription(*this));
  absl::MutexLock lock(&mu_);
  subscribers_.insert(s.get());
  return s;
}

void ContainerEvents::Publish(ContainerEvent event) {
  // Under the bus's lock: every subscriber sees the events in one order.
  absl::MutexLock lock(&mu_);
  for (Subscription* s : subscribers_) {
    absl::MutexLock queue_lock(&s->mu_);
    if (s->queue_.size() >= kMaxQueued) {
      s->queue_.pop_front();
      ++s->dropped_;
    }
    s->queue_.push_back(event);
  }
}

size_t ContainerEvents::subscribers() const {
  absl::MutexLock lock(&mu_);
  return subscribers_.size();
}

}  // namespace stockade
