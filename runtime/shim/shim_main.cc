// stockade-shim: one per pod. Holds the pod's namespaces, is the subreaper of its containers,
// owns their stdout/stderr and writes them to the CRI log files, records every exit in
// `<dir>/<container>.exit`, and keeps running when stockaded dies. No gRPC, no protobuf: the
// daemon talks to it with one JSON line per request on `<dir>/shim.sock`:
//   {"op":"start","id":ID,"log_path":P,"spec":{...}}  -> {"ok":true,"pid":N}
//   {"op":"kill","id":ID,"signal":N}                    -> {"ok":true}
//   {"op":"state","id":ID}                              -> {"ok":true,"running":B,"exit":{...}}
//   {"op":"reopen","id":ID}                             -> {"ok":true}
//   {"op":"forget","id":ID}                             -> {"ok":true} (an ended container)
//   {"op":"exec","id":ID,"spec":{...},"timeout_ms":N}   -> {"ok":true,"exit_code":N,
//       + SCM_RIGHTS: the command's [stdin,] stdout,       "timed_out":B} when it has ended;
//         stderr; with "tty":true none: the shim makes    with a terminal, first one byte
//         a terminal in the container's devpts             carrying its master (SCM_RIGHTS)
//                                                          closing the connection kills it
//   {"op":"attach","id":ID}                          -> {"ok":true} when the attachment ends
//       + SCM_RIGHTS: stdin (read end), stdout, stderr    (container exit, or detach); closing
//         (write ends); the daemon's -1s are /dev/null    the connection detaches
//   {"op":"resize","id":ID,"width":W,"height":H}       -> {"ok":true} (a TTY container's)
//   {"op":"shutdown"}                                   -> {"ok":true} once every process of
//                                                          the pod has ended; then it exits
// usage: stockade-shim --pod-id ID --dir DIR [--hostname H] [--netns-dir D] [--host-network]
//                      [--host-ipc] [--pod-pid] [--sysctl KEY=VALUE]...
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/startup_memory.h"
#include "common/unique_fd.h"
#include "nlohmann/json.hpp"
#include "runtime/linux/container_process.h"
#include "runtime/linux/container_terminal.h"
#include "runtime/linux/exec_session.h"
#include "runtime/linux/pod_namespaces.h"
#include "runtime/shim/cri_log.h"
#include "runtime/shim/exit_record.h"
#include "runtime/shim/shim_wire.h"

namespace stockade {
namespace {

// A client attached to a container's stdio (through the daemon).
struct Attachment {
  UniqueFd conn;      // the attach request; the daemon closes it to detach
  UniqueFd in;        // what the client types: read end, or empty
  UniqueFd out, err;  // where the container's output also goes: write ends, or empty
};

// How much typed input waits for a container that does not read its stdin.
constexpr size_t kMaxPendingInput = 1 << 20;

struct Container {
  pid_t pid = -1;
  bool running = false;
  std::vector<std::string> cgroup_procs;  // what exec sessions enter
  std::unique_ptr<CriLogFile> log;
  std::unique_ptr<CriLogStream> out, err;
  UniqueFd out_fd, err_fd;  // read ends of the pipes; with a TTY, out_fd is the terminal
  bool tty = false, stdin_once = false;
  UniqueFd in_w;  // the container's stdin (a pipe's write end, or the terminal), or empty
  std::string in_pending;
  bool close_in_when_flushed = false;
  std::list<Attachment> attachments;
  ExitRecord exit;
};

// An exec session in flight: its relay, the connection its answer goes to (closed by the
// daemon to cancel it), and its deadline.
struct ExecCall {
  UniqueFd conn;
  ExecRelay relay;
  absl::Time deadline = absl::InfiniteFuture();
  bool timed_out = false;
};

class Shim {
 public:
  Shim(std::string dir, std::unique_ptr<PodNamespaces> pod)
      : dir_(std::move(dir)), pod_(std::move(pod)) {}

