#include "event/script_runner.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <deque>
#include <string_view>
#include <thread>
#include <utility>

#include "common/log.h"
#include "event/event_loop.h"
#include "event/fd_watcher.h"
#include "event/scheduler.h"
#include "event/signals.h"

namespace vigil::event {

namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto instance = log::get("event");
  return instance;
}

constexpr size_t kCloneStackSize = 64 * 1024;

std::string signal_name(int signal_number) {
  if (const char* abbrev = sigabbrev_np(signal_number)) return std::string("SIG") + abbrev;
  return "signal " + std::to_string(signal_number);
}

// Everything the child needs, prepared by the parent: between clone and execve the child shares
// the parent's memory (CLONE_VM) and may only make async-signal-safe calls, so it allocates
// nothing and writes only `error`.
struct SpawnPlan {
  std::vector<std::string> candidates;  // execve paths, in PATH order
  std::vector<std::string> environment;
  std::vector<char*> argv;
  std::vector<char*> envp;
  const RunAs* run_as = nullptr;
  int stdin_fd = -1;
  int output_fd = -1;  // stdout and stderr
  int max_fd = 1024;   // for closing fds when close_range is missing
  int error = 0;       // set by the child when it cannot exec
};

int run_child(void* arg) {
  auto* plan = static_cast<SpawnPlan*>(arg);
  // The parent's handlers must never run here (this child shares its memory until execve), and
  // the script starts with default dispositions. Every signal stays blocked until just before
  // execve (the parent blocked them around clone).
  for (int signal_number = 1; signal_number < NSIG; ++signal_number) {
    if (signal_number == SIGKILL || signal_number == SIGSTOP) continue;
    struct sigaction action {};
    action.sa_handler = SIG_DFL;
    sigaction(signal_number, &action, nullptr);
  }
  // Its own process group, so a timeout kills what it started too.
  setpgid(0, 0);
  if (dup2(plan->stdin_fd, STDIN_FILENO) < 0 || dup2(plan->output_fd, STDOUT_FILENO) < 0 ||
      dup2(plan->output_fd, STDERR_FILENO) < 0) {
    plan->error = errno;
    _exit(127);
  }
  if (plan->run_as != nullptr) {
    // Raw system calls: glibc's wrappers would try to change the credentials of every thread
    // of the parent, whose memory this child still shares.
    const RunAs& run_as = *plan->run_as;
    if (syscall(SYS_setgroups, run_as.groups.size(), run_as.groups.data()) != 0 ||
        syscall(SYS_setgid, run_as.gid) != 0 || syscall(SYS_setuid, run_as.uid) != 0) {
      plan->error = errno;
      _exit(127);
    }
  }
  if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
    for (int fd = 3; fd < plan->max_fd; ++fd)
      close(fd);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // execvp's rules: keep looking past a missing file, remember a permission error.
  int error = ENOENT;
  for (const std::string& path : plan->candidates) {
    execve(path.c_str(), plan->argv.data(), plan->envp.data());
    if (errno == EACCES) {
      error = EACCES;
    } else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE && errno != ENODEV) {
      error = errno;
      break;
    }
  }
  plan->error = error;
  _exit(127);
}

std::vector<std::string> exec_candidates(const std::string& program) {
  if (program.find('/') != std::string::npos) return {program};
  std::vector<std::string> out;
  std::string_view path = kScriptPath;
  while (!path.empty()) {
    const size_t colon = path.find(':');
    out.push_back(std::string(path.substr(0, colon)) + "/" + program);
    path = colon == std::string_view::npos ? std::string_view{} : path.substr(colon + 1);
  }
  return out;
}

// fds 0-2 might be free in a daemon that closed its stdio; dup2 onto themselves would keep
// O_CLOEXEC and the script would start without them.
int above_stdio(int fd) {
  if (fd > STDERR_FILENO) return fd;
  const int moved = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
  close(fd);
  return moved;
}

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }
  [[nodiscard]] int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

