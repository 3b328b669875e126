// Seccomp profiles: the Docker/OCI JSON parsed and checked, and the programs built from it
// loaded for real in a child process (no root needed: no_new_privs is enough).
#include "runtime/seccomp_profile.h"

#include <linux/capability.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/linux/process_identity.h"
#include "runtime/linux/seccomp.h"

namespace stockade {
namespace {

using ::testing::HasSubstr;

TEST(SeccompProfile, TheDockerFormatIsRead) {
  absl::StatusOr<SeccompProfile> p = ParseSeccompProfile(R"({
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
    "architectures": ["SCMP_ARCH_X86_64"],
    "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
    "flags": ["SECCOMP_FILTER_FLAG_LOG"],
    "syscalls": [
      {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
      {"name": "chmod", "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
       "includes": {"caps": ["CAP_FOWNER"]}, "excludes": {"arches": ["SCMP_ARCH_ARM"]}},
      {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
       "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->default_action, SeccompAction::kErrno);
  EXPECT_EQ(p->default_errno, 38);
  EXPECT_THAT(p->architectures,
              ::testing::ElementsAre("SCMP_ARCH_X86_64", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86"));
  ASSERT_EQ(p->syscalls.size(), 3u);
  EXPECT_THAT(p->syscalls[1].names, ::testing::ElementsAre("chmod"));
  EXPECT_EQ(p->syscalls[1].errno_ret, 13);
  EXPECT_THAT(p->syscalls[1].include_caps, ::testing::ElementsAre("CAP_FOWNER"));
  EXPECT_EQ(p->syscalls[2].args.at(0).value, 8u);
}

TEST(SeccompProfile, MalformedProfilesNameTheProblem) {
  struct Case {
    const char* json;
    const char* message;
  };
  for (const Case& c : {
           Case{"{", "not JSON"},
           Case{"[]", "not a JSON object"},
           Case{R"({"defaultAction": "SCMP_ACT_MAYBE"})", "defaultAction \"SCMP_ACT_MAYBE\""},
           Case{R"({"defaultAction": "SCMP_ACT_NOTIFY"})", "SCMP_ACT_NOTIFY"},
           Case{
               R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_ERRNO"}]})",
               "syscalls[0].names"},
           Case{R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"],
                "action": "SCMP_ACT_ERRNO", "args": [{"index": 9, "op": "SCMP_CMP_EQ"}]}]})",
                "index must be 0 to 5"},
           Case{R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"],
                "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "op": "SCMP_CMP_SORTA"}]}]})",
                "SCMP_CMP_SORTA"},
           Case{R"({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_X"]})",
                "SECCOMP_FILTER_FLAG_X"},
           Case{R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {"names": []}})",
                "syscalls must be a list"},
           Case{R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": "x86"})",
                "architectures must be a list"},
       }) {
    absl::StatusOr<SeccompProfile> p = ParseSeccompProfile(c.json);
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << c.json;
    EXPECT_THAT(std::string(p.status().message()), HasSubstr(c.message)) << c.json;
  }
}