  int Run(UniqueFd listen_fd, UniqueFd signal_fd) {
    while (!stop_) {
      std::vector<pollfd> fds = {{listen_fd.get(), POLLIN, 0}, {signal_fd.get(), POLLIN, 0}};
      // Exec connections come next: a hang-up is the daemon cancelling the session.
      std::vector<ExecCall*> calls;
      absl::Time next_deadline = absl::InfiniteFuture();
      for (auto& [pid, call] : execs_) {
        if (!call.timed_out) next_deadline = std::min(next_deadline, call.deadline);
        if (!call.conn) continue;
        fds.push_back({call.conn.get(), POLLIN, 0});
        calls.push_back(&call);
      }
      const size_t first_pipe = fds.size();
      std::vector<std::pair<Container*, bool>> owners;  // (container, is stdout)
      for (auto& [id, c] : containers_) {
        if (c.out_fd) {
          fds.push_back({c.out_fd.get(), POLLIN, 0});
          owners.push_back({&c, true});
        }
        if (c.err_fd) {
          fds.push_back({c.err_fd.get(), POLLIN, 0});
          owners.push_back({&c, false});
        }
      }
      // Then typed input: the attachments' descriptors and the containers' stdin.
      const size_t first_input = fds.size();
      std::vector<std::function<void(short)>> on_ready;
      for (auto& [id, c] : containers_) {
        Container* cp = &c;
        if (c.in_w && !c.in_pending.empty()) {
          fds.push_back({c.in_w.get(), POLLOUT, 0});
          on_ready.push_back([this, cp](short) { FlushInput(*cp); });
        }
        for (auto it = c.attachments.begin(); it != c.attachments.end(); ++it) {
          fds.push_back({it->conn.get(), POLLIN, 0});
          on_ready.push_back([this, cp, it](short) { DetachIfClosed(*cp, it); });
          if (it->in && c.in_pending.size() < kMaxPendingInput) {
            fds.push_back({it->in.get(), POLLIN, 0});
            on_ready.push_back([this, cp, it](short) { ReadInput(*cp, it); });
          }
        }
      }
      int wait_ms = -1;
      if (next_deadline != absl::InfiniteFuture()) {
        wait_ms = static_cast<int>(
            std::max<int64_t>(0, absl::ToInt64Milliseconds(next_deadline - absl::Now()) + 1));
      }
      if (::poll(fds.data(), fds.size(), wait_ms) < 0) continue;
      for (size_t i = first_pipe; i < first_input; ++i) {
        if (fds[i].revents != 0) Pump(*owners[i - first_pipe].first, owners[i - first_pipe].second);
      }
      // Each handler may end an attachment: the ones still pending are looked up again.
      std::vector<std::function<void(short)>> ready;
      for (size_t i = first_input; i < fds.size(); ++i) {
        if (fds[i].revents != 0) ready.push_back(on_ready[i - first_input]);
      }
      for (size_t i = 0; i < ready.size() && !attachments_changed_; ++i) ready[i](0);
      attachments_changed_ = false;
      for (size_t i = 2; i < first_pipe; ++i) {
        if (fds[i].revents != 0) CancelIfClosed(*calls[i - 2]);
      }
      KillOverdueExecs();
      if (fds[1].revents != 0) Reap(signal_fd.get());
      if (fds[0].revents != 0) Serve(listen_fd.get());
    }
    KillAll();
    return 0;
  }

 private:
  // Ends every container (recording its exit) and the pod's namespaces, before answering.
  void KillAll() {
    for (auto& [pid, call] : execs_) KillRelay(pid);
    for (auto& [id, c] : containers_) {
      if (!c.running) continue;
      ::kill(c.pid, SIGKILL);
      int status = 0;
      if (::waitpid(c.pid, &status, 0) == c.pid) RecordExit(id, c, status);
    }
    pod_->Destroy().IgnoreError();
  }

  void CancelIfClosed(ExecCall& call) {
    char buf[256];
    const ssize_t n = ::recv(call.conn.get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))) return;
    KillRelay(call.relay.pid);  // the daemon gave up: nobody waits for this command
    call.conn.Reset();
  }

  void KillOverdueExecs() {
    const absl::Time now = absl::Now();
    for (auto& [pid, call] : execs_) {
      if (call.timed_out || now < call.deadline) continue;
      // The whole group: the command and whatever it started in the background.
      KillRelay(pid);
      call.timed_out = true;
    }
  }

