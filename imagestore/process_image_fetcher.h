// ImageFetcher through a puller process (stockade-puller), one per pull: the registry client,
// libcurl and its TLS stack, the decompressors and libarchive run there, not in the daemon.
// The daemon's memory stays what its RPCs need (a pull used to leave ~8 MiB of code and heap
// mapped in it for good), and a bug that a hostile layer finds in a decompressor or in
// libarchive is in a short-lived process that holds no daemon state (it still runs as root
// with the image store writable: no sandbox of its own yet).
//
// The puller writes into the image store's directories, as the daemon's own threads did; its
// temp files carry a tag of this pull, so that a puller that dies (OOM killer, a crash) leaves
// nothing behind. It dies with the daemon (PR_SET_PDEATHSIG / PROC_PDEATHSIG_CTL).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "imagestore/image_fetcher.h"
#include "imagestore/pull_request.h"

namespace stockade {

class ProcessImageFetcher : public ImageFetcher {
 public:
  // FailedPrecondition when `puller_path` is not an executable.
  static absl::StatusOr<std::unique_ptr<ProcessImageFetcher>> Create(std::string puller_path,
                                                                     PullerConfig config);

  absl::StatusOr<FetchedImage> Fetch(const ImageReference& image,
                                     const RegistryCredentials& creds) override;

 private:
  ProcessImageFetcher(std::string puller_path, PullerConfig config)
      : puller_path_(std::move(puller_path)), config_(std::move(config)) {}

  const std::string puller_path_;
  const PullerConfig config_;
  std::atomic<uint64_t> pulls_{0};
};

}  // namespace stockade
