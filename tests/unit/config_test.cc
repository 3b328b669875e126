#include "runtime/config/config.h"

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace stockade {
namespace {

using ::testing::HasSubstr;

TEST(Config, DefaultsMatchTheDocumentedLinuxLayout) {
  Config c = DefaultConfig(HostOs::kLinux);
  EXPECT_EQ(c.socket_path, "/run/stockade/stockade.sock");
  EXPECT_EQ(c.state_dir, "/var/lib/stockade");
  EXPECT_EQ(c.run_dir, "/run/stockade");
  EXPECT_EQ(c.cni.conf_dir, "/etc/cni/net.d");
  EXPECT_EQ(c.cni.bin_dirs, std::vector<std::string>{"/opt/cni/bin"});
  EXPECT_EQ(c.streaming_address.rfind("127.0.0.1:", 0), 0u);
  EXPECT_EQ(c.metrics_address.rfind("127.0.0.1:", 0), 0u);
  EXPECT_EQ(DefaultConfigPath(HostOs::kLinux), "/etc/stockade/config.yaml");
}

TEST(Config, FreeBsdDefaultsUseVarRunAndLocalEtc) {
  Config c = DefaultConfig(HostOs::kFreeBsd);
  EXPECT_EQ(c.socket_path, "/var/run/stockade/stockade.sock");
  EXPECT_EQ(DefaultConfigPath(HostOs::kFreeBsd), "/usr/local/etc/stockade/config.yaml");
}

TEST(Config, EmptyDocumentGivesDefaults) {
  absl::StatusOr<Config> c = ParseConfig("", "empty.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->socket_path, DefaultConfig().socket_path);
}

TEST(Config, RenderedDefaultParsesBackToTheSameSettings) {
  Config original = DefaultConfig();
  original.log.level = LogLevel::kDebug;
  original.cni.bin_dirs = {"/opt/cni/bin", "/usr/lib/cni"};
  original.grpc.shutdown_timeout = absl::Seconds(90);
  original.streaming_idle_timeout = absl::Minutes(30);
  original.metrics_address = "";
  original.images.max_concurrent_downloads = 5;
  original.images.pinned = {"registry.k8s.io/pause:3.9"};
  RegistryHostSettings mirror;
  mirror.mirrors = {"http://127.0.0.1:5000", "https://mirror.example"};
  mirror.tls.ca_file = "/etc/ca.pem";
  mirror.username = "u";
  mirror.password = "p";
  original.images.registries["docker.io"] = mirror;
  original.storage.zfs_dataset = "zroot/stockade";
  absl::StatusOr<Config> back = ParseConfig(RenderConfigYaml(original), "rendered");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(RenderConfigYaml(*back), RenderConfigYaml(original));
  EXPECT_EQ(back->cni.bin_dirs.size(), 2u);
  EXPECT_EQ(back->grpc.shutdown_timeout, absl::Seconds(90));
  EXPECT_EQ(back->streaming_idle_timeout, absl::Minutes(30));
  EXPECT_EQ(back->metrics_address, "");
  EXPECT_EQ(back->images.max_concurrent_downloads, 5);
  EXPECT_EQ(back->storage.zfs_dataset, "zroot/stockade");
  EXPECT_EQ(back->images.pinned, original.images.pinned);
  ASSERT_EQ(back->images.registries.count("docker.io"), 1u);
  EXPECT_EQ(back->images.registries["docker.io"].mirrors, mirror.mirrors);
  EXPECT_EQ(back->images.registries["docker.io"].tls.ca_file, "/etc/ca.pem");
  EXPECT_EQ(back->images.registries["docker.io"].password, "p");
}

TEST(Config, EveryDocumentedKeyIsAccepted) {
  const char* yaml = R"(
socket: /tmp/s.sock
state_dir: /tmp/state
run_dir: /tmp/run
cgroup_driver: systemd
log: {level: warn, format: json}
grpc: {max_recv_message_bytes: 4194304, max_send_message_bytes: 8388608, shutdown_timeout: 2s}
cni: {conf_dir: /tmp/cni, bin_dirs: [/tmp/bin]}
streaming: {address: "127.0.0.1:10010"}
metrics: {address: ""}
)";
  absl::StatusOr<Config> c = ParseConfig(yaml, "all.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->socket_path, "/tmp/s.sock");
  EXPECT_EQ(c->cgroup_driver, CgroupDriverSetting::kSystemd);
  EXPECT_EQ(c->log.level, LogLevel::kWarn);
  EXPECT_EQ(c->log.format, LogFormat::kJson);
  EXPECT_EQ(c->grpc.max_recv_message_bytes, 4194304);
  EXPECT_EQ(c->grpc.shutdown_timeout, absl::Seconds(2));
  EXPECT_EQ(c->cni.bin_dirs, std::vector<std::string>{"/tmp/bin"});
  EXPECT_EQ(c->streaming_address, "127.0.0.1:10010");
  EXPECT_TRUE(c->metrics_address.empty());
}

struct BadConfigCase {
  std::string yaml;
  std::string expected;  // must appear in the one-line message
};

class BadConfig : public ::testing::TestWithParam<BadConfigCase> {};

TEST_P(BadConfig, IsOneLineNamingFileLineKeyAndProblem) {
  absl::StatusOr<Config> c = ParseConfig(GetParam().yaml, "/etc/stockade/config.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(c.status().message());
  EXPECT_THAT(message, HasSubstr("/etc/stockade/config.yaml:"));
  EXPECT_THAT(message, HasSubstr(GetParam().expected));
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadConfig,
    ::testing::Values(
        BadConfigCase{"log:\n  level: loud\n", ":2: log.level: unknown log level \"loud\""},
        BadConfigCase{"log:\n  format: xml\n", "log.format"},
        BadConfigCase{"socket: relative.sock\n", ":1: socket: must be an absolute path"},
        BadConfigCase{"socket: /" + std::string(200, 'a') + "\n", "socket: path is"},
        BadConfigCase{"metrics:\n  adress: x\n", ":2: metrics.adress: unknown key"},
        BadConfigCase{"grpc:\n  shutdown_timeout: soon\n",
                      "grpc.shutdown_timeout: must be a duration"},
        BadConfigCase{"grpc:\n  max_recv_message_bytes: -5\n", "grpc.max_recv_message_bytes"},
        BadConfigCase{"metrics:\n  address: localhost\n", "metrics.address: must be host:port"},
        BadConfigCase{"streaming:\n  address: \"1.2.3.4:99999\"\n", "streaming.address"},
        BadConfigCase{"streaming:\n  address: \"\"\n", "streaming.address"},
        BadConfigCase{"streaming:\n  tls_cert_file: /etc/stockade/tls.pem\n",
                      "tls_cert_file and tls_key_file go together"},
        BadConfigCase{"streaming:\n  tls_key_file: relative.pem\n",
                      "streaming.tls_key_file: must be an absolute path"},
        BadConfigCase{"streaming:\n  idle_timeout: 0s\n",
                      "streaming.idle_timeout: must be a duration from 1s to 24h"},
        BadConfigCase{"cni:\n  bin_dirs: /opt/cni/bin\n", "cni.bin_dirs: must be a list"},
        BadConfigCase{"cni:\n  bin_dirs: []\n", "cni.bin_dirs: must name at least one"},
        BadConfigCase{"cgroup_driver: cgroupv3\n", "cgroup_driver: unknown driver"},
        BadConfigCase{"log: [1, 2]\n", "log: must be a mapping"},
        BadConfigCase{"- just\n- a list\n", "(top level)"},
        BadConfigCase{"socket: [unclosed\n", "invalid YAML"},
        BadConfigCase{"log:\n  level: {a: b}\n", "log.level: must be a single value"}));

TEST(Config, MissingFileIsNotFoundNamingThePath) {
  absl::StatusOr<Config> c = LoadConfigFile("/nonexistent/stockade.yaml");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("/nonexistent/stockade.yaml"));
}

TEST(Config, LoadsFromFile) {
  testing::TempDir dir;
  std::ofstream(dir.Sub("c.yaml")) << "state_dir: /srv/stockade\n";
  absl::StatusOr<Config> c = LoadConfigFile(dir.Sub("c.yaml"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->state_dir, "/srv/stockade");
  EXPECT_EQ(c->socket_path, DefaultConfig().socket_path);
}

TEST(Config, InvalidUtf8PathsRenderWithoutThrowing) {
  absl::StatusOr<Config> c = ParseConfig("state_dir: \"/var/\xff\xfe\"\n", "bad-utf8.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(RenderConfigYaml(*c).empty());
  EXPECT_FALSE(RenderConfigJson(*c).empty());
}

TEST(Config, JsonFormCarriesTheSettings) {
  Config c = DefaultConfig();
  c.cni.conf_dir = "/x/net.d";
  const std::string json = RenderConfigJson(c);
  EXPECT_THAT(json, HasSubstr("\"confDir\":\"/x/net.d\""));
  EXPECT_THAT(json, HasSubstr("\"socket\":\"/run/stockade/stockade.sock\""));
}

}  // namespace
}  // namespace stockade
