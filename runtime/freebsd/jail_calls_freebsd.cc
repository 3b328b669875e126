// FreeBSD's headers want <sys/param.h> (and <sys/types.h>) first.
#include <sys/param.h>

#include <jail.h>
#include <sys/jail.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "runtime/freebsd/jail_calls.h"

namespace stockade::freebsd {

absl::StatusOr<int> CreateJail(const std::vector<JailParam>& params) {
  std::string name;
  for (const JailParam& p : params) {
    if (p.name == "name") name = p.value;
  }
  auto jp = std::make_unique<struct jailparam[]>(params.size());
  unsigned made = 0;
  absl::Cleanup free_params = [&] { jailparam_free(jp.get(), made); };
  for (const JailParam& p : params) {
    if (jailparam_init(&jp[made], p.name.c_str()) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("jail ", name, ": parameter ", p.name, ": ", jail_errmsg));
    }
    ++made;
    if (jailparam_import(&jp[made - 1], p.value.c_str()) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("jail ", name, ": ", p.name, "=", p.value, ": ", jail_errmsg));
    }
  }
  const int jid = jailparam_set(jp.get(), made, JAIL_CREATE);
  if (jid < 0) {
    const int err = errno;
    const std::string message = absl::StrCat("create jail ", name, ": ", jail_errmsg);
    if (err == EEXIST) return absl::AlreadyExistsError(message);
    if (err == EPERM) return absl::PermissionDeniedError(message);
    // ENOENT/EINVAL name a parameter this kernel lacks ("vnet" without VIMAGE, "linux" without
    // the linux module): the message says which.
    return absl::FailedPreconditionError(message);
  }
  return jid;
}

absl::StatusOr<int> FindJail(const std::string& name) {
  const int jid = jail_getid(name.c_str());
  if (jid < 0) return absl::NotFoundError(absl::StrCat("jail ", name, ": ", jail_errmsg));
  return jid;
}

absl::Status RemoveJail(const std::string& name) {
  const int jid = jail_getid(name.c_str());
  if (jid < 0) return absl::OkStatus();  // already gone
  if (::jail_remove(jid) != 0 && errno != EINVAL) {
    return absl::InternalError(
        absl::StrCat("remove jail ", name, " (jid ", jid, "): ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status AttachJail(int jid, const std::string& name) {
  char* current = jail_getname(jid);
  const bool same = current != nullptr && name == current;
  std::free(current);
  if (!same) {
    return absl::FailedPreconditionError(
        absl::StrCat("jail ", jid, " is no longer ", name, " (it was removed)"));
  }
  if (::jail_attach(jid) != 0) {
    return absl::InternalError(
        absl::StrCat("attach to jail ", name, " (jid ", jid, "): ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace stockade::freebsd
