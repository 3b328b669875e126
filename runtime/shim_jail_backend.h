// A JailBackend whose pods each have a stockade-shim (Linux and FreeBSD alike): everything
// that goes through the shim protocol (runtime/shim_client.h) is here; an OS's backend gives
// the pod's launch, the container's and the processes' specs (seccomp programs on Linux), the
// check of a volume's propagation and the pod's network (dialling in, interface counters).
#pragma once

#include <memory>
#include <string>

#include "runtime/jail_backend.h"
#include "runtime/shim_client.h"

namespace stockade {

class ShimJailBackend : public JailBackend {
 public:
  bool PodAlive(const std::string& pod_id, const std::string& dir) override;
  // Asks the shim to end the pod, then AfterPodShutdown.
  absl::Status DestroyPod(const std::string& pod_id, const std::string& dir) override;
  absl::StatusOr<pid_t> StartContainer(const std::string& dir,
                                       const ContainerLaunch& launch) override;
  absl::Status SignalContainer(const std::string& dir, const std::string& id, int signal) override;
  absl::StatusOr<ContainerRunState> InspectContainer(const std::string& dir,
                                                     const std::string& id) override;
  absl::Status ForgetContainer(const std::string& dir, const std::string& id) override;
  absl::Status ReopenLog(const std::string& dir, const std::string& id) override;
  absl::StatusOr<ExecOutput> Exec(const std::string& dir, const std::string& id,
                                  const ProcessIdentity& identity, absl::Duration timeout) override;
  bool HasExited(const std::string& dir, const std::string& id) override;
  absl::StatusOr<std::unique_ptr<ProcessStream>> ExecStream(const std::string& dir,
                                                            const std::string& id,
                                                            const ProcessIdentity& identity,
                                                            bool tty, bool stdin) override;
  absl::StatusOr<std::unique_ptr<ProcessStream>> Attach(const std::string& dir,
                                                        const std::string& id, bool tty, bool stdin,
                                                        bool stdout, bool stderr) override;

 protected:
  // What may be left once the shim is gone (a network namespace's bind mount on Linux).
  virtual absl::Status AfterPodShutdown(const std::string& pod_id) = 0;
  // The start request for a container of the pod whose run directory is `dir`, and a process
  // as the shim starts it.
  virtual absl::StatusOr<ShimContainerSpec> ContainerSpecOf(const std::string& dir,
                                                            const ContainerLaunch& launch) = 0;
  virtual absl::StatusOr<ShimProcessSpec> ProcessOf(const ProcessIdentity& identity) = 0;
};

// A shim's answer that means the shim or the container is gone.
bool ShimGone(const absl::Status& s);

// The parts of a container's start request and of a process that every OS sends alike: the
// command, its environment, directory and user; the container's rootfs, pod files and stdio.
ShimProcessSpec CommonProcessSpec(const ProcessIdentity& identity);
ShimContainerSpec CommonContainerSpec(const ContainerLaunch& launch, ShimProcessSpec process);

}  // namespace stockade
