// The CNI client against small plugin scripts that record what they were given: the
// environment, stdin, chaining, order, errors, garbage and timeouts.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "cni/cni_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

namespace stockade {
namespace {

using stockade::testing::ReadFile;
using stockade::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;

class CniClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.Sub("bin"));
    std::filesystem::create_directories(dir_.Sub("net.d"));
    options_.conf_dir = dir_.Sub("net.d");
    options_.bin_dirs = {dir_.Sub("empty-bin"), dir_.Sub("bin")};
    options_.timeout = absl::Seconds(5);
  }

  // A plugin that appends "<name> <CNI_COMMAND>" to calls.log, saves its stdin and env, and
  // prints `result` (a shell word) for ADD.
  void Plugin(const std::string& name, const std::string& body) {
    const std::string path = dir_.Sub("bin/" + name);
    std::ofstream(path) << "#!/bin/sh\n"
                        << "echo \"" << name << " $CNI_COMMAND\" >> " << dir_.Sub("calls.log")
                        << "\ncat > " << dir_.Sub(name + ".$CNI_COMMAND.stdin") << "\n"
                        << "env > " << dir_.Sub(name + ".$CNI_COMMAND.env") << "\n"
                        << body << "\n";
    ::chmod(path.c_str(), 0755);
  }

  void Config(const std::string& json) {
    std::ofstream(dir_.Sub("net.d/10-test.conflist")) << json;
  }

  CniPodRequest Pod() {
    CniPodRequest pod;
    pod.container_id = std::string(64, 'a');
    pod.netns = "/run/stockade/netns/abc";
    pod.pod_namespace = "default";
    pod.pod_name = "web";
    pod.pod_uid = "uid-1";
    pod.port_mappings = {{8080, 80, "tcp", ""}};
    pod.dns_servers = {"10.96.0.10"};
    pod.ip_ranges = {"10.1.0.0/16"};
    pod.ingress_bits_per_second = 1000000;
    return pod;
  }

  TempDir dir_;
  CniOptions options_;
};

constexpr const char* kResult =
    R"('{"cniVersion":"1.0.0","interfaces":[{"name":"cni0"},{"name":"eth0","sandbox":"/run/netns/x"}],"ips":[{"address":"fd00::5/64","interface":1},{"address":"10.1.0.5/24","interface":1},{"address":"10.1.0.1/24","interface":0}]}')";

