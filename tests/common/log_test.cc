#include "common/log.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/ostream_sink.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "common/log_async.h"

namespace vigil::log {
namespace {

// Collects the payloads it is given; can be made to block until released, to stand for a slow
// stderr or syslog.
class CollectingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  void hold() {
    std::lock_guard lock(gate_mutex_);
    held_ = true;
  }
  void release() {
    {
      std::lock_guard lock(gate_mutex_);
      held_ = false;
    }
    gate_.notify_all();
  }
  // True once the writer is inside sink_it_ waiting at the gate.
  bool wait_until_blocked() {
    std::unique_lock lock(gate_mutex_);
    return gate_.wait_for(lock, std::chrono::seconds(10), [this] { return blocked_; });
  }
  int flushes() {
    std::lock_guard lock(mutex_);
    return flushes_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    {
      std::unique_lock lock(gate_mutex_);
      blocked_ = held_;
      gate_.notify_all();
      gate_.wait_for(lock, std::chrono::seconds(10), [this] { return !held_; });
      blocked_ = false;
    }
    lines_.emplace_back(message.payload.data(), message.payload.size());
  }
  void flush_() override { ++flushes_; }

 private:
  std::vector<std::string> lines_;
  int flushes_ = 0;
  std::mutex gate_mutex_;
  std::condition_variable gate_;
  bool held_ = false;
  bool blocked_ = false;
};

TEST(AsyncSink, PassesLinesInOrderToEveryTarget) {
  auto first = std::make_shared<CollectingSink>();
  auto second = std::make_shared<CollectingSink>();
  auto sink = std::make_shared<AsyncSink>(std::vector<spdlog::sink_ptr>{first, second}, 64);
  spdlog::logger logger("async-test", sink);
  for (int i = 0; i < 20; ++i)
    logger.info("[VI_1] line {}", i);
  sink->drain();
  for (const auto& target : {first, second}) {
    const auto lines = target->lines();
    ASSERT_EQ(lines.size(), 20U);
    for (int i = 0; i < 20; ++i)
      EXPECT_EQ(lines[static_cast<size_t>(i)], fmt::format("[VI_1] line {}", i));
    EXPECT_GE(target->flushes(), 1);
  }
  EXPECT_EQ(sink->dropped(), 0U);
}

TEST(AsyncSink, LoggingDoesNotWaitForABlockedTargetAndDropsBeyondCapacity) {
  auto target = std::make_shared<CollectingSink>();
  auto sink = std::make_shared<AsyncSink>(std::vector<spdlog::sink_ptr>{target}, 4);
  spdlog::logger logger("async-test", sink);
  target->hold();
  logger.info("first");  // the writer takes it and blocks inside the target
  ASSERT_TRUE(target->wait_until_blocked());
  // The writer is stuck: these return at once; 4 wait, the rest are dropped and counted.
  for (int i = 0; i < 10; ++i)
    logger.info("queued {}", i);
  EXPECT_EQ(sink->dropped(), 6U);
  target->release();
  sink->drain();
  const std::vector<std::string> expected = {"first", "queued 0", "queued 1", "queued 2",
                                             "queued 3"};
  EXPECT_EQ(target->lines(), expected);
}

TEST(AsyncSink, LevelsOfTheTargetsStillApply) {
  auto target = std::make_shared<CollectingSink>();
  target->set_level(spdlog::level::warn);
  auto sink = std::make_shared<AsyncSink>(std::vector<spdlog::sink_ptr>{target}, 16);
  spdlog::logger logger("async-test", sink);
  logger.info("quiet");
  logger.warn("loud");
  sink->drain();
  EXPECT_EQ(target->lines(), std::vector<std::string>{"loud"});
}

TEST(AsyncSink, DestructionWritesWhatIsWaiting) {
  auto target = std::make_shared<CollectingSink>();
  {
    auto sink = std::make_shared<AsyncSink>(std::vector<spdlog::sink_ptr>{target}, 16);
    spdlog::logger logger("async-test", sink);
    for (int i = 0; i < 5; ++i)
      logger.info("bye {}", i);
  }
  EXPECT_EQ(target->lines().size(), 5U);
}

TEST(AsyncSink, PatternReachesTheTargets) {
  std::ostringstream stream;
  auto target = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream);
  auto sink = std::make_shared<AsyncSink>(std::vector<spdlog::sink_ptr>{target}, 16);
  spdlog::logger logger("vrrp", sink);
  logger.set_pattern("%n %l: %v");
  logger.info("[VI_1] BACKUP -> MASTER");
  sink->drain();
  EXPECT_EQ(stream.str(), "vrrp info: [VI_1] BACKUP -> MASTER\n");
}

TEST(SetLevel, OneComponentOrEveryOneAndItSurvivesReconfiguring) {
  auto vrrp = get("level-test-vrrp");
  auto check = get("level-test-check");
  ASSERT_TRUE(set_level("", spdlog::level::info));
  ASSERT_TRUE(set_level("level-test-vrrp", spdlog::level::debug));
  EXPECT_EQ(vrrp->level(), spdlog::level::debug);
  EXPECT_EQ(check->level(), spdlog::level::info);
  start_async(16);  // reconfigures every logger: the component's own level stays
  stop_async();
  EXPECT_EQ(vrrp->level(), spdlog::level::debug);
  auto unknown = set_level("no-such-component", spdlog::level::debug);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("level-test-check"), std::string::npos);
  ASSERT_TRUE(set_level("", spdlog::level::warn));  // every one, own levels dropped
  EXPECT_EQ(vrrp->level(), spdlog::level::warn);
  EXPECT_EQ(check->level(), spdlog::level::warn);
  start_async(16);
  stop_async();
  EXPECT_EQ(vrrp->level(), spdlog::level::warn);
  ASSERT_TRUE(set_level("", spdlog::level::info));
}

}  // namespace
}  // namespace vigil::log