// Runs `probe` in a child under the program; its result (0, or an errno) comes back as the
// child's exit code.
int UnderFilter(const std::vector<uint64_t>& program, int (*probe)()) {
  const pid_t child = ::fork();
  if (child == 0) {
    PreparedIdentity identity;
    identity.seccomp_filter = &program;
    ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (LoadSeccomp(identity) != nullptr) ::_exit(200);
    ::_exit(probe());
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

int Result(long rc) { return rc >= 0 ? 0 : errno; }

TEST(SeccompFilter, RuntimeDefaultIsAnAllowlist) {
  // containerd's default capabilities: no CAP_SYS_ADMIN.
  const std::vector<int> caps = {
      CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FOWNER,           CAP_SETUID,
      CAP_SETGID, CAP_KILL,         CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT};
  absl::StatusOr<std::vector<uint64_t>> program = RuntimeDefaultSeccompFilter(caps);
  ASSERT_TRUE(program.ok()) << program.status();
  EXPECT_EQ(UnderFilter(*program, [] { return Result(::syscall(SYS_getpid)); }), 0);
  // Not on the list at all: io_uring, which the deny list of old let through.
  EXPECT_EQ(UnderFilter(*program, [] { return Result(::syscall(SYS_io_uring_setup, 1, nullptr)); }),
            EPERM);
  // clone with a namespace flag, and clone3 (whose flags seccomp cannot see): refused.
  EXPECT_EQ(UnderFilter(*program,
                        [] {
                          return Result(::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr,
                                                  nullptr, nullptr, 0));
                        }),
            EPERM);
  EXPECT_EQ(UnderFilter(*program, [] { return Result(::syscall(SYS_clone3, nullptr, 0)); }),
            ENOSYS);
  EXPECT_EQ(UnderFilter(*program, [] { return Result(::syscall(SYS_personality, 0x0400000)); }),
            EPERM);
  // A plain fork (clone without namespace flags) works.
  EXPECT_EQ(UnderFilter(*program,
                        [] {
                          const pid_t pid = ::fork();
                          if (pid == 0) ::_exit(0);
                          return pid > 0 ? 0 : errno;
                        }),
            0);
  // With CAP_SYS_ADMIN, unshare is allowed by the profile (the capability check is the kernel's).
  std::vector<int> admin = caps;
  admin.push_back(CAP_SYS_ADMIN);
  absl::StatusOr<std::vector<uint64_t>> with_admin = RuntimeDefaultSeccompFilter(admin);
  ASSERT_TRUE(with_admin.ok());
  EXPECT_NE(UnderFilter(*with_admin, [] { return Result(::syscall(SYS_unshare, 0)); }), EPERM);
}

TEST(SeccompFilter, RuntimeDefaultIsBuiltOncePerCapabilitySet) {
  const std::vector<int> caps = {CAP_CHOWN, CAP_KILL, CAP_SETUID};
  const std::vector<int> same_set = {CAP_SETUID, CAP_CHOWN, CAP_KILL, CAP_KILL};
  const std::vector<int> admin = {CAP_CHOWN, CAP_KILL, CAP_SETUID, CAP_SYS_ADMIN};
  absl::StatusOr<std::vector<uint64_t>> first = RuntimeDefaultSeccompFilter(caps);
  ASSERT_TRUE(first.ok());
  // The same set in another order (and repeated) is the same program, as built fresh.
  EXPECT_EQ(*RuntimeDefaultSeccompFilter(same_set), *first);
  EXPECT_EQ(*SeccompFilter(RuntimeDefaultSeccompProfile(), same_set), *first);
  // Another set is another program, not the cached one.
  EXPECT_NE(*RuntimeDefaultSeccompFilter(admin), *first);
  EXPECT_EQ(*RuntimeDefaultSeccompFilter(admin),
            *SeccompFilter(RuntimeDefaultSeccompProfile(), admin));
}

TEST(SeccompFilter, ALocalhostProfileDecidesWithItsCapabilitiesAndArguments) {
  absl::StatusOr<SeccompProfile> profile = ParseSeccompProfile(R"({
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [
      {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
      {"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
       "args": [{"index": 0, "value": 4242, "op": "SCMP_CMP_EQ"}]},
      {"names": ["getsid"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
      {"names": ["no_such_call_anywhere"], "action": "SCMP_ACT_ERRNO"}]})");
  ASSERT_TRUE(profile.ok()) << profile.status();
  absl::StatusOr<std::vector<uint64_t>> program = SeccompFilter(*profile, {CAP_CHOWN});
  ASSERT_TRUE(program.ok()) << program.status();
  EXPECT_EQ(UnderFilter(*program, [] { return Result(::syscall(SYS_getppid)); }), EACCES);
  EXPECT_EQ(UnderFilter(*program, [] { return Result(::syscall(SYS_getpgid, 4242)); }), EINVAL);
  EXPECT_EQ(UnderFilter(*program, [] { return Result(::syscall(SYS_getpgid, 0)); }), 0);
  // Its rule needs CAP_SYS_ADMIN, which this container lacks: not applied.
  EXPECT_EQ(UnderFilter(*program, [] { return Result(::syscall(SYS_getsid, 0)); }), 0);
}

}  // namespace
}  // namespace stockade
