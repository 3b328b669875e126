#include "imagestore/digest.h"

#include <openssl/evp.h>

#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace stockade {

absl::StatusOr<Digest> Digest::Parse(absl::string_view text) {
  const size_t colon = text.find(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("digest \"", text, "\" is not of the form sha256:<hex>"));
  }
  const absl::string_view algorithm = text.substr(0, colon);
  const absl::string_view hex = text.substr(colon + 1);
  if (algorithm != "sha256") {
    return absl::InvalidArgumentError(absl::StrCat("digest algorithm \"", algorithm,
                                                   "\" is not supported; stockade verifies "
                                                   "sha256 digests"));
  }
  if (hex.size() != 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("digest \"", text, "\" must have 64 hex characters"));
  }
  for (char c : hex) {
    if (!absl::ascii_isdigit(c) && !(c >= 'a' && c <= 'f')) {
      return absl::InvalidArgumentError(
          absl::StrCat("digest \"", text, "\" must be lowercase hex"));
    }
  }
  return Digest(std::string(hex));
}

absl::StatusOr<std::vector<Digest>> ListDigestNamedEntries(const std::string& dir) {
  std::vector<Digest> out;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    absl::StatusOr<Digest> d = Digest::Parse("sha256:" + it->path().filename().string());
    if (d.ok()) out.push_back(*d);
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return absl::ErrnoToStatus(ec.value(), absl::StrCat("list ", dir));
  }
  return out;
}

struct Sha256::State {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~State() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr);
}

Sha256::~Sha256() = default;

void Sha256::Update(const void* data, size_t size) { EVP_DigestUpdate(state_->ctx, data, size); }

Digest Sha256::Finish() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->ctx, out, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[out[i] >> 4]);
    hex.push_back(kHex[out[i] & 0xf]);
  }
  return Digest::FromSha256Hex(std::move(hex));
}

Digest Sha256::Of(absl::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.Finish();
}

}  // namespace stockade
