#include "cri/grpc_status.h"

#include "gtest/gtest.h"

namespace stockade {
namespace {

TEST(GrpcStatus, OkIsOk) { EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok()); }

TEST(GrpcStatus, CodesKubeletActsOnAreKept) {
  struct Case {
    absl::Status in;
    grpc::StatusCode out;
  };
  for (const Case& c : {
           Case{absl::NotFoundError("no pod"), grpc::StatusCode::NOT_FOUND},
           Case{absl::AlreadyExistsError("name"), grpc::StatusCode::ALREADY_EXISTS},
           Case{absl::FailedPreconditionError("state"), grpc::StatusCode::FAILED_PRECONDITION},
           Case{absl::InvalidArgumentError("bad"), grpc::StatusCode::INVALID_ARGUMENT},
           Case{absl::UnavailableError("later"), grpc::StatusCode::UNAVAILABLE},
           Case{absl::DeadlineExceededError("slow"), grpc::StatusCode::DEADLINE_EXCEEDED},
           Case{absl::UnimplementedError("todo"), grpc::StatusCode::UNIMPLEMENTED},
           Case{absl::InternalError("bug"), grpc::StatusCode::INTERNAL},
           Case{absl::DataLossError("disk"), grpc::StatusCode::DATA_LOSS},
           Case{absl::ResourceExhaustedError("full"), grpc::StatusCode::RESOURCE_EXHAUSTED},
           Case{absl::CancelledError("gone"), grpc::StatusCode::CANCELLED},
           Case{absl::UnknownError("?"), grpc::StatusCode::UNKNOWN},
       }) {
    grpc::Status out = ToGrpcStatus(c.in);
    EXPECT_EQ(out.error_code(), c.out) << c.in;
    EXPECT_EQ(out.error_message(), std::string(c.in.message()));
  }
}

}  // namespace
}  // namespace stockade
