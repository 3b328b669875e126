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
  std::vector<gid_t> groups;
  int report_fd;
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
  MountAt(p, In(s, "/sys"), "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, nullptr,
          "mount /sys");
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
  const ContainerProcessSpec& s = *p.spec;
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    if (s.capabilities.count(cap) == 0 && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 &&
        errno != EINVAL) {
      Fail(p, "drop a bounding capability");
    }
  }
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) Fail(p, "keep capabilities");
  if (::setgroups(p.groups.size(), p.groups.data()) != 0) Fail(p, "setgroups");
  if (::setresgid(s.gid, s.gid, s.gid) != 0) Fail(p, "setgid");
  if (::setresuid(s.uid, s.uid, s.uid) != 0) Fail(p, "setuid");
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  for (int cap : s.capabilities) {
    data[cap / 32].effective |= 1u << (cap % 32);
    data[cap / 32].permitted |= 1u << (cap % 32);
  }
  if (::syscall(SYS_capset, &header, data) != 0) Fail(p, "set capabilities");
  if (s.no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) Fail(p, "no_new_privs");
}

void SetUpStdio(const Prepared& p) {
  int devnull = ::open("/dev/null", O_RDWR);
  ::dup2(devnull, 0);
  ::dup2(p.spec->stdout_fd >= 0 ? p.spec->stdout_fd : devnull, 1);
  ::dup2(p.spec->stderr_fd >= 0 ? p.spec->stderr_fd : devnull, 2);
}

// The container's whole set-up, in order. Runs as PID 1 of the new PID namespace.
[[noreturn]] void ContainerInit(const Prepared& p) {
  MakePrivateMounts(p);
  MountSystemFilesystems(p);
  PopulateDev(p);
  MountPodFilesAndVolumes(p);
  PivotRoot(p);
  MaskAndProtectPaths(p);
  DropToUserAndCapabilities(p);
  if (::chdir(p.spec->cwd.c_str()) != 0) Fail(p, "chdir to the working directory");
  SetUpStdio(p);
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
  Prepared p{&spec, {}, {}, {}, write_end.get()};
  for (const std::string& a : spec.argv) p.argv.push_back(const_cast<char*>(a.c_str()));
  p.argv.push_back(nullptr);
  for (const std::string& e : spec.env) p.envp.push_back(const_cast<char*>(e.c_str()));
  p.envp.push_back(nullptr);
  p.groups.assign(spec.additional_gids.begin(), spec.additional_gids.end());

  // clone with new mount and PID namespaces: the child is PID 1 of its own PID namespace.
  const pid_t pid = static_cast<pid_t>(
      ::syscall(SYS_clone, CLONE_NEWNS | CLONE_NEWPID | SIGCHLD, nullptr, nullptr, nullptr, 0));
  if (pid < 0) return ErrnoError(errno, "clone the container process");
  if (pid == 0) {
    JoinPodNamespaces(p);
    ContainerInit(p);
  }
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
