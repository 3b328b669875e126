#include "tests/support/test_registry.h"

#include <fstream>

#include "absl/strings/ascii.h"
#include "tests/support/daemon_process.h"

namespace stockade::testing {

std::unique_ptr<TestRegistry> TestRegistry::Start(const std::string& user,
                                                  const std::string& password, std::string* error,
                                                  const std::string& tls) {
  auto registry = std::unique_ptr<TestRegistry>(new TestRegistry());
  const std::string scripts = std::string(STOCKADE_SOURCE_DIR) + "/scripts";
  std::vector<std::string> start = {"/bin/bash", scripts + "/testregistry.sh", "start",
                                    registry->dir_.Sub("registry")};
  if (!user.empty()) {
    start.push_back("--auth");
    start.push_back(user + ":" + password);
  }
  ProcessResult started = RunToCompletion(start, absl::Seconds(30));
  if (started.exit_code != 0) {
    *error = "testregistry.sh start failed: " + started.stderr_text;
    return nullptr;
  }
  registry->host_ = std::string(absl::StripAsciiWhitespace(started.stdout_text));
  std::vector<std::string> push = {"/usr/bin/python3",
                                   scripts + "/testimages.py",
                                   "--registry",
                                   registry->host_,
                                   "--out",
                                   registry->dir_.Sub("images.json")};
  if (!user.empty()) {
    push.insert(push.end(), {"--user", user, "--password", password});
  }
  ProcessResult pushed = RunToCompletion(push, absl::Seconds(120));
  if (pushed.exit_code != 0) {
    *error = "testimages.py failed: " + pushed.stderr_text;
    return nullptr;
  }
  std::ifstream summary(registry->dir_.Sub("images.json"));
  nlohmann::json doc = nlohmann::json::parse(summary, nullptr, false);
  if (!doc.is_object() || !doc.contains("images")) {
    *error = "images.json is not the expected summary";
    return nullptr;
  }
  for (const nlohmann::json& image : doc["images"]) registry->images_[image["ref"]] = image;
  if (!tls.empty()) {
    start.push_back("--" + tls);
    ProcessResult restarted = RunToCompletion(start, absl::Seconds(60));
    if (restarted.exit_code != 0) {
      *error = "testregistry.sh start --" + tls + " failed: " + restarted.stderr_text;
      return nullptr;
    }
    registry->host_ = std::string(absl::StripAsciiWhitespace(restarted.stdout_text));
  }
  return registry;
}

TestRegistry::~TestRegistry() {
  RunToCompletion({"/bin/bash", std::string(STOCKADE_SOURCE_DIR) + "/scripts/testregistry.sh",
                   "stop", dir_.Sub("registry")},
                  absl::Seconds(30));
}

const nlohmann::json& TestRegistry::Image(const std::string& ref) const {
  static const nlohmann::json kMissing;
  auto it = images_.find(ref);
  return it == images_.end() ? kMissing : *it;
}

}  // namespace stockade::testing
