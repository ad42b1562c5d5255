#include "common/log.h"

#include <pthread.h>
#include <semaphore.h>
#include <spdlog/details/log_msg_buffer.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <syslog.h>

#include <atomic>
#include <cassert>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "common/log_async.h"

namespace vigil::log {
namespace {

struct Registry {
  std::mutex mutex;
  std::vector<spdlog::sink_ptr> sinks{std::make_shared<spdlog::sinks::stderr_sink_mt>()};
  std::shared_ptr<AsyncSink> async;  // set between start_async() and stop_async()
  spdlog::level::level_enum level = spdlog::level::info;
  // Components given a level of their own at run time (set_level), kept across reconfiguring.
  std::map<std::string, spdlog::level::level_enum> component_levels;
};

Registry& registry() {
  static Registry instance;
  return instance;
}

const char* const kPattern = "%Y-%m-%d %H:%M:%S.%e %^%l%$ %n: %v";

std::vector<spdlog::sink_ptr> active_sinks(const Registry& reg) {
  if (reg.async) return {reg.async};
  return reg.sinks;
}

void configure(spdlog::logger& logger, const Registry& reg) {
  logger.sinks() = active_sinks(reg);
  auto own = reg.component_levels.find(logger.name());
  logger.set_level(own != reg.component_levels.end() ? own->second : reg.level);
  logger.set_pattern(kPattern);
}

void reconfigure_all(const Registry& reg) {
  spdlog::apply_all(
      [&](const std::shared_ptr<spdlog::logger>& logger) { configure(*logger, reg); });
}

// A mutex with priority inheritance: a low-priority holder is raised while a realtime thread
// waits, so the wait lasts as long as the (short) critical section, not the holder's time slice.
class PiMutex {
 public:
  PiMutex() {
    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    pthread_mutexattr_setprotocol(&attributes, PTHREAD_PRIO_INHERIT);
    pthread_mutex_init(&mutex_, &attributes);
    pthread_mutexattr_destroy(&attributes);
  }
  PiMutex(const PiMutex&) = delete;
  PiMutex& operator=(const PiMutex&) = delete;
  ~PiMutex() { pthread_mutex_destroy(&mutex_); }
  void lock() { pthread_mutex_lock(&mutex_); }
  void unlock() { pthread_mutex_unlock(&mutex_); }

 private:
  pthread_mutex_t mutex_;
};

}  // namespace

struct AsyncSink::State {
  std::vector<spdlog::sink_ptr> targets;
  size_t capacity;
  PiMutex mutex;
  std::vector<spdlog::details::log_msg_buffer> queue;  // guarded by mutex
  uint64_t queued = 0;                                 // lines ever queued; guarded by mutex
  bool stopping = false;                               // guarded by mutex
  std::atomic<uint64_t> written{0};  // lines the writer has finished with (written or not)
  std::atomic<uint64_t> dropped{0};
  sem_t wakeup;
  std::thread writer;

  void write_loop() {
    std::vector<spdlog::details::log_msg_buffer> batch;
    batch.reserve(capacity);
    for (;;) {
      while (sem_wait(&wakeup) != 0) {
      }
      bool stop = false;
      {
        std::lock_guard lock(mutex);
        batch.swap(queue);
        stop = stopping;
      }
      for (const auto& line : batch) {
        for (auto& target : targets) {
          if (target->should_log(line.level)) target->log(line);
        }
      }
      if (!batch.empty()) {
        for (auto& target : targets)
          target->flush();
      }
      written.fetch_add(batch.size(), std::memory_order_release);
      batch.clear();
      if (stop) {
        std::lock_guard lock(mutex);
        if (queue.empty()) return;
      }
    }
  }
};

AsyncSink::AsyncSink(std::vector<spdlog::sink_ptr> targets, size_t capacity)
    : state_(std::make_unique<State>()) {
  assert(capacity > 0);
  state_->targets = std::move(targets);
  state_->capacity = capacity;
  state_->queue.reserve(capacity);
  sem_init(&state_->wakeup, 0, 0);
  state_->writer = std::thread([state = state_.get()] {
    pthread_setname_np(pthread_self(), "log-writer");
    state->write_loop();
  });
}

AsyncSink::~AsyncSink() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  sem_post(&state_->wakeup);
  state_->writer.join();
  sem_destroy(&state_->wakeup);
}

