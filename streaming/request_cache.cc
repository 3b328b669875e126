#include "streaming/request_cache.h"

#include <sys/random.h>

#include "absl/strings/escaping.h"

namespace stockade {

const char* StreamKindPath(StreamKind kind) {
  switch (kind) {
    case StreamKind::kExec:
      return "exec";
    case StreamKind::kAttach:
      return "attach";
    case StreamKind::kPortForward:
      return "portforward";
  }
  return "";
}

void RequestCache::DropExpired(absl::Time now) {
  while (!order_.empty() && order_.front().expires <= now) {
    by_token_.erase(order_.front().token);
    order_.pop_front();
  }
}

absl::StatusOr<std::string> RequestCache::Insert(StreamRequest request) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_();
  DropExpired(now);
  if (order_.size() >= kMaxInFlight) {
    return absl::ResourceExhaustedError("maximum number of in-flight requests exceeded");
  }
  std::string token;
  do {
    unsigned char bytes[6];
    if (::getrandom(bytes, sizeof(bytes), 0) != sizeof(bytes)) {
      return absl::InternalError("getrandom failed: no token for the streaming request");
    }
    token = absl::WebSafeBase64Escape(
        absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
  } while (by_token_.count(token) > 0);
  order_.push_back({token, std::move(request), now + ttl_});
  by_token_[token] = std::prev(order_.end());
  return token;
}

std::optional<StreamRequest> RequestCache::Consume(StreamKind kind, const std::string& token) {
  absl::MutexLock lock(&mu_);
  DropExpired(clock_());
  auto it = by_token_.find(token);
  if (it == by_token_.end()) return std::nullopt;
  std::list<Entry>::iterator entry = it->second;
  by_token_.erase(it);
  StreamRequest request = std::move(entry->request);
  order_.erase(entry);
  if (request.kind != kind) return std::nullopt;
  return request;
}

}  // namespace stockade
