// The pod shim's Linux side: the pod's namespaces (held by a holder process, see
// runtime/linux/pod_namespaces.h), containers made by StartContainerProcess (new mount and PID
// namespaces, the pod's net/uts/ipc, pivot_root, capabilities, seccomp), exec sessions through
// a relay that enters the container's namespaces, terminals of the container's own devpts.
#include "runtime/shim/shim_platform_linux.h"

#include <fcntl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/linux/container_process.h"
#include "runtime/linux/container_terminal.h"
#include "runtime/linux/exec_session.h"
#include "runtime/shim/shim_wire.h"

namespace stockade {
namespace {

class LinuxShimPlatform final : public ShimPlatform {
 public:
  explicit LinuxShimPlatform(std::unique_ptr<PodNamespaces> pod) : pod_(std::move(pod)) {}

  absl::StatusOr<pid_t> StartContainer(
      const std::string& id, const Json& s, const ShimStdio& stdio,
      const std::function<pid_t(const std::string&)>& running_pid) override {
    ContainerProcessSpec spec;
    spec.rootfs = s.value("rootfs", "");
    ReadProcessFields(s, spec);
    for (int cap : s.value("caps", std::vector<int>{})) spec.capabilities.insert(cap);
    spec.read_only_rootfs = s.value("read_only_rootfs", false);
    spec.privileged = s.value("privileged", false);
    spec.hostname_file = s.value("hostname_file", "");
    spec.hosts_file = s.value("hosts_file", "");
    spec.resolv_conf_file = s.value("resolv_conf_file", "");
    spec.masked_paths = s.value("masked_paths", std::vector<std::string>{});
    spec.readonly_paths = s.value("readonly_paths", std::vector<std::string>{});
    for (const Json& m : s.value("mounts", Json::array())) {
      spec.mounts.push_back({m.value("host", ""), m.value("container", ""), m.value("ro", false),
                             static_cast<MountPropagation>(m.value("propagation", 0))});
    }
    spec.net_ns = pod_->NamespacePath("net");
    spec.uts_ns = pod_->NamespacePath("uts");
    spec.ipc_ns = pod_->NamespacePath("ipc");
    // "": a PID namespace of its own; "pod": the pod's; "host": the node's; else a path.
    const std::string pid_ns = s.value("pid_ns", "");
    UniqueFd target_pid_ns;
    spec.new_pid_namespace = pid_ns.empty();
    if (pid_ns == "pod") {
      spec.pid_ns = pod_->NamespacePath("pid");
      if (spec.pid_ns.empty()) {
        return absl::InvalidArgumentError("the pod has no PID namespace to share");
      }
    } else if (absl::StartsWith(pid_ns, "container:")) {
      // The target is a child of this shim, not yet reaped while it runs: its PID is its own.
      const pid_t target = running_pid(pid_ns.substr(strlen("container:")));
      if (target <= 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("container ", pid_ns.substr(strlen("container:")),
                         " whose PID namespace this one joins is not running"));
      }
      target_pid_ns.Reset(
          ::open(absl::StrCat("/proc/", target, "/ns/pid").c_str(), O_RDONLY | O_CLOEXEC));
      if (!target_pid_ns) {
        return absl::InternalError("cannot open the target container's PID namespace");
      }
      spec.pid_ns = absl::StrCat("/proc/self/fd/", target_pid_ns.get());
    } else if (pid_ns != "host" && !pid_ns.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("pid_ns \"", pid_ns, "\" is none of pod, host, container:<id>"));
    }
    spec.cgroup_procs_files = s.value("cgroup_procs", std::vector<std::string>{});
    if (s.contains("oom_score_adj")) spec.oom_score_adj = s.value("oom_score_adj", 0);
    spec.tty = stdio.tty;
    spec.console_socket = stdio.console_socket;
    spec.stdin_fd = stdio.in;
    spec.stdout_fd = stdio.out;
    spec.stderr_fd = stdio.err;
    absl::StatusOr<ContainerProcess> p = StartContainerProcess(spec);
    if (!p.ok()) return p.status();
    return p->pid;
  }

  absl::StatusOr<ShimExec> StartExec(const Json& s, pid_t container_pid,
                                     const std::vector<std::string>& container_scopes,
                                     const ShimStdio& stdio) override {
    ExecSessionSpec spec;
    ReadProcessFields(s, spec);
    spec.capabilities = s.value("caps", std::vector<int>{});
    spec.cgroup_procs_files = container_scopes;
    spec.container_pid = container_pid;
    spec.tty = stdio.tty;
    spec.stdin_fd = stdio.in;
    spec.stdout_fd = stdio.out;
    spec.stderr_fd = stdio.err;
    absl::StatusOr<ExecRelay> relay = StartExecSession(spec);
    if (!relay.ok()) return relay.status();
    return ShimExec{relay->pid, std::move(relay->report)};
  }

  std::optional<std::string> ExecFailure(int report_fd) override {
    return ExecSessionFailure(report_fd);
  }

  absl::StatusOr<ShimTerminal> OpenTerminal(pid_t container_pid) override {
    absl::StatusOr<Terminal> t = OpenContainerTerminal(container_pid);
    if (!t.ok()) return t.status();
    return ShimTerminal{std::move(t->master), std::move(t->slave)};
  }

  // The container's mount namespace went with its init.
  void ContainerExited(const std::string& id) override {}

  absl::Status DestroyPod() override { return pod_->Destroy(); }

  void DrainWakeups(int wake_fd) override {
    signalfd_siginfo info;
    while (::read(wake_fd, &info, sizeof(info)) == sizeof(info)) {
    }
  }

 private:
  std::unique_ptr<PodNamespaces> pod_;
};

}  // namespace

std::unique_ptr<ShimPlatform> NewLinuxShimPlatform(std::unique_ptr<PodNamespaces> pod) {
  return std::make_unique<LinuxShimPlatform>(std::move(pod));
}

}  // namespace stockade
