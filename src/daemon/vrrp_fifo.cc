#include "daemon/vrrp_fifo.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "common/result.h"

namespace vigil::daemon {

std::string fifo_instance_line(std::string_view instance, std::string_view state,
                               unsigned priority) {
  return fmt::format("INSTANCE \"{}\" {} {}\n", instance, state, priority);
}

std::string fifo_group_line(std::string_view group, std::string_view state) {
  // keepalived sends priority 0 for groups.
  return fmt::format("GROUP \"{}\" {} 0\n", group, state);
}

Result<NotifyFifo> NotifyFifo::open(const std::string& path) {
  bool created = false;
  if (::mkfifo(path.c_str(), 0600) == 0) {
    created = true;
  } else if (errno != EEXIST) {
    return errno_error("cannot create FIFO " + path, errno);
  }
  // Read-write: the open neither blocks nor fails for want of a reader, and writes go to the
  // pipe buffer until a reader comes.
  const int fd = ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    if (created) ::unlink(path.c_str());
    return errno_error("cannot open FIFO " + path, error);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
    ::close(fd);
    return Error{fmt::format("{} exists and is not a FIFO", path)};
  }
  return NotifyFifo(path, fd, created);
}

NotifyFifo::NotifyFifo(NotifyFifo&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      created_(std::exchange(other.created_, false)),
      dropped_(other.dropped_) {}

NotifyFifo& NotifyFifo::operator=(NotifyFifo&& other) noexcept {
  if (this != &other) {
    close();
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    created_ = std::exchange(other.created_, false);
    dropped_ = other.dropped_;
  }
  return *this;
}

NotifyFifo::~NotifyFifo() {
  close();
}

void NotifyFifo::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (created_) ::unlink(path_.c_str());
  created_ = false;
}

Status NotifyFifo::give_to(uid_t uid, gid_t gid) {
  if (!created_ || fd_ < 0) return {};
  if (::fchown(fd_, uid, gid) != 0)
    return errno_error(fmt::format("cannot give FIFO {} to uid {}", path_, uid), errno);
  return {};
}

bool NotifyFifo::write(std::string_view line) {
  // A line is at most a few hundred bytes, below PIPE_BUF: the write is atomic, all or nothing.
  if (fd_ >= 0 && ::write(fd_, line.data(), line.size()) == static_cast<ssize_t>(line.size()))
    return true;
  ++dropped_;
  return false;
}

}  // namespace vigil::daemon
