#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/rootfs_path.h"
#include "common/unique_fd.h"
#include "runtime/linux/clone_in_cgroup.h"
#include "runtime/linux/command_exec.h"
#include "runtime/linux/container_process.h"
#include "runtime/linux/container_terminal.h"
#include "runtime/linux/process_identity.h"

namespace stockade {
namespace {

// What the child sends back when a step fails: the step (with the path it was about) and
// errno. Nothing is sent on success: the pipe is close-on-exec, so EOF means the exec happened.
struct StepFailure {
  char step[256];
  int err;
};

// Everything the child needs, prepared before fork (no allocation after it).
struct Prepared {
  const ContainerProcessSpec* spec;
  std::vector<char*> argv, envp;
  PreparedIdentity identity;
  int report_fd;
  std::string oom_score_adj;  // "" to leave it
  int root_fd = -1;           // the rootfs (its bind mount), opened by the child
  int terminal_fd = -1;       // tty: the slave of the container's terminal
  bool share_mounts = false;  // a Bidirectional volume: "/" stays rshared, not rslave
  bool in_cgroup = false;     // made in its cgroup (CLONE_INTO_CGROUP): nothing to enter
};

[[noreturn]] void FailAt(const Prepared& p, const char* step, const char* path) {
  StepFailure f{};
  f.err = errno;
  if (path != nullptr) {
    std::snprintf(f.step, sizeof(f.step), "%s %s", step, path);
  } else {
    std::strncpy(f.step, step, sizeof(f.step) - 1);
  }
  ::write(p.report_fd, &f, sizeof(f));
  ::_exit(127);
}

[[noreturn]] void Fail(const Prepared& p, const char* step) { FailAt(p, step, nullptr); }

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
  // No copy of the list: this runs in the child of a raw clone.
  for (size_t i = 0; !p.in_cgroup && i < p.spec->cgroup_procs_files.size(); ++i) {
    int fd = ::open(p.spec->cgroup_procs_files[i].c_str(), O_WRONLY | O_CLOEXEC);
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

// As runc: "/" rslave (host mounts still reach HostToContainer volumes; nothing goes back),
// or rshared when a Bidirectional volume must send its mounts to the host. The rootfs is made
// private (pivot_root refuses a shared parent) and bound onto itself to be a mount point;
// every later path in it is resolved from the descriptor of that bind.
void MakeRootfsMount(Prepared& p) {
  const char* rootfs = p.spec->rootfs.c_str();
  const unsigned long root_propagation = p.share_mounts ? MS_SHARED : MS_SLAVE;
  if (::mount(nullptr, "/", nullptr, MS_REC | root_propagation, nullptr) != 0) {
    Fail(p, "set the propagation of /");
  }
  ::mount(nullptr, rootfs, nullptr, MS_PRIVATE, nullptr);  // EINVAL when not a mount point
  if (::mount(rootfs, rootfs, nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    Fail(p, "bind the rootfs");
  }
  if (::mount(nullptr, rootfs, nullptr, MS_PRIVATE, nullptr) != 0) {
    Fail(p, "make the rootfs private");
  }
  p.root_fd = ::open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (p.root_fd < 0) Fail(p, "open the rootfs");
}

// A filesystem mounted at `path` inside the rootfs (the directory made there if missing).
void MountInRoot(const Prepared& p, const char* path, const char* type, unsigned long flags,
                 const char* data) {
  const int target = MountTargetInRoot(p.root_fd, path, /*directory=*/true);
  if (target < 0) FailAt(p, "make the mount point", path);
  FdPathBuffer buf;
  if (::mount(type, FdPath(target, buf), type, flags, data) != 0) FailAt(p, "mount", path);
  ::close(target);
}

void MountSystemFilesystems(const Prepared& p) {
  const ContainerProcessSpec& s = *p.spec;
  MountInRoot(p, "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  MountInRoot(p, "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | (s.privileged ? 0 : MS_RDONLY),
              nullptr);
  MountInRoot(p, "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
}

void PopulateDev(const Prepared& p) {
  // The fresh tmpfs just mounted (wherever the image's /dev led, within the rootfs).
  const int dev = OpenInRoot(p.root_fd, "/dev", O_PATH | O_DIRECTORY);
  if (dev < 0) Fail(p, "open /dev");
  // Bind the host's nodes: works wherever mknod would be refused.
  for (const char* node : {"null", "zero", "full", "random", "urandom", "tty"}) {
    const int made = ::openat(dev, node, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (made < 0) FailAt(p, "make /dev node", node);
    ::close(made);
    const int target = ::openat(dev, node, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    char source[32];
    std::snprintf(source, sizeof(source), "/dev/%s", node);
    FdPathBuffer buf;
    if (target < 0 || ::mount(source, FdPath(target, buf), nullptr, MS_BIND, nullptr) != 0) {
      FailAt(p, "bind", source);
    }
    ::close(target);
  }
  MountInRoot(p, "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=0620");
  MountInRoot(p, "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
  MountInRoot(p, "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  const std::pair<const char*, const char*> links[] = {{"/proc/self/fd", "fd"},
                                                       {"/proc/self/fd/0", "stdin"},
                                                       {"/proc/self/fd/1", "stdout"},
                                                       {"/proc/self/fd/2", "stderr"},
                                                       {"pts/ptmx", "ptmx"}};
  for (const auto& [target, link] : links) ::symlinkat(target, dev, link);
  ::close(dev);
}

// Binds the node's `source` at `path` inside the rootfs: the target is resolved within the
// rootfs and made there when missing (a directory, or an empty file for a file), the mount is
// made onto its descriptor, and read-only and propagation are set on the new mount.
void BindInRoot(const Prepared& p, const std::string& source, const std::string& path,
                bool read_only, unsigned long propagation, const char* step) {
  struct stat st;
  if (::stat(source.c_str(), &st) != 0) FailAt(p, step, source.c_str());
  const int target = MountTargetInRoot(p.root_fd, path.c_str(), S_ISDIR(st.st_mode));
  if (target < 0) FailAt(p, step, path.c_str());
  FdPathBuffer buf;
  if (::mount(source.c_str(), FdPath(target, buf), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    FailAt(p, step, path.c_str());
  }
  ::close(target);
  // The descriptor above is of the covered file; the new mount is what the path leads to now.
  const int mounted = OpenInRoot(p.root_fd, path.c_str(), O_PATH);
  if (mounted < 0) FailAt(p, step, path.c_str());
  if (read_only && ::mount(nullptr, FdPath(mounted, buf), nullptr,
                           MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, nullptr) != 0) {
    FailAt(p, step, path.c_str());
  }
  if (propagation != 0 &&
      ::mount(nullptr, FdPath(mounted, buf), nullptr, MS_REC | propagation, nullptr) != 0) {
    FailAt(p, "set the propagation of", path.c_str());
  }
  ::close(mounted);
}

void MountPodFilesAndVolumes(const Prepared& p) {
  const ContainerProcessSpec& s = *p.spec;
  const std::pair<const std::string*, const char*> pod_files[] = {
      {&s.hostname_file, "/etc/hostname"},
      {&s.hosts_file, "/etc/hosts"},
      {&s.resolv_conf_file, "/etc/resolv.conf"}};
  for (const auto& [source, path] : pod_files) {
    if (!source->empty()) BindInRoot(p, *source, path, true, 0, "bind the pod's file at");
  }
  for (const VolumeMount& m : s.mounts) {
    unsigned long propagation = MS_PRIVATE;
    if (m.propagation == MountPropagation::kHostToContainer) propagation = MS_SLAVE;
    if (m.propagation == MountPropagation::kBidirectional) propagation = MS_SHARED;
    BindInRoot(p, m.host_path, m.container_path, m.read_only, propagation, "bind a volume at");
  }
}

// Made inside the rootfs when missing, as runc does.
void MakeWorkingDirectory(const Prepared& p) {
  const int cwd = MakeDirectoriesInRoot(p.root_fd, p.spec->cwd.c_str(), 0755);
  if (cwd < 0) FailAt(p, "make the working directory", p.spec->cwd.c_str());
  ::close(cwd);
}

void PivotRoot(const Prepared& p) {
  const int old_root = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (old_root < 0) Fail(p, "open /");
  if (::fchdir(p.root_fd) != 0) Fail(p, "chdir to the rootfs");
  // pivot_root(".", "."): the old root ends up stacked on the new one, then detached; made a
  // slave first so that its unmounting never propagates to the node. From the old root's own
  // descriptor, as runc: "." after pivot_root may be the new root, which must keep the
  // propagation its volumes were given.
  if (::syscall(SYS_pivot_root, ".", ".") != 0) Fail(p, "pivot_root");
  if (::fchdir(old_root) != 0) Fail(p, "chdir to the old root");
  ::close(old_root);
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
    Fail(p, "make the old root a slave");
  }
  if (::umount2(".", MNT_DETACH) != 0) Fail(p, "detach the old root");
  if (::chdir("/") != 0) Fail(p, "chdir /");
  ::close(p.root_fd);
  if (p.spec->read_only_rootfs &&
      ::mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
    Fail(p, "make the rootfs read-only");
  }
}

// After pivot_root, so the paths are the container's own (/proc/... of its PID namespace);
// resolved within the new root all the same, and mounted through their descriptors.
void MaskAndProtectPaths(const Prepared& p) {
  const int root = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) Fail(p, "open /");
  FdPathBuffer buf;
  for (const std::string& path : p.spec->masked_paths) {
    const int fd = OpenInRoot(root, path.c_str(), O_PATH | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || ::fstat(fd, &st) != 0) continue;  // not in this container: nothing to hide
    const int rc = S_ISDIR(st.st_mode)
                       ? ::mount("tmpfs", FdPath(fd, buf), "tmpfs", MS_RDONLY, "size=0")
                       : ::mount("/dev/null", FdPath(fd, buf), nullptr, MS_BIND, nullptr);
    if (rc != 0) FailAt(p, "mask", path.c_str());
    ::close(fd);
  }
  for (const std::string& path : p.spec->readonly_paths) {
    const int fd = OpenInRoot(root, path.c_str(), O_PATH | O_NOFOLLOW);
    if (fd < 0) continue;
    if (::mount(FdPath(fd, buf), FdPath(fd, buf), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
      FailAt(p, "make read-only", path.c_str());
    }
    ::close(fd);
    const int mounted = OpenInRoot(root, path.c_str(), O_PATH | O_NOFOLLOW);
    if (mounted < 0 || ::mount(nullptr, FdPath(mounted, buf), nullptr,
                               MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, nullptr) != 0) {
      FailAt(p, "make read-only", path.c_str());
    }
    ::close(mounted);
  }
  ::close(root);
}

// tty: a terminal from the container's devpts (the process's root is the container's now), the
// slave owned by the process's user, the master sent out. Before the identity is dropped.
void OpenConsole(Prepared& p) {
  if (!p.spec->tty) return;
  const int master = ::open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  struct stat st;
  if (master < 0 || ::fstat(master, &st) != 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 ||
      minor(st.st_rdev) != 2) {
    Fail(p, "open the container's /dev/pts/ptmx");
  }
  int unlock = 0;
  if (::ioctl(master, TIOCSPTLCK, &unlock) != 0) Fail(p, "unlock the terminal");
  p.terminal_fd = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (p.terminal_fd < 0) Fail(p, "open the terminal");
  if (::fchown(p.terminal_fd, p.spec->uid, p.spec->gid) != 0) Fail(p, "chown the terminal");
  if (!SendDescriptor(p.spec->console_socket, master)) Fail(p, "send the terminal");
  ::close(master);
}

void DropToUserAndCapabilities(const Prepared& p) {
  if (const char* step = ApplyIdentity(p.identity); step != nullptr) Fail(p, step);
}

// Last, so that the set-up's own system calls are not filtered.
void LoadSeccompFilter(const Prepared& p) {
  if (const char* step = LoadSeccomp(p.identity); step != nullptr) Fail(p, step);
}

void SetUpStdio(const Prepared& p) {
  if (p.spec->tty) {
    for (int fd = 0; fd < 3; ++fd) ::dup2(p.terminal_fd, fd);
    if (::setsid() < 0 || ::ioctl(0, TIOCSCTTY, 0) != 0) {
      Fail(p, "make the terminal the controlling one");
    }
    return;
  }
  int devnull = ::open("/dev/null", O_RDWR);
  ::dup2(p.spec->stdin_fd >= 0 ? p.spec->stdin_fd : devnull, 0);
  ::dup2(p.spec->stdout_fd >= 0 ? p.spec->stdout_fd : devnull, 1);
  ::dup2(p.spec->stderr_fd >= 0 ? p.spec->stderr_fd : devnull, 2);
}

// The container's whole set-up, in order. Runs as PID 1 of the new PID namespace.
[[noreturn]] void ContainerInit(Prepared& p) {
  EnterCgroupAndScoreOom(p);
  MakeRootfsMount(p);
  MountSystemFilesystems(p);
  PopulateDev(p);
  MountPodFilesAndVolumes(p);
  MakeWorkingDirectory(p);
  PivotRoot(p);
  MaskAndProtectPaths(p);
  OpenConsole(p);
  DropToUserAndCapabilities(p);
  if (::chdir(p.spec->cwd.c_str()) != 0) Fail(p, "chdir to the working directory");
  SetUpStdio(p);
  ResetSignalsForExec();
  CloseInheritedDescriptorsOnExec();
  LoadSeccompFilter(p);
  ExecWithContainerPath(p.argv[0], p.argv.data(), p.envp.data());
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
  for (const VolumeMount& m : spec.mounts) {
    p.share_mounts |= m.propagation == MountPropagation::kBidirectional;
  }
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
      CLONE_NEWNS | (spec.new_pid_namespace && spec.pid_ns.empty() ? CLONE_NEWPID : 0);
  const UniqueFd cgroup = OpenCgroup2Directory(spec.cgroup_procs_files);
  bool in_cgroup = false;
  const pid_t pid = CloneInCgroup(flags, cgroup, &in_cgroup);
  if (pid == 0) {
    p.in_cgroup = in_cgroup;
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
  return ContainerProcess{pid, in_cgroup};
}

}  // namespace stockade
