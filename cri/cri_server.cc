#include "cri/cri_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/unique_fd.h"
#include "grpcpp/grpcpp.h"

namespace stockade {
namespace {

// True when something accepts connections on `path`: a live server, not a leftover file.
bool SocketIsLive(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
}

absl::Status PrepareSocketPath(const std::string& path) {
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return ErrnoError(ec.value(), absl::StrCat("create socket directory ", dir.string()));
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoError(errno, absl::StrCat("stat ", path));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " exists and is not a socket; remove it or choose another --socket"));
  }
  if (SocketIsLive(path)) {
    return absl::FailedPreconditionError(absl::StrCat("another server is listening on ", path,
                                                      "; stop it or choose another --socket"));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(errno, absl::StrCat("remove stale socket ", path));
  }
  return absl::OkStatus();
}

}  // namespace

CriServer::CriServer(std::string socket_path, std::unique_ptr<grpc::Server> server)
    : socket_path_(std::move(socket_path)), server_(std::move(server)) {}

CriServer::~CriServer() { Shutdown(absl::Now()); }

absl::StatusOr<std::unique_ptr<CriServer>> CriServer::Start(
    const CriServerOptions& options, const std::vector<grpc::Service*>& services) {
  if (absl::Status s = PrepareSocketPath(options.socket_path); !s.ok()) return s;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat("unix:", options.socket_path),
                           grpc::InsecureServerCredentials());
  builder.SetMaxReceiveMessageSize(options.max_recv_message_bytes);
  builder.SetMaxSendMessageSize(options.max_send_message_bytes);
  for (grpc::Service* service : services) builder.RegisterService(service);
  // The socket is created with the umask's mode; kubelet and crictl run as root, others must
  // be in the socket's group. Tighten, then set exactly 0660 below.
  const mode_t old_umask = ::umask(0117);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ::umask(old_umask);
  if (server == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve CRI on unix:", options.socket_path,
                     " (gRPC could not bind it; check the directory's permissions)"));
  }
  if (::chmod(options.socket_path.c_str(), 0660) != 0) {
    absl::Status s = ErrnoError(errno, absl::StrCat("chmod 0660 ", options.socket_path));
    server->Shutdown(absl::ToChronoTime(absl::Now()));
    return s;
  }
  return std::unique_ptr<CriServer>(new CriServer(options.socket_path, std::move(server)));
}

void CriServer::RemoveSocket() { ::unlink(socket_path_.c_str()); }

void CriServer::Shutdown(absl::Time deadline) {
  if (shut_down_) return;
  shut_down_ = true;
  server_->Shutdown(absl::ToChronoTime(deadline));
  server_->Wait();
  ::unlink(socket_path_.c_str());
}

}  // namespace stockade
