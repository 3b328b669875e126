#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "runtime/linux/process_identity.h"

namespace stockade {

PreparedIdentity PrepareIdentity(uid_t uid, gid_t gid, const std::vector<uint32_t>& groups,
                                 const std::vector<int>& capabilities, bool no_new_privs) {
  PreparedIdentity p;
  p.uid = uid;
  p.gid = gid;
  p.groups.assign(groups.begin(), groups.end());
  for (int cap : capabilities) {
    if (cap >= 0 && cap < 64) p.caps[cap / 32] |= 1u << (cap % 32);
  }
  // Nobody can give what it does not hold (a privileged container gets every capability *we*
  // have, as containerd gives the current process's set).
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct own[2] = {};
  if (::syscall(SYS_capget, &header, own) == 0) {
    p.caps[0] &= own[0].permitted;
    p.caps[1] &= own[1].permitted;
  }
  p.no_new_privs = no_new_privs;
  return p;
}

const char* ApplyIdentity(const PreparedIdentity& p) {
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    const bool keep = (p.caps[cap / 32] & (1u << (cap % 32))) != 0;
    if (!keep && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      return "drop a bounding capability";
    }
  }
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return "keep capabilities";
  if (::setgroups(p.groups.size(), p.groups.data()) != 0) return "setgroups";
  if (::setresgid(p.gid, p.gid, p.gid) != 0) return "setgid";
  if (::setresuid(p.uid, p.uid, p.uid) != 0) return "setuid";
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; ++i) {
    data[i].effective = p.caps[i];
    data[i].permitted = p.caps[i];
  }
  if (::syscall(SYS_capset, &header, data) != 0) return "set capabilities";
  if (p.no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return "no_new_privs";
  return nullptr;
}

const char* LoadSeccomp(const PreparedIdentity& p) {
  if (p.seccomp_filter == nullptr || p.seccomp_filter->empty()) return nullptr;
  sock_fprog prog{static_cast<unsigned short>(p.seccomp_filter->size()),
                  reinterpret_cast<sock_filter*>(const_cast<uint64_t*>(p.seccomp_filter->data()))};
  // Without no_new_privs only a CAP_SYS_ADMIN holder may load a filter; set it for the load.
  if (!p.no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return "no_new_privs for seccomp";
  }
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) return "load seccomp";
  return nullptr;
}

}  // namespace stockade
