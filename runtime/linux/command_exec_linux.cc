#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "runtime/linux/command_exec.h"

namespace stockade {
namespace {

constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const char* PathOf(char* const envp[]) {
  for (char* const* e = envp; *e != nullptr; ++e) {
    if (std::strncmp(*e, "PATH=", 5) == 0) return *e + 5;
  }
  return kDefaultPath;
}

}  // namespace

void CloseInheritedDescriptorsOnExec() {
  // Linux 5.11+ (bookworm has 6.1); on older kernels each descriptor is marked by hand.
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  const long max = ::sysconf(_SC_OPEN_MAX);
  for (int fd = 3; fd < (max > 0 ? max : 1024); ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

void ResetSignalsForExec() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    if (::sigaction(sig, &dfl, nullptr) != 0) {
      // glibc's own two (32, 33: thread cancellation and set*id) are refused by its sigaction;
      // glibc's posix_spawn, which starts the shim, leaves them ignored, and an ignored signal
      // stays ignored across exec. The system call itself sets them to default.
      struct {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)();
        uint64_t mask;
      } kernel_dfl{SIG_DFL, 0, nullptr, 0};
      ::syscall(SYS_rt_sigaction, sig, &kernel_dfl, nullptr, sizeof(kernel_dfl.mask));
    }
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

void ExecWithContainerPath(const char* file, char* const argv[], char* const envp[]) {
  if (std::strchr(file, '/') != nullptr) {
    ::execve(file, argv, envp);
    return;
  }
  const size_t file_length = std::strlen(file);
  int best_errno = ENOENT;
  const char* dir = PathOf(envp);
  while (true) {
    const char* end = std::strchr(dir, ':');
    const size_t dir_length = end != nullptr ? static_cast<size_t>(end - dir) : std::strlen(dir);
    char candidate[4096];
    // An empty entry is the working directory, as execvp takes it.
    const char* prefix = dir_length == 0 ? "." : dir;
    const size_t prefix_length = dir_length == 0 ? 1 : dir_length;
    if (prefix_length + 1 + file_length < sizeof(candidate)) {
      std::memcpy(candidate, prefix, prefix_length);
      candidate[prefix_length] = '/';
      std::memcpy(candidate + prefix_length + 1, file, file_length + 1);
      ::execve(candidate, argv, envp);
      // A file that is there but cannot run says more than the directories without it.
      if (errno != ENOENT && errno != ENOTDIR) best_errno = errno;
    }
    if (end == nullptr) break;
    dir = end + 1;
  }
  errno = best_errno;
}

}  // namespace stockade
