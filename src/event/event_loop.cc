#include "event/event_loop.h"

#include <fmt/format.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <deque>
#include <future>
#include <utility>
#include <vector>

#include "common/log.h"

namespace vigil::event {

namespace asio = boost::asio;

namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto instance = log::get("event");
  return instance;
}

std::string errno_text(int error) {
  return std::strerror(error);
}

}  // namespace

// Callbacks posted from other threads. A realtime loop must never wait for a lock that a
// lower-priority thread holds (priority inversion): Asio's own post() takes the scheduler mutex
// and makes a system call while holding it, so cross-thread posts use a priority-inheritance
// mutex instead and wake the loop through an eventfd.
class CrossThreadQueue {
 public:
  CrossThreadQueue() {
    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    pthread_mutexattr_setprotocol(&attributes, PTHREAD_PRIO_INHERIT);
    pthread_mutex_init(&mutex_, &attributes);
    pthread_mutexattr_destroy(&attributes);
    wakeup_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  }
  CrossThreadQueue(const CrossThreadQueue&) = delete;
  CrossThreadQueue& operator=(const CrossThreadQueue&) = delete;
  ~CrossThreadQueue() {
    pthread_mutex_destroy(&mutex_);
    if (wakeup_ >= 0) close(wakeup_);
  }

  [[nodiscard]] int wakeup_fd() const { return wakeup_; }

  void push(std::function<void()> callback) {
    pthread_mutex_lock(&mutex_);
    const bool was_empty = pending_.empty();
    pending_.push_back(std::move(callback));
    pthread_mutex_unlock(&mutex_);
    if (was_empty) {
      const uint64_t one = 1;
      (void)!write(wakeup_, &one, sizeof one);
    }
  }

  // Takes up to `limit` callbacks, oldest first. When more are left it wakes the loop again, so
  // a flood of posts takes turns with timers and sockets.
  std::vector<std::function<void()>> take(size_t limit) {
    uint64_t count;
    (void)!read(wakeup_, &count, sizeof count);
    std::vector<std::function<void()>> out;
    pthread_mutex_lock(&mutex_);
    const size_t n = std::min(limit, pending_.size());
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      out.push_back(std::move(pending_.front()));
      pending_.pop_front();
    }
    const bool more = !pending_.empty();
    pthread_mutex_unlock(&mutex_);
    if (more) {
      const uint64_t one = 1;
      (void)!write(wakeup_, &one, sizeof one);
    }
    return out;
  }

 private:
  pthread_mutex_t mutex_;
  int wakeup_ = -1;
  std::deque<std::function<void()>> pending_;
};

struct EventLoop::Impl {
  static constexpr size_t kPostBatch = 256;

  // Concurrency hint 1: one thread runs the context; other threads post through `posted`.
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  AsioScheduler scheduler{io};
  CrossThreadQueue posted;
  asio::posix::stream_descriptor posted_wakeup{io};
  std::atomic<std::thread::id> running_thread{};

  Impl() {
    boost::system::error_code ec;
    posted_wakeup.assign(posted.wakeup_fd(), ec);
    assert(!ec);  // a fresh eventfd always registers with epoll
    wait_for_posts();
  }
  ~Impl() {
    boost::system::error_code ignored;
    posted_wakeup.cancel(ignored);
    (void)posted_wakeup.release();  // CrossThreadQueue closes it
  }

  void wait_for_posts() {
    posted_wakeup.async_wait(asio::posix::descriptor_base::wait_read,
                             [this](const boost::system::error_code& ec) {
                               if (ec) return;  // cancelled: the loop is being destroyed
                               for (auto& callback : posted.take(kPostBatch))
                                 callback();
                               wait_for_posts();
                             });
  }

  struct RunningOn {
    Impl* impl;
    explicit RunningOn(Impl* i) : impl(i) { impl->running_thread = std::this_thread::get_id(); }
    ~RunningOn() { impl->running_thread = std::thread::id{}; }
  };
};

EventLoop::EventLoop(std::string name) : name_(std::move(name)), impl_(std::make_unique<Impl>()) {}

EventLoop::~EventLoop() = default;

Scheduler& EventLoop::scheduler() {
  return impl_->scheduler;
}

const AsioScheduler& EventLoop::asio_scheduler() const {
  return impl_->scheduler;
}

asio::io_context& EventLoop::io_context() {
  return impl_->io;
}

void EventLoop::run() {
  Impl::RunningOn running(impl_.get());
  impl_->io.run();
}

bool EventLoop::run_until(const std::function<bool()>& done, Duration timeout) {
  Impl::RunningOn running(impl_.get());
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (impl_->io.stopped()) return done();
    if (impl_->io.run_one_until(deadline) == 0 && std::chrono::steady_clock::now() >= deadline) {
      return done();
    }
  }
  return true;
}

void EventLoop::post(std::function<void()> callback) {
  assert(callback);
  impl_->posted.push(std::move(callback));
}

