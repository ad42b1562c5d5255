#include "daemon/process.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <sstream>

#include "common/safe_file.h"

namespace vigil::daemon {

Status daemonize() {
  pid_t pid = fork();
  if (pid < 0) return errno_error("fork", errno);
  if (pid > 0) _exit(0);
  if (setsid() < 0) return errno_error("setsid", errno);
  if (chdir("/") != 0) return errno_error("chdir /", errno);
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) return errno_error("/dev/null", errno);
  for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO})
    dup2(null, fd);
  if (null > STDERR_FILENO) close(null);
  return {};
}

Result<PidFileWrite> write_pid_file(const std::string& path) {
  // Missing directories are made 0755 (never wider, whatever the umask); one that cannot be made
  // shows as the write's error.
  std::filesystem::path made;
  for (const auto& part : std::filesystem::path(path).parent_path()) {
    made /= part;
    ::mkdir(made.c_str(), 0755);
  }
  // Neither the read nor the write follows a symbolic link at the path: a link planted there is
  // replaced (the caller warns), its target never opened.
  auto old = read_file_nofollow(path, 4096);
  if (old && *old) {
    long other = 0;
    std::istringstream in(**old);
    if (in >> other && other > 0 && other != getpid() && kill(static_cast<pid_t>(other), 0) == 0) {
      return Error{path + ": another process (pid " + std::to_string(other) +
                   ") is running with this pid file"};
    }
  }
  auto written = replace_file(path, std::to_string(getpid()) + "\n", ReplaceOptions{.mode = 0644});
  if (!written) return Error{"cannot write the pid file: " + written.error().message};
  return PidFileWrite{.replaced_symlink = *written == Replaced::kSymlink};
}

void remove_pid_file(const std::string& path) {
  // unlink removes a link itself, never its target.
  ::unlink(path.c_str());
}

Status enter_network_namespace(const std::string& name) {
  const std::string path = "/run/netns/" + name;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error(path, errno);
  const int entered = setns(fd, CLONE_NEWNET);
  const int err = errno;
  close(fd);
  if (entered != 0) return errno_error("setns " + path, err);
  return {};
}

}  // namespace vigil::daemon
