#include "lab/shell.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "lab/probe.h"

namespace vigil::lab {
namespace {

void on_interrupt(int) {
  interrupt_flag().store(true);
}

std::vector<char*> c_argv(std::vector<std::string>& argv) {
  std::vector<char*> out;
  out.reserve(argv.size() + 1);
  for (auto& arg : argv)
    out.push_back(arg.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::atomic<bool>& interrupt_flag() {
  static std::atomic<bool> flag{false};
  return flag;
}

void install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

void check_interrupt() {
  if (interrupt_flag().load()) throw Interrupted();
}

void sleep_for(double seconds) {
  const double end = monotonic_seconds() + seconds;
  // Bounded: each slice is at most 10 ms and the loop ends at `end`.
  for (;;) {
    check_interrupt();
    const double left = end - monotonic_seconds();
    if (left <= 0) return;
    const double slice = std::min(left, 0.01);
    timespec ts{.tv_sec = 0, .tv_nsec = static_cast<long>(slice * 1e9)};
    nanosleep(&ts, nullptr);
  }
}

CommandResult run_command(const std::vector<std::string>& argv_in, double timeout_s) {
  CommandResult result;
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return result;
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return result;
  }
  std::vector<std::string> argv = argv_in;
  std::vector<char*> args = c_argv(argv);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    setpgid(0, 0);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (pid < 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return result;
  }
  const double deadline = monotonic_seconds() + timeout_s;
  bool open_out = true, open_err = true;
  // Bounded by the deadline: the child is killed when it passes.
  while (open_out || open_err) {
    const double left = deadline - monotonic_seconds();
    if (left <= 0) {
      kill(-pid, SIGKILL);
      break;
    }
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    if (poll(fds, 2, static_cast<int>(left * 1000) + 1) < 0 && errno != EINTR) break;
    char buffer[4096];
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n <= 0) {
        (i == 0 ? open_out : open_err) = false;
      } else {
        (i == 0 ? result.out : result.err).append(buffer, static_cast<size_t>(n));
      }
    }
  }
  close(out_pipe[0]);
  close(err_pipe[0]);
  const int status = wait_exit(pid, 5.0);
  if (status == -1) {
    kill(-pid, SIGKILL);
    wait_exit(pid, 5.0);
  }
  result.status = status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

void must_run(const std::vector<std::string>& argv, double timeout_s) {
  const CommandResult r = run_command(argv, timeout_s);
  if (r.status != 0) {
    std::ostringstream text;
    for (const auto& a : argv)
      text << (text.tellp() > 0 ? " " : "") << a;
    std::string err = r.err;
    while (!err.empty() && err.back() == '\n')
      err.pop_back();
    throw LabError(text.str() + ": exit " + std::to_string(r.status) +
                   (err.empty() ? "" : ": " + err));
  }
}

pid_t spawn_in_namespace(const std::string& ns, const std::vector<std::string>& argv_in,
                         const std::string& log, const std::string& cwd) {
  std::vector<std::string> argv = {"ip", "netns", "exec", ns};
  argv.insert(argv.end(), argv_in.begin(), argv_in.end());
  std::vector<char*> args = c_argv(argv);
  const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) throw LabError("cannot open " + log + ": " + std::strerror(errno));
  const pid_t pid = fork();
  if (pid == 0) {
    setsid();
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    if (chdir(cwd.c_str()) != 0) _exit(126);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(log_fd);
  if (pid < 0) throw LabError(std::string("fork: ") + std::strerror(errno));
  return pid;
}

int wait_exit(pid_t pid, double timeout_s) {
  const double deadline = monotonic_seconds() + timeout_s;
  // Bounded: polls every 2 ms until the deadline.
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) return errno == ECHILD ? 0 : -1;
    if (monotonic_seconds() >= deadline) return -1;
    timespec ts{.tv_sec = 0, .tv_nsec = 2'000'000};
    nanosleep(&ts, nullptr);
  }
}

bool reaped(pid_t pid, int& status) {
  return waitpid(pid, &status, WNOHANG) == pid;
}

int socket_in_namespace(const std::string& ns, int domain, int type, int protocol) {
  const int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) return -1;
  const int target = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    const int saved = errno;
    close(self);
    errno = saved;
    return -1;
  }
  int fd = -1;
  int saved = 0;
  if (setns(target, CLONE_NEWNET) == 0) {
    fd = socket(domain, type | SOCK_CLOEXEC, protocol);
    saved = errno;
    if (setns(self, CLONE_NEWNET) != 0) {
      // The thread cannot return to its namespace: nothing else it does could be trusted.
      std::abort();
    }
  } else {
    saved = errno;
  }
  close(self);
  close(target);
  errno = saved;
  return fd;
}

std::vector<std::string> lab_namespaces() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/run/netns", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kNamespacePrefix, 0) == 0) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> clean_leftovers() {
  std::vector<std::string> done;
  for (const auto& ns : lab_namespaces()) {
    const CommandResult pids = run_command({"ip", "netns", "pids", ns});
    std::istringstream in(pids.out);
    std::string pid_text;
    while (in >> pid_text) {
      const pid_t pid = static_cast<pid_t>(std::atoi(pid_text.c_str()));
      if (pid > 1 && kill(pid, SIGKILL) == 0)
        done.push_back("killed pid " + pid_text + " in " + ns);
    }
    const CommandResult del = run_command({"ip", "netns", "del", ns});
    done.push_back((del.status == 0 ? "deleted namespace " : "could not delete namespace ") + ns);
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/tmp", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kNamespacePrefix, 0) != 0 || !entry.is_directory(ec)) continue;
    if (!std::filesystem::exists(entry.path() / kWorkMarker, ec)) continue;
    std::filesystem::remove_all(entry.path(), ec);
    done.push_back("removed " + entry.path().string());
  }
  return done;
}

}  // namespace vigil::lab
