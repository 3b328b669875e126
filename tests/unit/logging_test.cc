#include "common/logging.h"

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace stockade {
namespace {

TEST(Logging, TextLineHasLevelMessageAndQuotedFields) {
  std::string line = FormatLogLine(LogFormat::kText, LogLevel::kWarn, "CRI call failed",
                                   {{"rpc", "Version"}, {"error", "bad thing"}, {"empty", ""}});
  EXPECT_NE(line.find(" warn \"CRI call failed\" rpc=Version error=\"bad thing\" empty=\"\""),
            std::string::npos)
      << line;
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(Logging, TextEscapesNewlinesSoEachEventIsOneLine) {
  std::string line = FormatLogLine(LogFormat::kText, LogLevel::kInfo, "m", {{"k", "a\nb"}});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("k=\"a\\nb\""), std::string::npos) << line;
}

TEST(Logging, JsonLineIsOneParseableObject) {
  std::string line = FormatLogLine(LogFormat::kJson, LogLevel::kError, "boom \"x\"",
                                   {{"pod", "abc"}, {"path", "/a b"}});
  nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["level"], "error");
  EXPECT_EQ(j["msg"], "boom \"x\"");
  EXPECT_EQ(j["pod"], "abc");
  EXPECT_EQ(j["path"], "/a b");
  EXPECT_TRUE(j["time"].is_string());
}

TEST(Logging, LevelsFilterAndParse) {
  ConfigureLogging(LogLevel::kWarn, LogFormat::kText);
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  ConfigureLogging(LogLevel::kInfo, LogFormat::kText);
  EXPECT_EQ(*ParseLogLevel("warning"), LogLevel::kWarn);
  EXPECT_FALSE(ParseLogLevel("verbose").ok());
  EXPECT_FALSE(ParseLogFormat("xml").ok());
}

}  // namespace
}  // namespace stockade
