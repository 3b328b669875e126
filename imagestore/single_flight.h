// Concurrent callers of one key share one run of the work: the first runs it, the others wait
// for its result (pulls of one reference in the image store).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace stockade {

class SingleFlight {
 public:
  template <typename Fn>
  absl::Status Do(const std::string& key, Fn&& fn) {
    std::shared_ptr<Flight> flight;
    bool leader = false;
    {
      absl::MutexLock lock(&mu_);
      auto [it, inserted] = flights_.try_emplace(key, nullptr);
      if (inserted) it->second = std::make_shared<Flight>();
      flight = it->second;
      leader = inserted;
    }
    if (!leader) {
      flight->done.WaitForNotification();
      return flight->result;
    }
    flight->result = fn();
    {
      absl::MutexLock lock(&mu_);
      flights_.erase(key);
    }
    flight->done.Notify();
    return flight->result;
  }

 private:
  struct Flight {
    absl::Notification done;
    absl::Status result;
  };
  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Flight>> flights_ ABSL_GUARDED_BY(mu_);
};

}  // namespace stockade