  void EndExec(pid_t pid, int status) {
    auto it = execs_.find(pid);
    if (it == execs_.end()) return;
    ExecCall& call = it->second;
    if (call.conn) {
      if (std::optional<std::string> failure = ExecSessionFailure(call.relay.report.get())) {
        Reply(call.conn.get(), Error(absl::StrCat("exec in the container: ", *failure)));
      } else {
        const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        Reply(call.conn.get(), {{"ok", true}, {"exit_code", code}, {"timed_out", call.timed_out}});
      }
    }
    execs_.erase(it);
  }

  void RecordExit(const std::string& id, Container& c, int status) {
    while (c.out_fd && Pump(c, true)) {
    }
    while (c.err_fd && Pump(c, false)) {
    }
    c.running = false;
    c.exit.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    c.exit.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + c.exit.signal;
    c.exit.finished_at_unix_nano = absl::GetCurrentTimeNanos();
    WriteExitRecord(absl::StrCat(dir_, "/", id, ".exit"), c.exit).IgnoreError();
    while (!c.attachments.empty()) EndAttachment(c, c.attachments.begin());
    c.in_w.Reset();
    c.in_pending.clear();
  }

  // Moves what is available from one pipe into the log; false when nothing was there. The
  // pipes are non-blocking: a process the container left behind may hold them open forever.
  bool Pump(Container& c, bool is_out) {
    char buf[65536];
    UniqueFd& fd = is_out ? c.out_fd : c.err_fd;
    CriLogStream& stream = is_out ? *c.out : *c.err;
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n > 0) {
      stream.Feed(absl::string_view(buf, static_cast<size_t>(n))).IgnoreError();
      Fanout(c, is_out, buf, static_cast<size_t>(n));
      return true;
    }
    // A terminal whose last writer is gone reads EIO, not EOF.
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;
    stream.Close().IgnoreError();  // EOF: every writer is gone
    fd.Reset();
    return false;
  }

  // Copies output to the attached clients. Their pipes are non-blocking: a client that does
  // not keep up loses output rather than stall the pod's logs.
  void Fanout(Container& c, bool is_out, const char* data, size_t n) {
    for (Attachment& a : c.attachments) {
      UniqueFd& fd = is_out ? a.out : a.err;
      if (!fd) continue;
      if (::write(fd.get(), data, n) < 0 && errno != EAGAIN) fd.Reset();
    }
  }

  void FlushInput(Container& c) {
    while (c.in_w && !c.in_pending.empty()) {
      const ssize_t n = ::write(c.in_w.get(), c.in_pending.data(), c.in_pending.size());
      if (n < 0 && errno == EAGAIN) return;
      if (n <= 0) {  // the container closed its stdin
        c.in_pending.clear();
        c.in_w.Reset();
        return;
      }
      c.in_pending.erase(0, static_cast<size_t>(n));
    }
    if (c.close_in_when_flushed) c.in_w.Reset();
  }

  void ReadInput(Container& c, std::list<Attachment>::iterator a) {
    char buf[65536];
    const ssize_t n = ::read(a->in.get(), buf, sizeof(buf));
    if (n > 0) {
      if (c.in_w) c.in_pending.append(buf, static_cast<size_t>(n));
      FlushInput(c);
      return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    // The client's stdin ended: containerd closes the container's stdin for a stdin_once
    // container without a terminal, and otherwise detaches the client.
    a->in.Reset();
    if (c.stdin_once && !c.tty) {
      c.close_in_when_flushed = true;
      FlushInput(c);
    } else {
      EndAttachment(c, a);
    }
  }

  void DetachIfClosed(Container& c, std::list<Attachment>::iterator a) {
    char buf[256];
    const ssize_t n = ::recv(a->conn.get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))) return;
    a->conn.Reset();
    EndAttachment(c, a);
  }

  void EndAttachment(Container& c, std::list<Attachment>::iterator a) {
    if (a->conn) Reply(a->conn.get(), {{"ok", true}});
    c.attachments.erase(a);
    attachments_changed_ = true;
  }

  void Reap(int signal_fd) {
    signalfd_siginfo info;
    while (::read(signal_fd, &info, sizeof(info)) == sizeof(info)) {
    }
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      EndExec(pid, status);
      for (auto& [id, c] : containers_) {
        if (c.pid != pid || !c.running) continue;
        // Drains what the process wrote before it ended, so the log is complete first.
        RecordExit(id, c, status);
      }
    }
  }

  void Serve(int listen_fd) {
    UniqueFd conn(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) return;
    std::vector<UniqueFd> fds;
    const Json req = Json::parse(ReadRequest(conn.get(), fds), nullptr, false);
    if (req.is_object() && req.value("op", "") == "exec") {
      // Answered when the command ends; the connection waits in execs_ until then.
      if (std::optional<Json> error = Exec(req, fds, conn)) Reply(conn.get(), *error);
      return;
    }
    if (req.is_object() && req.value("op", "") == "attach") {
      if (std::optional<Json> error = Attach(req, fds, conn)) Reply(conn.get(), *error);
      return;
    }
    Reply(conn.get(), Handle(req));
  }

  // Joins a client to a running container's stdio; kept until the container ends or the
  // client detaches.
  std::optional<Json> Attach(const Json& req, std::vector<UniqueFd>& fds, UniqueFd& conn) {
    auto it = containers_.find(req.value("id", ""));
    if (it == containers_.end()) {
      return Error(absl::StrCat("no container ", req.value("id", ""), " in this pod"), "not_found");
    }
    Container& c = it->second;
    if (!c.running) return Error("the container is not running", "invalid");
    const std::vector<bool> has = {req.value("stdin", false), req.value("stdout", false),
                                   req.value("stderr", false)};
    size_t next = 0;
    Attachment a;
    UniqueFd* slots[] = {&a.in, &a.out, &a.err};
    for (size_t i = 0; i < 3; ++i) {
      if (!has[i]) continue;
      if (next >= fds.size()) return Error("attach is missing descriptors", "invalid");
      *slots[i] = std::move(fds[next++]);
      SetNonBlocking(slots[i]->get());
    }
    a.conn = std::move(conn);
    c.attachments.push_back(std::move(a));
    return std::nullopt;
  }

  // Starts an exec session; an error to answer at once, or nullopt when `conn` was kept.
  std::optional<Json> Exec(const Json& req, std::vector<UniqueFd>& fds, UniqueFd& conn) {
    auto it = containers_.find(req.value("id", ""));
    if (it == containers_.end()) {
      return Error(absl::StrCat("no container ", req.value("id", ""), " in this pod"), "not_found");
    }
    Container& c = it->second;
    if (!c.running) return Error("the container is not running", "invalid");
    const bool tty = req.value("tty", false);
    const bool with_stdin = req.value("stdin", false);
    const size_t wanted = tty ? 0 : 2 + with_stdin;
    if (fds.size() != wanted) {
      return Error(tty ? "exec with a terminal takes no descriptors: the shim makes the terminal"
                       : "exec needs its [stdin,] stdout and stderr descriptors",
                   "invalid");
    }
    const Json& s = req.value("spec", Json::object());
    ExecSessionSpec spec;
    ReadProcessFields(s, spec);
    spec.capabilities = s.value("caps", std::vector<int>{});
    spec.cgroup_procs_files = c.cgroup_procs;
    spec.container_pid = c.pid;
    spec.tty = tty;
    Terminal terminal;
    if (tty) {
      // From the container's own devpts: the command's /dev/pts/N is the container's.
      absl::StatusOr<Terminal> t = OpenContainerTerminal(c.pid);
      if (!t.ok()) return Error(std::string(t.status().message()));
      terminal = *std::move(t);
      if (::fchown(terminal.slave.get(), spec.uid, spec.gid) != 0) {
        return Error(absl::StrCat("chown the exec session's terminal: ", std::strerror(errno)));
      }
      spec.stdin_fd = spec.stdout_fd = spec.stderr_fd = terminal.slave.get();
    } else {
      spec.stdin_fd = with_stdin ? fds[0].get() : -1;
      spec.stdout_fd = fds[with_stdin ? 1 : 0].get();
      spec.stderr_fd = fds[with_stdin ? 2 : 1].get();
    }
    absl::StatusOr<ExecRelay> relay = StartExecSession(spec);
    if (!relay.ok()) return Error(std::string(relay.status().message()));
    // The terminal's master goes to the daemon first (one byte and the descriptor), the answer
    // when the command ends.
    if (tty && !SendDescriptor(conn.get(), terminal.master.get())) KillRelay(relay->pid);
    ExecCall call;
    call.conn = std::move(conn);
    const int64_t timeout_ms = req.value("timeout_ms", int64_t{0});
    if (timeout_ms > 0) call.deadline = absl::Now() + absl::Milliseconds(timeout_ms);
    const pid_t pid = relay->pid;
    call.relay = *std::move(relay);
    execs_.emplace(pid, std::move(call));
    return std::nullopt;
  }

  Json Handle(const Json& req) {
    if (!req.is_object()) return Error("the request is not a JSON object", "invalid");
    const std::string op = req.value("op", "");
    const std::string id = req.value("id", "");
    if (op == "shutdown") {
      KillAll();
      stop_ = true;
      return {{"ok", true}};
    }
    if (op == "start") return Start(id, req);
    if (op != "kill" && op != "state" && op != "reopen" && op != "forget" && op != "resize") {
      return Error(absl::StrCat("unknown op \"", op, "\""), "invalid");
    }
    auto it = containers_.find(id);
    if (it == containers_.end()) {
      return Error(absl::StrCat("no container ", id, " in this pod"), "not_found");
    }
    Container& c = it->second;
    if (op == "kill") {
      if (c.running && ::kill(c.pid, req.value("signal", SIGTERM)) != 0) {
        return Error(std::strerror(errno));
      }
      return {{"ok", true}};
    }
    if (op == "state") {
      Json r = {{"ok", true}, {"running", c.running}, {"pid", c.pid}};
      if (!c.running) {
        r["exit"] = {{"exit_code", c.exit.exit_code},
                     {"signal", c.exit.signal},
                     {"finished_at_unix_nano", c.exit.finished_at_unix_nano}};
      }
      return r;
    }
    if (op == "forget") {
      if (c.running) return Error("the container still runs", "invalid");
      ::unlink(absl::StrCat(dir_, "/", id, ".exit").c_str());
      containers_.erase(it);
      return {{"ok", true}};
    }
    if (op == "resize") {
      if (!c.tty || !c.out_fd) return Error("the container has no terminal", "invalid");
      winsize size{};
      size.ws_col = static_cast<unsigned short>(req.value("width", 0));
      size.ws_row = static_cast<unsigned short>(req.value("height", 0));
      if (::ioctl(c.out_fd.get(), TIOCSWINSZ, &size) != 0) return Error(std::strerror(errno));
      return {{"ok", true}};
    }
    if (op == "reopen") {
      absl::Status s = c.log->Reopen();
      return s.ok() ? Json{{"ok", true}} : Error(std::string(s.message()));
    }
    return Error("unreachable");
  }

  Json Start(const std::string& id, const Json& req) {
    if (id.empty() || id.find('/') != std::string::npos)
      return Error("bad container id", "invalid");
    if (containers_.count(id) > 0) {
      return Error(absl::StrCat("container ", id, " exists"), "already_exists");
    }
    const Json& s = req.value("spec", Json::object());
    Container c;
    absl::StatusOr<std::unique_ptr<CriLogFile>> log = CriLogFile::Open(req.value("log_path", ""));
    if (!log.ok()) return Error(std::string(log.status().message()));
    c.log = *std::move(log);
    c.out = std::make_unique<CriLogStream>(*c.log, "stdout");
    c.err = std::make_unique<CriLogStream>(*c.log, "stderr");
    c.tty = s.value("tty", false);
    c.stdin_once = s.value("stdin_once", false);
    // The container's end of its stdio: a terminal for all three, or pipes.
    UniqueFd in_r, out_w, err_w, console, console_theirs;
    if (c.tty) {
      // The container's init makes its terminal in its own devpts and sends the master here.
      int pair[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        return Error("socketpair failed");
      }
      console.Reset(pair[0]);
      console_theirs.Reset(pair[1]);
    } else {
      // Each output goes to the file the request names (a Nomad log FIFO: read-write, so the
      // open never waits for a reader), or through a pipe into the CRI log.
      for (const bool is_out : {true, false}) {
        UniqueFd& theirs = is_out ? out_w : err_w;
        const std::string path = s.value(is_out ? "stdout_path" : "stderr_path", "");
        if (!path.empty()) {
          theirs.Reset(::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC | O_NOCTTY));
          if (!theirs) return Error(absl::StrCat("open ", path, ": ", std::strerror(errno)));
          continue;
        }
        int pipe_fds[2];
        if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return Error("pipe failed");
        (is_out ? c.out_fd : c.err_fd).Reset(pipe_fds[0]);
        SetNonBlocking(pipe_fds[0]);
        theirs.Reset(pipe_fds[1]);
      }
      if (s.value("stdin", false)) {
        int in_pipe[2];
        if (::pipe2(in_pipe, O_CLOEXEC) != 0) return Error("pipe failed");
        in_r.Reset(in_pipe[0]);
        c.in_w.Reset(in_pipe[1]);
        SetNonBlocking(in_pipe[1]);
      }
    }

    ContainerProcessSpec spec;
    spec.rootfs = s.value("rootfs", "");
    ReadProcessFields(s, spec);
    for (int cap : s.value("caps", std::vector<int>{})) spec.capabilities.insert(cap);
    spec.read_only_rootfs = s.value("read_only_rootfs", false);
    spec.privileged = s.value("privileged", false);
    spec.hostname_file = s.value("hostname_file", "");
    spec.hosts_file = s.value("hosts_file", "");
    spec.resolv_conf_file = s.value("resolv_conf_file", "");
    spec.masked_paths = s.value("masked_paths", std::vector<std::string>{});
    spec.readonly_paths = s.value("readonly_paths", std::vector<std::string>{});
    for (const Json& m : s.value("mounts", Json::array())) {
      spec.mounts.push_back({m.value("host", ""), m.value("container", ""), m.value("ro", false),
                             static_cast<MountPropagation>(m.value("propagation", 0))});
    }
    spec.net_ns = pod_->NamespacePath("net");
    spec.uts_ns = pod_->NamespacePath("uts");
    spec.ipc_ns = pod_->NamespacePath("ipc");
    // "": a PID namespace of its own; "pod": the pod's; "host": the node's; else a path.
    const std::string pid_ns = s.value("pid_ns", "");
    UniqueFd target_pid_ns;
    spec.new_pid_namespace = pid_ns.empty();
    if (pid_ns == "pod") {
      spec.pid_ns = pod_->NamespacePath("pid");
      if (spec.pid_ns.empty()) return Error("the pod has no PID namespace to share", "invalid");
    } else if (absl::StartsWith(pid_ns, "container:")) {
      // The target is a child of this shim, not yet reaped while it runs: its PID is its own.
      auto target = containers_.find(pid_ns.substr(strlen("container:")));
      if (target == containers_.end() || !target->second.running) {
        return Error(absl::StrCat("container ", pid_ns.substr(strlen("container:")),
                                  " whose PID namespace this one joins is not running"),
                     "invalid");
      }
      target_pid_ns.Reset(::open(absl::StrCat("/proc/", target->second.pid, "/ns/pid").c_str(),
                                 O_RDONLY | O_CLOEXEC));
      if (!target_pid_ns) return Error("cannot open the target container's PID namespace");
      spec.pid_ns = absl::StrCat("/proc/self/fd/", target_pid_ns.get());
    } else if (pid_ns != "host" && !pid_ns.empty()) {
      return Error(absl::StrCat("pid_ns \"", pid_ns, "\" is none of pod, host, container:<id>"),
                   "invalid");
    }
    spec.cgroup_procs_files = s.value("cgroup_procs", std::vector<std::string>{});
    c.cgroup_procs = spec.cgroup_procs_files;
    if (s.contains("oom_score_adj")) spec.oom_score_adj = s.value("oom_score_adj", 0);
    spec.tty = c.tty;
    spec.console_socket = console_theirs.get();
    spec.stdin_fd = in_r ? in_r.get() : -1;
    spec.stdout_fd = out_w.get();
    spec.stderr_fd = err_w.get();
    absl::StatusOr<ContainerProcess> p = StartContainerProcess(spec);
    if (!p.ok()) return Error(std::string(p.status().message()));
    if (c.tty) {
      // Sent before the exec that StartContainerProcess waited for.
      console_theirs.Reset();
      c.out_fd = ReceiveDescriptor(console.get());
      if (!c.out_fd) {
        ::kill(p->pid, SIGKILL);
        return Error("the container's init sent no terminal");
      }
      SetNonBlocking(c.out_fd.get());
      if (s.value("stdin", false)) c.in_w.Reset(::fcntl(c.out_fd.get(), F_DUPFD_CLOEXEC, 0));
    }
    c.pid = p->pid;
    c.running = true;
    const pid_t pid = c.pid;
    containers_.emplace(id, std::move(c));
    return {{"ok", true}, {"pid", pid}};
  }

  // `code` lets the daemon map errors without parsing text: not_found, already_exists,
  // invalid, failed.
  static Json Error(const std::string& message, const char* code = "failed") {
    return {{"ok", false}, {"error", message}, {"code", code}};
  }

  std::string dir_;
  std::unique_ptr<PodNamespaces> pod_;
  std::map<std::string, Container> containers_;
  std::map<pid_t, ExecCall> execs_;
  bool attachments_changed_ = false;  // an attachment ended while ready ones were handled
  bool stop_ = false;
};

