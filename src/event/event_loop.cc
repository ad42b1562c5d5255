#include "event/event_loop.h"

#include <fmt/format.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <future>
#include <utility>

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

struct EventLoop::Impl {
  // Concurrency hint 1: one thread runs the context, other threads only post.
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  AsioScheduler scheduler{io};
  std::atomic<std::thread::id> running_thread{};

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
  asio::post(impl_->io, std::move(callback));
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

Status apply_thread_options(const ThreadOptions& options, std::string_view name) {
  const std::string short_name(name.substr(0, 15));
  pthread_setname_np(pthread_self(), short_name.c_str());
  Status result;
  if (!options.cpus.empty()) {
    Status status = set_cpu_affinity(options.cpus, name);
    if (!status.ok() && result.ok()) result = std::move(status);
  }
  if (options.realtime_priority) {
    Status status = set_realtime_priority(*options.realtime_priority, name);
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
