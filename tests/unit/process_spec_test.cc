// argv, env, working dir and user of a container process, by containerd's rules.
#include "runtime/process_spec.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stockade {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using V = std::vector<std::string>;

TEST(ResolveArgv, FollowsTheCriRules) {
  EXPECT_THAT(*ResolveArgv({"/bin/sh"}, {"-c", "x"}, {"/entry"}, {"cmd"}),
              ElementsAre("/bin/sh", "-c", "x"));
  EXPECT_THAT(*ResolveArgv({}, {"a"}, {"/entry"}, {"cmd"}), ElementsAre("/entry", "a"));
  EXPECT_THAT(*ResolveArgv({}, {}, {"/entry"}, {"cmd"}), ElementsAre("/entry", "cmd"));
  EXPECT_THAT(*ResolveArgv({}, {}, {}, {"cmd", "x"}), ElementsAre("cmd", "x"));
  EXPECT_THAT(*ResolveArgv({}, {"only"}, {""}, {"cmd"}), ElementsAre("only"));
  absl::StatusOr<V> none = ResolveArgv({}, {}, {""}, {});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("no command specified"));
}

TEST(MergeEnv, LaterKeysReplaceEarlierOnesInPlace) {
  EXPECT_THAT(MergeEnv("web-0", {"PATH=/bin", "A=image"}, {{"A", "request"}, {"B", "2"}}),
              ElementsAre("PATH=/bin", "HOSTNAME=web-0", "A=request", "B=2"));
  EXPECT_THAT(MergeEnv("", {}, {}),
              ElementsAre("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
}

TEST(ResolveWorkingDir, RequestThenImageThenRoot) {
  EXPECT_EQ(ResolveWorkingDir("/w", "/i"), "/w");
  EXPECT_EQ(ResolveWorkingDir("", "/i"), "/i");
  EXPECT_EQ(ResolveWorkingDir("", ""), "/");
}

class ResolveUserTest : public ::testing::Test {
 protected:
  std::vector<PasswdEntry> passwd = ParsePasswd(
      "root:x:0:0:root:/root:/bin/sh\n"
      "# a comment\n"
      "app:x:1000:1000::/home/app:/bin/sh\n"
      "broken line\n"
      "nobody:x:65534:65534::/nonexistent:/bin/false\n");
  std::vector<GroupEntry> groups = ParseGroup(
      "root:x:0:\n"
      "app:x:1000:\n"
      "wheel:x:10:app,root\n"
      "audio:x:29:app\n"
      "staff:x:50:\n");
};

TEST_F(ResolveUserTest, ImageUserByNameGetsItsGroupsFromTheImage) {
  absl::StatusOr<ResolvedUser> u = ResolveUser({.image_user = "app"}, passwd, groups);
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 1000u);
  EXPECT_EQ(u->home, "/home/app");
  EXPECT_THAT(u->additional_gids, ElementsAre(10u, 29u, 1000u));
}

TEST_F(ResolveUserTest, RunAsUserWinsOverTheImageAndUnlistedUidsGetGidZero) {
  absl::StatusOr<ResolvedUser> u =
      ResolveUser({.run_as_user = 4242, .image_user = "app"}, passwd, groups);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->uid, 4242u);
  EXPECT_EQ(u->gid, 0u);
  EXPECT_THAT(u->additional_gids, ElementsAre(0u));
}

TEST_F(ResolveUserTest, GroupFormsAndSupplementalGroups) {
  absl::StatusOr<ResolvedUser> u = ResolveUser({.image_user = "app:staff"}, passwd, groups);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->gid, 50u);
  u = ResolveUser({.run_as_user = 1000, .run_as_group = 7, .supplemental_groups = {300, 29}},
                  passwd, groups);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->gid, 7u);
  EXPECT_THAT(u->additional_gids, ElementsAre(7u, 10u, 29u, 300u));
  u = ResolveUser({.run_as_username = "app"}, passwd, groups);
  EXPECT_EQ(u->uid, 1000u);
  u = ResolveUser({}, passwd, groups);  // nothing anywhere: root
  EXPECT_EQ(u->uid, 0u);
}

TEST_F(ResolveUserTest, UnknownNamesAndLoneGroupsAreErrors) {
  EXPECT_THAT(std::string(ResolveUser({.image_user = "ghost"}, passwd, groups).status().message()),
              HasSubstr("not in the image's /etc/passwd"));
  EXPECT_THAT(
      std::string(ResolveUser({.image_user = "app:ghosts"}, passwd, groups).status().message()),
      HasSubstr("/etc/group"));
  EXPECT_EQ(ResolveUser({.run_as_group = 5}, passwd, groups).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveUser({.run_as_user = -1}, passwd, groups).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace stockade