void AsyncSink::log(const spdlog::details::log_msg& message) {
  // The copy (and its allocation) happens before the lock.
  spdlog::details::log_msg_buffer line(message);
  bool first = false;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->stopping || state_->queue.size() >= state_->capacity) {
      state_->dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    first = state_->queue.empty();
    state_->queue.push_back(std::move(line));
    ++state_->queued;
  }
  // One wake-up per batch; sem_post never blocks.
  if (first) sem_post(&state_->wakeup);
}

void AsyncSink::flush() {
  sem_post(&state_->wakeup);
}

void AsyncSink::set_pattern(const std::string& pattern) {
  for (auto& target : state_->targets)
    target->set_pattern(pattern);
}

void AsyncSink::set_formatter(std::unique_ptr<spdlog::formatter> formatter) {
  for (auto& target : state_->targets)
    target->set_formatter(formatter->clone());
}

void AsyncSink::drain() {
  uint64_t wanted = 0;
  {
    std::lock_guard lock(state_->mutex);
    wanted = state_->queued;
  }
  sem_post(&state_->wakeup);
  // Bounded: the writer needs no lock this thread holds; give it up to 10 s.
  for (int i = 0; i < 10'000 && state_->written.load(std::memory_order_acquire) < wanted; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

uint64_t AsyncSink::dropped() const {
  return state_->dropped.load(std::memory_order_relaxed);
}

const std::vector<spdlog::sink_ptr>& AsyncSink::targets() const {
  return state_->targets;
}

void setup(const Options& options) {
  auto& reg = registry();
  std::lock_guard lock(reg.mutex);
  reg.sinks.clear();
  if (options.console) {
    reg.sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
  } else {
    reg.sinks.push_back(std::make_shared<spdlog::sinks::syslog_sink_mt>(
        options.ident, LOG_PID, LOG_DAEMON, /*enable_formatting=*/false));
  }
  reg.level = options.level;
  if (reg.async) reg.async = std::make_shared<AsyncSink>(reg.sinks, 8192);
  reconfigure_all(reg);
}

std::shared_ptr<spdlog::logger> get(const std::string& component) {
  auto& reg = registry();
  std::lock_guard lock(reg.mutex);
  if (auto existing = spdlog::get(component)) return existing;
  auto logger = std::make_shared<spdlog::logger>(component);
  configure(*logger, reg);
  spdlog::register_logger(logger);
  return logger;
}

Status set_level(const std::string& component, spdlog::level::level_enum level) {
  auto& reg = registry();
  std::lock_guard lock(reg.mutex);
  if (component.empty()) {
    reg.level = level;
    reg.component_levels.clear();
    spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) { l->set_level(level); });
    return {};
  }
  auto logger = spdlog::get(component);
  if (!logger) {
    std::string known;
    spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
      if (!l->name().empty()) known += (known.empty() ? "" : ", ") + l->name();
    });
    return Error{"no component '" + component + "' (these log: " + known + ")"};
  }
  reg.component_levels[component] = level;
  logger->set_level(level);  // atomic in spdlog: safe while other threads log
  return {};
}

void start_async(size_t capacity) {
  auto& reg = registry();
  std::lock_guard lock(reg.mutex);
  if (reg.async) return;
  reg.async = std::make_shared<AsyncSink>(reg.sinks, capacity);
  reconfigure_all(reg);
}

void stop_async() {
  auto& reg = registry();
  std::shared_ptr<AsyncSink> async;
  {
    std::lock_guard lock(reg.mutex);
    async = std::move(reg.async);
    reg.async.reset();
    reconfigure_all(reg);
  }
  if (async) async->drain();
  // The last reference (ours, unless a logger call is in flight) joins the writer.
}

uint64_t dropped_lines() {
  auto& reg = registry();
  std::lock_guard lock(reg.mutex);
  return reg.async ? reg.async->dropped() : 0;
}

}  // namespace vigil::log
