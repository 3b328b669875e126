#include "runtime/capabilities.h"

#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace stockade {
namespace {

// Index = capability number.
constexpr std::array<const char*, 41> kNames = {"CHOWN",
                                                "DAC_OVERRIDE",
                                                "DAC_READ_SEARCH",
                                                "FOWNER",
                                                "FSETID",
                                                "KILL",
                                                "SETGID",
                                                "SETUID",
                                                "SETPCAP",
                                                "LINUX_IMMUTABLE",
                                                "NET_BIND_SERVICE",
                                                "NET_BROADCAST",
                                                "NET_ADMIN",
                                                "NET_RAW",
                                                "IPC_LOCK",
                                                "IPC_OWNER",
                                                "SYS_MODULE",
                                                "SYS_RAWIO",
                                                "SYS_CHROOT",
                                                "SYS_PTRACE",
                                                "SYS_PACCT",
                                                "SYS_ADMIN",
                                                "SYS_BOOT",
                                                "SYS_NICE",
                                                "SYS_RESOURCE",
                                                "SYS_TIME",
                                                "SYS_TTY_CONFIG",
                                                "MKNOD",
                                                "LEASE",
                                                "AUDIT_WRITE",
                                                "AUDIT_CONTROL",
                                                "SETFCAP",
                                                "MAC_OVERRIDE",
                                                "MAC_ADMIN",
                                                "SYSLOG",
                                                "WAKE_ALARM",
                                                "BLOCK_SUSPEND",
                                                "AUDIT_READ",
                                                "PERFMON",
                                                "BPF",
                                                "CHECKPOINT_RESTORE"};

// containerd's default set (oci/spec.go).
constexpr const char* kDefaults[] = {"CHOWN",   "DAC_OVERRIDE", "FSETID",           "FOWNER",
                                     "MKNOD",   "NET_RAW",      "SETGID",           "SETUID",
                                     "SETFCAP", "SETPCAP",      "NET_BIND_SERVICE", "SYS_CHROOT",
                                     "KILL",    "AUDIT_WRITE"};

std::set<int> All() {
  std::set<int> all;
  for (int i = 0; i < static_cast<int>(kNames.size()); ++i) all.insert(i);
  return all;
}

absl::StatusOr<int> Number(const std::string& raw) {
  std::string name = absl::AsciiStrToUpper(raw);
  if (absl::StartsWith(name, "CAP_")) name = name.substr(4);
  for (int i = 0; i < static_cast<int>(kNames.size()); ++i) {
    if (name == kNames[i]) return i;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown capability \"", raw, "\""));
}

bool IsAll(const std::string& name) { return absl::AsciiStrToUpper(name) == "ALL"; }

}  // namespace

std::string CapabilityName(int number) {
  if (number < 0 || number >= static_cast<int>(kNames.size())) return "";
  return absl::StrCat("CAP_", kNames[number]);
}

absl::StatusOr<std::set<int>> ResolveCapabilities(const std::vector<std::string>& add,
                                                  const std::vector<std::string>& drop,
                                                  bool privileged) {
  if (privileged) return All();
  std::set<int> caps;
  for (const char* name : kDefaults) caps.insert(*Number(name));
  for (const std::string& name : add) {
    if (IsAll(name)) caps = All();
  }
  for (const std::string& name : drop) {
    if (IsAll(name)) caps.clear();
  }
  for (const std::string& name : add) {
    if (IsAll(name)) continue;
    absl::StatusOr<int> n = Number(name);
    if (!n.ok()) return n.status();
    caps.insert(*n);
  }
  for (const std::string& name : drop) {
    if (IsAll(name)) continue;
    absl::StatusOr<int> n = Number(name);
    if (!n.ok()) return n.status();
    caps.erase(*n);
  }
  return caps;
}

}  // namespace stockade
