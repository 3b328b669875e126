// Loads a DevfsPlan into the kernel's devfs rulesets with devfs(4)'s ioctls (as devfs(8)
// does), on the node's /dev; a container's devfs is then mounted with ruleset=N. FreeBSD only.
// FreeBSD's headers want <sys/param.h> first, and devfs.h <sys/queue.h> before it.
#include <sys/param.h>
#include <sys/queue.h>

#include <fcntl.h>
#include <fs/devfs/devfs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/unique_fd.h"
#include "runtime/freebsd/devfs_rules.h"

namespace stockade::freebsd {
namespace {

absl::StatusOr<UniqueFd> OpenDevfs() {
  UniqueFd fd(::open("/dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return absl::InternalError(absl::StrCat("open /dev: ", std::strerror(errno)));
  return fd;
}

// Whether ruleset `n` holds any rule.
bool RulesetInUse(int fd, uint16_t n) {
  struct devfs_rule r;
  std::memset(&r, 0, sizeof(r));
  r.dr_magic = DEVFS_MAGIC;
  r.dr_id = mkrid(n, 0);
  if (::ioctl(fd, DEVFSIO_RGETNEXT, &r) != 0) return false;
  return rid2rsn(r.dr_id) == n;
}

}  // namespace

absl::StatusOr<uint16_t> LoadDevfsRuleset(const std::string& container_id, const DevfsPlan& plan) {
  absl::StatusOr<UniqueFd> fd = OpenDevfs();
  if (!fd.ok()) return fd.status();
  uint16_t n = ContainerRulesetNumber(container_id);
  for (int tries = 0; RulesetInUse(fd->get(), n); ++tries) {
    if (tries > 1000) return absl::ResourceExhaustedError("no free devfs ruleset number");
    n = n == 65535 ? kFirstContainerRuleset : static_cast<uint16_t>(n + 1);
  }
  for (const DevfsRule& rule : plan.rules) {
    struct devfs_rule r;
    std::memset(&r, 0, sizeof(r));
    r.dr_magic = DEVFS_MAGIC;
    r.dr_id = mkrid(n, rule.number);
    if (rule.include) {
      r.dr_iacts = DRA_INCSET;
      r.dr_incset = rule.include_ruleset;
    } else {
      r.dr_icond = DRC_PATHPTRN;
      std::strncpy(r.dr_pathptrn, rule.pattern.c_str(), sizeof(r.dr_pathptrn) - 1);
      r.dr_iacts = DRA_BACTS;
      r.dr_bacts = rule.unhide ? DRB_UNHIDE : DRB_HIDE;
      if (rule.mode) {
        r.dr_iacts |= DRA_MODE;
        r.dr_mode = static_cast<mode_t>(*rule.mode);
      }
    }
    if (::ioctl(fd->get(), DEVFSIO_RADD, &r) != 0) {
      const int err = errno;
      RemoveDevfsRuleset(n).IgnoreError();
      return absl::InternalError(absl::StrCat("add devfs rule ", rule.number, " to ruleset ", n,
                                              ": ", std::strerror(err)));
    }
  }
  return n;
}

absl::Status RemoveDevfsRuleset(uint16_t ruleset) {
  absl::StatusOr<UniqueFd> fd = OpenDevfs();
  if (!fd.ok()) return fd.status();
  while (true) {
    struct devfs_rule r;
    std::memset(&r, 0, sizeof(r));
    r.dr_magic = DEVFS_MAGIC;
    r.dr_id = mkrid(ruleset, 0);
    if (::ioctl(fd->get(), DEVFSIO_RGETNEXT, &r) != 0 || rid2rsn(r.dr_id) != ruleset) break;
    devfs_rid id = r.dr_id;
    if (::ioctl(fd->get(), DEVFSIO_RDEL, &id) != 0) {
      return absl::InternalError(
          absl::StrCat("delete devfs ruleset ", ruleset, ": ", std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

}  // namespace stockade::freebsd