int Usage() {
  std::fprintf(stderr,
               "usage: stockade-shim --pod-id ID --dir DIR [--hostname H] [--netns-dir D] "
               "[--host-network] [--host-ipc] [--pod-pid] [--sysctl KEY=VALUE]...\n");
  return 2;
}

}  // namespace
}  // namespace stockade

int main(int argc, char** argv) {
  using namespace stockade;
  PodNamespaceOptions pod;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--pod-id")
      pod.pod_id = value();
    else if (a == "--dir")
      dir = value();
    else if (a == "--hostname")
      pod.hostname = value();
    else if (a == "--netns-dir")
      pod.netns_dir = value();
    else if (a == "--host-network")
      pod.new_network = false;
    else if (a == "--join-netns")
      pod.join_network = value();
    else if (a == "--host-ipc")
      pod.new_ipc = false;
    else if (a == "--pod-pid")
      pod.new_pid = true;
    else if (a == "--sysctl" && i + 1 < argc && std::strchr(argv[i + 1], '=') != nullptr) {
      const std::string kv = value();
      pod.sysctls[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
    } else
      return Usage();
  }
  if (pod.pod_id.empty() || dir.empty()) return Usage();
  // Orphaned processes of the containers are re-parented to us, and reaped here.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  UniqueFd signal_fd(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));

  absl::StatusOr<std::unique_ptr<PodNamespaces>> namespaces = PodNamespaces::Create(pod);
  if (!namespaces.ok()) {
    std::fprintf(stdout, "error %s\n", std::string(namespaces.status().message()).c_str());
    return 1;
  }
  const std::string socket_path = dir + "/shim.sock";
  ::unlink(socket_path.c_str());
  UniqueFd listen_fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  // Bound through the directory's descriptor: a run dir deep enough would not fit sun_path's
  // 108 bytes.
  UniqueFd dir_fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  const std::string short_path = absl::StrCat("/proc/self/fd/", dir_fd.get(), "/shim.sock");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  short_path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  if (!listen_fd || !dir_fd ||
      ::bind(listen_fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) ||
      ::listen(listen_fd.get(), 16) != 0) {
    std::fprintf(stdout, "error cannot listen on %s: %s\n", socket_path.c_str(),
                 std::strerror(errno));
    return 1;
  }
  // Ready: the daemon reads this line, then we stop writing to its pipe.
  std::fprintf(stdout, "ready %d\n", (*namespaces)->holder_pid());
  std::fflush(stdout);
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  ::dup2(devnull, 1);
  // One shim per pod: give back the start-up code pages (see startup_memory.h).
  ReleaseStartupMemory();
  Shim shim(dir, *std::move(namespaces));
  const int code = shim.Run(std::move(listen_fd), std::move(signal_fd));
  ::unlink(socket_path.c_str());
  return code;
}
