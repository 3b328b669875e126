#include "runtime/shim/shim_wire.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>

#include <cstring>

namespace stockade {

std::string ReadRequest(int conn, std::vector<UniqueFd>& fds) {
  std::string line;
  char buf[4096];
  while (line.size() < (1 << 20)) {
    iovec iov{buf, sizeof(buf)};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    // The daemon sends the line in one piece and waits: peek-free reading stays within it.
    const ssize_t n = ::recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    if (n <= 0) break;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        fds.emplace_back(fd);
      }
    }
    line.append(buf, static_cast<size_t>(n));
    if (line.find('\n') != std::string::npos) break;
  }
  return line.substr(0, line.find('\n'));
}

void Reply(int conn, const Json& reply) {
  const std::string text = reply.dump() + "\n";
  ::send(conn, text.data(), text.size(), MSG_NOSIGNAL);
}

void KillRelay(pid_t pid) {
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
}

void SetNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace stockade
