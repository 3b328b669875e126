#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "runtime/common/errors.h"
#include "runtime/common/unique_fd.h"
#include "runtime/linux/container_process.h"
#include "runtime/linux/process_identity.h"

namespace stockade {
namespace {

// What the child sends back when a step fails: the step and errno. Nothing is sent on success:
// the pipe is close-on-exec, so EOF means the exec happened.
struct StepFailure {
  char step[64];
  int err;
};

// Everything the child needs, prepared before fork (no allocation after it).
struct Prepared {
  const ContainerProcessSpec* spec;
  std::vector<char*> argv, envp;
  PreparedIdentity identity;
  int report_fd;
  std::string oom_score_adj;  // "" to leave it
};

[[noreturn]] void Fail(const Prepared& p, const char* step) {
  StepFailure f{};
  std::strncpy(f.step, step, sizeof(f.step) - 1);
  f.err = errno;
  ::write(p.report_fd, &f, sizeof(f));
  ::_exit(127);
}

std::string In(const ContainerProcessSpec& s, const char* path) { return s.rootfs + path; }

// -- the steps, in order ---------------------------------------------------------------

void JoinPodNamespaces(const Prepared& p) {
  const ContainerProcessSpec& s = *p.spec;
  const std::pair<const std::string*, int> joins[] = {
      {&s.net_ns, CLONE_NEWNET}, {&s.uts_ns, CLONE_NEWUTS}, {&s.ipc_ns, CLONE_NEWIPC}};
  for (const auto& [path, type] : joins) {
    if (path->empty()) continue;
    int fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, type) != 0) Fail(p, "join a pod namespace");
    ::close(fd);
  }
}

// Before anything else, so that every allocation of the set-up is accounted to the container.
void EnterCgroupAndScoreOom(const Prepared& p) {
  for (const std::string& file : p.spec->cgroup_procs_files) {
    int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::write(fd, "0", 1) != 1) Fail(p, "enter the container's cgroup");
    ::close(fd);
  }
  if (!p.oom_score_adj.empty()) {
    int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::write(fd, p.oom_score_adj.data(), p.oom_score_adj.size()) < 0) {
      Fail(p, "set oom_score_adj");
    }
    ::close(fd);
  }
}

void MakePrivateMounts(const Prepared& p) {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    Fail(p, "make mounts private");
  }
  // pivot_root wants the new root to be a mount point.
  if (::mount(p.spec->rootfs.c_str(), p.spec->rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) !=
      0) {
    Fail(p, "bind the rootfs");
  }
}

void MountAt(const Prepared& p, const std::string& target, const char* type, unsigned long flags,
             const char* data, const char* step) {
  ::mkdir(target.c_str(), 0755);
  if (::mount(type, target.c_str(), type, flags, data) != 0) Fail(p, step);
}

void MountSystemFilesystems(const Prepared& p) {
  const ContainerProcessSpec& s = *p.spec;
  MountAt(p, In(s, "/proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr, "mount /proc");
  MountAt(p, In(s, "/sys"), "sysfs",
          MS_NOSUID | MS_NODEV | MS_NOEXEC | (s.privileged ? 0 : MS_RDONLY), nullptr, "mount /sys");
  MountAt(p, In(s, "/dev"), "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k",
          "mount /dev");
}

void PopulateDev(const Prepared& p) {
  const ContainerProcessSpec& s = *p.spec;
  // Bind the host's nodes: works wherever mknod would be refused.
  for (const char* node : {"null", "zero", "full", "random", "urandom", "tty"}) {
    const std::string target = In(s, "/dev/") + node;
    int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    if (fd >= 0) ::close(fd);
    const std::string source = std::string("/dev/") + node;
    if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      Fail(p, "bind a /dev node");
    }
  }
  MountAt(p, In(s, "/dev/pts"), "devpts", MS_NOSUID | MS_NOEXEC,
          "newinstance,ptmxmode=0666,mode=0620", "mount /dev/pts");
  MountAt(p, In(s, "/dev/shm"), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k",
          "mount /dev/shm");
  MountAt(p, In(s, "/dev/mqueue"), "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr,
          "mount /dev/mqueue");
  const std::pair<const char*, const char*> links[] = {{"/proc/self/fd", "/dev/fd"},
                                                       {"/proc/self/fd/0", "/dev/stdin"},
                                                       {"/proc/self/fd/1", "/dev/stdout"},
                                                       {"/proc/self/fd/2", "/dev/stderr"},
                                                       {"pts/ptmx", "/dev/ptmx"}};
  for (const auto& [target, link] : links) ::symlink(target, In(s, link).c_str());
}

void BindFile(const Prepared& p, const std::string& source, const std::string& target,
              bool read_only, const char* step) {
  struct stat st;
  if (::stat(source.c_str(), &st) != 0) Fail(p, step);
  if (S_ISDIR(st.st_mode)) {
    ::mkdir(target.c_str(), 0755);
  } else {
    int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) ::close(fd);
  }
  if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    Fail(p, step);
  }
  if (read_only && ::mount(nullptr, target.c_str(), nullptr,
                           MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, nullptr) != 0) {
    Fail(p, step);
  }
}

