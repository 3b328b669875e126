// What stockaded tells its puller process (one JSON object on the puller's stdin) and what the
// puller answers (one JSON object on its stdout). Both ends are built from this tree, so the
// format is private to them; it is still checked field by field, since a decode error must
// say what is wrong rather than pull with defaults.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "imagestore/image_fetcher.h"
#include "imagestore/manifest.h"
#include "imagestore/registry_hosts.h"
#include "imagestore/unpack_options.h"

namespace stockade {

// The same for every pull of one image store.
struct PullerConfig {
  std::string root;  // the image store's root: content/ and layers/
  int max_concurrent_downloads = 3;
  UnpackOptions unpack = DefaultUnpackOptions();
  std::vector<Platform> platforms = HostPlatforms();
  std::map<std::string, RegistryHostSettings> registries;
  std::string registry_config_dir;
  absl::Duration progress_timeout = absl::Minutes(5);
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kText;
};

struct PullRequest {
  PullerConfig config;
  std::string reference;  // normalised, a tag or a digest
  RegistryCredentials creds;
  std::string temp_tag;    // names the puller's temp files, for removal if it dies
  int64_t parent_pid = 0;  // the puller exits if its parent is not this process
};

std::string EncodePullRequest(const PullRequest& request);
absl::StatusOr<PullRequest> DecodePullRequest(absl::string_view json);

// The puller's answer: what it fetched, or the error to hand on (code and message).
std::string EncodePullResult(const absl::StatusOr<FetchedImage>& result);
// The error the puller reported, as it reported it; Internal when `json` is no result.
absl::StatusOr<FetchedImage> DecodePullResult(absl::string_view json);

}  // namespace stockade