int wait_for(pid_t pid, int* status, int flags) {
  int result;
  do {
    result = waitpid(pid, status, flags);
  } while (result < 0 && errno == EINTR);
  return result;
}

}  // namespace

std::string describe(const ScriptResult& result, Duration timeout) {
  using Outcome = ScriptResult::Outcome;
  switch (result.outcome) {
    case Outcome::kExited:
      return "exited " + std::to_string(result.exit_code);
    case Outcome::kSignaled:
      return "killed by " + signal_name(result.signal);
    case Outcome::kTimedOut: {
      std::string text = "timed out";
      if (timeout > Duration{0}) {
        text +=
            " after " +
            std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()) +
            "ms";
      }
      if (result.signal != 0) return text + " (" + signal_name(result.signal) + ")";
      return text + " (exited " + std::to_string(result.exit_code) + ")";
    }
    case Outcome::kExecFailed:
      return std::string("exec failed: ") + std::strerror(result.error);
    case Outcome::kSpawnFailed:
      return std::string("could not start: ") + std::strerror(result.error);
  }
  return "unknown outcome";
}

struct ProcessScriptRunner::Child {
  Child(uint64_t child_id, Pending pending, Scheduler& scheduler)
      : id(child_id),
        request(std::move(pending.request)),
        done(std::move(pending.done)),
        timeout_timer(scheduler),
        kill_timer(scheduler) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    exit_watch.reset();
    output_watch.reset();
    if (pidfd >= 0) close(pidfd);
    if (output_fd >= 0) close(output_fd);
  }

  uint64_t id;
  ScriptRequest request;
  ScriptCallback done;
  pid_t pid = -1;  // -1 while the spawner thread starts it
  int pidfd = -1;  // -1: watched through SIGCHLD
  std::unique_ptr<FdWatcher> exit_watch;
  int output_fd = -1;
  std::unique_ptr<FdWatcher> output_watch;
  std::string output;
  bool output_truncated = false;
  bool timed_out = false;
  bool terminating = false;  // SIGTERM sent, or to be sent as soon as its pid is known
  bool reaped = false;       // waitpid done, completion pending
  TimePoint started{};
  Timer timeout_timer;
  Timer kill_timer;
};

// Starts processes off the loop thread: with CLONE_VFORK the caller waits until the child has
// called execve, which takes as long as the child is left to run. At normal priority on its own
// thread, a starved child delays only scripts, never a realtime VRRP loop; and its children
// inherit SCHED_OTHER, not the loop's vrrp_rt_priority. Jobs and results travel through pipes:
// a mutex shared with this low-priority thread would let it stall a realtime loop that waits for
// the lock (priority inversion).
class ProcessScriptRunner::Spawner {
 public:
  explicit Spawner(bool open_pidfd) : open_pidfd_(open_pidfd) {
    int jobs[2];
    int results[2];
    if (pipe2(jobs, O_CLOEXEC) != 0) {
      error_ = errno;
      return;
    }
    if (pipe2(results, O_CLOEXEC) != 0) {
      error_ = errno;
      close(jobs[0]);
      close(jobs[1]);
      return;
    }
    jobs_read_ = jobs[0];
    jobs_write_ = jobs[1];
    results_read_ = results[0];
    results_write_ = results[1];
    fcntl(jobs_write_, F_SETFL, O_NONBLOCK);    // the loop never blocks submitting
    fcntl(results_read_, F_SETFL, O_NONBLOCK);  // nor collecting
    thread_ = std::thread([this] { run(); });
  }

  Spawner(const Spawner&) = delete;
  Spawner& operator=(const Spawner&) = delete;

