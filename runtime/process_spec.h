// What a container process runs as, derived the way containerd derives it from the CRI
// request and the image config: argv, environment, working directory, user and groups.
// Plain logic over plain data; the backends apply the result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/passwd.h"

namespace stockade {

// command + args, or the image's Entrypoint (unless [""]) followed by args, or by the image's
// Cmd when args is empty. InvalidArgument "no command specified" when that leaves nothing.
absl::StatusOr<std::vector<std::string>> ResolveArgv(const std::vector<std::string>& command,
                                                     const std::vector<std::string>& args,
                                                     const std::vector<std::string>& entrypoint,
                                                     const std::vector<std::string>& cmd);

// PATH default, HOSTNAME, then the image's Env, then the request's envs; a later value of a
// key replaces the earlier one in its place.
std::vector<std::string> MergeEnv(const std::string& hostname,
                                  const std::vector<std::string>& image_env,
                                  const std::vector<std::pair<std::string, std::string>>& envs);

// The request's working_dir, else the image's WorkingDir, else "/".
std::string ResolveWorkingDir(const std::string& requested, const std::string& image);

struct UserRequest {
  std::string run_as_username;
  std::optional<int64_t> run_as_user;
  std::optional<int64_t> run_as_group;
  std::string image_user;  // the image config's User: "name", "uid", "name:group", "uid:gid"
  std::vector<int64_t> supplemental_groups;
};

struct ResolvedUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;  // sorted, unique, including gid
  std::string home = "/";
};

// Resolves against the image's /etc/passwd and /etc/group: a uid is used as is (gid from passwd,
// 0 if unlisted), a name must be listed; "u:g" forms keep numbers and look up names. Groups:
// the /etc/group entries naming the user, the supplemental groups and the primary gid.
absl::StatusOr<ResolvedUser> ResolveUser(const UserRequest& request,
                                         const std::vector<PasswdEntry>& passwd,
                                         const std::vector<GroupEntry>& groups);

}  // namespace stockade