TEST_F(CniClientTest, AddRunsTheChainWithPrevResultEnvAndCapabilities) {
  Plugin("first", absl::StrCat("[ \"$CNI_COMMAND\" = ADD ] && echo ", kResult, "; exit 0"));
  Plugin("second", "cat " + dir_.Sub("second.ADD.stdin") +
                       " | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)"
                       "[\"prevResult\"]))'");
  Config(R"({"cniVersion": "1.0.0", "name": "net", "plugins": [
      {"type": "first", "capabilities": {"dns": true, "ipRanges": true, "bandwidth": true}},
      {"type": "second", "capabilities": {"portMappings": true}}]})");
  absl::StatusOr<CniNetwork> net = CniNetwork::Load(options_);
  ASSERT_TRUE(net.ok()) << net.status();
  absl::StatusOr<CniResult> result = net->Add(Pod());
  ASSERT_TRUE(result.ok()) << result.status();
  // The pod's addresses: on the sandbox interface only, IPv4 first, without prefix.
  EXPECT_THAT(result->ips, ElementsAre("10.1.0.5", "fd00::5"));
  EXPECT_EQ(ReadFile(dir_.Sub("calls.log")), "first ADD\nsecond ADD\n");

  Json first = Json::parse(ReadFile(dir_.Sub("first.ADD.stdin")));
  EXPECT_EQ(first["name"], "net");
  EXPECT_EQ(first["cniVersion"], "1.0.0");
  EXPECT_FALSE(first.contains("prevResult"));
  EXPECT_EQ(first["runtimeConfig"]["dns"]["servers"][0], "10.96.0.10");
  EXPECT_FALSE(first["runtimeConfig"].contains("portMappings")) << "not declared by first";
  EXPECT_EQ(first["runtimeConfig"]["ipRanges"][0][0]["subnet"], "10.1.0.0/16");
  EXPECT_EQ(first["runtimeConfig"]["bandwidth"]["ingressRate"], 1000000);
  EXPECT_FALSE(first["runtimeConfig"]["bandwidth"].contains("egressRate"));
  Json second = Json::parse(ReadFile(dir_.Sub("second.ADD.stdin")));
  EXPECT_EQ(second["prevResult"]["ips"][1]["address"], "10.1.0.5/24");
  EXPECT_EQ(second["runtimeConfig"]["portMappings"][0]["hostPort"], 8080);
  EXPECT_EQ(second["runtimeConfig"]["portMappings"][0]["protocol"], "tcp");

  const std::string env = ReadFile(dir_.Sub("first.ADD.env"));
  EXPECT_THAT(env, HasSubstr("CNI_COMMAND=ADD"));
  EXPECT_THAT(env, HasSubstr("CNI_CONTAINERID=" + std::string(64, 'a')));
  EXPECT_THAT(env, HasSubstr("CNI_NETNS=/run/stockade/netns/abc"));
  EXPECT_THAT(env, HasSubstr("CNI_IFNAME=eth0"));
  EXPECT_THAT(env, HasSubstr("CNI_PATH=" + dir_.Sub("empty-bin") + ":" + dir_.Sub("bin")));
  EXPECT_THAT(env, HasSubstr("K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;"
                             "K8S_POD_INFRA_CONTAINER_ID=" +
                             std::string(64, 'a') + ";K8S_POD_UID=uid-1"));
}

TEST_F(CniClientTest, DelRunsInReverseWithTheCachedResultAndFromTheSavedConfig) {
  Plugin("first", "exit 0");
  Plugin("second", "exit 0");
  Config(R"({"cniVersion": "1.0.0", "name": "net", "plugins": [{"type": "first"},
            {"type": "second"}]})");
  absl::StatusOr<CniNetwork> net = CniNetwork::Load(options_);
  ASSERT_TRUE(net.ok());
  const std::string saved = net->json();
  // The directory changes after the pod was attached: DEL still uses what ADD used.
  std::filesystem::remove(dir_.Sub("net.d/10-test.conflist"));
  absl::StatusOr<CniNetwork> again = CniNetwork::FromJson(saved, options_);
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_TRUE(again->Del(Pod(), R"({"cniVersion":"1.0.0","ips":[]})").ok());
  EXPECT_EQ(ReadFile(dir_.Sub("calls.log")), "second DEL\nfirst DEL\n");
  EXPECT_TRUE(Json::parse(ReadFile(dir_.Sub("first.DEL.stdin"))).contains("prevResult"));
  ASSERT_TRUE(again->Check(Pod(), R"({"cniVersion":"1.0.0","ips":[]})").ok());
  EXPECT_THAT(ReadFile(dir_.Sub("calls.log")), HasSubstr("first CHECK\nsecond CHECK\n"));
}

TEST_F(CniClientTest, AFailingPluginsMessageComesThroughAndTheChainIsUndone) {
  Plugin("first", absl::StrCat("[ \"$CNI_COMMAND\" = ADD ] && echo ", kResult, "; exit 0"));
  Plugin("second",
         "[ \"$CNI_COMMAND\" = ADD ] && echo '{\"code\": 11, \"msg\": \"no free address\", "
         "\"details\": \"range 10.1.0.0/24 is full\"}' && exit 1; exit 0");
  Config(R"({"cniVersion": "1.0.0", "name": "net", "plugins": [{"type": "first"},
            {"type": "second"}]})");
  absl::StatusOr<CniResult> result = CniNetwork::Load(options_)->Add(Pod());
  EXPECT_THAT(result.status().message(), HasSubstr("no free address: range 10.1.0.0/24 is full"));
  EXPECT_THAT(result.status().message(), HasSubstr("second"));
  EXPECT_EQ(ReadFile(dir_.Sub("calls.log")), "first ADD\nsecond ADD\nsecond DEL\nfirst DEL\n");
}

