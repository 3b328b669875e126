#include "cri/stream_targets.h"

namespace stockade {
namespace {

class CoreStreamTargets final : public StreamTargets {
 public:
  explicit CoreStreamTargets(RuntimeCore& core) : core_(core) {}

  absl::StatusOr<std::unique_ptr<ProcessStream>> Exec(const StreamRequest& r) override {
    return core_.ExecStream(r.container_id, r.cmd, r.tty, r.stdin);
  }
  absl::StatusOr<std::unique_ptr<ProcessStream>> Attach(const StreamRequest& r) override {
    return core_.Attach(r.container_id, r.stdin, r.stdout, r.stderr);
  }
  absl::StatusOr<UniqueFd> DialPort(const std::string& pod_id, int32_t port) override {
    return core_.DialPod(pod_id, port);
  }

 private:
  RuntimeCore& core_;
};

}  // namespace

std::unique_ptr<StreamTargets> NewCoreStreamTargets(RuntimeCore& core) {
  return std::make_unique<CoreStreamTargets>(core);
}

}  // namespace stockade