  // Jobs not yet started are dropped; children started but not collected are killed and reaped.
  ~Spawner() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    close(jobs_write_);  // the thread sees end of file after the jobs still queued
    fcntl(results_read_, F_SETFL, 0);
    Spawned spawned;
    while (read_full(results_read_, &spawned)) {  // until the thread closes its end
      discard_orphan(spawned);
      delete spawned.job;
    }
    thread_.join();
    close(jobs_read_);
    close(results_read_);
  }

  [[nodiscard]] int error() const { return error_; }
  [[nodiscard]] int results_fd() const { return results_read_; }

  // Returns false (and keeps `job`) when the spawner is broken or 8192 jobs are already waiting.
  bool submit(std::unique_ptr<SpawnJob>& job) {
    if (!thread_.joinable()) return false;
    SpawnJob* raw = job.get();
    if (write(jobs_write_, &raw, sizeof raw) != sizeof raw) return false;
    (void)job.release();
    return true;
  }

  // One finished start, if any; never blocks.
  std::optional<Spawned> take_result() {
    Spawned spawned;
    if (read_full(results_read_, &spawned)) return spawned;
    return std::nullopt;
  }

 private:
  // Pipe writes of at most PIPE_BUF bytes are atomic, so a record is read whole or not at all.
  template <class T>
  static bool read_full(int fd, T* out) {
    static_assert(sizeof(T) <= PIPE_BUF);
    ssize_t n;
    do {
      n = read(fd, out, sizeof(T));
    } while (n < 0 && errno == EINTR);
    return n == static_cast<ssize_t>(sizeof(T));
  }

  static void discard_orphan(const Spawned& spawned) {
    if (spawned.pid > 0 && !spawned.exec_failed) {
      if (kill(-spawned.pid, SIGKILL) != 0) kill(spawned.pid, SIGKILL);
      int status;
      wait_for(spawned.pid, &status, 0);
    }
    if (spawned.pidfd >= 0) close(spawned.pidfd);
    if (spawned.output_fd >= 0) close(spawned.output_fd);
  }

  void run() {
    pthread_setname_np(pthread_self(), "vigil-spawner");
    sched_param normal{};
    pthread_setschedparam(pthread_self(), SCHED_OTHER, &normal);  // lowering is always allowed
    // Process signals go to other threads; children unblock everything before execve.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, nullptr);
    stack_ = std::make_unique<char[]>(kCloneStackSize);
    SpawnJob* job = nullptr;
    while (read_full(jobs_read_, &job)) {
      if (stopping_) {
        delete job;
        continue;
      }
      Spawned spawned = spawn(*job);
      spawned.job = job;
      ssize_t n;
      do {
        n = write(results_write_, &spawned, sizeof spawned);
      } while (n < 0 && errno == EINTR);
    }
    close(results_write_);
  }

  Spawned spawn(const SpawnJob& job) {
    Spawned out{.id = job.id};
    SpawnPlan plan;
    plan.candidates = exec_candidates(job.argv[0]);
    plan.environment.push_back(std::string("PATH=") + kScriptPath);
    plan.environment.insert(plan.environment.end(), job.extra_env.begin(), job.extra_env.end());
    for (const std::string& arg : job.argv)
      plan.argv.push_back(const_cast<char*>(arg.c_str()));
    plan.argv.push_back(nullptr);
    for (std::string& entry : plan.environment)
      plan.envp.push_back(entry.data());
    plan.envp.push_back(nullptr);
    plan.run_as = job.run_as ? &*job.run_as : nullptr;
    if (rlimit limit{}; getrlimit(RLIMIT_NOFILE, &limit) == 0) {
      plan.max_fd = static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 65536));
    }

    Fd dev_null(above_stdio(open("/dev/null", O_RDWR | O_CLOEXEC)));
    if (dev_null.get() < 0) {
      out.error = errno;
      return out;
    }
    Fd output_read;
    Fd output_write;
    if (job.capture_output) {
      int fds[2];
      if (pipe2(fds, O_CLOEXEC) != 0) {
        out.error = errno;
        return out;
      }
      output_read.reset(above_stdio(fds[0]));
      output_write.reset(above_stdio(fds[1]));
      if (output_read.get() < 0 || output_write.get() < 0) {
        out.error = errno;
        return out;
      }
      fcntl(output_read.get(), F_SETFL, O_NONBLOCK);
    }
    plan.stdin_fd = dev_null.get();
    plan.output_fd = job.capture_output ? output_write.get() : dev_null.get();

    // CLONE_VM|CLONE_VFORK: no page-table copy however large the daemon grows (keepalived's
    // MISC_CHECK fork cost). This thread has every signal blocked, so the child starts so too.
    const pid_t pid =
        clone(run_child, stack_.get() + kCloneStackSize, CLONE_VM | CLONE_VFORK | SIGCHLD, &plan);
    if (pid < 0) {
      out.error = errno;
      return out;
    }
    out.started = AsioScheduler::clock_now();
    out.pid = pid;
    if (plan.error != 0) {
      int status;
      wait_for(pid, &status, 0);  // it has already called _exit
      out.exec_failed = true;
      out.error = plan.error;
      return out;
    }
    if (open_pidfd_) {
      out.pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0U));  // Linux 5.3
      if (out.pidfd < 0) out.error = errno;  // the loop falls back to SIGCHLD (or gives up)
    }
    out.output_fd = output_read.release();
    return out;
  }

  const bool open_pidfd_;
  int error_ = 0;
  int jobs_read_ = -1;
  int jobs_write_ = -1;
  int results_read_ = -1;
  int results_write_ = -1;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<char[]> stack_;
  std::thread thread_;
};

