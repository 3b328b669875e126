#include <linux/capability.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/errors.h"
#include "common/unique_fd.h"
#include "runtime/capabilities.h"
#include "runtime/linux/seccomp.h"
#include "runtime/seccomp_profile.h"

namespace stockade {
namespace {

uint32_t ToLibseccomp(SeccompAction action, int errno_ret) {
  switch (action) {
    case SeccompAction::kKillThread:
      return SCMP_ACT_KILL;
    case SeccompAction::kKillProcess:
      return SCMP_ACT_KILL_PROCESS;
    case SeccompAction::kTrap:
      return SCMP_ACT_TRAP;
    case SeccompAction::kErrno:
      return SCMP_ACT_ERRNO(static_cast<uint16_t>(errno_ret));
    case SeccompAction::kTrace:
      return SCMP_ACT_TRACE(static_cast<uint16_t>(errno_ret));
    case SeccompAction::kLog:
      return SCMP_ACT_LOG;
    case SeccompAction::kAllow:
      break;
  }
  return SCMP_ACT_ALLOW;
}

scmp_compare ToLibseccomp(SeccompCompare op) {
  switch (op) {
    case SeccompCompare::kNe:
      return SCMP_CMP_NE;
    case SeccompCompare::kLt:
      return SCMP_CMP_LT;
    case SeccompCompare::kLe:
      return SCMP_CMP_LE;
    case SeccompCompare::kEq:
      return SCMP_CMP_EQ;
    case SeccompCompare::kGe:
      return SCMP_CMP_GE;
    case SeccompCompare::kGt:
      return SCMP_CMP_GT;
    case SeccompCompare::kMaskedEq:
      break;
  }
  return SCMP_CMP_MASKED_EQ;
}

// "SCMP_ARCH_X86_64" -> libseccomp's token for it; 0 when unknown.
uint32_t ArchToken(const std::string& name) {
  std::string n = absl::AsciiStrToLower(absl::StripPrefix(name, "SCMP_ARCH_"));
  return seccomp_arch_resolve_name(n.c_str());
}

bool Holds(const std::vector<int>& caps, const std::string& name) {
  return std::any_of(caps.begin(), caps.end(), [&](int c) { return CapabilityName(c) == name; });
}

// Whether a rule applies to this container, as runc/moby decide it: every included
// capability held, no excluded one; the native architecture included (when a list is given)
// and not excluded.
bool Applies(const SeccompRule& r, const std::vector<int>& caps) {
  for (const std::string& c : r.include_caps) {
    if (!Holds(caps, c)) return false;
  }
  for (const std::string& c : r.exclude_caps) {
    if (Holds(caps, c)) return false;
  }
  const uint32_t native = seccomp_arch_native();
  auto native_in = [&](const std::vector<std::string>& arches) {
    return std::any_of(arches.begin(), arches.end(),
                       [&](const std::string& a) { return ArchToken(a) == native; });
  };
  if (!r.include_arches.empty() && !native_in(r.include_arches)) return false;
  if (native_in(r.exclude_arches)) return false;
  return true;
}

absl::Status AddRule(scmp_filter_ctx ctx, const SeccompRule& r, uint32_t default_action) {
  const uint32_t action = ToLibseccomp(r.action, r.errno_ret);
  if (action == default_action) return absl::OkStatus();  // libseccomp refuses a no-op rule
  std::vector<scmp_arg_cmp> conditions;
  for (const SeccompArg& a : r.args) {
    conditions.push_back(SCMP_CMP(a.index, ToLibseccomp(a.op), a.value, a.value_two));
  }
  // Conditions on distinct arguments hold together; several on one argument are
  // alternatives, one rule each (as runc does).
  bool repeated = false;
  for (size_t i = 0; i < r.args.size(); ++i) {
    for (size_t j = 0; j < i; ++j) repeated |= r.args[i].index == r.args[j].index;
  }
  for (const std::string& name : r.names) {
    const int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) continue;  // a call this kernel's architectures do not have
    auto add = [&](unsigned count, const scmp_arg_cmp* c) -> absl::Status {
      const int rc = seccomp_rule_add_array(ctx, action, nr, count, c);
      if (rc == 0 || rc == -EEXIST) return absl::OkStatus();
      return ErrnoError(-rc, absl::StrCat("seccomp rule for ", name));
    };
    if (!repeated) {
      if (absl::Status s = add(static_cast<unsigned>(conditions.size()), conditions.data());
          !s.ok()) {
        return s;
      }
      continue;
    }
    for (const scmp_arg_cmp& c : conditions) {
      if (absl::Status s = add(1, &c); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<uint64_t>> SeccompFilter(const SeccompProfile& profile,
                                                    const std::vector<int>& capabilities) {
  const uint32_t default_action = ToLibseccomp(profile.default_action, profile.default_errno);
  scmp_filter_ctx ctx = seccomp_init(default_action);
  if (ctx == nullptr) return absl::InternalError("seccomp_init failed");
  struct Release {
    scmp_filter_ctx ctx;
    ~Release() { seccomp_release(ctx); }
  } release{ctx};
  for (const std::string& arch : profile.architectures) {
    const uint32_t token = ArchToken(arch);
    if (token == 0 || token == seccomp_arch_native()) continue;
    const int rc = seccomp_arch_add(ctx, token);
    if (rc != 0 && rc != -EEXIST) return ErrnoError(-rc, "seccomp architecture " + arch);
  }
  for (const SeccompRule& rule : profile.syscalls) {
    if (!Applies(rule, capabilities)) continue;
    if (absl::Status s = AddRule(ctx, rule, default_action); !s.ok()) return s;
  }
  UniqueFd fd(::memfd_create("seccomp-bpf", MFD_CLOEXEC));
  if (!fd) return ErrnoError(errno, "memfd_create");
  if (int rc = seccomp_export_bpf(ctx, fd.get()); rc != 0) {
    return ErrnoError(-rc, "export the seccomp program");
  }
  const off_t size = ::lseek(fd.get(), 0, SEEK_END);
  if (size <= 0 || size % 8 != 0) return absl::InternalError("the seccomp program is empty");
  std::vector<uint64_t> program(static_cast<size_t>(size) / 8);
  if (::pread(fd.get(), program.data(), static_cast<size_t>(size), 0) != size) {
    return ErrnoError(errno, "read the seccomp program");
  }
  return program;
}

absl::StatusOr<std::vector<uint64_t>> RuntimeDefaultSeccompFilter(
    const std::vector<int>& capabilities) {
  // Building the default profile's program takes ~28 ms here (bench/nomad.sh): once per
  // capability set, then from memory. Few sets occur on a node (the default one, a few with
  // additions); the cache is bounded all the same.
  static absl::Mutex mu;
  static auto* cache = new std::map<std::vector<int>, std::vector<uint64_t>>();
  std::vector<int> key = capabilities;
  std::sort(key.begin(), key.end());
  key.erase(std::unique(key.begin(), key.end()), key.end());
  {
    absl::MutexLock lock(&mu);
    if (auto it = cache->find(key); it != cache->end()) return it->second;
  }
  absl::StatusOr<std::vector<uint64_t>> filter =
      SeccompFilter(RuntimeDefaultSeccompProfile(), capabilities);
  if (!filter.ok()) return filter;
  absl::MutexLock lock(&mu);
  if (cache->size() >= 64) cache->clear();
  cache->emplace(std::move(key), *filter);
  return filter;
}

}  // namespace stockade
