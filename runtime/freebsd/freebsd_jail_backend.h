// The FreeBSD JailBackend: a stockade-shim per pod (runtime/shim/shim_main_freebsd.cc) that
// makes the pod's VNET jail and the containers' child jails; volumes as nullfs, devices through
// a devfs ruleset made for the container; the pod's network reached by a child that
// jail_attach'es to it; interface counters of the pod's epair from the host's end.
// FreeBSD only (freebsd_jail_backend_freebsd.cc).
#pragma once

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "runtime/jail_backend.h"

namespace stockade::freebsd {

struct FreeBsdBackendOptions {
  std::string shim_path;
  absl::Duration shim_start_timeout = absl::Seconds(10);
  int base_devfs_ruleset = 4;  // devfsrules_jail
  bool linux_abi = false;      // linux64, linprocfs and linsysfs are loaded
};

std::unique_ptr<JailBackend> NewFreeBsdJailBackend(const FreeBsdBackendOptions& options);

}  // namespace stockade::freebsd
