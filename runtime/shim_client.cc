#include "runtime/shim_client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "runtime/common/errors.h"
#include "runtime/common/unique_fd.h"

namespace stockade {
namespace {

using Json = nlohmann::json;

std::string SocketPath(const std::string& dir) { return dir + "/shim.sock"; }

absl::StatusOr<UniqueFd> Dial(const std::string& dir) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoError(errno, "socket");
  // Through the directory's descriptor: the full path may not fit sun_path's 108 bytes.
  UniqueFd dir_fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd) {
    return absl::UnavailableError(
        absl::StrCat("the pod's shim directory ", dir, " is gone: ", std::strerror(errno)));
  }
  const std::string short_path = absl::StrCat("/proc/self/fd/", dir_fd.get(), "/shim.sock");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  short_path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return absl::UnavailableError(absl::StrCat("the pod's shim at ", SocketPath(dir),
                                               " does not answer: ", std::strerror(errno)));
  }
  return fd;
}

absl::StatusOr<Json> Call(const std::string& dir, const Json& request) {
  absl::StatusOr<UniqueFd> fd = Dial(dir);
  if (!fd.ok()) return fd.status();
  const std::string line = request.dump() + "\n";
  if (::send(fd->get(), line.data(), line.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(line.size())) {
    return ErrnoError(errno, "send to the shim");
  }
  std::string reply;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd->get(), buf, sizeof(buf))) > 0) reply.append(buf, static_cast<size_t>(n));
  Json doc = Json::parse(reply, nullptr, false);
  if (!doc.is_object()) return absl::UnavailableError("the shim gave no readable answer");
  if (doc.value("ok", false)) return doc;
  const std::string message = absl::StrCat("shim: ", doc.value("error", "unknown error"));
  const std::string code = doc.value("code", "failed");
  if (code == "not_found") return absl::NotFoundError(message);
  if (code == "already_exists") return absl::AlreadyExistsError(message);
  if (code == "invalid") return absl::InvalidArgumentError(message);
  return absl::FailedPreconditionError(message);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ShimClient>> ShimClient::Launch(const ShimLaunch& launch,
                                                               absl::Duration timeout) {
  std::vector<std::string> args = {launch.shim_path, "--pod-id", launch.pod_id, "--dir",
                                   launch.dir};
  if (!launch.hostname.empty()) args.insert(args.end(), {"--hostname", launch.hostname});
  if (!launch.netns_dir.empty()) args.insert(args.end(), {"--netns-dir", launch.netns_dir});
  if (launch.host_network) args.push_back("--host-network");
  if (launch.host_ipc) args.push_back("--host-ipc");
  if (launch.pod_pid) args.push_back("--pod-pid");
  for (const auto& [key, value] : launch.sysctls) {
    args.insert(args.end(), {"--sysctl", absl::StrCat(key, "=", value)});
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe");
  UniqueFd read_end(out[0]), write_end(out[1]);
  // Double fork: the shim is re-parented away at once, so it neither needs reaping by the
  // daemon nor dies with it.
  const pid_t middle = ::fork();
  if (middle < 0) return ErrnoError(errno, "fork");
  if (middle == 0) {
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(write_end.get(), 1);
    ::dup2(devnull, 2);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::waitpid(middle, nullptr, 0);
  write_end.Reset();
  std::string line;
  const absl::Time deadline = absl::Now() + timeout;
  while (line.find('\n') == std::string::npos) {
    pollfd p{read_end.get(), POLLIN, 0};
    const int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (wait_ms <= 0 || ::poll(&p, 1, wait_ms) <= 0) {
      return absl::DeadlineExceededError(absl::StrCat("the pod's shim did not become ready within ",
                                                      absl::FormatDuration(timeout)));
    }
    char buf[256];
    ssize_t n = ::read(read_end.get(), buf, sizeof(buf));
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  if (!absl::StartsWith(line, "ready")) {
    return absl::InternalError(absl::StrCat("the pod's shim failed to start: ",
                                            line.empty() ? "it exited without a word" : line));
  }
  return std::unique_ptr<ShimClient>(new ShimClient(launch.dir));
}

absl::StatusOr<std::unique_ptr<ShimClient>> ShimClient::Connect(const std::string& dir) {
  absl::StatusOr<UniqueFd> fd = Dial(dir);
  if (!fd.ok()) return fd.status();
  return std::unique_ptr<ShimClient>(new ShimClient(dir));
}

absl::StatusOr<pid_t> ShimClient::StartContainer(const std::string& id, const std::string& log_path,
                                                 const ShimContainerSpec& spec) {
  Json mounts = Json::array();
  for (const VolumeMount& m : spec.mounts) {
    mounts.push_back({{"host", m.host_path},
                      {"container", m.container_path},
                      {"ro", m.read_only},
                      {"propagation", static_cast<int>(m.propagation)}});
  }
  Json request = {{"op", "start"},
                  {"id", id},
                  {"log_path", log_path},
                  {"spec",
                   {{"rootfs", spec.rootfs},
                    {"argv", spec.argv},
                    {"env", spec.env},
                    {"cwd", spec.cwd},
                    {"uid", spec.uid},
                    {"gid", spec.gid},
                    {"gids", spec.additional_gids},
                    {"caps", spec.capabilities},
                    {"read_only_rootfs", spec.read_only_rootfs},
                    {"privileged", spec.privileged},
                    {"hostname_file", spec.hostname_file},
                    {"hosts_file", spec.hosts_file},
                    {"resolv_conf_file", spec.resolv_conf_file},
                    {"masked_paths", spec.masked_paths},
                    {"readonly_paths", spec.readonly_paths},
                    {"mounts", mounts},
                    {"pid_ns", spec.pid_ns},
                    {"cgroup_procs", spec.cgroup_procs_files},
                    {"no_new_privs", spec.no_new_privs},
                    {"seccomp_filter", spec.seccomp_filter}}}};
  if (spec.oom_score_adj) request["spec"]["oom_score_adj"] = *spec.oom_score_adj;
  absl::StatusOr<Json> reply = Call(dir_, request);
  if (!reply.ok()) return reply.status();
  return reply->value("pid", -1);
}

absl::Status ShimClient::Kill(const std::string& id, int signal) {
  return Call(dir_, {{"op", "kill"}, {"id", id}, {"signal", signal}}).status();
}

absl::StatusOr<ShimContainerState> ShimClient::State(const std::string& id) {
  absl::StatusOr<Json> reply = Call(dir_, {{"op", "state"}, {"id", id}});
  if (!reply.ok()) return reply.status();
  ShimContainerState state;
  state.running = reply->value("running", false);
  state.pid = reply->value("pid", -1);
  if (reply->contains("exit")) {
    const Json& exit = (*reply)["exit"];
    state.exit_code = exit.value("exit_code", 0);
    state.signal = exit.value("signal", 0);
    state.finished_at_unix_nano = exit.value("finished_at_unix_nano", int64_t{0});
  }
  return state;
}

absl::Status ShimClient::ReopenLog(const std::string& id) {
  return Call(dir_, {{"op", "reopen"}, {"id", id}}).status();
}

absl::Status ShimClient::Forget(const std::string& id) {
  return Call(dir_, {{"op", "forget"}, {"id", id}}).status();
}

absl::Status ShimClient::Shutdown() { return Call(dir_, {{"op", "shutdown"}}).status(); }

}  // namespace stockade
