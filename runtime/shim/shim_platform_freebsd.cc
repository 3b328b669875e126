// The pod shim's FreeBSD side: the pod is a persistent jail (VNET unless on the host's
// network) made when the shim starts; each container a child jail rooted at its snapshot,
// with its filesystems mounted first (devfs with its ruleset, fdescfs, nullfs volumes, the
// Linux ABI's for Linux images) and the pod's hostname/hosts/resolv.conf copied into its /etc;
// processes enter with jail_attach. Terminals come from posix_openpt (FreeBSD's pts are the
// node's; the jail's devfs ruleset shows pts). The shim is the reaper of everything it starts
// (procctl PROC_REAP_ACQUIRE) and wakes on a kqueue (EVFILT_PROC, EVFILT_SIGNAL). FreeBSD only.
#include <sys/param.h>

#include "runtime/shim/shim_platform_freebsd.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/fd_passing.h"
#include "runtime/freebsd/jail_calls.h"
#include "runtime/freebsd/jail_plan.h"
#include "runtime/freebsd/jail_process.h"
#include "runtime/freebsd/mount_calls.h"

namespace stockade {
namespace {

using freebsd::JailProcessSpec;

absl::StatusOr<ShimTerminal> OpenPts() {
  ShimTerminal t;
  t.master.Reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!t.master || ::grantpt(t.master.get()) != 0 || ::unlockpt(t.master.get()) != 0) {
    return absl::InternalError(absl::StrCat("open a terminal: ", std::strerror(errno)));
  }
  const char* name = ::ptsname(t.master.get());
  if (name == nullptr) return absl::InternalError("ptsname of a new terminal failed");
  t.slave.Reset(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!t.slave) return absl::InternalError(absl::StrCat("open ", name, ": ", std::strerror(errno)));
  return t;
}

// Copies the node's `source` to `path` (relative, e.g. "etc/hosts") inside the rootfs, every
// step resolved beneath it: a hostile image's links cannot lead the write outside.
absl::Status CopyIntoRootfs(const std::string& rootfs, const std::string& source,
                            const char* path) {
  if (source.empty()) return absl::OkStatus();
  UniqueFd root(::open(rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  UniqueFd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (!root || !in) {
    return absl::InternalError(
        absl::StrCat("copy ", source, " into the container: ", std::strerror(errno)));
  }
  UniqueFd out(::openat(root.get(), path,
                        O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_RESOLVE_BENEATH | O_CLOEXEC,
                        0644));
  if (!out) {
    return absl::InternalError(
        absl::StrCat("write /", path, " in the container: ", std::strerror(errno)));
  }
  char buf[8192];
  ssize_t n;
  while ((n = ::read(in.get(), buf, sizeof(buf))) > 0) {
    if (::write(out.get(), buf, static_cast<size_t>(n)) != n) {
      return absl::InternalError(absl::StrCat("write /", path, ": ", std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

JailProcessSpec ProcessOf(const nlohmann::json& s, int jid, const std::string& name,
                          const ShimStdio& stdio) {
  JailProcessSpec p;
  p.jid = jid;
  p.jail_name = name;
  p.argv = s.value("argv", std::vector<std::string>{});
  p.env = s.value("env", std::vector<std::string>{});
  p.cwd = s.value("cwd", "/");
  p.uid = s.value("uid", 0u);
  p.gid = s.value("gid", 0u);
  p.additional_gids = s.value("gids", std::vector<uint32_t>{});
  p.stdin_fd = stdio.in;
  p.stdout_fd = stdio.out;
  p.stderr_fd = stdio.err;
  p.tty = stdio.tty;
  return p;
}

class FreeBsdShimPlatform final : public ShimPlatform {
 public:
  FreeBsdShimPlatform(std::string pod_id, std::string pod_jail, freebsd::ProcessReaper reaper)
      : pod_id_(std::move(pod_id)), pod_jail_(std::move(pod_jail)), reaper_(std::move(reaper)) {}

  absl::StatusOr<pid_t> StartContainer(
      const std::string& id, const nlohmann::json& s, const ShimStdio& given,
      const std::function<pid_t(const std::string&)>& running_pid) override {
    if (!s.value("pid_ns", "").empty()) {
      return absl::InvalidArgumentError(
          "FreeBSD jails share no process table: a container's PID namespace can only be its "
          "own (namespace_options.pid CONTAINER)");
    }
    ContainerJailSpec spec;
    spec.pod_id = pod_id_;
    spec.container_id = id;
    spec.rootfs = s.value("rootfs", "");
    spec.linux_image = s.value("linux_image", false);
    spec.read_only_rootfs = s.value("read_only_rootfs", false);
    spec.privileged = s.value("privileged", false);
    for (const nlohmann::json& m : s.value("mounts", nlohmann::json::array())) {
      spec.mounts.push_back({m.value("host", ""), m.value("container", ""), m.value("ro", false),
                             MountPropagation::kPrivate});
    }
    freebsd::JailPlanOptions options;
    options.devfs_ruleset = s.value("devfs_ruleset", options.devfs_ruleset);
    absl::StatusOr<std::vector<freebsd::MountStep>> mounts =
        freebsd::PlanContainerMounts(spec, options);
    if (!mounts.ok()) return mounts.status();
    absl::StatusOr<std::vector<freebsd::JailParam>> params =
        freebsd::PlanContainerJail(spec, options);
    if (!params.ok()) return params.status();
    const std::pair<const char*, const char*> pod_files[] = {
        {"hostname_file", "etc/hostname"},
        {"hosts_file", "etc/hosts"},
        {"resolv_conf_file", "etc/resolv.conf"}};
    for (const auto& [key, path] : pod_files) {
      if (absl::Status st = CopyIntoRootfs(spec.rootfs, s.value(key, ""), path); !st.ok()) {
        return st;
      }
    }
    if (absl::Status st = freebsd::MountAll(*mounts); !st.ok()) return st;
    // Devices asked for under another name: links in the container's devfs, made beneath it.
    for (const auto& [link, target] :
         s.value("dev_links", std::vector<std::pair<std::string, std::string>>{})) {
      // The devfs just mounted, reached beneath the rootfs: never through an image's /dev link.
      UniqueFd root(::open(spec.rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      UniqueFd dev(
          root ? ::openat(root.get(), "dev", O_RDONLY | O_DIRECTORY | O_RESOLVE_BENEATH | O_CLOEXEC)
               : -1);
      if (!dev || link.find('/') != std::string::npos ||
          (::symlinkat(target.c_str(), dev.get(), link.c_str()) != 0 && errno != EEXIST)) {
        freebsd::UnmountAllUnder(spec.rootfs).IgnoreError();
        return absl::InternalError(
            absl::StrCat("link /dev/", link, " to ", target, ": ", std::strerror(errno)));
      }
    }
    const std::string name = freebsd::ContainerJailName(pod_id_, id);
    auto undo = [&] {
      freebsd::RemoveJail(name).IgnoreError();
      freebsd::UnmountAllUnder(spec.rootfs).IgnoreError();
    };
    absl::StatusOr<int> jid = freebsd::CreateJail(*params);
    if (!jid.ok()) {
      undo();
      return jid.status();
    }
    ShimStdio stdio = given;
    ShimTerminal terminal;
    if (given.tty) {
      absl::StatusOr<ShimTerminal> t = OpenPts();
      if (!t.ok()) {
        undo();
        return t.status();
      }
      terminal = *std::move(t);
      stdio.in = stdio.out = stdio.err = terminal.slave.get();
    }
    absl::StatusOr<pid_t> pid = freebsd::StartJailProcess(ProcessOf(s, *jid, name, stdio));
    if (!pid.ok()) {
      undo();
      return pid.status();
    }
    // The server waits for the terminal's master on the console socket, as Linux inits send it.
    if (given.tty && !SendDescriptor(given.console_socket, terminal.master.get())) {
      ::kill(*pid, SIGKILL);
      undo();
      return absl::InternalError("cannot hand over the container's terminal");
    }
    reaper_.Watch(*pid).IgnoreError();
    containers_[id] = {*jid, name, spec.rootfs, *pid};
    return *pid;
  }

  absl::StatusOr<ShimExec> StartExec(const nlohmann::json& s, pid_t container_pid,
                                     const std::vector<std::string>& container_scopes,
                                     const ShimStdio& stdio) override {
    const Jailed* c = nullptr;
    for (const auto& [id, jailed] : containers_) {
      if (jailed.init == container_pid) c = &jailed;
    }
    if (c == nullptr) return absl::NotFoundError("the container's jail is not known");
    absl::StatusOr<pid_t> pid = freebsd::StartJailProcess(ProcessOf(s, c->jid, c->name, stdio));
    if (!pid.ok()) return pid.status();
    reaper_.Watch(*pid).IgnoreError();
    // The command itself is the session (it leads its own process group, killed as one); its
    // failures to start were reported already, so the report is an empty pipe.
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) {
      ::kill(*pid, SIGKILL);
      return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
    }
    ::close(report[1]);
    return ShimExec{*pid, UniqueFd(report[0])};
  }

  std::optional<std::string> ExecFailure(int report_fd) override { return std::nullopt; }

  absl::StatusOr<ShimTerminal> OpenTerminal(pid_t container_pid) override { return OpenPts(); }

  void ContainerExited(const std::string& id) override {
    auto it = containers_.find(id);
    if (it == containers_.end()) return;
    freebsd::RemoveJail(it->second.name).IgnoreError();
    freebsd::UnmountAllUnder(it->second.rootfs).IgnoreError();
    containers_.erase(it);
  }

  absl::Status DestroyPod() override {
    for (const auto& [id, c] : containers_) freebsd::UnmountAllUnder(c.rootfs).IgnoreError();
    containers_.clear();
    return freebsd::RemoveJail(pod_jail_);  // and its children with it
  }

  void DrainWakeups(int wake_fd) override { reaper_.Drain(); }

 private:
  struct Jailed {
    int jid = -1;
    std::string name, rootfs;
    pid_t init = -1;
  };
  std::string pod_id_, pod_jail_;
  freebsd::ProcessReaper reaper_;
  std::map<std::string, Jailed> containers_;
};

}  // namespace

std::unique_ptr<ShimPlatform> NewFreeBsdShimPlatform(std::string pod_id, std::string pod_jail,
                                                     freebsd::ProcessReaper reaper) {
  return std::make_unique<FreeBsdShimPlatform>(std::move(pod_id), std::move(pod_jail),
                                               std::move(reaper));
}

}  // namespace stockade
