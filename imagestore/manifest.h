// The OCI / Docker image documents stockade reads: image index and Docker manifest list, image
// manifest (OCI and Docker schema 2), and the image config. Parsing validates shape and sizes;
// digests are verified by whoever fetched the bytes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "imagestore/digest.h"

namespace stockade {

namespace media_type {
inline constexpr char kOciIndex[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kOciConfig[] = "application/vnd.oci.image.config.v1+json";
inline constexpr char kDockerList[] = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr char kDockerConfig[] = "application/vnd.docker.container.image.v1+json";
inline constexpr char kDockerSchema1[] = "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr char kDockerSchema1Signed[] =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
}  // namespace media_type

// The Accept header for manifest requests: without the schema-2 and OCI types a distribution
// registry converts to schema 1.
std::string ManifestAcceptHeader();

inline constexpr int64_t kMaxManifestBytes = 4 << 20;
inline constexpr int64_t kMaxConfigBytes = 8 << 20;

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
  std::string String() const;
};

struct Descriptor {
  std::string media_type;
  Digest digest = Digest::FromSha256Hex("");
  int64_t size = 0;
  std::optional<Platform> platform;
  std::map<std::string, std::string> annotations;
};

enum class ManifestKind { kIndex, kImage };

// Decides what a manifest response is from its Content-Type, falling back to the document's
// own mediaType. Schema 1 and unknown types are refused with a message saying why.
absl::StatusOr<ManifestKind> ClassifyManifest(absl::string_view content_type,
                                              absl::string_view body);

struct ImageIndex {
  std::string media_type;
  std::vector<Descriptor> manifests;
};
absl::StatusOr<ImageIndex> ParseImageIndex(absl::string_view body);

struct ImageManifest {
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;
};
absl::StatusOr<ImageManifest> ParseImageManifest(absl::string_view body);

struct ImageConfig {
  std::string os;
  std::string architecture;
  std::string user;
  std::vector<std::string> env;
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  std::vector<std::string> volumes;
  std::vector<Digest> diff_ids;  // uncompressed layer digests, base first
};
absl::StatusOr<ImageConfig> ParseImageConfig(absl::string_view body);

enum class LayerCompression { kNone, kGzip, kZstd };
// The compression of a layer media type; InvalidArgument for types that are not layers.
absl::StatusOr<LayerCompression> CompressionOfLayer(absl::string_view media_type);

// The platforms this host runs, most preferred first (Linux: linux/<arch>; FreeBSD:
// freebsd/<arch>, then linux/<arch> through the Linux ABI).
std::vector<Platform> HostPlatforms();
std::vector<Platform> PlatformsFor(absl::string_view os, absl::string_view machine);

// The index entry for the first platform in `preferred` that the index offers.
absl::StatusOr<Descriptor> SelectPlatform(const ImageIndex& index,
                                          const std::vector<Platform>& preferred);

}  // namespace stockade
