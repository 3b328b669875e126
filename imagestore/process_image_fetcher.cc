#include "imagestore/process_image_fetcher.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/logging.h"
#include "common/run_command.h"
#include "imagestore/content_store.h"
#include "imagestore/layer_store.h"

namespace stockade {
namespace {

// The last line the puller wrote on stderr, for an error message.
absl::string_view LastLine(absl::string_view text) {
  text = absl::StripTrailingAsciiWhitespace(text);
  const size_t newline = text.rfind('\n');
  return newline == absl::string_view::npos ? text : text.substr(newline + 1);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ProcessImageFetcher>> ProcessImageFetcher::Create(
    std::string puller_path, PullerConfig config) {
  if (puller_path.empty() || puller_path.front() != '/' ||
      ::access(puller_path.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the image puller ", puller_path,
                     " is missing or not executable: install stockade-puller next to "
                     "stockade-shim"));
  }
  return std::unique_ptr<ProcessImageFetcher>(
      new ProcessImageFetcher(std::move(puller_path), std::move(config)));
}

absl::StatusOr<FetchedImage> ProcessImageFetcher::Fetch(const ImageReference& image,
                                                        const RegistryCredentials& creds) {
  PullRequest request;
  request.config = config_;
  request.config.log_level = CurrentLogLevel();
  request.config.log_format = CurrentLogFormat();
  request.reference = image.String();
  request.creds = creds;
  request.temp_tag = absl::StrCat("pull", ::getpid(), "-", ++pulls_);
  request.parent_pid = ::getpid();
  absl::StatusOr<CommandResult> ran = RunCommand({puller_path_}, EncodePullRequest(request));
  if (absl::IsNotFound(ran.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot run the image puller ", puller_path_, ": ", ran.status().message(),
                     "; install stockade-puller next to stockade-shim"));
  }
  if (!ran.ok()) return ran.status();
  LogFormattedLines(ran->err);
  if (ran->exit_code == 0) return DecodePullResult(ran->out);
  {
    const std::string how = ran->exit_code > 128
                                ? absl::StrCat("was killed by signal ", ran->exit_code - 128)
                                : absl::StrCat("exited with code ", ran->exit_code);
    const absl::string_view said = LastLine(ran->err);
    // The puller removes its own temp files when it fails; not when it is killed.
    ContentStore::RemoveTemps(config_.root + "/content", request.temp_tag);
    LayerStore::RemoveTemps(config_.root + "/layers", request.temp_tag);
    return absl::InternalError(absl::StrCat("the image puller ", puller_path_, " ", how,
                                            " while pulling ", request.reference,
                                            said.empty() ? "" : ": ", said));
  }
}

}  // namespace stockade
