#include "runtime/process_spec.h"

#include <algorithm>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace stockade {
namespace {

constexpr char kDefaultPath[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string KeyOf(const std::string& entry) { return entry.substr(0, entry.find('=')); }

void SetEnv(std::vector<std::string>& env, const std::string& entry) {
  const std::string key = KeyOf(entry);
  for (std::string& e : env) {
    if (KeyOf(e) == key) {
      e = entry;
      return;
    }
  }
  env.push_back(entry);
}

bool IsNumeric(const std::string& s, uint32_t* out) {
  return !s.empty() && absl::SimpleAtoi(s, out);
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ResolveArgv(const std::vector<std::string>& command,
                                                     const std::vector<std::string>& args,
                                                     const std::vector<std::string>& entrypoint,
                                                     const std::vector<std::string>& cmd) {
  std::vector<std::string> argv;
  if (!command.empty()) {
    argv = command;
    argv.insert(argv.end(), args.begin(), args.end());
  } else {
    // An Entrypoint of [""] means "none" (Dockerfile: ENTRYPOINT [""]).
    if (!(entrypoint.size() == 1 && entrypoint[0].empty())) argv = entrypoint;
    const std::vector<std::string>& rest = args.empty() ? cmd : args;
    argv.insert(argv.end(), rest.begin(), rest.end());
  }
  if (argv.empty()) {
    return absl::InvalidArgumentError(
        "no command specified: the request has no command or args and the image has no "
        "Entrypoint or Cmd");
  }
  return argv;
}

std::vector<std::string> MergeEnv(const std::string& hostname,
                                  const std::vector<std::string>& image_env,
                                  const std::vector<std::pair<std::string, std::string>>& envs) {
  std::vector<std::string> env = {kDefaultPath};
  if (!hostname.empty()) SetEnv(env, absl::StrCat("HOSTNAME=", hostname));
  for (const std::string& e : image_env) SetEnv(env, e);
  for (const auto& [key, value] : envs) SetEnv(env, absl::StrCat(key, "=", value));
  return env;
}

std::string ResolveWorkingDir(const std::string& requested, const std::string& image) {
  if (!requested.empty()) return requested;
  if (!image.empty()) return image;
  return "/";
}

absl::StatusOr<ResolvedUser> ResolveUser(const UserRequest& request,
                                         const std::vector<PasswdEntry>& passwd,
                                         const std::vector<GroupEntry>& groups) {
  if (request.run_as_group && !request.run_as_user && request.run_as_username.empty()) {
    return absl::InvalidArgumentError("run_as_group needs run_as_user or run_as_username");
  }
  std::string user_part, group_part;
  if (!request.run_as_username.empty()) {
    user_part = request.run_as_username;
  } else if (request.run_as_user) {
    if (*request.run_as_user < 0) return absl::InvalidArgumentError("run_as_user is negative");
    user_part = absl::StrCat(*request.run_as_user);
  } else {
    const size_t colon = request.image_user.find(':');
    user_part = request.image_user.substr(0, colon);
    if (colon != std::string::npos) group_part = request.image_user.substr(colon + 1);
  }
  if (request.run_as_group) {
    if (*request.run_as_group < 0) return absl::InvalidArgumentError("run_as_group is negative");
    group_part = absl::StrCat(*request.run_as_group);
  }

  ResolvedUser out;
  std::string user_name;
  uint32_t number = 0;
  if (user_part.empty()) {
    out.uid = 0;
  } else if (IsNumeric(user_part, &number)) {
    out.uid = number;
  } else {
    std::optional<PasswdEntry> entry = FindUserByName(passwd, user_part);
    if (!entry) {
      return absl::InvalidArgumentError(absl::StrCat(
          "user \"", user_part, "\" is not in the image's /etc/passwd; use a numeric uid"));
    }
    out.uid = entry->uid;
  }
  if (std::optional<PasswdEntry> entry = FindUserById(passwd, out.uid)) {
    out.gid = entry->gid;
    out.home = entry->home.empty() ? "/" : entry->home;
    user_name = entry->name;
  }
  if (!group_part.empty()) {
    if (IsNumeric(group_part, &number)) {
      out.gid = number;
    } else {
      std::optional<GroupEntry> group = FindGroupByName(groups, group_part);
      if (!group) {
        return absl::InvalidArgumentError(
            absl::StrCat("group \"", group_part, "\" is not in the image's /etc/group"));
      }
      out.gid = group->gid;
    }
  }
  std::set<uint32_t> gids = {out.gid};
  if (!user_name.empty()) {
    for (const GroupEntry& g : groups) {
      if (std::find(g.members.begin(), g.members.end(), user_name) != g.members.end()) {
        gids.insert(g.gid);
      }
    }
  }
  for (int64_t g : request.supplemental_groups) {
    if (g < 0) return absl::InvalidArgumentError("supplemental_groups holds a negative gid");
    gids.insert(static_cast<uint32_t>(g));
  }
  out.additional_gids.assign(gids.begin(), gids.end());
  return out;
}

}  // namespace stockade
