#include "cni/network_config_discovery.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace stockade {
namespace {

bool IsCandidate(const std::filesystem::path& p) {
  const std::string ext = p.extension().string();
  return ext == ".conflist" || ext == ".conf" || ext == ".json";
}

absl::Status Problem(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("CNI config ", path, ": ", what));
}

absl::Status CheckPlugin(const std::string& path, const nlohmann::json& plugin,
                         absl::string_view where) {
  if (!plugin.is_object()) return Problem(path, absl::StrCat(where, " is not a JSON object"));
  auto type = plugin.find("type");
  if (type == plugin.end() || !type->is_string() || type->get<std::string>().empty()) {
    return Problem(path, absl::StrCat(where, " has no \"type\" (the plugin binary's name)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<DiscoveredNetwork> ParseNetworkConfig(const std::string& path,
                                                     const std::string& text) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Problem(path, "is not valid JSON");
  if (!doc.is_object()) return Problem(path, "is not a JSON object");
  DiscoveredNetwork net;
  net.path = path;
  net.is_list = absl::EndsWith(path, ".conflist");
  auto name = doc.find("name");
  if (name == doc.end() || !name->is_string() || name->get<std::string>().empty()) {
    return Problem(path, "has no \"name\"");
  }
  net.name = name->get<std::string>();
  if (auto v = doc.find("cniVersion"); v != doc.end() && v->is_string()) {
    net.cni_version = v->get<std::string>();
  }
  if (net.is_list) {
    auto plugins = doc.find("plugins");
    if (plugins == doc.end() || !plugins->is_array() || plugins->empty()) {
      return Problem(path, "has no \"plugins\" list (a .conflist needs at least one plugin)");
    }
    for (size_t i = 0; i < plugins->size(); ++i) {
      if (absl::Status s = CheckPlugin(path, (*plugins)[i], absl::StrCat("plugins[", i, "]"));
          !s.ok()) {
        return s;
      }
    }
  } else if (absl::Status s = CheckPlugin(path, doc, "the network"); !s.ok()) {
    return s;
  }
  return net;
}

absl::StatusOr<DiscoveredNetwork> DiscoverNetworkConfig(const std::string& conf_dir) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (auto it = std::filesystem::directory_iterator(conf_dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (IsCandidate(it->path()) && it->is_regular_file(ec)) files.push_back(it->path());
  }
  if (files.empty()) {
    return absl::NotFoundError(absl::StrCat("no network config found in ", conf_dir));
  }
  std::sort(files.begin(), files.end());
  absl::Status first_problem;
  for (const std::filesystem::path& file : files) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      if (first_problem.ok()) first_problem = Problem(file.string(), "cannot be read");
      continue;
    }
    absl::StatusOr<DiscoveredNetwork> net = ParseNetworkConfig(file.string(), text.str());
    if (net.ok()) return net;
    if (first_problem.ok()) first_problem = net.status();
  }
  return first_problem;
}

}  // namespace stockade
