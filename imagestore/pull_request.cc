#include "imagestore/pull_request.h"

#include <cctype>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace stockade {
namespace {

using Json = nlohmann::json;

constexpr const char* kWhiteoutNames[] = {"overlay", "markers", "apply"};

absl::Status Bad(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("pull request: ", what));
}

// Typed field access: a missing or mistyped field is an error that names it.
template <typename T>
absl::Status Take(const Json& object, const char* key, T& out) {
  auto it = object.find(key);
  if (it == object.end()) return Bad(absl::StrCat("\"", key, "\" is missing"));
  try {
    out = it->get<T>();
  } catch (const Json::exception&) {
    return Bad(absl::StrCat("\"", key, "\" has the wrong type"));
  }
  return absl::OkStatus();
}

Json EncodeTls(const TlsSettings& tls) {
  return {{"skip_verify", tls.skip_verify},
          {"ca_file", tls.ca_file},
          {"cert_file", tls.cert_file},
          {"key_file", tls.key_file}};
}

absl::Status DecodeTls(const Json& j, TlsSettings& tls) {
  if (!j.is_object()) return Bad("a registry's \"tls\" is not an object");
  for (absl::Status s : {Take(j, "skip_verify", tls.skip_verify), Take(j, "ca_file", tls.ca_file),
                         Take(j, "cert_file", tls.cert_file), Take(j, "key_file", tls.key_file)}) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

Json EncodeConfig(const PullerConfig& c) {
  Json registries = Json::object();
  for (const auto& [host, r] : c.registries) {
    registries[host] = {{"mirrors", r.mirrors},
                        {"plain_http", r.plain_http},
                        {"tls", EncodeTls(r.tls)},
                        {"username", r.username},
                        {"password", r.password}};
  }
  Json platforms = Json::array();
  for (const Platform& p : c.platforms) {
    platforms.push_back({{"os", p.os}, {"architecture", p.architecture}, {"variant", p.variant}});
  }
  return {{"root", c.root},
          {"max_concurrent_downloads", c.max_concurrent_downloads},
          {"unpack",
           {{"whiteouts", kWhiteoutNames[static_cast<int>(c.unpack.whiteouts)]},
            {"restore_owners", c.unpack.restore_owners},
            {"allow_device_nodes", c.unpack.allow_device_nodes},
            {"max_bytes", c.unpack.max_bytes},
            {"max_entries", c.unpack.max_entries}}},
          {"platforms", platforms},
          {"registries", registries},
          {"registry_config_dir", c.registry_config_dir},
          {"progress_timeout_ms", absl::ToInt64Milliseconds(c.progress_timeout)},
          {"log_level", std::string(LogLevelName(c.log_level))},
          {"log_format", std::string(LogFormatName(c.log_format))}};
}

absl::Status DecodeConfig(const Json& j, PullerConfig& c) {
  if (!j.is_object()) return Bad("\"config\" is not an object");
  Json unpack, platforms, registries;
  std::string whiteouts, level, format;
  int64_t progress_ms = 0;
  for (absl::Status s :
       {Take(j, "root", c.root), Take(j, "max_concurrent_downloads", c.max_concurrent_downloads),
        Take(j, "unpack", unpack), Take(j, "platforms", platforms),
        Take(j, "registries", registries), Take(j, "registry_config_dir", c.registry_config_dir),
        Take(j, "progress_timeout_ms", progress_ms), Take(j, "log_level", level),
        Take(j, "log_format", format)}) {
    if (!s.ok()) return s;
  }
  if (c.root.empty() || c.root.front() != '/') return Bad("\"root\" is not an absolute path");
  if (!unpack.is_object()) return Bad("\"unpack\" is not an object");
  for (absl::Status s : {Take(unpack, "whiteouts", whiteouts),
                         Take(unpack, "restore_owners", c.unpack.restore_owners),
                         Take(unpack, "allow_device_nodes", c.unpack.allow_device_nodes),
                         Take(unpack, "max_bytes", c.unpack.max_bytes),
                         Take(unpack, "max_entries", c.unpack.max_entries)}) {
    if (!s.ok()) return s;
  }
  bool known = false;
  for (size_t i = 0; i < std::size(kWhiteoutNames); ++i) {
    if (whiteouts == kWhiteoutNames[i]) {
      c.unpack.whiteouts = static_cast<WhiteoutMode>(i);
      known = true;
    }
  }
  if (!known) return Bad(absl::StrCat("unknown whiteout form \"", whiteouts, "\""));
  if (!platforms.is_array()) return Bad("\"platforms\" is not an array");
  c.platforms.clear();
  for (const Json& p : platforms) {
    if (!p.is_object()) return Bad("a platform is not an object");
    Platform out;
    for (absl::Status s : {Take(p, "os", out.os), Take(p, "architecture", out.architecture),
                           Take(p, "variant", out.variant)}) {
      if (!s.ok()) return s;
    }
    c.platforms.push_back(std::move(out));
  }
  if (!registries.is_object()) return Bad("\"registries\" is not an object");
  c.registries.clear();
  for (const auto& [host, r] : registries.items()) {
    if (!r.is_object()) return Bad(absl::StrCat("registry \"", host, "\" is not an object"));
    RegistryHostSettings out;
    Json tls;
    for (absl::Status s : {Take(r, "mirrors", out.mirrors), Take(r, "plain_http", out.plain_http),
                           Take(r, "tls", tls), Take(r, "username", out.username),
                           Take(r, "password", out.password)}) {
      if (!s.ok()) return s;
    }
    if (absl::Status s = DecodeTls(tls, out.tls); !s.ok()) return s;
    c.registries[host] = std::move(out);
  }
  if (progress_ms <= 0) return Bad("\"progress_timeout_ms\" must be positive");
  c.progress_timeout = absl::Milliseconds(progress_ms);
  absl::StatusOr<LogLevel> parsed_level = ParseLogLevel(level);
  if (!parsed_level.ok()) return Bad(parsed_level.status().message());
  c.log_level = *parsed_level;
  absl::StatusOr<LogFormat> parsed_format = format == LogFormatName(LogFormat::kHclog)
                                                ? absl::StatusOr<LogFormat>(LogFormat::kHclog)
                                                : ParseLogFormat(format);
  if (!parsed_format.ok()) return Bad(parsed_format.status().message());
  c.log_format = *parsed_format;
  return absl::OkStatus();
}

absl::StatusOr<Digest> TakeDigest(const Json& j, const char* key) {
  std::string text;
  if (absl::Status s = Take(j, key, text); !s.ok()) return s;
  return Digest::Parse(text);
}

}  // namespace

