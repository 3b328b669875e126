// Image references, parsed and normalised the way Docker and containerd do it:
// "busybox" -> "docker.io/library/busybox:latest",
// "registry.k8s.io/pause:3.9", "localhost:5000/x@sha256:...".
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace stockade {

inline constexpr absl::string_view kDefaultRegistry = "docker.io";

struct ImageReference {
  std::string domain;  // registry host[:port], e.g. "docker.io", "127.0.0.1:5000"
  std::string path;    // repository path, e.g. "library/busybox"
  std::string tag;     // empty when the reference names only a digest
  std::string digest;  // "sha256:<hex>" or empty

  // "docker.io/library/busybox"
  std::string Repository() const { return domain + "/" + path; }
  // The fully normalised form: repository[:tag][@digest].
  std::string String() const;
  // "repository:tag" (empty without a tag) and "repository@digest" (empty without a digest).
  std::string TagReference() const;
  std::string DigestReference() const;
};

// InvalidArgument, naming the reference and the rule it breaks, for anything Docker would
// refuse (uppercase repository, bad tag, bad digest, empty components, over-long names).
absl::StatusOr<ImageReference> ParseImageReference(absl::string_view text);

}  // namespace stockade