void MountPodFilesAndVolumes(const Prepared& p) {
  const ContainerProcessSpec& s = *p.spec;
  if (!s.hostname_file.empty())
    BindFile(p, s.hostname_file, In(s, "/etc/hostname"), true, "bind /etc/hostname");
  if (!s.hosts_file.empty())
    BindFile(p, s.hosts_file, In(s, "/etc/hosts"), true, "bind /etc/hosts");
  if (!s.resolv_conf_file.empty()) {
    BindFile(p, s.resolv_conf_file, In(s, "/etc/resolv.conf"), true, "bind /etc/resolv.conf");
  }
  for (const VolumeMount& m : s.mounts) {
    BindFile(p, m.host_path, s.rootfs + m.container_path, m.read_only, "bind a volume");
    unsigned long propagation = MS_PRIVATE;
    if (m.propagation == MountPropagation::kHostToContainer) propagation = MS_SLAVE;
    if (m.propagation == MountPropagation::kBidirectional) propagation = MS_SHARED;
    const std::string target = s.rootfs + m.container_path;
    if (::mount(nullptr, target.c_str(), nullptr, MS_REC | propagation, nullptr) != 0) {
      Fail(p, "set a volume's propagation");
    }
  }
}

void PivotRoot(const Prepared& p) {
  if (::chdir(p.spec->rootfs.c_str()) != 0) Fail(p, "chdir to the rootfs");
  // pivot_root(".", "."): the old root ends up stacked under the new one, then detached.
  if (::syscall(SYS_pivot_root, ".", ".") != 0) Fail(p, "pivot_root");
  if (::umount2(".", MNT_DETACH) != 0) Fail(p, "detach the old root");
  if (::chdir("/") != 0) Fail(p, "chdir /");
  if (p.spec->read_only_rootfs &&
      ::mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
    Fail(p, "make the rootfs read-only");
  }
}

// After pivot_root, so the paths are the container's own (/proc/... of its PID namespace).
void MaskAndProtectPaths(const Prepared& p) {
  for (const std::string& path : p.spec->masked_paths) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;  // not in this container: nothing to hide
    const int rc = S_ISDIR(st.st_mode)
                       ? ::mount("tmpfs", path.c_str(), "tmpfs", MS_RDONLY, "size=0")
                       : ::mount("/dev/null", path.c_str(), nullptr, MS_BIND, nullptr);
    if (rc != 0) Fail(p, "mask a path");
  }
  for (const std::string& path : p.spec->readonly_paths) {
    if (::access(path.c_str(), F_OK) != 0) continue;
    if (::mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0 ||
        ::mount(nullptr, path.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC,
                nullptr) != 0) {
      Fail(p, "make a path read-only");
    }
  }
}

void DropToUserAndCapabilities(const Prepared& p) {
  if (const char* step = ApplyIdentity(p.identity); step != nullptr) Fail(p, step);
}

