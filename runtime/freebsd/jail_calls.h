// The FreeBSD jail syscalls the backend makes, through libjail (jailparam_*, which call
// jail_set(2)/jail_get(2) and give the kernel's errmsg) and jail_remove(2)/jail_attach(2).
// Declared here on every OS; defined in jail_calls_freebsd.cc only on FreeBSD. FreeBSD 14 has
// no jail descriptors, so a jail is held by its JID and checked by name before use: a JID that
// was reused by another jail is never attached to.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/freebsd/jail_plan.h"

namespace stockade::freebsd {

// Creates the jail the parameters describe (JAIL_CREATE); AlreadyExists when one of that name
// runs, InvalidArgument/FailedPrecondition with the kernel's message otherwise.
absl::StatusOr<int> CreateJail(const std::vector<JailParam>& params);
// The JID of the jail named `name`; NotFound when there is none.
absl::StatusOr<int> FindJail(const std::string& name);
// Removes the jail (killing its processes) and its children; a jail already gone is no error.
absl::Status RemoveJail(const std::string& name);
// In a forked child before execve: enters jail `jid` after checking it is still `name`.
absl::Status AttachJail(int jid, const std::string& name);

}  // namespace stockade::freebsd
