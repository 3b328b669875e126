// PullImage: pull by tag or digest with the request's credentials; answers the image ID,
// which kubelet passes to CreateContainer.
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "cri/image_service.h"
#include "imagestore/image_store.h"
#include "imagestore/reference.h"

namespace stockade {
namespace {

// The registry host part of AuthConfig.server_address ("https://host/v1/" -> "host").
std::string ServerHost(absl::string_view address) {
  absl::ConsumePrefix(&address, "https://") || absl::ConsumePrefix(&address, "http://");
  return std::string(address.substr(0, address.find('/')));
}

absl::StatusOr<RegistryCredentials> CredentialsFrom(const runtime::v1::AuthConfig& auth,
                                                    const ImageReference& ref) {
  RegistryCredentials creds;
  if (!auth.server_address().empty()) {
    const std::string host = ServerHost(auth.server_address());
    const bool hub =
        ref.domain == "docker.io" && (host == "index.docker.io" || host == "registry-1.docker.io");
    // Credentials for another registry are not sent to this one (containerd ignores them too).
    if (host != ref.domain && !hub) return creds;
  }
  if (!auth.username().empty() || !auth.password().empty()) {
    creds.username = auth.username();
    creds.password = auth.password();
  } else if (!auth.identity_token().empty()) {
    // An identity token is a refresh token; registries accept it as a Basic password of
    // "<token>" as the docker CLI sends it.
    creds.username = "<token>";
    creds.password = auth.identity_token();
  } else if (!auth.auth().empty()) {
    std::string decoded;
    if (!absl::Base64Unescape(auth.auth(), &decoded) || decoded.find(':') == std::string::npos) {
      return absl::InvalidArgumentError("auth.auth must be base64 of \"username:password\"");
    }
    creds.username = decoded.substr(0, decoded.find(':'));
    creds.password = decoded.substr(decoded.find(':') + 1);
  }
  creds.registry_token = auth.registry_token();
  return creds;
}

}  // namespace

absl::Status ImageServiceImpl::DoPullImage(const runtime::v1::PullImageRequest& request,
                                           runtime::v1::PullImageResponse& response) {
  const std::string& image = request.image().image();
  if (image.empty()) return absl::InvalidArgumentError("image.image must name an image");
  absl::StatusOr<ImageReference> ref = ParseImageReference(image);
  if (!ref.ok()) return ref.status();
  absl::StatusOr<RegistryCredentials> creds = CredentialsFrom(request.auth(), *ref);
  if (!creds.ok()) return creds.status();
  absl::StatusOr<ImageInfo> pulled = images_.Pull(image, *creds);
  if (!pulled.ok()) {
    return absl::Status(pulled.status().code(),
                        absl::StrCat("pull ", ref->String(), ": ", pulled.status().message()));
  }
  response.set_image_ref(pulled->id);
  return absl::OkStatus();
}

}  // namespace stockade
