// nomad-driver-stockade's plain logic: go-cty msgpack decoding, the config schemas and their
// decoders, the hclspec sent to Nomad, the go-plugin handshake, task plans, driver state.
#include <sys/stat.h>

#include <regex>

#include "absl/strings/match.h"
#include "common/logging.h"
#include "gmock/gmock.h"
#include "google/rpc/status.pb.h"
#include "nlohmann/json.hpp"
#include "nomad-driver/config_schema.h"
#include "nomad-driver/cty_value.h"
#include "nomad-driver/driver_state.h"
#include "nomad-driver/go_plugin.h"
#include "nomad-driver/hclspec_build.h"
#include "nomad-driver/plugin_errors.h"
#include "nomad-driver/task_plan.h"
#include "plugins/drivers/proto/driver.pb.h"
#include "plugins/shared/structs/proto/recoverable_error.pb.h"
#include "tests/support/cty_msgpack_writer.h"
#include "tests/support/temp_dir.h"

namespace stockade::nomad {
namespace {

using stockade::testing::MsgpackWriter;
using ::testing::HasSubstr;
namespace proto = hashicorp::nomad::plugins::drivers::proto;

// A task config object as go-cty encodes it: every attribute, unset ones nil.
std::string TaskConfigMsgpack(const std::map<std::string, std::function<void(MsgpackWriter&)>>& set,
                              const std::vector<std::string>& extra_keys = {}) {
  MsgpackWriter w;
  const auto& attrs = TaskConfigAttributes();
  w.Map(static_cast<uint32_t>(attrs.size() + extra_keys.size()));
  for (const AttrSpec& a : attrs) {
    w.Str(a.name);
    auto it = set.find(a.name);
    if (it == set.end()) {
      w.Nil();
    } else {
      it->second(w);
    }
  }
  for (const std::string& k : extra_keys) w.Str(k).Str("x");
  return w.bytes();
}

TEST(CtyMsgpack, DecodesEveryIntegerWidthAsANumber) {
  for (int64_t v :
       {int64_t{0}, int64_t{5}, int64_t{127}, int64_t{128}, int64_t{255}, int64_t{256},
        int64_t{65535}, int64_t{65536}, int64_t{1} << 32, int64_t{-1}, int64_t{-32}, int64_t{-33},
        int64_t{-129}, int64_t{-40000}, int64_t{-3000000000}, INT64_MIN, INT64_MAX}) {
    MsgpackWriter w;
    w.Int(v);
    absl::StatusOr<CtyValue> got = DecodeCtyMsgpack(w.bytes());
    ASSERT_TRUE(got.ok()) << v << ": " << got.status();
    EXPECT_EQ(got->kind, CtyValue::Kind::kNumber);
    ASSERT_TRUE(got->integer.has_value()) << v;
    EXPECT_EQ(*got->integer, v);
  }
  MsgpackWriter f;
  f.Double(1.5);
  absl::StatusOr<CtyValue> real = DecodeCtyMsgpack(f.bytes());
  ASSERT_TRUE(real.ok());
  EXPECT_FALSE(real->integer.has_value());
  EXPECT_EQ(real->real, 1.5);
}

TEST(CtyMsgpack, TakesStrAndBinAsStringsAndNilAsNull) {
  MsgpackWriter w;
  w.Map(3).Str("a").Str("text").Bin("b").Bin("bytes").Str("c").Nil();
  absl::StatusOr<CtyValue> got = DecodeCtyMsgpack(w.bytes());
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->keys.size(), 3u);
  EXPECT_EQ(got->Find("a")->text, "text");
  EXPECT_EQ(got->Find("b")->text, "bytes");
  EXPECT_TRUE(got->Find("c")->is_null());
}

TEST(CtyMsgpack, RefusesMalformedPayloadsWithoutReadingPastThem) {
  const std::vector<std::string> bad = {
      "",                                          // nothing
      "\xa5hel",                                   // a string cut short
      "\x92\x01",                                  // an array missing an element
      std::string("\xdd\xff\xff\xff\xff", 5),      // 4 billion elements, none present
      std::string("\xdf\x80\x00\x00\x00\x01", 6),  // a map count past 2^31 (msgpuck's overflow)
      "\xc1",                                      // the reserved byte
      std::string("\x81\x01\x02", 3),              // a map key that is no string
      std::string("\x01\x02", 2),                  // bytes after the value
      std::string("\xd4\x05\x00", 3),              // an extension other than cty's unknown
      std::string("\x82\xa1k\x01\xa1k\x02", 7),    // a key twice
  };
  for (const std::string& b : bad) {
    absl::StatusOr<CtyValue> got = DecodeCtyMsgpack(b);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument)
        << "payload of " << b.size() << " bytes";
  }
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "\x91";
  deep += "\xc0";
  EXPECT_THAT(std::string(DecodeCtyMsgpack(deep).status().message()), HasSubstr("nested deeper"));
}

