#include <fcntl.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/unique_fd.h"
#include "runtime/linux/pod_namespaces.h"

namespace stockade {
namespace {

// In the holder, after unshare: the loopback interface up, as every pod expects.
int BringLoopbackUp() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  struct ifreq ifr {};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  int err = 0;
  if (::ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
    err = errno;
  } else {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (::ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) err = errno;
  }
  ::close(fd);
  return err;
}

// The pod's PID 1 when it has its own PID namespace: reaps what is re-parented to it, as
// kubernetes' pause does, and dies with the holder.
[[noreturn]] void RunPidInit() {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGCHLD, [](int) {
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  });
  while (true) ::pause();
}

// Writes "value" to /proc/sys/<key with dots as slashes>; an errno on failure.
int WriteSysctl(const char* path, const char* value) {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  const ssize_t n = ::write(fd, value, std::strlen(value));
  const int err = n < 0 ? errno : 0;
  ::close(fd);
  return err;
}

struct HolderPlan {
  int join_net_fd = -1;  // setns into it before unsharing the rest
  int flags;
  const char* hostname;
  std::vector<std::pair<std::string, std::string>> sysctls;  // /proc/sys path, value
};

// The holder's whole life: make the namespaces, report (0 or an errno, and which step), wait.
[[noreturn]] void RunHolder(int report_fd, const HolderPlan& plan) {
  struct Report {
    int step;
    int err;
    pid_t init;
  } report{0, 0, 0};
  // The holder never outlives its shim.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (plan.join_net_fd >= 0 && ::setns(plan.join_net_fd, CLONE_NEWNET) != 0) {
    report = {6, errno, 0};
  } else if (::unshare(plan.flags) != 0) {
    report = {1, errno, 0};
  } else if (plan.hostname[0] != '\0' &&
             ::sethostname(plan.hostname, std::strlen(plan.hostname)) != 0) {
    report = {2, errno, 0};
  } else if ((plan.flags & CLONE_NEWNET) != 0) {
    if (int err = BringLoopbackUp(); err != 0) report = {3, err, 0};
  }
  for (const auto& [path, value] : plan.sysctls) {
    if (report.err != 0) break;
    if (int err = WriteSysctl(path.c_str(), value.c_str()); err != 0) report = {4, err, 0};
  }
  if (report.err == 0 && (plan.flags & CLONE_NEWPID) != 0) {
    const pid_t init = ::fork();
    if (init == 0) RunPidInit();
    if (init < 0) report = {5, errno, 0};
    report.init = init;
  }
  ::write(report_fd, &report, sizeof(report));
  ::close(report_fd);
  if (report.err != 0) ::_exit(1);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  while (true) ::pause();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PodNamespaces>> PodNamespaces::Create(
    const PodNamespaceOptions& options) {
  if (options.pod_id.empty() || options.pod_id.find('/') != std::string::npos) {
    return absl::InvalidArgumentError("pod id must be a plain name");
  }
  if (options.hostname.size() > 64) {
    return absl::InvalidArgumentError("hostname is longer than the 64 bytes Linux allows");
  }
  HolderPlan plan{-1, CLONE_NEWUTS, nullptr, {}};
  UniqueFd join_net;
  if (options.new_network && !options.join_network.empty()) {
    join_net.Reset(::open(options.join_network.c_str(), O_RDONLY | O_CLOEXEC));
    if (!join_net) {
      return ErrnoError(errno, absl::StrCat("open the network namespace ", options.join_network));
    }
    if (::ioctl(join_net.get(), NS_GET_NSTYPE) != CLONE_NEWNET) {
      return absl::InvalidArgumentError(
          absl::StrCat(options.join_network, " is not a network namespace"));
    }
    plan.join_net_fd = join_net.get();
  } else if (options.new_network) {
    plan.flags |= CLONE_NEWNET;
  }
  if (options.new_ipc) plan.flags |= CLONE_NEWIPC;
  if (options.new_pid) plan.flags |= CLONE_NEWPID;
  for (const auto& [key, value] : options.sysctls) {
    std::string path = "/proc/sys/" + key;
    std::replace(path.begin() + 10, path.end(), '.', '/');
    plan.sysctls.push_back({path, value});
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe");
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  const std::string hostname = options.hostname;  // copied before fork: no allocation after
  plan.hostname = hostname.c_str();
  const pid_t pid = ::fork();
  if (pid < 0) return ErrnoError(errno, "fork the pod namespace holder");
  if (pid == 0) RunHolder(write_end.get(), plan);
  write_end.Reset();

  struct {
    int step;
    int err;
    pid_t init;
  } report{};
  auto fail = [&](absl::Status s) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return s;
  };
  if (::read(read_end.get(), &report, sizeof(report)) != sizeof(report)) {
    return fail(absl::InternalError("the pod namespace holder died before reporting"));
  }
  if (report.err != 0) {
    static constexpr const char* kSteps[] = {"",
                                             "unshare namespaces",
                                             "set the hostname",
                                             "bring lo up",
                                             "set a sysctl",
                                             "start the pod's PID 1",
                                             "join the network namespace"};
    return fail(ErrnoError(report.err, kSteps[report.step]));
  }

  std::string netns_path;
  if (options.new_network) {
    std::error_code ec;
    std::filesystem::create_directories(options.netns_dir, ec);
    if (ec) return fail(ErrnoError(ec.value(), absl::StrCat("create ", options.netns_dir)));
    netns_path = absl::StrCat(options.netns_dir, "/", options.pod_id);
    UniqueFd placeholder(::open(netns_path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0444));
    if (!placeholder) return fail(ErrnoError(errno, absl::StrCat("create ", netns_path)));
    const std::string source = absl::StrCat("/proc/", pid, "/ns/net");
    if (::mount(source.c_str(), netns_path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      absl::Status s = ErrnoError(errno, absl::StrCat("bind ", source, " to ", netns_path));
      ::unlink(netns_path.c_str());
      return fail(s);
    }
  }
  std::unique_ptr<PodNamespaces> pod(
      new PodNamespaces(pid, std::move(netns_path), options.new_pid));
  // Opened now, while the holder is surely ours: later joins go through these descriptors.
  for (const char* kind : {"net", "uts", "ipc", "pid_for_children"}) {
    if (std::string(kind) == "pid_for_children" && !options.new_pid) continue;
    const std::string path = absl::StrCat("/proc/", pid, "/ns/", kind);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      absl::Status s = ErrnoError(errno, absl::StrCat("open the pod's namespace ", path));
      pod->Destroy().IgnoreError();
      return s;
    }
    pod->namespace_fds_[kind == std::string("pid_for_children") ? "pid" : kind] = std::move(fd);
  }
  return pod;
}

PodNamespaces::~PodNamespaces() { Destroy().IgnoreError(); }

std::string PodNamespaces::NamespacePath(const std::string& kind) const {
  // For "pid": the holder itself stays in the node's; its children (the init) are in the pod's,
  // which is what its pid_for_children descriptor names.
  auto it = namespace_fds_.find(kind);
  if (it == namespace_fds_.end()) return "";
  return absl::StrCat("/proc/self/fd/", it->second.get());
}

absl::Status PodNamespaces::Destroy() {
  absl::Status result;
  if (!netns_path_.empty()) {
    if (::umount2(netns_path_.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
      result = ErrnoError(errno, absl::StrCat("unmount ", netns_path_));
    }
    ::unlink(netns_path_.c_str());
    netns_path_.clear();
  }
  namespace_fds_.clear();
  if (holder_ > 0) {
    ::kill(holder_, SIGKILL);
    ::waitpid(holder_, nullptr, 0);
    holder_ = -1;
  }
  return result;
}

}  // namespace stockade
