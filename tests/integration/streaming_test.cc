// The streaming server end to end: Exec, Attach and PortForward URLs from the real daemon,
// used by our own SPDY and WebSocket clients against real containers; the refusals (404,
// 400, 403); and what a client that goes away leaves behind (nothing). Root.
#include <dirent.h>

#include <filesystem>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "nlohmann/json.hpp"
#include "tests/support/pod_fixture.h"
#include "tests/support/stream_client.h"

namespace stockade::testing {
namespace {

using ::testing::HasSubstr;

int CountFds(pid_t pid) {
  int n = 0;
  DIR* d = ::opendir(absl::StrCat("/proc/", pid, "/fd").c_str());
  if (d == nullptr) return -1;
  while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
  ::closedir(d);
  return n;
}

class StreamingTest : public PodFixture {
 protected:
  std::string ExecUrl(const std::string& id, const std::vector<std::string>& cmd, bool tty,
                      bool stdin, bool stderr = true) {
    v1::ExecRequest req;
    req.set_container_id(id);
    for (const std::string& a : cmd) req.add_cmd(a);
    req.set_tty(tty);
    req.set_stdin(stdin);
    req.set_stdout(true);
    req.set_stderr(stderr && !tty);
    v1::ExecResponse resp;
    grpc::Status s = runtime_->Exec(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.url();
  }

  // A running busybox container that sleeps, and its id.
  std::string Sleeper(const std::string& pod_name) {
    const std::string pod = RunPod(PodConfig(pod_name));
    return Start(pod, Root("c", {"sleep", "1000"}));
  }
};

TEST_F(StreamingTest, ExecGivesBothStreamsAndTheExitCode) {
  const std::string id = Sleeper("exec");
  const std::string url = ExecUrl(id, {"sh", "-c", "echo out; echo err >&2; exit 7"}, false, false);
  EXPECT_TRUE(absl::StartsWith(url, "http://127.0.0.1:")) << url;
  CommandResult r = RunSpdyCommand(url, {});
  ASSERT_TRUE(r.completed) << r.error;
  EXPECT_EQ(r.protocol, "v4.channel.k8s.io");
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  const nlohmann::json status = nlohmann::json::parse(r.error, nullptr, false);
  ASSERT_TRUE(status.is_object()) << r.error;
  EXPECT_EQ(status["reason"], "NonZeroExitCode");
  EXPECT_EQ(status["details"]["causes"][0]["reason"], "ExitCode");
  EXPECT_EQ(status["details"]["causes"][0]["message"], "7");

  // Success is a Success status; an older protocol gets none.
  r = RunSpdyCommand(ExecUrl(id, {"true"}, false, false), {});
  EXPECT_EQ(r.error, R"({"metadata":{},"status":"Success"})");
  CommandOptions v2;
  v2.protocols = {"v2.channel.k8s.io"};
  r = RunSpdyCommand(ExecUrl(id, {"sh", "-c", "echo two"}, false, false), v2);
  EXPECT_EQ(r.protocol, "v2.channel.k8s.io");
  EXPECT_EQ(r.out, "two\n");
  EXPECT_EQ(r.error, "");
}

TEST_F(StreamingTest, StdinReachesTheCommandAndItsEndIsEof) {
  const std::string id = Sleeper("stdin");
  CommandOptions o;
  o.stdin = true;
  o.input = "hello through stdin\n";
  CommandResult r = RunSpdyCommand(ExecUrl(id, {"cat"}, false, true), o);
  ASSERT_TRUE(r.completed);
  EXPECT_EQ(r.out, "hello through stdin\n");
  EXPECT_EQ(r.error, R"({"metadata":{},"status":"Success"})");
  // A megabyte each way, intact.
  std::string big;
  for (int i = 0; i < 1 << 20; ++i) big.push_back(static_cast<char>('a' + i % 26));
  o.input = big;
  r = RunSpdyCommand(ExecUrl(id, {"cat"}, false, true), o);
  EXPECT_EQ(r.out.size(), big.size());
  EXPECT_TRUE(r.out == big);
}

TEST_F(StreamingTest, ATerminalTakesTheClientsSize) {
  const std::string id = Sleeper("tty");
  CommandOptions o;
  o.tty = true;
  o.stdin = true;
  o.close_stdin = false;
  o.resize = std::make_pair(111, 33);
  CommandResult r = RunSpdyCommand(
      ExecUrl(id, {"sh", "-c", "sleep 1; stty size; tty; echo TERM=$TERM"}, true, true), o);
  ASSERT_TRUE(r.completed) << r.out;
  EXPECT_THAT(r.out, HasSubstr("33 111\r\n"));
  // The container's own terminal: /dev/pts/0 of its devpts.
  EXPECT_THAT(r.out, HasSubstr("/dev/pts/0\r\n"));
  EXPECT_EQ(r.out.find('\0'), std::string::npos);
  EXPECT_THAT(r.out, HasSubstr("TERM=xterm"));
  EXPECT_EQ(r.err, "");
}

TEST_F(StreamingTest, CommandsSeeOnlyTheirOwnDescriptors) {
  const std::string id = Sleeper("fds");
  CommandResult r = RunSpdyCommand(ExecUrl(id, {"ls", "/proc/self/fd"}, false, false), {});
  // 0-2, and the directory ls reads: nothing of the shim or the daemon.
  EXPECT_EQ(r.out, "0\n1\n2\n3\n");
  v1::ExecSyncResponse resp;
  ASSERT_TRUE(Exec(id, {"ls", "/proc/1/fd"}, 10, &resp).ok());
  EXPECT_EQ(resp.stdout(), "0\n1\n2\n");
}

TEST_F(StreamingTest, AttachSeesARunningContainersOutputAndFeedsItsStdin) {
  const std::string pod = RunPod(PodConfig("attach"));
  v1::ContainerConfig config = Root("c", {"sh", "-c", "while read line; do echo got:$line; done"});
  config.set_stdin(true);
  config.set_stdin_once(true);
  const std::string id = Start(pod, config);
  v1::AttachRequest req;
  req.set_container_id(id);
  req.set_stdin(true);
  req.set_stdout(true);
  req.set_stderr(true);
  v1::AttachResponse resp;
  ASSERT_TRUE(runtime_->Attach(Ctx().get(), req, &resp).ok());
  CommandOptions o;
  o.stdin = true;
  o.input = "one\ntwo\n";
  // stdin_once: the end of the client's stdin is the container's, and the shell ends.
  CommandResult r = RunSpdyCommand(resp.url(), o);
  ASSERT_TRUE(r.completed) << r.out;
  EXPECT_EQ(r.out, "got:one\ngot:two\n");
  EXPECT_EQ(r.error, R"({"metadata":{},"status":"Success"})");
  ASSERT_TRUE(
      WaitFor([&] { return Status(id).state() == v1::CONTAINER_EXITED; }, absl::Seconds(10)));
  // An attach to a container that is no longer running is refused at the RPC.
  EXPECT_EQ(runtime_->Attach(Ctx().get(), req, &resp).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(StreamingTest, AttachToATerminalContainer) {
  const std::string pod = RunPod(PodConfig("attach-tty"));
  v1::ContainerConfig config =
      Root("c", {"sh", "-c", "while true; do tty; stty size; sleep 0.2; done"});
  config.set_stdin(true);
  config.set_tty(true);
  const std::string id = Start(pod, config);
  v1::AttachRequest req;
  req.set_container_id(id);
  req.set_stdin(true);
  req.set_stdout(true);
  req.set_tty(true);
  v1::AttachResponse resp;
  ASSERT_TRUE(runtime_->Attach(Ctx().get(), req, &resp).ok());
  CommandOptions o;
  o.tty = true;
  o.stdin = true;
  o.close_stdin = false;
  o.resize = std::make_pair(90, 21);
  o.timeout = absl::Seconds(10);
  o.until = [](const CommandResult& r) { return absl::StrContains(r.out, "21 90"); };
  CommandResult r = RunSpdyCommand(resp.url(), o);
  EXPECT_THAT(r.out, HasSubstr("21 90\r\n"));
  EXPECT_THAT(r.out, HasSubstr("/dev/pts/0\r\n"));  // the container's own devpts
}

TEST_F(StreamingTest, PortForwardReachesAServerInThePod) {
  const std::string pod = RunPod(PodConfig("pf"));
  // An echo server in the pod's network namespace (busybox nc: -ll keeps listening).
  Start(pod, Root("c", {"nc", "-ll", "-p", "9000", "-e", "cat"}));
  v1::PortForwardRequest req;
  req.set_pod_sandbox_id(pod);
  req.add_port(9000);
  auto url = [&] {
    v1::PortForwardResponse resp;
    EXPECT_TRUE(runtime_->PortForward(Ctx().get(), req, &resp).ok());
    return resp.url();
  };
  HttpReply reply;
  std::unique_ptr<SpdyClient> c = SpdyClient::Connect(url(), {"portforward.k8s.io"}, &reply);
  ASSERT_NE(c, nullptr) << reply.status;
  EXPECT_EQ(reply.headers.find("x-stream-protocol-version")->second, "portforward.k8s.io");
  ForwardResult r;
  ASSERT_TRUE(WaitFor(
      [&] {
        static int request_id = 0;
        r = SpdyForward(*c, 9000, request_id++, "ping over spdy\n", absl::Seconds(5));
        return r.data == "ping over spdy\n";
      },
      absl::Seconds(20)))
      << r.data << " / " << r.error;
  EXPECT_EQ(r.error, "");
  // A port nothing listens on: the error stream says so.
  r = SpdyForward(*c, 9001, 1000, "x", absl::Seconds(5));
  EXPECT_THAT(r.error, HasSubstr("9001"));
  c->Close();

  ForwardResult ws;
  ASSERT_TRUE(WaitFor(
      [&] {
        ws = WebSocketForward(url(), "ping over websocket\n", absl::Seconds(5));
        return ws.data == "ping over websocket\n";
      },
      absl::Seconds(20)))
      << ws.data << " / " << ws.error;
}

TEST_F(StreamingTest, WebSocketExecWithV5AndBase64) {
  const std::string id = Sleeper("ws");
  CommandResult r =
      RunWebSocketCommand(ExecUrl(id, {"sh", "-c", "echo out; echo err >&2; exit 3"}, false, false),
                          "v5.channel.k8s.io", {});
  ASSERT_TRUE(r.completed);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(nlohmann::json::parse(r.error)["details"]["causes"][0]["message"], "3");
  CommandOptions in;
  in.stdin = true;
  in.input = "typed\n";
  r = RunWebSocketCommand(ExecUrl(id, {"cat"}, false, true), "v5.channel.k8s.io", in);
  EXPECT_EQ(r.out, "typed\n");  // v5's close signal ended cat's stdin
  r = RunWebSocketCommand(ExecUrl(id, {"echo", "b64"}, false, false), "v4.base64.channel.k8s.io",
                          {});
  EXPECT_EQ(r.out, "b64\n");
  EXPECT_EQ(r.error, R"({"metadata":{},"status":"Success"})");
}

TEST_F(StreamingTest, BadTokensUpgradesAndProtocolsAreRefused) {
  const std::string id = Sleeper("refuse");
  const std::string url = ExecUrl(id, {"true"}, false, false);
  const ParsedUrl u = ParseUrl(url);
  auto post = [&](const std::string& path, const std::string& headers) {
    return RawHttp(u.host, u.port,
                   absl::StrCat("POST ", path, " HTTP/1.1\r\nHost: x\r\n", headers,
                                "Content-Length: 0\r\n\r\n"));
  };
  const std::string spdy = "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n";
  EXPECT_EQ(
      post("/exec/nosuchtk", spdy + "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n").status,
      404);
  EXPECT_EQ(post("/nothing/here", spdy).status, 404);
  // A malformed upgrade uses up the token: it is then unknown.
  EXPECT_EQ(post(u.path, "Connection: keep-alive\r\n").status, 400);
  EXPECT_EQ(post(u.path, spdy + "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n").status, 404);
  // No protocol in common: 403 and the list of ours.
  HttpReply r = post(ParseUrl(ExecUrl(id, {"true"}, false, false)).path,
                     spdy + "X-Stream-Protocol-Version: v9.channel.k8s.io\r\n");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.headers.count("x-accepted-stream-protocol-versions"), 5u);
  // A token is good once.
  const std::string once = ExecUrl(id, {"true"}, false, false);
  EXPECT_TRUE(RunSpdyCommand(once, {}).completed);
  EXPECT_FALSE(RunSpdyCommand(once, {}).completed);
  // An exec in a stopped container fails at the RPC.
  ASSERT_TRUE(Stop(id, 0).ok());
  v1::ExecRequest req;
  req.set_container_id(id);
  req.add_cmd("true");
  req.set_stdout(true);
  v1::ExecResponse resp;
  EXPECT_EQ(runtime_->Exec(Ctx().get(), req, &resp).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  req.set_tty(true);
  req.set_stderr(true);
  EXPECT_EQ(runtime_->Exec(Ctx().get(), req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(StreamingTest, PingsAreEchoedAndSettingsIgnored) {
  const std::string id = Sleeper("ping");
  HttpReply reply;
  std::unique_ptr<SpdyClient> c =
      SpdyClient::Connect(ExecUrl(id, {"sleep", "2"}, false, false), {"v4.channel.k8s.io"}, &reply);
  ASSERT_NE(c, nullptr);
  // Nothing comes before the client's first frame.
  EXPECT_FALSE(c->PumpUntil([&] { return !c->data.empty() || !c->replied.empty(); },
                            absl::Milliseconds(300)));
  // SETTINGS (one entry) and WINDOW_UPDATE, then a ping.
  c->SendRaw(std::string(
      "\x80\x03\x00\x04\x00\x00\x00\x0c\x00\x00\x00\x01\x00\x00\x00\x07\x00\x01\x00\x00", 20));
  c->SendRaw(std::string("\x80\x03\x00\x09\x00\x00\x00\x08\x00\x00\x00\x01\x00\x00\x10\x00", 16));
  c->SendRaw(spdy::PingFrame(5));
  ASSERT_TRUE(c->PumpUntil([&] { return !c->pings.empty(); }, absl::Seconds(5)));
  EXPECT_EQ(c->pings.front(), 5u);
  c->Close();
}

TEST_F(StreamingTest, AClientThatGoesAwayLeavesNoProcessOrDescriptor) {
  const std::string id = Sleeper("cut");
  // Warm up (the server's first connection makes its lasting state), then count.
  RunSpdyCommand(ExecUrl(id, {"true"}, false, false), {});
  const int fds_before = CountFds(daemon_->pid());
  for (int i = 0; i < 3; ++i) {
    CommandOptions o;
    o.stdin = true;
    o.close_stdin = false;
    o.timeout = absl::Milliseconds(500);
    o.until = [](const CommandResult& r) { return absl::StrContains(r.out, "started"); };
    RunSpdyCommand(ExecUrl(id, {"sh", "-c", "echo started; exec sleep 4242"}, false, true), o);
  }
  v1::ExecSyncResponse ps;
  EXPECT_TRUE(WaitFor(
      [&] {
        return Exec(id, {"ps"}, 10, &ps).ok() && !absl::StrContains(ps.stdout(), "sleep 4242");
      },
      absl::Seconds(10)))
      << ps.stdout();
  EXPECT_TRUE(WaitFor([&] { return CountFds(daemon_->pid()) <= fds_before; }, absl::Seconds(10)))
      << CountFds(daemon_->pid()) << " descriptors, " << fds_before << " before";
}

// A short idle timeout from the config: an open session nobody speaks on is closed.
class StreamingIdleTest : public StreamingTest {
 protected:
  void ConfigureDaemon(DaemonProcess& daemon) override {
    StreamingTest::ConfigureDaemon(daemon);
    daemon.config_yaml += "streaming:\n  idle_timeout: 2s\n";
  }
};

TEST_F(StreamingIdleTest, AnIdleConnectionIsClosedAndItsCommandEnds) {
  const std::string id = Sleeper("idle");
  HttpReply reply;
  std::unique_ptr<SpdyClient> c = SpdyClient::Connect(
      ExecUrl(id, {"sh", "-c", "exec sleep 4343"}, false, false), {"v4.channel.k8s.io"}, &reply);
  ASSERT_NE(c, nullptr);
  for (const char* type : {"error", "stdout", "stderr"}) c->Open({{"streamtype", type}});
  const absl::Time start = absl::Now();
  EXPECT_TRUE(c->PumpUntil([&] { return c->eof; }, absl::Seconds(15)));
  EXPECT_GE(absl::Now() - start, absl::Seconds(1));
  v1::ExecSyncResponse ps;
  EXPECT_TRUE(WaitFor(
      [&] {
        return Exec(id, {"ps"}, 10, &ps).ok() && !absl::StrContains(ps.stdout(), "sleep 4343");
      },
      absl::Seconds(10)))
      << ps.stdout();
}

// TLS from the config (a self-signed certificate made here): https:// URLs, and the same
// protocols inside.
class StreamingTlsTest : public StreamingTest {
 protected:
  void ConfigureDaemon(DaemonProcess& daemon) override {
    StreamingTest::ConfigureDaemon(daemon);
    const std::string tls = dir_.Sub("tls");
    std::filesystem::create_directories(tls);
    const std::string cert = tls + "/cert.pem", key = tls + "/key.pem";
    ProcessResult r =
        RunToCompletion({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                         "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert},
                        absl::Seconds(30));
    ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
    daemon.config_yaml +=
        absl::StrCat("streaming:\n  tls_cert_file: ", cert, "\n  tls_key_file: ", key, "\n");
  }
};

TEST_F(StreamingTlsTest, ExecOverTls) {
  const std::string id = Sleeper("tls");
  const std::string url = ExecUrl(id, {"sh", "-c", "echo over tls; exit 4"}, false, false);
  ASSERT_TRUE(absl::StartsWith(url, "https://127.0.0.1:")) << url;
  const ParsedUrl u = ParseUrl(url);
  // Plain HTTP to the TLS port gets no HTTP answer.
  EXPECT_EQ(RawHttp(u.host, u.port, "POST /exec/x HTTP/1.1\r\nHost: x\r\n\r\n").status, 0);
  std::unique_ptr<TlsClientRelay> relay = TlsClientRelay::Start(u.host, u.port);
  CommandResult r = RunSpdyCommand(relay->Through(url), {});
  ASSERT_TRUE(r.completed) << r.error;
  EXPECT_EQ(r.out, "over tls\n");
  EXPECT_EQ(nlohmann::json::parse(r.error)["details"]["causes"][0]["message"], "4");
  const ParsedUrl through = ParseUrl(relay->Through(url));
  EXPECT_EQ(RawHttp(through.host, through.port,
                    "POST /exec/unknowntoken HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
                .status,
            404);
}

}  // namespace
}  // namespace stockade::testing