// Bytes go-cty 1.12 (Debian's golang-github-zclconf-go-cty-dev) marshals for an object with
// strings, a list, a null list, a map, a list of maps, a bool, a null string, numbers of
// several widths (7, 65535, -40000, 5e9, 1.5) and an unknown string.
TEST(CtyMsgpack, DecodesWhatGoCtyMarshals) {
  const std::string hex =
      "8da46172677392a22d63a76563686f206869a7636f6d6d616e64c0a5696d616765ba3132372e302e302e313a35"
      "3030302f62757379626f783a312e30a66d6f756e74739182a6736f75726365a42f737276a6746172676574a52f"
      "64617461a56e5f626967cf000000012a05f200a66e5f66726163cb3ff8000000000000a56e5f6e6567d2ffff63"
      "c0a76e5f736d616c6c07a56e5f753136cdffffa5706f727473c0aa70726976696c65676564c2a673797363746c"
      "81b26e65742e636f72652e736f6d6178636f6e6ea3353132a7756e6b6e6f776ed40000";
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  absl::StatusOr<CtyValue> v = DecodeCtyMsgpack(bytes);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->keys.size(), 13u);
  EXPECT_EQ(v->Find("image")->text, "127.0.0.1:5000/busybox:1.0");
  EXPECT_EQ(v->Find("args")->items[1].text, "echo hi");
  EXPECT_TRUE(v->Find("ports")->is_null());
  EXPECT_TRUE(v->Find("command")->is_null());
  EXPECT_EQ(v->Find("mounts")->items[0].Find("target")->text, "/data");
  EXPECT_EQ(v->Find("sysctl")->Find("net.core.somaxconn")->text, "512");
  EXPECT_EQ(v->Find("privileged")->kind, CtyValue::Kind::kBool);
  EXPECT_EQ(*v->Find("n_small")->integer, 7);
  EXPECT_EQ(*v->Find("n_u16")->integer, 65535);
  EXPECT_EQ(*v->Find("n_neg")->integer, -40000);
  EXPECT_EQ(*v->Find("n_big")->integer, 5000000000);
  EXPECT_EQ(v->Find("n_frac")->real, 1.5);
  EXPECT_EQ(v->Find("unknown")->kind, CtyValue::Kind::kUnknown);
}

TEST(CtyMsgpack, AnUnknownValueIsKnownAsSuch) {
  absl::StatusOr<CtyValue> got = DecodeCtyMsgpack(std::string("\xd4\x00\x00", 3));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->kind, CtyValue::Kind::kUnknown);
}

TEST(TaskConfig, DecodesWhatTheJobSays) {
  std::string bytes = TaskConfigMsgpack({
      {"image", [](MsgpackWriter& w) { w.Str("127.0.0.1:5000/busybox:1.0"); }},
      {"command", [](MsgpackWriter& w) { w.Str("sh"); }},
      {"args",
       [](MsgpackWriter& w) {
         w.Strings({"-c", "echo hi"});
       }},
      {"ports", [](MsgpackWriter& w) { w.Strings({"http"}); }},
      {"readonly_rootfs", [](MsgpackWriter& w) { w.Bool(true); }},
      {"sysctl", [](MsgpackWriter& w) { w.Map(1).Str("net.core.somaxconn").Str("512"); }},
      {"mounts",
       [](MsgpackWriter& w) {
         w.Array(1)
             .Map(3)
             .Str("source")
             .Str("/srv")
             .Str("target")
             .Str("/data")
             .Str("readonly")
             .Str("true");
       }},
      {"auth", [](MsgpackWriter& w) { w.Map(2).Str("username").Str("u").Str("password").Nil(); }},
  });
  absl::StatusOr<TaskDriverConfig> c = DecodeTaskDriverConfig(bytes);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->image, "127.0.0.1:5000/busybox:1.0");
  EXPECT_EQ(c->command, "sh");
  EXPECT_THAT(c->args, ::testing::ElementsAre("-c", "echo hi"));
  EXPECT_THAT(c->ports, ::testing::ElementsAre("http"));
  EXPECT_TRUE(c->readonly_rootfs);
  EXPECT_FALSE(c->privileged);
  EXPECT_EQ(c->sysctl.at("net.core.somaxconn"), "512");
  ASSERT_EQ(c->mounts.size(), 1u);
  EXPECT_EQ(c->mounts[0].target, "/data");
  EXPECT_TRUE(c->mounts[0].read_only);
  EXPECT_EQ(*c->auth_username, "u");
  EXPECT_FALSE(c->auth_password.has_value());  // an unset attribute of the block
}

