// The OCI distribution client: manifests and blobs from a registry's /v2/ API, through the
// registry's mirrors in order, with anonymous, Basic and Bearer-token auth (tokens cached per
// scope until they expire), retries with backoff on 5xx, 429 and dropped connections, and
// digests verified on everything it returns.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "imagestore/digest.h"
#include "imagestore/manifest.h"
#include "imagestore/reference.h"
#include "imagestore/registry_hosts.h"

namespace stockade {

struct FetchedManifest {
  std::string body;
  std::string content_type;
  Digest digest = Digest::FromSha256Hex("");  // sha256 of body, verified
};

// Receives a blob. Begin() starts (or restarts, before a retry) the transfer from byte 0.
class BlobSink {
 public:
  virtual ~BlobSink() = default;
  virtual absl::Status Begin() = 0;
  virtual absl::Status Write(const char* data, size_t size) = 0;
};

class Registry {
 public:
  virtual ~Registry() = default;
  // `reference` is a tag or a digest; a digest is verified against the bytes.
  virtual absl::StatusOr<FetchedManifest> FetchManifest(const ImageReference& image,
                                                        const std::string& reference,
                                                        const RegistryCredentials& creds) = 0;
  virtual absl::Status FetchBlob(const ImageReference& image, const Descriptor& blob,
                                 const RegistryCredentials& creds, BlobSink& sink) = 0;
};

struct RegistryClientOptions {
  absl::Duration progress_timeout = absl::Minutes(5);
  int max_attempts = 4;
  absl::Duration initial_backoff = absl::Milliseconds(200);
};

std::unique_ptr<Registry> NewDistributionRegistry(const RegistryHosts& hosts,
                                                  const RegistryClientOptions& options);

// Parses a WWW-Authenticate header: the scheme ("bearer", "basic", lower-cased) and its
// parameters (realm, service, scope, ...). Exposed for tests and fuzzing.
struct AuthChallenge {
  std::string scheme;
  std::map<std::string, std::string> params;
};
AuthChallenge ParseAuthChallenge(absl::string_view header);

}  // namespace stockade