ProcessScriptRunner::ProcessScriptRunner(EventLoop& loop) : ProcessScriptRunner(loop, Options{}) {}

ProcessScriptRunner::ProcessScriptRunner(EventLoop& loop, Options options)
    : loop_(loop), options_(options), alive_(std::make_shared<bool>(true)) {
  if (options_.child_watch == ChildWatch::kSigchld) {
    if (Status status = watch_sigchld(); !status.ok()) {
      logger()->warn("[scripts] cannot watch SIGCHLD: {}", status.error().message);
    }
  }
  spawner_ = std::make_unique<Spawner>(options_.child_watch != ChildWatch::kSigchld);
  if (spawner_->error() != 0) {
    logger()->warn("[scripts] cannot start the spawner: {}", std::strerror(spawner_->error()));
    return;
  }
  auto watcher = FdWatcher::create(loop_, spawner_->results_fd());
  if (!watcher.ok()) {
    logger()->warn("[scripts] cannot watch the spawner: {}", watcher.error().message);
    return;
  }
  spawner_results_ = std::move(*watcher);
  spawner_results_->on_readable([this] { on_spawner_results(); });
}

ProcessScriptRunner::~ProcessScriptRunner() {
  alive_.reset();
  spawner_results_.reset();
  spawner_.reset();  // joins; kills and reaps what it started that the loop never saw
  for (auto& [id, child] : children_) {
    if (child->reaped || child->pid <= 0) continue;
    kill_group(*child, SIGKILL);
    int status;
    wait_for(child->pid, &status, 0);
  }
  children_.clear();
}

void ProcessScriptRunner::run(ScriptRequest request, ScriptCallback done) {
  (void)start(std::move(request), std::move(done));
}

ScriptId ProcessScriptRunner::start(ScriptRequest request, ScriptCallback done) {
  assert(done);
  const ScriptId id = ++last_id_;
  queue_.push_back({std::move(request), std::move(done), id});
  start_queued();
  return id;
}

void ProcessScriptRunner::cancel(ScriptId id) {
  if (id == 0) return;
  const auto waiting = std::find_if(queue_.begin(), queue_.end(),
                                    [id](const Pending& pending) { return pending.id == id; });
  if (waiting != queue_.end()) {
    queue_.erase(waiting);
    return;
  }
  const auto it = children_.find(id);
  if (it == children_.end()) return;
  Child& child = *it->second;
  child.done = nullptr;  // its end is still reaped and counted, and reported to nobody
  if (child.terminating || child.reaped) return;
  if (child.pid > 0) {
    logger()->debug("[{}] cancelled: SIGTERM to pid {}", child.request.name, child.pid);
  } else {  // the spawner thread is starting it: on_spawned() signals it once its pid is known
    logger()->debug("[{}] cancelled while starting: SIGTERM once it has a pid", child.request.name);
  }
  terminate(child);
}

