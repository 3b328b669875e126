#include "runtime/cgroup_driver.h"

#include <sys/stat.h>

namespace stockade {

CgroupDriver ResolveCgroupDriver(CgroupDriverSetting setting, const std::string& systemd_marker) {
  switch (setting) {
    case CgroupDriverSetting::kSystemd:
      return CgroupDriver::kSystemd;
    case CgroupDriverSetting::kCgroupfs:
      return CgroupDriver::kCgroupfs;
    case CgroupDriverSetting::kAuto:
      break;
  }
  struct stat st;
  bool systemd = ::lstat(systemd_marker.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  return systemd ? CgroupDriver::kSystemd : CgroupDriver::kCgroupfs;
}

}  // namespace stockade