TEST(TaskConfig, SaysWhatIsWrong) {
  auto message = [](const std::string& bytes) {
    return std::string(DecodeTaskDriverConfig(bytes).status().message());
  };
  EXPECT_THAT(message(TaskConfigMsgpack({})), HasSubstr("image: is required"));
  EXPECT_THAT(
      message(TaskConfigMsgpack({{"image", [](MsgpackWriter& w) { w.Str("x"); }}}, {"imagee"})),
      HasSubstr("imagee: unknown key"));
  EXPECT_THAT(message(TaskConfigMsgpack({{"image", [](MsgpackWriter& w) { w.Int(3); }}})),
              HasSubstr("image: must be string, not a number"));
  EXPECT_THAT(message(TaskConfigMsgpack({{"image", [](MsgpackWriter& w) { w.Str("x"); }},
                                         {"args", [](MsgpackWriter& w) { w.Array(1).Int(1); }}})),
              HasSubstr("args: must be list(string)"));
  EXPECT_THAT(
      message(TaskConfigMsgpack(
          {{"image", [](MsgpackWriter& w) { w.Str("x"); }},
           {"mounts", [](MsgpackWriter& w) { w.Array(1).Map(1).Str("source").Str("relative"); }}})),
      HasSubstr("mounts[0]: source: must be an absolute path"));
  EXPECT_THAT(message("\x93\x01"), HasSubstr("malformed msgpack"));
}

TEST(PluginConfig, DefaultsAndChecks) {
  absl::StatusOr<PluginConfig> none = DecodePluginConfig("");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->state_dir, "/var/lib/stockade-nomad");
  MsgpackWriter w;
  w.Map(5)
      .Str("state_dir")
      .Str("/x/state")
      .Str("run_dir")
      .Nil()
      .Str("config_file")
      .Nil()
      .Str("network")
      .Str("stockade-bridge")
      .Str("allow_privileged")
      .Bool(true);
  absl::StatusOr<PluginConfig> c = DecodePluginConfig(w.bytes());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->state_dir, "/x/state");
  EXPECT_EQ(c->run_dir, "/run/stockade-nomad");
  EXPECT_EQ(c->network, "stockade-bridge");
  EXPECT_TRUE(c->allow_privileged);
  MsgpackWriter rel;
  rel.Map(1).Str("state_dir").Str("relative");
  EXPECT_THAT(std::string(DecodePluginConfig(rel.bytes()).status().message()),
              HasSubstr("must be an absolute path"));
}

TEST(HclSpec, IsAnObjectOfAttrsWithDefaultsWrapped) {
  const auto spec = BuildHclSpec(TaskConfigAttributes());
  ASSERT_TRUE(spec.has_object());
  const auto& attrs = spec.object().attributes();
  ASSERT_TRUE(attrs.contains("image"));
  EXPECT_EQ(attrs.at("image").attr().type(), "string");
  EXPECT_TRUE(attrs.at("image").attr().required());
  EXPECT_EQ(attrs.at("mounts").attr().type(), "list(map(string))");
  ASSERT_TRUE(attrs.at("privileged").has_default_());
  EXPECT_EQ(attrs.at("privileged").default_().primary().attr().name(), "privileged");
  EXPECT_EQ(attrs.at("privileged").default_().default_().literal().value(), "false");
  // auth is a block, as Docker's: `auth { username = ... }` (Nomad also takes `auth = {...}`).
  ASSERT_TRUE(attrs.at("auth").has_block_value());
  EXPECT_EQ(attrs.at("auth").block_value().name(), "auth");
  EXPECT_EQ(
      attrs.at("auth").block_value().nested().object().attributes().at("password").attr().type(),
      "string");
}

