#include "daemon/process.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>

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

Status write_pid_file(const std::string& path) {
  std::error_code ec;
  auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  {
    std::ifstream in(path);
    long other = 0;
    if (in >> other && other > 0 && other != getpid() && kill(static_cast<pid_t>(other), 0) == 0) {
      return Error{path + ": another process (pid " + std::to_string(other) +
                   ") is running with this pid file"};
    }
  }
  std::ofstream out(path, std::ios::trunc);
  if (!(out << getpid() << "\n")) return Error{path + ": cannot write the pid file"};
  return {};
}

void remove_pid_file(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
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