TEST_F(CniClientTest, GarbageMissingPluginsAndHangsAreClearErrors) {
  Plugin("garbage", "echo 'this is not json'");
  Config(R"({"cniVersion": "1.0.0", "name": "net", "plugins": [{"type": "garbage"}]})");
  EXPECT_THAT(CniNetwork::Load(options_)->Add(Pod()).status().message(),
              HasSubstr("not JSON: this is not json"));

  Config(R"({"cniVersion": "1.0.0", "name": "net", "plugins": [{"type": "nowhere"}]})");
  EXPECT_THAT(CniNetwork::Load(options_)->Add(Pod()).status().message(),
              HasSubstr("\"nowhere\" is not in"));

  Plugin("crash", "echo 'panic: runtime error' >&2; kill -SEGV $$");
  Config(R"({"cniVersion": "1.0.0", "name": "net", "plugins": [{"type": "crash"}]})");
  EXPECT_THAT(CniNetwork::Load(options_)->Add(Pod()).status().message(),
              HasSubstr("panic: runtime error"));

  Plugin("slow", "[ \"$CNI_COMMAND\" = ADD ] && sleep 30; exit 0");
  Config(R"({"cniVersion": "1.0.0", "name": "net", "plugins": [{"type": "slow"}]})");
  options_.timeout = absl::Milliseconds(300);
  const absl::Time t0 = absl::Now();
  absl::Status s = CniNetwork::Load(options_)->Add(Pod()).status();
  EXPECT_TRUE(absl::IsDeadlineExceeded(s)) << s;
  EXPECT_LT(absl::Now() - t0, absl::Seconds(5));

  Config(R"({"cniVersion": "1.0.0", "name": "net", "plugins": [{"type": "../../bin/sh"}]})");
  EXPECT_TRUE(absl::IsInvalidArgument(CniNetwork::Load(options_)->Add(Pod()).status()));
}

TEST_F(CniClientTest, ASingleConfIsAListOfOneAndResultsOf040AreRead) {
  Plugin("only",
         "echo '{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"4\","
         "\"address\":\"10.2.0.9/16\"}]}'");
  std::ofstream(dir_.Sub("net.d/20-single.conf"))
      << R"({"cniVersion": "0.4.0", "name": "single", "type": "only"})";
  absl::StatusOr<CniNetwork> net = CniNetwork::Load(options_);
  ASSERT_TRUE(net.ok()) << net.status();
  EXPECT_EQ(net->name(), "single");
  absl::StatusOr<CniResult> result = net->Add(Pod());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->ips, ElementsAre("10.2.0.9"));
  EXPECT_TRUE(absl::IsFailedPrecondition(PodIpsFromResult(R"({"ips": []})").status()));
  // Fields of the wrong type are errors, not crashes (found by the fuzzer).
  EXPECT_FALSE(PodIpsFromResult(R"({"ips": [{"address": 5}]})").ok());
  EXPECT_FALSE(PodIpsFromResult(R"({"ips": [{"address": "10.0.0.1/8", "interface": 0}],
                                    "interfaces": [{"sandbox": 1}]})")
                   .ok());
  EXPECT_TRUE(absl::IsInvalidArgument(
      CniNetwork::FromJson(R"({"name": {}, "type": "x"})", options_).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      CniNetwork::FromJson(R"({"name": "n", "cniVersion": 1, "type": "x"})", options_).status()));
}

}  // namespace
}  // namespace stockade
