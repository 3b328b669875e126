// Compiled on FreeBSD only (selected by CMake).
#include <sys/param.h>
#include <sys/sysctl.h>
#include <sys/user.h>
#include <unistd.h>

#include <cerrno>

#include "common/errors.h"
#include "runtime/metrics/process_stats.h"

namespace stockade {

absl::StatusOr<ProcessStats> ReadSelfProcessStats() {
  struct kinfo_proc kp;
  size_t len = sizeof(kp);
  int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, ::getpid()};
  if (::sysctl(mib, 4, &kp, &len, nullptr, 0) != 0) {
    return ErrnoError(errno, "sysctl kern.proc.pid");
  }
  ProcessStats s;
  const struct rusage& ru = kp.ki_rusage;
  s.cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                  static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  s.resident_bytes = static_cast<uint64_t>(kp.ki_rssize) * static_cast<uint64_t>(::getpagesize());
  s.virtual_bytes = kp.ki_size;
  s.threads = static_cast<uint64_t>(kp.ki_numthreads);
  s.start_time_seconds =
      static_cast<double>(kp.ki_start.tv_sec) + static_cast<double>(kp.ki_start.tv_usec) / 1e6;
  int nfds = 0;
  size_t nfds_len = sizeof(nfds);
  int fd_mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_NFDS, ::getpid()};
  if (::sysctl(fd_mib, 4, &nfds, &nfds_len, nullptr, 0) == 0) s.open_fds = nfds;
  return s;
}

}  // namespace stockade