TEST(GoPlugin, ChecksTheCookieAndNegotiatesTheVersion) {
  const std::string cookie(kMagicCookieValue);
  EXPECT_EQ(CheckPluginEnvironment({}).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(
      std::string(
          CheckPluginEnvironment({{"NOMAD_PLUGIN_MAGIC_COOKIE", "nope"}}).status().message()),
      HasSubstr("This binary is a plugin"));
  absl::StatusOr<PluginLaunch> ok = CheckPluginEnvironment({{"NOMAD_PLUGIN_MAGIC_COOKIE", cookie},
                                                            {"PLUGIN_PROTOCOL_VERSIONS", "1,2"},
                                                            {"PLUGIN_UNIX_SOCKET_DIR", "/run/x"}});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->app_protocol, 2);
  EXPECT_EQ(ok->socket_dir, "/run/x");
  EXPECT_THAT(std::string(CheckPluginEnvironment({{"NOMAD_PLUGIN_MAGIC_COOKIE", cookie},
                                                  {"PLUGIN_PROTOCOL_VERSIONS", "1,3"}})
                              .status()
                              .message()),
              HasSubstr("speaks 2"));
  EXPECT_EQ(HandshakeLine(2, "/run/x/plugin1"), "1|2|unix|/run/x/plugin1|grpc\n");
}

