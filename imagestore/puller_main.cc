// stockade-puller: one image pull for stockaded (or nomad-driver-stockade), in a process of its
// own. It reads one pull request (JSON, imagestore/pull_request.h) on stdin, fetches the
// manifest, config and layers into the image store's directories, and writes one result on
// stdout; its log lines go to stderr in the format its parent uses. Not meant to be run by
// hand: exit code 2 and a line on stderr for a request that is not one.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/parent_death.h"
#include "imagestore/content_store.h"
#include "imagestore/layer_store.h"
#include "imagestore/local_image_fetcher.h"
#include "imagestore/pull_request.h"
#include "imagestore/reference.h"
#include "imagestore/registry_client.h"

namespace stockade {
namespace {

constexpr size_t kMaxRequestBytes = 1 << 20;

int Usage(absl::string_view why) {
  std::fprintf(stderr,
               "stockade-puller: %.*s (it reads one pull request from stockaded on stdin; "
               "it is not meant to be run by hand)\n",
               static_cast<int>(why.size()), why.data());
  return 2;
}

bool ReadRequest(std::string& out) {
  char buf[16384];
  while (true) {
    const ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxRequestBytes) return false;
  }
}

bool WriteAll(const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(1, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

absl::StatusOr<FetchedImage> Pull(const PullRequest& request, ContentStore& content,
                                  LayerStore& layers) {
  absl::StatusOr<ImageReference> ref = ParseImageReference(request.reference);
  if (!ref.ok()) return ref.status();
  const RegistryHosts hosts(request.config.registries, request.config.registry_config_dir);
  RegistryClientOptions client;
  client.progress_timeout = request.config.progress_timeout;
  LocalFetchOptions options;
  options.max_concurrent_downloads = request.config.max_concurrent_downloads;
  options.unpack = request.config.unpack;
  options.platforms = request.config.platforms;
  LocalImageFetcher fetcher(options, NewDistributionRegistry(hosts, client), content, layers);
  return fetcher.Fetch(*ref, request.creds);
}

int Main() {
  ::signal(SIGPIPE, SIG_IGN);
  std::string input;
  if (!ReadRequest(input)) return Usage("cannot read the pull request on stdin");
  absl::StatusOr<PullRequest> request = DecodePullRequest(input);
  if (!request.ok()) return Usage(request.status().message());
  if (absl::Status s = DieWithParent(static_cast<pid_t>(request->parent_pid)); !s.ok()) {
    return Usage(s.message());
  }
  ConfigureLogging(request->config.log_level, request->config.log_format);
  const std::string& root = request->config.root;
  const std::string& tag = request->temp_tag;
  absl::StatusOr<std::unique_ptr<ContentStore>> content =
      ContentStore::Attach(root + "/content", tag);
  absl::StatusOr<std::unique_ptr<LayerStore>> layers = LayerStore::Attach(root + "/layers", tag);
  absl::StatusOr<FetchedImage> result = !content.ok()  ? content.status()
                                        : !layers.ok() ? layers.status()
                                                       : Pull(*request, **content, **layers);
  if (!result.ok()) {
    ContentStore::RemoveTemps(root + "/content", tag);
    LayerStore::RemoveTemps(root + "/layers", tag);
  }
  return WriteAll(EncodePullResult(result)) ? 0 : 1;
}

}  // namespace
}  // namespace stockade

int main() { return stockade::Main(); }