void ProcessScriptRunner::start_queued() {
  while (!queue_.empty() &&
         (options_.max_concurrent == 0 || children_.size() < options_.max_concurrent)) {
    Pending pending = std::move(queue_.front());
    queue_.pop_front();
    const ScriptRequest& request = pending.request;
    ScriptResult failure;
    failure.outcome = ScriptResult::Outcome::kSpawnFailed;
    if (request.argv.empty() || request.argv[0].empty()) {
      failure.error = EINVAL;
      finish_early(pending, std::move(failure));
      continue;
    }
    const uint64_t id = pending.id;
    auto job = std::make_unique<SpawnJob>(SpawnJob{.id = id,
                                                   .argv = request.argv,
                                                   .extra_env = request.extra_env,
                                                   .run_as = request.run_as,
                                                   .capture_output = request.capture_output});
    if (!spawner_results_ || !spawner_->submit(job)) {
      failure.error = EAGAIN;
      finish_early(pending, std::move(failure));
      continue;
    }
    children_.emplace(id, std::make_unique<Child>(id, std::move(pending), loop_.scheduler()));
  }
}

void ProcessScriptRunner::on_spawner_results() {
  for (int taken = 0; taken < 64; ++taken) {  // bounded; level-triggered, so the rest come next
    std::optional<Spawned> spawned = spawner_->take_result();
    if (!spawned) return;
    delete spawned->job;
    on_spawned(*spawned);
  }
}

void ProcessScriptRunner::finish_early(const Pending& pending, ScriptResult result) {
  count(result);
  logger()->warn("[{}] {}", pending.request.name, describe(result));
  if (!pending.done) return;  // cancelled
  // Posted: never inline in run(), and a callback that destroys the runner cannot pull it out
  // from under the caller.
  loop_.scheduler().post(
      [alive = std::weak_ptr<bool>(alive_), done = pending.done, result = std::move(result)] {
        if (!alive.expired()) done(result);
      });
}

Status ProcessScriptRunner::watch_sigchld() {
  if (sigchld_) return {};
  auto handler = std::make_unique<SignalHandler>(loop_);
  if (Status status = handler->on(SIGCHLD, [this](int) { reap_sigchld_children(); });
      !status.ok()) {
    return status;
  }
  sigchld_ = std::move(handler);
  return {};
}

