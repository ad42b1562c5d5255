// The followers of GET /v1/events?follow=1 in virtual time: every event reaches every follower,
// a quiet stream gets a heartbeat every interval and a busy one none, a reader that cannot take
// a line is dropped with the line that says where to resume.
#include "api/event_followers.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fakes/fake_scheduler.h"

namespace vigil::api {
namespace {

using namespace std::chrono_literals;

// The server's end of one stream: what it was sent, line by line; `takes` false: a reader that
// left (or fell behind).
struct FakeSink final : ResponseStream::Sink {
  bool send(std::string_view bytes) override {
    if (!takes) return false;
    sent.emplace_back(bytes);
    return true;
  }
  void finish(std::string_view last) override {
    finished = true;
    last_line = std::string(last);
  }
  [[nodiscard]] bool open() const override { return takes && !finished; }

  bool takes = true;
  bool finished = false;
  std::vector<std::string> sent;
  std::string last_line;

  [[nodiscard]] std::vector<std::string> kinds() const {
    std::vector<std::string> out;
    for (const auto& line : sent)
      out.push_back(nlohmann::json::parse(line).value("kind", std::string("?")));
    return out;
  }
};

struct Reader {
  std::shared_ptr<FakeSink> sink = std::make_shared<FakeSink>();
  std::shared_ptr<ResponseStream> stream = [this] {
    auto s = std::make_shared<ResponseStream>();
    s->attach(sink);
    return s;
  }();
};

struct Fixture {
  testing::FakeScheduler scheduler;
  int64_t unix_ms = 1'796'616'000'000;
  EventFollowers followers{scheduler, [this] { return unix_ms; }, 30s};
  uint64_t seq = 0;

  Event event() {
    return Event{.seq = ++seq, .unix_ms = unix_ms, .what = ReloadEvent{.ok = true, .by = "SIGHUP"}};
  }
  void advance(Duration d) {
    unix_ms += std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    scheduler.advance(d);
  }
};

TEST(EventFollowers, AQuietStreamGetsAHeartbeatEveryInterval) {
  Fixture f;
  Reader reader;
  f.seq = 7;  // it was sent the journal up to 7
  f.followers.add(reader.stream, 7);
  f.advance(29s);
  EXPECT_TRUE(reader.sink->sent.empty());
  f.advance(1s);
  ASSERT_EQ(reader.sink->sent.size(), 1U);
  EXPECT_EQ(reader.sink->sent[0], heartbeat_line(7, 1'796'616'030'000));
  f.advance(30s);
  EXPECT_EQ(reader.sink->kinds(), (std::vector<std::string>{"heartbeat", "heartbeat"}));
  EXPECT_EQ(f.followers.heartbeats(), 2U);
}

TEST(EventFollowers, NoHeartbeatWhileEventsFlow) {
  Fixture f;
  Reader reader;
  f.followers.add(reader.stream, 0);
  // An event every 20 s for 5 minutes: never 30 s of quiet.
  for (int i = 0; i < 15; ++i) {
    f.advance(20s);
    f.followers.send(f.event());
  }
  EXPECT_EQ(reader.sink->sent.size(), 15U);
  EXPECT_EQ(f.followers.heartbeats(), 0U);
  // Then quiet: 30 s after the last event, one heartbeat, since the last event it was sent.
  f.advance(29s);
  EXPECT_EQ(reader.sink->sent.size(), 15U);
  f.advance(1s);
  ASSERT_EQ(reader.sink->sent.size(), 16U);
  const auto beat = nlohmann::json::parse(reader.sink->sent.back());
  EXPECT_TRUE(is_heartbeat(beat));
  EXPECT_EQ(beat["since"], 15);
}

TEST(EventFollowers, EachFollowerHasItsOwnQuiet) {
  Fixture f;
  Reader early;
  Reader late;
  f.followers.add(early.stream, 0);
  f.advance(10s);
  f.followers.add(late.stream, 0);
  f.advance(20s);  // 30 s for early, 20 s for late
  EXPECT_EQ(early.sink->kinds(), std::vector<std::string>{"heartbeat"});
  EXPECT_TRUE(late.sink->sent.empty());
  f.advance(10s);
  EXPECT_EQ(late.sink->kinds(), std::vector<std::string>{"heartbeat"});
  EXPECT_EQ(early.sink->sent.size(), 1U);
  // An event reaches both, and both go quiet from then on.
  f.followers.send(f.event());
  f.advance(30s);
  EXPECT_EQ(early.sink->kinds(), (std::vector<std::string>{"heartbeat", "reload", "heartbeat"}));
  EXPECT_EQ(late.sink->kinds(), (std::vector<std::string>{"heartbeat", "reload", "heartbeat"}));
}

TEST(EventFollowers, AReaderThatCannotTakeALineIsDroppedWithWhereToResume) {
  const struct {
    const char* name;
    bool by_event;  // an event finds it gone; else a heartbeat does
  } cases[] = {{"event", true}, {"heartbeat", false}};
  for (const auto& c : cases) {
    Fixture f;
    Reader gone;
    Reader stays;
    f.seq = 4;
    f.followers.add(gone.stream, 4);
    f.followers.add(stays.stream, 4);
    gone.sink->takes = false;
    if (c.by_event) {
      f.followers.send(f.event());
    } else {
      f.advance(30s);
    }
    EXPECT_EQ(f.followers.size(), 1U) << c.name;
    EXPECT_TRUE(gone.sink->finished) << c.name;
    const auto lost = nlohmann::json::parse(gone.sink->last_line);
    EXPECT_EQ(lost["lost"], true) << c.name;
    EXPECT_EQ(lost["since"], 4) << c.name;
    EXPECT_EQ(stays.sink->sent.size(), 1U) << c.name;
  }
}

TEST(EventFollowers, NoFollowerNoTimer) {
  Fixture f;
  EXPECT_EQ(f.scheduler.pending(), 0U);
  Reader reader;
  f.followers.add(reader.stream, 0);
  EXPECT_EQ(f.scheduler.pending(), 1U);
  reader.sink->takes = false;
  f.followers.send(f.event());
  EXPECT_EQ(f.followers.size(), 0U);
  EXPECT_EQ(f.scheduler.pending(), 0U);
}

TEST(EventFollowers, AZeroIntervalSendsNoHeartbeat) {
  testing::FakeScheduler scheduler;
  EventFollowers followers{scheduler, [] { return int64_t{0}; }, Duration::zero()};
  Reader reader;
  followers.add(reader.stream, 0);
  scheduler.advance(1h);
  EXPECT_TRUE(reader.sink->sent.empty());
  EXPECT_EQ(scheduler.pending(), 0U);
}

}  // namespace
}  // namespace vigil::api
