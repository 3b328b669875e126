// Dispatch of every ImageService method through the instrumentation layer.
#include "cri/image_service.h"

namespace stockade {

grpc::Status ImageServiceImpl::ListImages(grpc::ServerContext* context,
                                          const runtime::v1::ListImagesRequest* request,
                                          runtime::v1::ListImagesResponse* response) {
  return rpc_.Serve("ListImages", [&] { return DoListImages(*request, *response); });
}

grpc::Status ImageServiceImpl::StreamImages(
    grpc::ServerContext* context, const runtime::v1::StreamImagesRequest* request,
    grpc::ServerWriter<runtime::v1::StreamImagesResponse>* writer) {
  return rpc_.Serve("StreamImages", [&] { return DoStreamImages(*request, *writer); });
}

grpc::Status ImageServiceImpl::ImageStatus(grpc::ServerContext* context,
                                           const runtime::v1::ImageStatusRequest* request,
                                           runtime::v1::ImageStatusResponse* response) {
  return rpc_.Serve("ImageStatus", [&] { return DoImageStatus(*request, *response); });
}

grpc::Status ImageServiceImpl::PullImage(grpc::ServerContext* context,
                                         const runtime::v1::PullImageRequest* request,
                                         runtime::v1::PullImageResponse* response) {
  return rpc_.Serve("PullImage", [&] { return DoPullImage(*request, *response); });
}

grpc::Status ImageServiceImpl::RemoveImage(grpc::ServerContext* context,
                                           const runtime::v1::RemoveImageRequest* request,
                                           runtime::v1::RemoveImageResponse* response) {
  return rpc_.Serve("RemoveImage", [&] { return DoRemoveImage(*request, *response); });
}

grpc::Status ImageServiceImpl::ImageFsInfo(grpc::ServerContext* context,
                                           const runtime::v1::ImageFsInfoRequest* request,
                                           runtime::v1::ImageFsInfoResponse* response) {
  return rpc_.Serve("ImageFsInfo", [&] { return DoImageFsInfo(*request, *response); });
}
}  // namespace stockade
