// Unpacks one gzip layer file through stockade's pipeline (read -> inflate -> tar extract),
// the same code a pull runs per layer, and prints the throughput.
// usage: unpack_bench LAYER.tar.gz DEST_DIR
#include <fcntl.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "imagestore/byte_source.h"
#include "imagestore/layer_unpacker.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: unpack_bench LAYER.tar.gz DEST_DIR\n");
    return 2;
  }
  std::filesystem::create_directories(argv[2]);
  stockade::UniqueFd fd(::open(argv[1], O_RDONLY | O_CLOEXEC));
  const auto start = std::chrono::steady_clock::now();
  auto source = stockade::MakeDecompressingSource(
      std::make_unique<stockade::FdByteSource>(std::move(fd)), stockade::LayerCompression::kGzip);
  if (std::getenv("INFLATE_ONLY") != nullptr) {
    std::vector<char> buf(1 << 20);
    size_t total = 0;
    while (true) {
      auto n = source->Read(buf.data(), buf.size());
      if (!n.ok() || *n == 0) break;
      total += *n;
    }
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("stockade inflate only: %.2f s, %.0f MB/s\n", s, total / s / 1e6);
    return 0;
  }
  auto result = stockade::UnpackLayer(*source, argv[2], stockade::DefaultUnpackOptions());
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!result.ok()) {
    std::fprintf(stderr, "unpack failed: %s\n", std::string(result.status().message()).c_str());
    return 1;
  }
  std::printf("stockade unpack: %.2f s, %.0f MB/s of tar\n", s, result->bytes / s / 1e6);
  return 0;
}