void ProcessScriptRunner::on_spawned(const Spawned& spawned) {
  auto it = children_.find(spawned.id);
  assert(it != children_.end());
  Child& child = *it->second;
  if (spawned.pid < 0 || spawned.exec_failed) {
    ScriptResult failure;
    failure.outcome = spawned.exec_failed ? ScriptResult::Outcome::kExecFailed
                                          : ScriptResult::Outcome::kSpawnFailed;
    failure.error = spawned.error;
    if (spawned.exec_failed) ++counters_.started;
    Pending pending{std::move(child.request), std::move(child.done)};
    children_.erase(it);
    finish_early(pending, std::move(failure));
    start_queued();
    return;
  }
  ++counters_.started;
  child.pid = spawned.pid;
  child.pidfd = spawned.pidfd;
  child.output_fd = spawned.output_fd;
  child.started = spawned.started;
  const uint64_t id = child.id;

  if (child.pidfd >= 0) {
    auto watcher = FdWatcher::create(loop_, child.pidfd);
    if (watcher.ok()) {
      child.exit_watch = std::move(*watcher);
      child.exit_watch->on_readable([this, id] { on_exit_ready(id); });
    } else {
      close(child.pidfd);
      child.pidfd = -1;
    }
  }
  if (child.pidfd < 0) {
    if (options_.child_watch == ChildWatch::kPidfd || !watch_sigchld().ok()) {
      kill_group(child, SIGKILL);
      int status;
      wait_for(child.pid, &status, 0);
      ScriptResult failure;
      failure.outcome = ScriptResult::Outcome::kSpawnFailed;
      failure.error = spawned.error != 0 ? spawned.error : EBADF;
      Pending pending{std::move(child.request), std::move(child.done)};
      children_.erase(it);
      finish_early(pending, std::move(failure));
      start_queued();
      return;
    }
    if (options_.child_watch == ChildWatch::kAuto && counters_.pidfd_fallbacks++ == 0) {
      logger()->warn("[{}] pidfd_open failed ({}); watching scripts through SIGCHLD",
                     child.request.name, std::strerror(spawned.error));
    }
    // It may have exited before the loop knew its pid.
    loop_.scheduler().post([this, alive = std::weak_ptr<bool>(alive_)] {
      if (!alive.expired()) reap_sigchld_children();
    });
  }

  if (child.output_fd >= 0) {
    auto watcher = FdWatcher::create(loop_, child.output_fd);
    if (watcher.ok()) {
      child.output_watch = std::move(*watcher);
      child.output_watch->on_readable([this, &child] { on_output(child); });
    }  // else the output is read once, when the script ends
  }
  if (child.request.timeout > Duration{0} && !child.terminating) {
    child.timeout_timer.arm_at(child.started + child.request.timeout,
                               [this, id] { on_timeout(id); });
  }
  logger()->debug("[{}] started {} as pid {}", child.request.name, child.request.argv[0],
                  child.pid);
  if (child.terminating) {  // cancel() or terminate_running() came while it was starting
    logger()->debug("[{}] ended while starting: SIGTERM to pid {}", child.request.name, child.pid);
    terminate(child);
  }
}

void ProcessScriptRunner::on_output(Child& child) {
  std::array<char, 4096> buffer{};
  for (int reads = 0; reads < 16; ++reads) {  // bounded: a chatty script cannot hog the loop
    const ssize_t n = read(child.output_fd, buffer.data(), buffer.size());
    if (n > 0) {
      const size_t room = kCaptureLimit - std::min(kCaptureLimit, child.output.size());
      child.output.append(buffer.data(), std::min(room, static_cast<size_t>(n)));
      if (static_cast<size_t>(n) > room) child.output_truncated = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 || errno != EAGAIN) {  // end of output: the script and its children closed it
      child.output_watch.reset();
      close(child.output_fd);
      child.output_fd = -1;
    }
    return;
  }
}

void ProcessScriptRunner::drain_output(Child& child) {
  // Everything the script wrote before exiting is in the pipe now; a background child that
  // keeps the pipe open does not hold up the result.
  for (int rounds = 0; rounds < 64 && child.output_fd >= 0; ++rounds) {
    const size_t before = child.output.size();
    const bool truncated_before = child.output_truncated;
    on_output(child);
    if (child.output.size() == before && child.output_truncated == truncated_before) break;
  }
}

void ProcessScriptRunner::on_exit_ready(uint64_t id) {
  auto it = children_.find(id);
  if (it == children_.end()) return;
  int status = 0;
  const pid_t reaped = wait_for(it->second->pid, &status, WNOHANG);
  if (reaped == 0) return;  // not yet
  if (reaped < 0) {
    // Someone else reaped it (a waitpid(-1) elsewhere in the process): the status is lost.
    logger()->warn("[{}] exit status of pid {} lost: {}", it->second->request.name, it->second->pid,
                   std::strerror(errno));
    status = W_EXITCODE(127, 0);
  }
  it->second->reaped = true;
  complete(id, status);
}

