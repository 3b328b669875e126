// Becoming a container's user with its capabilities: the last set-up step of a container's
// process and of every process ExecSync starts in it. Safe between fork and exec (no
// allocation, only system calls). Linux only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace stockade {

struct PreparedIdentity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  uint32_t caps[2] = {0, 0};  // the capability bits, 64 of them
  bool no_new_privs = true;
  const std::vector<uint64_t>* seccomp_filter = nullptr;  // loaded last; null or empty: none
};

PreparedIdentity PrepareIdentity(uid_t uid, gid_t gid, const std::vector<uint32_t>& groups,
                                 const std::vector<int>& capabilities, bool no_new_privs);

// Drops the bounding set to the capabilities, sets the groups, gid and uid keeping the
// capabilities, sets them as permitted and effective, then no_new_privs. nullptr on success,
// else the step that failed (errno says why).
const char* ApplyIdentity(const PreparedIdentity& identity);

// Loads the seccomp program, if any; nullptr on success, else the step that failed.
const char* LoadSeccomp(const PreparedIdentity& identity);

}  // namespace stockade
