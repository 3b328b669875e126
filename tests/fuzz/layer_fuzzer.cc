// Layer tarballs: whatever the bytes, extraction stays inside the layer root. A sentinel
// directory beside the root must stay empty and a sentinel file unchanged.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "imagestore/layer_unpacker.h"

namespace {

class BytesSource : public stockade::ByteSource {
 public:
  BytesSource(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  absl::StatusOr<size_t> Read(char* buf, size_t size) override {
    const size_t n = std::min(size, size_ - pos_);
    std::copy(data_ + pos_, data_ + pos_ + n, buf);
    pos_ += n;
    return n;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// Never destroyed, so the exit handler that removes the directory can still read its name.
const std::string& Base() {
  static const std::string* base = [] {
    char pattern[] = "/tmp/stockade-layer-fuzz-XXXXXX";
    auto* dir = new std::string(::mkdtemp(pattern));
    std::filesystem::create_directories(*dir + "/outside");
    std::ofstream(*dir + "/secret") << "untouched";
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(Base(), ec);
    });
    return dir;
  }();
  return *base;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string root = Base() + "/root";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  stockade::UnpackOptions options;
  options.whiteouts = stockade::WhiteoutMode::kApply;
  options.max_bytes = 16 << 20;
  options.max_entries = 10000;
  BytesSource plain(data, size);
  stockade::UnpackLayer(plain, root, options).IgnoreError();
  auto gz = stockade::MakeDecompressingSource(std::make_unique<BytesSource>(data, size),
                                              stockade::LayerCompression::kGzip);
  stockade::UnpackLayer(*gz, root, options).IgnoreError();
  std::ifstream secret(Base() + "/secret");
  std::stringstream text;
  text << secret.rdbuf();
  if (!std::filesystem::is_empty(Base() + "/outside") || text.str() != "untouched") std::abort();
  for (const auto& entry : std::filesystem::directory_iterator(Base())) {
    const std::string name = entry.path().filename().string();
    if (name != "root" && name != "outside" && name != "secret") std::abort();
  }
  return 0;
}
