// The shim's side of its wire to the daemon (see shim_main.cc for the requests): one JSON line
// per request, with descriptors along (SCM_RIGHTS), one JSON line per answer; and the small
// process helpers the requests share.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "nlohmann/json.hpp"

namespace stockade {

using Json = nlohmann::json;

// What a container's process and an exec session's have in common, as the daemon sends them.
template <typename Spec>
void ReadProcessFields(const Json& s, Spec& spec) {
  spec.argv = s.value("argv", std::vector<std::string>{});
  spec.env = s.value("env", std::vector<std::string>{});
  spec.cwd = s.value("cwd", "/");
  spec.uid = s.value("uid", 0u);
  spec.gid = s.value("gid", 0u);
  spec.additional_gids = s.value("gids", std::vector<uint32_t>{});
  spec.no_new_privs = s.value("no_new_privs", true);
  spec.seccomp_filter = s.value("seccomp_filter", std::vector<uint64_t>{});
}

// Reads one request line from `conn`, with the descriptors sent along with it (SCM_RIGHTS).
std::string ReadRequest(int conn, std::vector<UniqueFd>& fds);
void Reply(int conn, const Json& reply);

// Kills an exec session's relay and its group (a terminal's relay leads a session, made just
// after the fork: the relay itself is signalled too).
void KillRelay(pid_t pid);
void SetNonBlocking(int fd);

}  // namespace stockade
