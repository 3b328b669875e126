// Content digests ("sha256:<64 lowercase hex>") and the streaming hasher that computes them.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace stockade {

class Digest {
 public:
  // Accepts "sha256:<64 lowercase hex>" only; other algorithms are refused by name.
  static absl::StatusOr<Digest> Parse(absl::string_view text);
  static Digest FromSha256Hex(std::string hex) { return Digest(std::move(hex)); }

  const std::string& hex() const { return hex_; }
  std::string String() const { return "sha256:" + hex_; }
  bool operator==(const Digest& other) const { return hex_ == other.hex_; }
  bool operator!=(const Digest& other) const { return hex_ != other.hex_; }
  bool operator<(const Digest& other) const { return hex_ < other.hex_; }

 private:
  explicit Digest(std::string hex) : hex_(std::move(hex)) {}
  std::string hex_;
};

// The entries of `dir` whose names are sha256 hex digests (the layout of blobs/sha256 and
// layers/sha256); other names are skipped. A missing directory lists as empty.
absl::StatusOr<std::vector<Digest>> ListDigestNamedEntries(const std::string& dir);

// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const void* data, size_t size);
  void Update(absl::string_view data) { Update(data.data(), data.size()); }
  // Ends the hash; the object may not be updated afterwards.
  Digest Finish();

  static Digest Of(absl::string_view data);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace stockade
