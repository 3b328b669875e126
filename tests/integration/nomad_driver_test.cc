// nomad-driver-stockade as Nomad's loader meets it (NOMAD.md, "Testing without a Nomad binary"):
// the go-plugin handshake, health, PluginInfo and the schemas, Capabilities and the first
// Fingerprint, a refused cookie, a probe launch that leaves nothing, and bad configs. Root.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/nomad_fixture.h"

namespace stockade::testing {
namespace {

namespace drv = hashicorp::nomad::plugins::drivers::proto;
namespace base = hashicorp::nomad::plugins::base::proto;
using ::testing::HasSubstr;

TEST_F(NomadDriverTest, HandshakesServesHealthAndDescribesItself) {
  EXPECT_TRUE(absl::StartsWith(plugin_->handshake(), "1|2|unix|" + dir_.Sub("sockets") + "/"))
      << plugin_->handshake();
  EXPECT_TRUE(absl::EndsWith(plugin_->handshake(), "|grpc"));

  grpc::ClientContext hctx;
  auto health = grpc::health::v1::Health::NewStub(plugin_->Channel());
  grpc::health::v1::HealthCheckRequest hreq;
  hreq.set_service("plugin");
  grpc::health::v1::HealthCheckResponse hresp;
  ASSERT_TRUE(health->Check(&hctx, hreq, &hresp).ok());
  EXPECT_EQ(hresp.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  base::PluginInfoResponse info;
  ASSERT_TRUE(plugin_->Base()->PluginInfo(Ctx().get(), {}, &info).ok());
  EXPECT_EQ(info.type(), base::DRIVER);
  EXPECT_EQ(info.name(), "stockade");
  ASSERT_EQ(info.plugin_api_versions_size(), 1);
  EXPECT_EQ(info.plugin_api_versions(0), "0.1.0");

  base::ConfigSchemaResponse schema;
  ASSERT_TRUE(plugin_->Base()->ConfigSchema(Ctx().get(), {}, &schema).ok());
  EXPECT_TRUE(schema.spec().object().attributes().contains("state_dir"));
  drv::TaskConfigSchemaResponse task_schema;
  ASSERT_TRUE(plugin_->Driver()->TaskConfigSchema(Ctx().get(), {}, &task_schema).ok());
  EXPECT_TRUE(task_schema.spec().object().attributes().at("image").attr().required());

  // Nomad 2's Init (after SetConfig) opens the runtime; older clients never call it.
  drv::InitResponse init;
  ASSERT_TRUE(plugin_->Driver()->Init(Ctx().get(), {}, &init).ok());
  EXPECT_TRUE(std::filesystem::exists(dir_.Sub("state/nomad-driver-stockade.log")));

  drv::CapabilitiesResponse caps;
  ASSERT_TRUE(plugin_->Driver()->Capabilities(Ctx().get(), {}, &caps).ok());
  EXPECT_TRUE(caps.capabilities().send_signals());
  EXPECT_TRUE(caps.capabilities().exec());
  EXPECT_EQ(caps.capabilities().fs_isolation(), drv::DriverCapabilities::IMAGE);
  // No CNI network in the plugin config: no TASK mode (a network of the task's own).
  EXPECT_THAT(
      caps.capabilities().network_isolation_modes(),
      ::testing::ElementsAre(drv::NetworkIsolationSpec::HOST, drv::NetworkIsolationSpec::GROUP));

  auto ctx = Ctx(30);
  auto fingerprints = plugin_->Driver()->Fingerprint(ctx.get(), {});
  drv::FingerprintResponse f;
  ASSERT_TRUE(fingerprints->Read(&f));
  EXPECT_EQ(f.health(), drv::FingerprintResponse::HEALTHY) << f.health_description();
  EXPECT_TRUE(f.attributes().at("driver.stockade").bool_val());
  EXPECT_EQ(f.attributes().at("driver.stockade.os").string_val(), "linux");
  ctx->TryCancel();
  // The log channel is hclog JSON.
  EXPECT_THAT(plugin_->Stderr(), HasSubstr("\"@level\":\"info\""));
}

TEST_F(NomadDriverTest, AWrongCookieIsRefusedAndAProbeLeavesNoState) {
  PluginProcess wrong(dir_.Sub("sockets"), dir_.Sub("wrong.log"));
  std::string error;
  EXPECT_FALSE(wrong.Start({{"NOMAD_PLUGIN_MAGIC_COOKIE", "nope"}}, &error));
  EXPECT_EQ(wrong.Wait(absl::Seconds(5)), 1);
  EXPECT_THAT(wrong.Stderr(), HasSubstr("This binary is a plugin"));

  // A probe launch (PluginInfo, ConfigSchema, SetConfig, killed) opens no runtime.
  PluginProcess probe(dir_.Sub("sockets"), dir_.Sub("probe.log"));
  ASSERT_TRUE(probe.Start());
  base::SetConfigRequest req;
  MsgpackWriter w;
  w.Map(1).Str("state_dir").Str(dir_.Sub("probe-state"));
  req.set_msgpack_config(w.bytes());
  base::SetConfigResponse resp;
  ASSERT_TRUE(probe.Base()->SetConfig(Ctx().get(), req, &resp).ok());
  probe.Kill(SIGKILL);
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("probe-state")));
}

TEST_F(NomadDriverTest, BadConfigsGetClearErrors) {
  base::SetConfigRequest req;
  req.set_msgpack_config(std::string("\x85\xa1", 2));
  base::SetConfigResponse resp;
  grpc::Status s = plugin_->Base()->SetConfig(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("malformed msgpack"));
  MsgpackWriter unknown;
  unknown.Map(1).Str("stat_dir").Str("/x");
  req.set_msgpack_config(unknown.bytes());
  s = plugin_->Base()->SetConfig(Ctx().get(), req, &resp);
  EXPECT_THAT(s.error_message(), HasSubstr("stat_dir: unknown key"));

  drv::StartTaskResponse start;
  TaskConfigBuilder no_image;
  s = StartTask(Task("noimage", no_image), &start);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("image: is required"));
  EXPECT_FALSE(s.error_details().empty());  // the RecoverableError detail
  TaskConfigBuilder extra = Shell("true");
  extra.extra_keys = {"imagee"};
  s = StartTask(Task("extra", extra), &start);
  EXPECT_THAT(s.error_message(), HasSubstr("imagee: unknown key"));
  TaskConfigBuilder missing = Shell("true");
  missing.image = registry_->Ref("stockade-test/nothing:1.0");
  s = StartTask(Task("missing", missing), &start);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.error_message(), HasSubstr("nothing"));

  // Unknown tasks: NotFound to look at, OK to stop and destroy (already gone).
  drv::InspectTaskRequest ireq;
  ireq.set_task_id("no/such/task");
  drv::InspectTaskResponse iresp;
  EXPECT_EQ(plugin_->Driver()->InspectTask(Ctx().get(), ireq, &iresp).error_code(),
            grpc::StatusCode::NOT_FOUND);
  drv::StopTaskRequest sreq;
  sreq.set_task_id("no/such/task");
  drv::StopTaskResponse sresp;
  EXPECT_TRUE(plugin_->Driver()->StopTask(Ctx().get(), sreq, &sresp).ok());
  drv::DestroyTaskRequest dreq;
  dreq.set_task_id("no/such/task");
  drv::DestroyTaskResponse dresp;
  EXPECT_TRUE(plugin_->Driver()->DestroyTask(Ctx().get(), dreq, &dresp).ok());
  // Nothing half-made: no pod of the failed starts is left.
  EXPECT_TRUE(!std::filesystem::exists(dir_.Sub("run/pods")) ||
              std::filesystem::is_empty(dir_.Sub("run/pods")));
}

}  // namespace
}  // namespace stockade::testing
