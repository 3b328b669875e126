#include "cri/daemon/command_line.h"

#include "gtest/gtest.h"

namespace stockade {
namespace {

TEST(CommandLine, NoArgumentsServesWithDefaults) {
  absl::StatusOr<CommandLine> cl = ParseCommandLine({});
  ASSERT_TRUE(cl.ok());
  EXPECT_EQ(cl->action, CommandLine::Action::kServe);
  EXPECT_FALSE(cl->config_path);
  EXPECT_FALSE(cl->socket_path);
}

TEST(CommandLine, PathFlagsInBothForms) {
  absl::StatusOr<CommandLine> cl =
      ParseCommandLine({"--config", "/c.yaml", "--socket=/s.sock", "--state-dir", "/st",
                        "--run-dir=/run/x", "--log-level", "debug", "--log-format=json"});
  ASSERT_TRUE(cl.ok()) << cl.status();
  EXPECT_EQ(*cl->config_path, "/c.yaml");
  EXPECT_EQ(*cl->socket_path, "/s.sock");
  EXPECT_EQ(*cl->state_dir, "/st");
  EXPECT_EQ(*cl->run_dir, "/run/x");
  EXPECT_EQ(*cl->log_level, "debug");
  EXPECT_EQ(*cl->log_format, "json");
}

TEST(CommandLine, VersionAndConfigDefault) {
  EXPECT_EQ(ParseCommandLine({"--version"})->action, CommandLine::Action::kPrintVersion);
  EXPECT_EQ(ParseCommandLine({"config", "default"})->action,
            CommandLine::Action::kPrintDefaultConfig);
}

TEST(CommandLine, MistakesAreNamed) {
  EXPECT_NE(ParseCommandLine({"--sokcet", "/x"}).status().message().find("--sokcet"),
            absl::string_view::npos);
  EXPECT_NE(ParseCommandLine({"--socket"}).status().message().find("needs a value"),
            absl::string_view::npos);
  EXPECT_FALSE(ParseCommandLine({"--socket="}).ok());
  EXPECT_FALSE(ParseCommandLine({"config", "dump"}).ok());
  EXPECT_FALSE(ParseCommandLine({"config"}).ok());
}

}  // namespace
}  // namespace stockade
