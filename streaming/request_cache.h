// The streaming server's pending requests: each under a random 8-character token (6 bytes,
// base64url), used once, gone after its TTL (containerd's request cache: 1 minute, at most
// 1000 in flight).
#pragma once

#include <cstddef>
#include <functional>
#include <list>
#include <map>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "streaming/stream_request.h"

namespace stockade {

class RequestCache {
 public:
  static constexpr size_t kMaxInFlight = 1000;

  explicit RequestCache(absl::Duration ttl = absl::Minutes(1),
                        std::function<absl::Time()> clock = absl::Now)
      : ttl_(ttl), clock_(std::move(clock)) {}

  // A new token for `request`; ResourceExhausted when kMaxInFlight unexpired ones wait.
  absl::StatusOr<std::string> Insert(StreamRequest request);
  // The request under `token`, removed; nullopt for an unknown, used or expired token, or one
  // of another kind.
  std::optional<StreamRequest> Consume(StreamKind kind, const std::string& token);

 private:
  struct Entry {
    std::string token;
    StreamRequest request;
    absl::Time expires;
  };
  void DropExpired(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const absl::Duration ttl_;
  const std::function<absl::Time()> clock_;
  absl::Mutex mu_;
  std::list<Entry> order_ ABSL_GUARDED_BY(mu_);  // oldest first
  std::map<std::string, std::list<Entry>::iterator> by_token_ ABSL_GUARDED_BY(mu_);
};

}  // namespace stockade