TEST(GoPlugin, LogLinesAreHclogJson) {
  const std::string line =
      FormatLogLine(LogFormat::kHclog, LogLevel::kWarn, "task started", {{"task_id", "a/b/c"}});
  nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["@level"], "warn");
  EXPECT_EQ(j["@message"], "task started");
  EXPECT_EQ(j["task_id"], "a/b/c");
  // go-hclog's layout: 2006-01-02T15:04:05.000000Z07:00
  EXPECT_TRUE(std::regex_match(j["@timestamp"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")))
      << j["@timestamp"];
}

TEST(DriverState, RoundTripsAndRefusesWhatIsNotOurs) {
  TaskRecord t{"alloc/web/1234abcd", std::string(64, 'a'), std::string(64, 'b'), 42,
               "10.88.0.5",          {{"http", 8080}}};
  absl::StatusOr<TaskRecord> back = DecodeDriverState(EncodeDriverState(t));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->container_id, t.container_id);
  EXPECT_EQ(back->port_map.at("http"), 8080);
  EXPECT_EQ(DecodeDriverState("garbage").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeDriverState(R"({"version":99,"pod_id":"p","container_id":"c"})").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(PluginErrors, StartTaskErrorsCarryARecoverableErrorDetail) {
  grpc::Status s = ToStartTaskStatus(absl::UnavailableError("registry down"));
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(s.error_details()));
  ASSERT_EQ(details.details_size(), 1);
  EXPECT_EQ(details.details(0).type_url(),
            "type.googleapis.com/hashicorp.nomad.plugins.shared.structs.RecoverableError");
  hashicorp::nomad::plugins::shared::structs::RecoverableError rec;
  ASSERT_TRUE(details.details(0).UnpackTo(&rec));
  EXPECT_TRUE(rec.recoverable());
  google::rpc::Status bad;
  ASSERT_TRUE(
      bad.ParseFromString(ToStartTaskStatus(absl::InvalidArgumentError("no")).error_details()));
  ASSERT_TRUE(bad.details(0).UnpackTo(&rec));
  EXPECT_FALSE(rec.recoverable());
}

proto::TaskConfig Task() {
  proto::TaskConfig t;
  t.set_id("4f1a-alloc/web/abcd1234");
  t.set_name("web");
  t.set_alloc_id("4f1a-alloc");
  t.set_namespace_("default");
  t.set_stdout_path("/alloc/logs/.web.stdout.fifo");
  t.set_stderr_path("/alloc/logs/.web.stderr.fifo");
  return t;
}

TEST(TaskPlan, MapsResourcesTheWayNomadMeansThem) {
  proto::TaskConfig t = Task();
  t.mutable_resources()->mutable_allocated_resources()->mutable_cpu()->set_cpu_shares(500);
  t.mutable_resources()->mutable_allocated_resources()->mutable_memory()->set_memory_mb(128);
  t.mutable_resources()->mutable_allocated_resources()->mutable_memory()->set_memory_max_mb(256);
  t.mutable_resources()->mutable_linux_resources()->set_cpuset_cpus("1");
  TaskDriverConfig c;
  c.image = "busybox";
  c.command = "sleep";
  c.args = {"10"};
  absl::StatusOr<TaskPlan> plan = PlanTask(t, c, PluginConfig{});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(*plan->container.limits.cpu_shares, 500);
  EXPECT_EQ(*plan->container.limits.memory_limit_bytes, 256 << 20);  // memory_max_mb: the hard one
  EXPECT_EQ(plan->container.limits.cpuset_cpus, "1");
  EXPECT_THAT(plan->container.args, ::testing::ElementsAre("sleep", "10"));
  EXPECT_TRUE(plan->container.command.empty());  // the image's entrypoint stays
  EXPECT_EQ(plan->container.stdout_path, "/alloc/logs/.web.stdout.fifo");
  EXPECT_EQ(plan->pod.network, NamespaceMode::kNode);  // no group network, no plugin network
  EXPECT_EQ(plan->pod.labels.at(kTaskIdLabel), t.id());
  t.mutable_resources()->mutable_allocated_resources()->mutable_memory()->set_memory_max_mb(0);
  EXPECT_EQ(MemoryLimitBytes(t), 128 << 20);
}

TEST(TaskPlan, NetworksAndPorts) {
  proto::TaskConfig t = Task();
  proto::PortMapping* p = t.mutable_resources()->add_ports();
  p->set_label("http");
  p->set_value(25123);
  p->set_to(8080);
  TaskDriverConfig c;
  c.image = "busybox";
  c.ports = {"http"};
  PluginConfig bridge;
  bridge.network = "stockade-bridge";
  absl::StatusOr<TaskPlan> own = PlanTask(t, c, bridge);
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_TRUE(own->own_network);
  EXPECT_EQ(own->port_map.at("http"), 8080);
  ASSERT_EQ(own->pod.port_mappings.size(), 2u);  // tcp and udp
  EXPECT_EQ(own->pod.port_mappings[0].host_port, 25123);

  t.mutable_network_isolation_spec()->set_mode(proto::NetworkIsolationSpec::GROUP);
  t.mutable_network_isolation_spec()->set_path("/var/run/netns/alloc1");
  absl::StatusOr<TaskPlan> group = PlanTask(t, c, bridge);
  ASSERT_TRUE(group.ok()) << group.status();
  EXPECT_FALSE(group->own_network);
  EXPECT_EQ(group->pod.network_namespace_path, "/var/run/netns/alloc1");

  c.ports = {"nope"};
  EXPECT_THAT(std::string(PlanTask(t, c, bridge).status().message()),
              HasSubstr("\"nope\" is not a port"));
}

TEST(TaskPlan, RefusesPrivilegedUnlessAllowedAndMapsUsersAndDirs) {
  stockade::testing::TempDir alloc;
  for (const char* d : {"alloc", "web", "web/local", "web/secrets"}) {
    ASSERT_EQ(::mkdir(alloc.Sub(d).c_str(), 0755), 0);
  }
  proto::TaskConfig t = Task();
  t.set_alloc_dir(alloc.path());
  t.set_user("1000:1001");
  proto::Mount* m = t.add_mounts();
  m->set_host_path("/srv/data");
  m->set_task_path("/data");
  m->set_readonly(true);
  proto::Device* d = t.add_devices();
  d->set_host_path("/dev/null");
  d->set_task_path("/dev/xnull");
  d->set_cgroup_permissions("r");
  TaskDriverConfig c;
  c.image = "busybox";
  c.privileged = true;
  EXPECT_EQ(PlanTask(t, c, PluginConfig{}).status().code(), absl::StatusCode::kPermissionDenied);
  c.privileged = false;
  absl::StatusOr<TaskPlan> plan = PlanTask(t, c, PluginConfig{});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(*plan->container.run_as_user, 1000);
  EXPECT_EQ(*plan->container.run_as_group, 1001);
  std::map<std::string, std::pair<std::string, bool>> mounts;
  for (const VolumeMount& v : plan->container.mounts) {
    mounts[v.container_path] = {v.host_path, v.read_only};
  }
  EXPECT_EQ(mounts["/alloc"].first, alloc.Sub("alloc"));
  EXPECT_EQ(mounts["/local"].first, alloc.Sub("web/local"));
  EXPECT_EQ(mounts["/secrets"].first, alloc.Sub("web/secrets"));
  EXPECT_TRUE(mounts["/data"].second);
  EXPECT_EQ(mounts["/dev/xnull"].first, "/dev/null");
  EXPECT_TRUE(mounts["/dev/xnull"].second);  // no "w": read-only
  d->set_host_path("/etc/passwd");
  EXPECT_EQ(PlanTask(t, c, PluginConfig{}).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(TaskPlan, SanitizesNames) {
  EXPECT_EQ(SanitizeName("web/api:1"), "web_api_1");
  EXPECT_EQ(SanitizeName(".hidden"), "t.hidden");
  EXPECT_EQ(SanitizeName(std::string(100, 'a')).size(), 63u);
}

}  // namespace
}  // namespace stockade::nomad
