// Mounting a container jail's filesystems (devfs with its ruleset, fdescfs, nullfs volumes,
// linprocfs, linsysfs, tmpfs) with nmount(2), and taking them down again in reverse order,
// also after a crash. The option lists are plain logic (unit-tested on every OS); the calls
// are in mount_calls_freebsd.cc, on FreeBSD only.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/freebsd/jail_plan.h"

namespace stockade::freebsd {

// nmount(2)'s name/value pairs for one step, as mount(8) and its helpers build them:
// fstype and fspath; nullfs's lower dir as "target"; devfs's "ruleset"; "ro" with no value; an
// option "k=v" as k and v. (errmsg is added by the caller.)
std::vector<std::pair<std::string, std::string>> NmountOptions(const MountStep& step);

// Of the node's mount points (getmntinfo), those at or under `root`, deepest first: what a
// container's or pod's teardown unmounts, also when a crash left them behind.
std::vector<std::string> MountsToUnmount(const std::vector<std::string>& mount_points,
                                         const std::string& root);

// Makes each mount in order; on an error unmounts what this call made, and says which step.
absl::Status MountAll(const std::vector<MountStep>& steps);
// Unmounts everything at or under `root` (forced, deepest first); nothing mounted is no error.
absl::Status UnmountAllUnder(const std::string& root);

}  // namespace stockade::freebsd
