// Dispatch of every ImageService method through the instrumentation layer.
#include "cri/image_service.h"

namespace stockade {

grpc::Status ImageServiceImpl::ListImages(grpc::ServerContext* context,
                                          const runtime::v1::ListImagesRequest* request,
                                          runtime::v1::ListImagesResponse* response) {
  return rpc_.Serve("ListImages",
                    [] { return RpcInstrumentation::NotImplementedYet("ListImages"); });
}

grpc::Status ImageServiceImpl::StreamImages(
    grpc::ServerContext* context, const runtime::v1::StreamImagesRequest* request,
    grpc::ServerWriter<runtime::v1::StreamImagesResponse>* writer) {
  return rpc_.Serve("StreamImages",
                    [] { return RpcInstrumentation::NotImplementedYet("StreamImages"); });
}

grpc::Status ImageServiceImpl::ImageStatus(grpc::ServerContext* context,
                                           const runtime::v1::ImageStatusRequest* request,
                                           runtime::v1::ImageStatusResponse* response) {
  return rpc_.Serve("ImageStatus",
                    [] { return RpcInstrumentation::NotImplementedYet("ImageStatus"); });
}

grpc::Status ImageServiceImpl::PullImage(grpc::ServerContext* context,
                                         const runtime::v1::PullImageRequest* request,
                                         runtime::v1::PullImageResponse* response) {
  return rpc_.Serve("PullImage", [] { return RpcInstrumentation::NotImplementedYet("PullImage"); });
}

grpc::Status ImageServiceImpl::RemoveImage(grpc::ServerContext* context,
                                           const runtime::v1::RemoveImageRequest* request,
                                           runtime::v1::RemoveImageResponse* response) {
  return rpc_.Serve("RemoveImage",
                    [] { return RpcInstrumentation::NotImplementedYet("RemoveImage"); });
}

grpc::Status ImageServiceImpl::ImageFsInfo(grpc::ServerContext* context,
                                           const runtime::v1::ImageFsInfoRequest* request,
                                           runtime::v1::ImageFsInfoResponse* response) {
  return rpc_.Serve("ImageFsInfo",
                    [] { return RpcInstrumentation::NotImplementedYet("ImageFsInfo"); });
}
}  // namespace stockade