// Last, so that the set-up's own system calls are not filtered.
void LoadSeccompFilter(const Prepared& p) {
  if (const char* step = LoadSeccomp(p.identity); step != nullptr) Fail(p, step);
}

void SetUpStdio(const Prepared& p) {
  int devnull = ::open("/dev/null", O_RDWR);
  ::dup2(devnull, 0);
  ::dup2(p.spec->stdout_fd >= 0 ? p.spec->stdout_fd : devnull, 1);
  ::dup2(p.spec->stderr_fd >= 0 ? p.spec->stderr_fd : devnull, 2);
}

// The container's whole set-up, in order. Runs as PID 1 of the new PID namespace.
[[noreturn]] void ContainerInit(const Prepared& p) {
  EnterCgroupAndScoreOom(p);
  MakePrivateMounts(p);
  MountSystemFilesystems(p);
  PopulateDev(p);
  MountPodFilesAndVolumes(p);
  PivotRoot(p);
  MaskAndProtectPaths(p);
  DropToUserAndCapabilities(p);
  if (::chdir(p.spec->cwd.c_str()) != 0) Fail(p, "chdir to the working directory");
  SetUpStdio(p);
  LoadSeccompFilter(p);
  ::execvpe(p.argv[0], p.argv.data(), p.envp.data());
  Fail(p, "exec the command");
}

}  // namespace

absl::StatusOr<ContainerProcess> StartContainerProcess(const ContainerProcessSpec& spec) {
  if (spec.argv.empty()) return absl::InvalidArgumentError("no command to run");
  if (spec.rootfs.empty() || spec.rootfs.front() != '/') {
    return absl::InvalidArgumentError("rootfs must be an absolute path");
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe");
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  Prepared p{&spec, {}, {}, {}, write_end.get(), ""};
  p.identity = PrepareIdentity(spec.uid, spec.gid, spec.additional_gids,
                               std::vector<int>(spec.capabilities.begin(), spec.capabilities.end()),
                               spec.no_new_privs);
  p.identity.seccomp_filter = &spec.seccomp_filter;
  if (spec.oom_score_adj) p.oom_score_adj = std::to_string(*spec.oom_score_adj);
  for (const std::string& a : spec.argv) p.argv.push_back(const_cast<char*>(a.c_str()));
  p.argv.push_back(nullptr);
  for (const std::string& e : spec.env) p.envp.push_back(const_cast<char*>(e.c_str()));
  p.envp.push_back(nullptr);

  // Joining a PID namespace applies to the children made after setns: ours for one clone.
  UniqueFd own_pid_ns;
  if (!spec.pid_ns.empty()) {
    own_pid_ns.Reset(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
    UniqueFd target(::open(spec.pid_ns.c_str(), O_RDONLY | O_CLOEXEC));
    if (!own_pid_ns || !target || ::setns(target.get(), CLONE_NEWPID) != 0) {
      return ErrnoError(errno, absl::StrCat("join the PID namespace ", spec.pid_ns));
    }
  }
  // clone with a new mount namespace (and PID namespace: the child is its PID 1).
  const int flags =
      CLONE_NEWNS | (spec.new_pid_namespace && spec.pid_ns.empty() ? CLONE_NEWPID : 0) | SIGCHLD;
  const pid_t pid = static_cast<pid_t>(::syscall(SYS_clone, flags, nullptr, nullptr, nullptr, 0));
  if (pid == 0) {
    JoinPodNamespaces(p);
    ContainerInit(p);
  }
  const int clone_errno = errno;
  if (own_pid_ns) ::setns(own_pid_ns.get(), CLONE_NEWPID);
  if (pid < 0) return ErrnoError(clone_errno, "clone the container process");
  write_end.Reset();
  StepFailure failure{};
  const ssize_t n = ::read(read_end.get(), &failure, sizeof(failure));
  if (n == sizeof(failure)) {
    ::waitpid(pid, nullptr, 0);
    return ErrnoError(failure.err, absl::StrCat("start container: ", failure.step));
  }
  return ContainerProcess{pid};
}

}  // namespace stockade
