#include "common/notify_fifo.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "common/safe_file.h"

namespace vigil {

Result<NotifyFifo> NotifyFifo::open(const std::string& path) {
  // Nothing at the path is followed: root writes to a FIFO it found or made, never through a
  // symbolic link and never into a file someone put there (keepalived's CVE-2018-19044 class).
  struct stat before {};
  bool created = false;
  if (::lstat(path.c_str(), &before) != 0) {
    if (errno != ENOENT) return errno_error("cannot inspect FIFO " + path, errno);
    if (::mkfifo(path.c_str(), 0600) != 0) return errno_error("cannot create FIFO " + path, errno);
    created = true;
    if (::lstat(path.c_str(), &before) != 0)
      return errno_error("cannot inspect FIFO " + path, errno);
  }
  if (!S_ISFIFO(before.st_mode)) {
    return Error{
        fmt::format("{} is {}, not a FIFO: refused", path, file_type_name(before.st_mode))};
  }
  // Read-write: the open neither blocks nor fails for want of a reader, and writes go to the
  // pipe buffer until a reader comes.
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY));
  if (!fd.valid()) {
    const int error = errno;
    if (created) ::unlink(path.c_str());
    if (error == ELOOP) return Error{path + " is a symbolic link, not a FIFO: refused"};
    return errno_error("cannot open FIFO " + path, error);
  }
  // The file opened is the FIFO inspected above, not one swapped in between.
  struct stat opened {};
  if (::fstat(fd.get(), &opened) != 0) return errno_error("cannot inspect FIFO " + path, errno);
  if (!S_ISFIFO(opened.st_mode) || opened.st_dev != before.st_dev ||
      opened.st_ino != before.st_ino) {
    return Error{path + " changed while it was opened: refused"};
  }
  return NotifyFifo(path, std::move(fd), created, opened.st_dev, opened.st_ino);
}

NotifyFifo::NotifyFifo(NotifyFifo&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::move(other.fd_)),
      created_(std::exchange(other.created_, false)),
      device_(other.device_),
      inode_(other.inode_),
      dropped_(other.dropped_) {}

NotifyFifo& NotifyFifo::operator=(NotifyFifo&& other) noexcept {
  if (this != &other) {
    close();
    path_ = std::move(other.path_);
    fd_ = std::move(other.fd_);
    created_ = std::exchange(other.created_, false);
    device_ = other.device_;
    inode_ = other.inode_;
    dropped_ = other.dropped_;
  }
  return *this;
}

NotifyFifo::~NotifyFifo() {
  close();
}

void NotifyFifo::close() {
  fd_.reset();
  // Only the FIFO we made: not whatever someone put at the path since.
  struct stat st {};
  if (created_ && ::lstat(path_.c_str(), &st) == 0 && S_ISFIFO(st.st_mode) &&
      st.st_dev == device_ && st.st_ino == inode_)
    ::unlink(path_.c_str());
  created_ = false;
}

Status NotifyFifo::give_to(uid_t uid, gid_t gid) {
  if (!created_ || !fd_.valid()) return {};
  if (::fchown(fd_.get(), uid, gid) != 0)
    return errno_error(fmt::format("cannot give FIFO {} to uid {}", path_, uid), errno);
  return {};
}

bool NotifyFifo::write(std::string_view line) {
  // A line is at most a few hundred bytes, below PIPE_BUF: the write is atomic, all or nothing.
  if (fd_.valid() &&
      ::write(fd_.get(), line.data(), line.size()) == static_cast<ssize_t>(line.size()))
    return true;
  ++dropped_;
  return false;
}

}  // namespace vigil
