// Times PullImage on any CRI image endpoint: removes the image, pulls it, and repeats.
// usage: cri_pull --socket PATH --image REF [--runs N]
// Prints one line per run and the median, in seconds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "runtime/v1/api.grpc.pb.h"

int main(int argc, char** argv) {
  std::string socket, image;
  int runs = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--socket"))
      socket = argv[i + 1];
    else if (!std::strcmp(argv[i], "--image"))
      image = argv[i + 1];
    else if (!std::strcmp(argv[i], "--runs"))
      runs = std::atoi(argv[i + 1]);
  }
  if (socket.empty() || image.empty()) {
    std::cerr << "usage: cri_pull --socket PATH --image REF [--runs N]\n";
    return 2;
  }
  auto channel = grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials());
  auto stub = runtime::v1::ImageService::NewStub(channel);
  std::vector<double> seconds;
  for (int run = 0; run < runs; ++run) {
    {
      grpc::ClientContext ctx;
      runtime::v1::RemoveImageRequest req;
      req.mutable_image()->set_image(image);
      runtime::v1::RemoveImageResponse resp;
      stub->RemoveImage(&ctx, req, &resp);  // absent is fine
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(10));
    runtime::v1::PullImageRequest req;
    req.mutable_image()->set_image(image);
    runtime::v1::PullImageResponse resp;
    const auto start = std::chrono::steady_clock::now();
    grpc::Status s = stub->PullImage(&ctx, req, &resp);
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!s.ok()) {
      std::cerr << "PullImage failed: " << s.error_message() << "\n";
      return 1;
    }
    std::printf("run %d: %.2f s (%s)\n", run + 1, elapsed, resp.image_ref().c_str());
    seconds.push_back(elapsed);
  }
  std::sort(seconds.begin(), seconds.end());
  std::printf("median %.2f s\n", seconds[seconds.size() / 2]);
  return 0;
}
