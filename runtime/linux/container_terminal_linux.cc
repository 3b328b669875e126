#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/rootfs_path.h"
#include "runtime/linux/container_terminal.h"

namespace stockade {

absl::StatusOr<Terminal> OpenTerminalInRoot(int root_fd) {
  Terminal t;
  t.master.Reset(OpenInRoot(root_fd, "/dev/pts/ptmx", O_RDWR | O_NOCTTY));
  if (!t.master) return ErrnoError(errno, "open the container's /dev/pts/ptmx");
  struct stat st;
  if (::fstat(t.master.get(), &st) != 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 ||
      minor(st.st_rdev) != 2) {
    return absl::FailedPreconditionError(
        "the container's /dev/pts/ptmx is not the pty multiplexer: no terminal for it");
  }
  int unlock = 0;
  if (::ioctl(t.master.get(), TIOCSPTLCK, &unlock) != 0) {
    return ErrnoError(errno, "unlock the container's terminal");
  }
  t.slave.Reset(::ioctl(t.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!t.slave) return ErrnoError(errno, "open the container's terminal");
  return t;
}

absl::StatusOr<Terminal> OpenContainerTerminal(pid_t pid) {
  UniqueFd root(
      ::open(absl::StrCat("/proc/", pid, "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return ErrnoError(errno, "open the container's root");
  return OpenTerminalInRoot(root.get());
}

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