std::string EncodePullRequest(const PullRequest& request) {
  Json creds = {{"username", request.creds.username},
                {"password", request.creds.password},
                {"registry_token", request.creds.registry_token}};
  return Json{{"config", EncodeConfig(request.config)},
              {"reference", request.reference},
              {"credentials", creds},
              {"temp_tag", request.temp_tag},
              {"parent_pid", request.parent_pid}}
      .dump();
}

absl::StatusOr<PullRequest> DecodePullRequest(absl::string_view json) {
  Json j = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Bad("not a JSON object");
  PullRequest out;
  Json config, creds;
  for (absl::Status s : {Take(j, "config", config), Take(j, "reference", out.reference),
                         Take(j, "credentials", creds), Take(j, "temp_tag", out.temp_tag),
                         Take(j, "parent_pid", out.parent_pid)}) {
    if (!s.ok()) return s;
  }
  if (absl::Status s = DecodeConfig(config, out.config); !s.ok()) return s;
  if (!creds.is_object()) return Bad("\"credentials\" is not an object");
  for (absl::Status s :
       {Take(creds, "username", out.creds.username), Take(creds, "password", out.creds.password),
        Take(creds, "registry_token", out.creds.registry_token)}) {
    if (!s.ok()) return s;
  }
  for (char c : out.temp_tag) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') {
      return Bad("\"temp_tag\" may hold only letters, digits and '-'");
    }
  }
  return out;
}

std::string EncodePullResult(const absl::StatusOr<FetchedImage>& result) {
  if (!result.ok()) {
    return Json{{"code", static_cast<int>(result.status().code())},
                {"message", std::string(result.status().message())}}
        .dump();
  }
  std::vector<std::string> blobs;
  for (const Digest& d : result->manifest_blobs) blobs.push_back(d.String());
  return Json{{"code", 0},
              {"top_digest", result->top_digest.String()},
              {"manifest_blobs", blobs},
              {"manifest_digest", result->manifest_digest.String()}}
      .dump();
}

absl::StatusOr<FetchedImage> DecodePullResult(absl::string_view json) {
  auto garbage = [&](absl::string_view why) {
    return absl::InternalError(absl::StrCat("the image puller's answer is not a pull result (", why,
                                            "): ", json.substr(0, 200)));
  };
  Json j = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return garbage("not a JSON object");
  int code = -1;
  if (!Take(j, "code", code).ok() || code < 0 || code > 16) return garbage("no valid code");
  if (code != 0) {
    std::string message;
    if (!Take(j, "message", message).ok()) return garbage("an error without a message");
    return absl::Status(static_cast<absl::StatusCode>(code), message);
  }
  FetchedImage out;
  absl::StatusOr<Digest> top = TakeDigest(j, "top_digest");
  absl::StatusOr<Digest> manifest = TakeDigest(j, "manifest_digest");
  std::vector<std::string> blobs;
  if (!top.ok() || !manifest.ok() || !Take(j, "manifest_blobs", blobs).ok()) {
    return garbage("a digest is missing or malformed");
  }
  out.top_digest = *top;
  out.manifest_digest = *manifest;
  for (const std::string& b : blobs) {
    absl::StatusOr<Digest> d = Digest::Parse(b);
    if (!d.ok()) return garbage("a manifest blob digest is malformed");
    out.manifest_blobs.push_back(*d);
  }
  return out;
}

}  // namespace stockade
