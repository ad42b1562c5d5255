// A notify FIFO as keepalived keeps one (`notify_fifo`, `vrrp_notify_fifo`, `lvs_notify_fifo`):
// the daemon creates the FIFO when it does not exist (and removes it at the end only if it
// created it), holds it open read-write so that a line is never lost for want of a reader and
// never blocks (the pipe buffer holds it until someone reads). Nothing at the path is followed.
// Shared by the VRRP side and the checkers.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"

namespace vigil {

class NotifyFifo {
 public:
  // Creates the FIFO at `path` if nothing is there (mode 0600; see give_to()) and
  // opens it read-write and non-blocking. Nothing at the path is followed: a path that is not a
  // FIFO (a regular file, a symbolic link, a directory, a socket...) is refused with an error
  // naming what it is, and so is one swapped between the check and the open.
  static Result<NotifyFifo> open(const std::string& path);

  NotifyFifo(NotifyFifo&& other) noexcept;
  NotifyFifo& operator=(NotifyFifo&& other) noexcept;
  NotifyFifo(const NotifyFifo&) = delete;
  NotifyFifo& operator=(const NotifyFifo&) = delete;
  // Closes the FIFO; removes it if open() created it and it is still the one at the path.
  ~NotifyFifo();

  // Writes one line without blocking. A full pipe (no reader draining it) drops the line:
  // returns false and counts it.
  bool write(std::string_view line);
  // A FIFO this process created goes to the user its reader script runs as, so that the script
  // can open it; one that was there already is left as it is.
  Status give_to(uid_t uid, gid_t gid);

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] bool created() const { return created_; }
  [[nodiscard]] uint64_t dropped() const { return dropped_; }

 private:
  NotifyFifo(std::string path, UniqueFd fd, bool created, dev_t device, ino_t inode)
      : path_(std::move(path)),
        fd_(std::move(fd)),
        created_(created),
        device_(device),
        inode_(inode) {}
  void close();

  std::string path_;
  UniqueFd fd_;
  bool created_ = false;
  dev_t device_ = 0;  // the FIFO's identity, for removing only what we made
  ino_t inode_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace vigil