void ProcessScriptRunner::reap_sigchld_children() {
  std::vector<std::pair<uint64_t, int>> exited;
  for (auto& [id, child] : children_) {
    if (child->pid <= 0 || child->pidfd >= 0 || child->reaped) continue;
    int status = 0;
    if (wait_for(child->pid, &status, WNOHANG) == child->pid) {
      child->reaped = true;
      exited.emplace_back(id, status);
    }
  }
  const std::weak_ptr<bool> alive = alive_;
  for (const auto& [id, status] : exited) {
    complete(id, status);
    if (alive.expired()) return;  // a callback destroyed the runner
  }
}

void ProcessScriptRunner::kill_group(const Child& child, int signal_number) {
  // The child is not reaped yet, so neither its pid nor its process group can have been reused.
  if (kill(-child.pid, signal_number) != 0) kill(child.pid, signal_number);
}

void ProcessScriptRunner::terminate(Child& child) {
  child.terminating = true;
  if (child.pid <= 0 || child.reaped) return;  // on_spawned() sends it once the pid is known
  kill_group(child, SIGTERM);
  const uint64_t id = child.id;
  child.kill_timer.arm_after(options_.kill_grace, [this, id] {
    auto found = children_.find(id);
    if (found == children_.end()) return;
    logger()->warn("[{}] ignored SIGTERM: SIGKILL to pid {}", found->second->request.name,
                   found->second->pid);
    kill_group(*found->second, SIGKILL);
  });
}

void ProcessScriptRunner::terminate_running() {
  for (auto& [id, child] : children_) {
    if (child->terminating) continue;
    if (child->pid > 0)
      logger()->debug("[{}] ending it: SIGTERM to pid {}", child->request.name, child->pid);
    terminate(*child);
  }
}

void ProcessScriptRunner::on_timeout(uint64_t id) {
  auto it = children_.find(id);
  if (it == children_.end()) return;
  Child& child = *it->second;
  if (child.terminating) return;  // already asked to end; the grace runs
  child.timed_out = true;
  logger()->warn(
      "[{}] still running after {}ms: SIGTERM to pid {}", child.request.name,
      std::chrono::duration_cast<std::chrono::milliseconds>(child.request.timeout).count(),
      child.pid);
  terminate(child);
}

void ProcessScriptRunner::complete(uint64_t id, int wait_status) {
  auto node = children_.extract(id);
  if (node.empty()) return;
  Child& child = *node.mapped();
  drain_output(child);

  ScriptResult result;
  result.runtime = loop_.scheduler().now() - child.started;
  result.output = std::move(child.output);
  result.output_truncated = child.output_truncated;
  if (WIFEXITED(wait_status)) {
    result.exit_code = WEXITSTATUS(wait_status);
    result.outcome = ScriptResult::Outcome::kExited;
  } else if (WIFSIGNALED(wait_status)) {
    result.signal = WTERMSIG(wait_status);
    result.outcome = ScriptResult::Outcome::kSignaled;
  }
  if (child.timed_out) result.outcome = ScriptResult::Outcome::kTimedOut;
  count(result);
  if (result.outcome == ScriptResult::Outcome::kTimedOut) {
    logger()->warn("[{}] {}", child.request.name, describe(result, child.request.timeout));
  } else {
    logger()->debug("[{}] {} after {}us", child.request.name, describe(result),
                    result.runtime.count());
  }

  ScriptCallback done = std::move(child.done);
  node.mapped().reset();
  start_queued();
  if (done) done(result);  // last: it may destroy the runner
}

void ProcessScriptRunner::count(const ScriptResult& result) {
  using Outcome = ScriptResult::Outcome;
  switch (result.outcome) {
    case Outcome::kExited:
      ++(result.exit_code == 0 ? counters_.exited_zero : counters_.exited_nonzero);
      break;
    case Outcome::kSignaled:
      ++counters_.signaled;
      break;
    case Outcome::kTimedOut:
      ++counters_.timed_out;
      break;
    case Outcome::kExecFailed:
      ++counters_.exec_failed;
      break;
    case Outcome::kSpawnFailed:
      ++counters_.spawn_failed;
      break;
  }
}

}  // namespace vigil::event
