#include <fcntl.h>
#include <net/if.h>
#include <net/pfvar.h>
#include <sys/ioctl.h>
#include <sys/module.h>
#include <sys/param.h>
#include <sys/socket.h>
#include <sys/sysctl.h>
#include <unistd.h>

#include <cstring>

#include "runtime/freebsd/kernel_features.h"

namespace stockade::freebsd {
namespace {

int SysctlInt(const char* name) {
  int value = 0;
  size_t size = sizeof(value);
  if (::sysctlbyname(name, &value, &size, nullptr, 0) != 0) return 0;
  return value;
}

// A module compiled in or loaded: modfind(2) knows it by its module name.
bool Module(const char* name) { return ::modfind(name) >= 0; }

// pf's own status (pfctl -s info's "Status: Enabled"), read from /dev/pf.
bool PfRunning() {
  const int fd = ::open("/dev/pf", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct pf_status status;
  std::memset(&status, 0, sizeof(status));
  const bool running = ::ioctl(fd, DIOCGETSTATUS, &status) == 0 && status.running != 0;
  ::close(fd);
  return running;
}

}  // namespace

KernelFeatures ProbeKernelFeatures() {
  KernelFeatures f;
  f.vimage = SysctlInt("kern.features.vimage") != 0;
  f.racct = SysctlInt("kern.racct.enable") != 0;
  f.if_bridge = Module("if_bridge");
  f.if_epair = Module("if_epair");
  f.pf = Module("pf");
  f.pf_enabled = f.pf && PfRunning();
  f.linux64 = Module("linux64elf") || Module("linux64");
  f.linprocfs = Module("linprocfs");
  f.linsysfs = Module("linsysfs");
  f.fdescfs = Module("fdescfs");
  f.nullfs = Module("nullfs");
  return f;
}

}  // namespace stockade::freebsd