void EventLoop::stop() {
  impl_->io.stop();
}

bool EventLoop::stopped() const {
  return impl_->io.stopped();
}

bool EventLoop::in_loop_thread() const {
  return impl_->running_thread.load() == std::this_thread::get_id();
}

TimerLateness EventLoop::timer_lateness() const {
  return impl_->scheduler.lateness();
}

Status set_realtime_priority(int priority, std::string_view who) {
  const int lowest = sched_get_priority_min(SCHED_RR);
  const int highest = sched_get_priority_max(SCHED_RR);
  if (priority < lowest || priority > highest) {
    std::string message =
        fmt::format("SCHED_RR priority {} is outside {}-{}", priority, lowest, highest);
    logger()->warn("[{}] {}", who, message);
    return Error{std::move(message)};
  }
  sched_param param{};
  param.sched_priority = priority;
  if (int error = pthread_setschedparam(pthread_self(), SCHED_RR, &param); error != 0) {
    std::string message =
        fmt::format("cannot use SCHED_RR priority {}: {}", priority, errno_text(error));
    logger()->warn("[{}] {}", who, message);
    return Error{std::move(message)};
  }
  logger()->info("[{}] running at SCHED_RR priority {}", who, priority);
  return {};
}

Status set_cpu_affinity(const std::vector<int>& cpus, std::string_view who) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int cpu : cpus) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) {
      std::string message = fmt::format("CPU {} does not exist", cpu);
      logger()->warn("[{}] {}", who, message);
      return Error{std::move(message)};
    }
    CPU_SET(cpu, &set);
  }
  if (int error = pthread_setaffinity_np(pthread_self(), sizeof(set), &set); error != 0) {
    std::string message =
        fmt::format("cannot pin to CPUs {}: {}", fmt::join(cpus, ","), errno_text(error));
    logger()->warn("[{}] {}", who, message);
    return Error{std::move(message)};
  }
  return {};
}

Status set_thread_nice(int nice, std::string_view who) {
  // On Linux a thread id names one thread for setpriority (POSIX would say the whole process).
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice) != 0) {
    std::string message = fmt::format("cannot set nice value {}: {}", nice, errno_text(errno));
    logger()->warn("[{}] {}", who, message);
    return Error{std::move(message)};
  }
  logger()->info("[{}] running at nice {}", who, nice);
  return {};
}

Status lock_memory(std::string_view who) {
  if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
    std::string message = fmt::format("cannot lock memory: {}", errno_text(errno));
    logger()->warn("[{}] {}", who, message);
    return Error{std::move(message)};
  }
  logger()->info("[{}] memory locked (mlockall)", who);
  return {};
}

Status set_timer_slack(std::chrono::nanoseconds slack, std::string_view who) {
  if (slack.count() <= 0 ||
      prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(slack.count()), 0, 0, 0) != 0) {
    std::string message = fmt::format("cannot set the timer slack to {} ns: {}", slack.count(),
                                      slack.count() <= 0 ? "not positive" : errno_text(errno));
    logger()->warn("[{}] {}", who, message);
    return Error{std::move(message)};
  }
  return {};
}

Status apply_thread_options(const ThreadOptions& options, std::string_view name) {
  const std::string_view shown = options.thread_name.empty() ? name : options.thread_name;
  const std::string short_name(shown.substr(0, 15));
  pthread_setname_np(pthread_self(), short_name.c_str());
  Status result;
  if (options.nice) {
    Status status = set_thread_nice(*options.nice, name);
    if (!status.ok() && result.ok()) result = std::move(status);
  }
  if (!options.cpus.empty()) {
    Status status = set_cpu_affinity(options.cpus, name);
    if (!status.ok() && result.ok()) result = std::move(status);
  }
  if (options.lock_memory) {
    Status status = lock_memory(name);
    if (!status.ok() && result.ok()) result = std::move(status);
  }
  if (options.realtime_priority) {
    Status status = set_timer_slack(std::chrono::nanoseconds(1), name);
    if (!status.ok() && result.ok()) result = std::move(status);
    status = set_realtime_priority(*options.realtime_priority, name);
    if (!status.ok() && result.ok()) result = std::move(status);
  }
  return result;
}

LoopThread::LoopThread(std::string name) : loop_(std::move(name)) {}

LoopThread::~LoopThread() {
  stop();
}

Status LoopThread::start(const ThreadOptions& options) {
  assert(!thread_.joinable());
  std::promise<Status> applied;
  auto applied_future = applied.get_future();
  thread_ = std::thread([this, &options, &applied] {
    applied.set_value(apply_thread_options(options, loop_.name()));
    loop_.run();
  });
  return applied_future.get();
}

void LoopThread::stop() {
  if (!thread_.joinable()) return;
  assert(thread_.get_id() != std::this_thread::get_id());
  loop_.stop();
  thread_.join();
}

}  // namespace vigil::event
