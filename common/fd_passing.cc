#include "common/fd_passing.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

namespace stockade {

namespace {

// One byte with room for one descriptor: the message a terminal's master travels in.
struct OneFdMessage {
  explicit OneFdMessage(char* byte) : iov{byte, 1} {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
  }
  iovec iov;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
};

}  // namespace

bool SendDescriptor(int socket, int fd) {
  char byte = 'T';
  OneFdMessage m(&byte);
  cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return ::sendmsg(socket, &m.msg, MSG_NOSIGNAL) == 1;
}

UniqueFd ReceiveDescriptor(int socket, char* first) {
  char byte = 0;
  OneFdMessage m(&byte);
  ssize_t n;
  do {
    n = ::recvmsg(socket, &m.msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (first != nullptr) *first = n == 1 ? byte : 0;
  cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
  if (n != 1 || byte != 'T' || c == nullptr || c->cmsg_level != SOL_SOCKET ||
      c->cmsg_type != SCM_RIGHTS) {
    return UniqueFd();
  }
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return UniqueFd(fd);
}

}  // namespace stockade
