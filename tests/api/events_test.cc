#include "api/events.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "golden.h"

namespace vigil::api {
namespace {

// One of each kind, as vigild records them.
std::vector<EventPayload> samples() {
  return {
      VrrpTransitionEvent{.instance = "VI_1",
                          .from = "BACKUP",
                          .to = "MASTER",
                          .reason = "master down timer expired"},
      HealthEvent{.virtual_server = "[192.0.2.80]:tcp:80",
                  .real_server = "[10.0.0.2]:tcp:80",
                  .checker = "HTTP_GET 10.0.0.2:80",
                  .up = false,
                  .reason = "bad reply",
                  .detail = "status 503"},
      HealthEvent{.virtual_server = "[192.0.2.80]:tcp:80",
                  .real_server = "[10.0.0.2]:tcp:80",
                  .checker = "HTTP_GET 10.0.0.2:80",
                  .up = true,
                  .reason = "check succeeded"},
      OverrideEvent{.action = "drain",
                    .virtual_server = "[192.0.2.80]:tcp:80",
                    .real_server = "[10.0.0.1]:80",
                    .for_seconds = 900,
                    .reason = "kernel upgrade",
                    .uid = 0,
                    .pid = 4242,
                    .change = "set",
                    .override_kind = "drain"},
      OverrideEvent{.action = "weight",
                    .virtual_server = "FWM 7",
                    .real_server = "[2001:db8::3]:80",
                    .weight = 5,
                    .uid = 1000,
                    .pid = 77,
                    .change = "set",
                    .override_kind = "weight"},
      ReloadEvent{.ok = true, .by = "SIGHUP"},
      ReloadEvent{.ok = false,
                  .by = "uid 0 pid 4243, reason: new pool",
                  .errors = 2,
                  .message = "/etc/vigil/vigil.conf has 2 error(s)"},
      // vigild's own changes of overrides, and an operator's `ready`.
      OverrideEvent{.action = "ready",
                    .virtual_server = "[192.0.2.80]:tcp:80",
                    .real_server = "[10.0.0.1]:80",
                    .reason = "kernel upgrade",
                    .uid = 0,
                    .pid = 4242,
                    .change = "expired",
                    .override_kind = "drain"},
      OverrideEvent{.action = "ready",
                    .virtual_server = "[192.0.2.80]:tcp:80",
                    .real_server = "[10.0.0.1]:80",
                    .uid = 0,
                    .pid = 4242,
                    .change = "expired",
                    .override_kind = "maint",
                    .detail = "while vigild was stopped"},
      OverrideEvent{.action = "ready",
                    .virtual_server = "FWM 7",
                    .real_server = "[2001:db8::3]:80",
                    .weight = 5,
                    .uid = 1000,
                    .pid = 77,
                    .change = "dropped",
                    .override_kind = "weight",
                    .detail = "the configured weight changed since it was set (3 then, 4 now)"},
      OverrideEvent{.action = "maint",
                    .virtual_server = "[192.0.2.80]:tcp:80",
                    .real_server = "[10.0.0.2]:80",
                    .reason = "disk swap",
                    .uid = 0,
                    .pid = 51,
                    .change = "orphaned",
                    .override_kind = "maint",
                    .detail = "its target left the configuration"},
      OverrideEvent{.action = "maint",
                    .virtual_server = "[192.0.2.80]:tcp:80",
                    .real_server = "[10.0.0.2]:80",
                    .reason = "disk swap",
                    .uid = 0,
                    .pid = 51,
                    .change = "restored",
                    .override_kind = "maint",
                    .detail = "its target is back in the configuration"},
      OverrideEvent{.action = "ready",
                    .virtual_server = "[192.0.2.80]:tcp:80",
                    .real_server = "[10.0.0.2]:80",
                    .reason = "disk swapped",
                    .uid = 0,
                    .pid = 52,
                    .change = "cleared",
                    .override_kind = "maint"},
  };
}

// A journal on a clock that advances 250 ms per event from 2026-12-07T04:00:00Z.
struct Fixture {
  int64_t now = 1'796'616'000'000;
  EventJournal journal{[this] { return now += 250; }, 4};
};

using testing::expect_golden;

std::vector<Event> numbered_samples() {
  std::vector<Event> out;
  int64_t ms = 1'796'616'000'000;
  uint64_t seq = 1;
  for (auto& what : samples())
    out.push_back(Event{.seq = seq++, .unix_ms = ms += 1250, .what = std::move(what)});
  return out;
}

TEST(EventJournal, NumbersAndStampsEveryEvent) {
  Fixture f;
  EXPECT_EQ(f.journal.last_seq(), 0U);
  const Event& first = f.journal.record(ReloadEvent{.ok = true, .by = "SIGHUP"});
  EXPECT_EQ(first.seq, 1U);
  EXPECT_EQ(first.unix_ms, 1'796'616'000'250);
  const Event& second = f.journal.record(ReloadEvent{.ok = true, .by = "SIGHUP"});
  EXPECT_EQ(second.seq, 2U);
  EXPECT_EQ(second.unix_ms, 1'796'616'000'500);
  EXPECT_EQ(f.journal.last_seq(), 2U);
}

TEST(EventJournal, KeepsTheLastCapacityEvents) {
  Fixture f;
  for (int i = 0; i < 6; ++i)
    f.journal.record(ReloadEvent{.ok = true, .by = "SIGHUP " + std::to_string(i)});
  EXPECT_EQ(f.journal.size(), 4U);
  const auto kept = f.journal.since(0);
  ASSERT_EQ(kept.size(), 4U);
  EXPECT_EQ(kept.front().seq, 3U);
  EXPECT_EQ(kept.back().seq, 6U);
  EXPECT_EQ(std::get<ReloadEvent>(kept.back().what).by, "SIGHUP 5");
  EXPECT_EQ(f.journal.last_seq(), 6U);
}

TEST(EventJournal, SinceGivesTheEventsAfterASequenceNumber) {
  Fixture f;
  for (int i = 0; i < 6; ++i)
    f.journal.record(ReloadEvent{.ok = true, .by = "SIGHUP"});
  const struct {
    uint64_t after;
    std::vector<uint64_t> seqs;
  } cases[] = {
      {0, {3, 4, 5, 6}},           // all that is kept
      {1, {3, 4, 5, 6}},           // older than the ring: what is kept
      {4, {5, 6}},       {6, {}},  // nothing new
      {99, {}},                    // from the future (another vigild's numbers): nothing
  };
  for (const auto& c : cases) {
    std::vector<uint64_t> seqs;
    for (const auto& e : f.journal.since(c.after))
      seqs.push_back(e.seq);
    EXPECT_EQ(seqs, c.seqs) << "since " << c.after;
  }
}

TEST(EventJournal, TellsTheListenerEachEvent) {
  Fixture f;
  std::vector<uint64_t> heard;
  f.journal.set_listener([&](const Event& e) { heard.push_back(e.seq); });
  f.journal.record(ReloadEvent{.ok = true});
  f.journal.record(ReloadEvent{.ok = false});
  f.journal.set_listener({});
  f.journal.record(ReloadEvent{.ok = true});
  EXPECT_EQ(heard, (std::vector<uint64_t>{1, 2}));
}

TEST(EventJson, EveryKindReadsBackAsItWasWritten) {
  for (const auto& event : numbered_samples()) {
    const std::string line = to_json_line(event);
    ASSERT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line per event: " << line;
    auto back = event_from_json(nlohmann::json::parse(line));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, event) << line;
  }
}

TEST(EventJson, RefusesWhatIsNotAnEvent) {
  const char* cases[] = {
      R"([1, 2])",
      R"({"kind": "vrrp"})",
      R"({"seq": 1, "unix_ms": 5, "kind": "weather"})",
      R"({"seq": -1, "unix_ms": 5, "kind": "vrrp"})",
  };
  for (const char* text : cases)
    EXPECT_FALSE(event_from_json(nlohmann::json::parse(text))) << text;
}

TEST(EventJson, TimesAreUtcWithMilliseconds) {
  EXPECT_EQ(format_utc_milliseconds(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_utc_milliseconds(1'796'616'000'007), "2026-12-07T04:00:00.007Z");
  EXPECT_EQ(format_utc_milliseconds(-1), "1969-12-31T23:59:59.999Z");
}

TEST(EventJson, TheLostLineSaysWhereToResume) {
  auto line = nlohmann::json::parse(lost_line(41, "dropped"));
  EXPECT_EQ(line["lost"], true);
  EXPECT_EQ(line["since"], 41);
  EXPECT_EQ(line["error"], "dropped");
  EXPECT_FALSE(event_from_json(line));  // never mistaken for an event
}

// A line from a vigild before `change` (operators' changes only) reads as set or cleared.
TEST(EventJson, AnOverrideWithoutChangeIsAnOperatorsChange) {
  const struct {
    const char* line;
    const char* change;
    const char* override_kind;
  } cases[] = {
      {R"({"seq":1,"unix_ms":5,"kind":"override","action":"drain","uid":0,"pid":1})", "set",
       "drain"},
      {R"({"seq":1,"unix_ms":5,"kind":"override","action":"weight","weight":4})", "set", "weight"},
      {R"({"seq":1,"unix_ms":5,"kind":"override","action":"ready"})", "cleared", ""},
  };
  for (const auto& c : cases) {
    auto event = event_from_json(nlohmann::json::parse(c.line));
    ASSERT_TRUE(event) << c.line;
    const auto& o = std::get<OverrideEvent>(event->what);
    EXPECT_EQ(o.change, c.change) << c.line;
    EXPECT_EQ(o.override_kind, c.override_kind) << c.line;
    EXPECT_EQ(render_event_text(*event).find("(set by"), std::string::npos) << c.line;
  }
}

TEST(EventJson, AHeartbeatSaysWhereTheStreamIsAndIsNoEvent) {
  const std::string text = heartbeat_line(41, 1'796'616'000'007);
  ASSERT_EQ(text.back(), '\n');
  EXPECT_EQ(text, R"({"kind":"heartbeat","since":41,"time":"2026-12-07T04:00:00.007Z",)"
                  R"("unix_ms":1796616000007})"
                  "\n");
  const auto line = nlohmann::json::parse(text);
  EXPECT_TRUE(is_heartbeat(line));
  EXPECT_FALSE(event_from_json(line));  // not in the journal: no seq
  for (const auto& event : numbered_samples())
    EXPECT_FALSE(is_heartbeat(to_json(event))) << to_json_line(event);
  EXPECT_FALSE(is_heartbeat(nlohmann::json::parse(lost_line(41, "dropped"))));
  EXPECT_FALSE(is_heartbeat(nlohmann::json::parse("[1]")));
}

TEST(EventGolden, JsonLinesMatchTheGoldenFile) {
  std::string lines;
  for (const auto& event : numbered_samples())
    lines += to_json_line(event);
  expect_golden("events.jsonl", lines);
}

TEST(EventGolden, TextMatchesTheGoldenFile) {
  std::string text;
  for (const auto& event : numbered_samples())
    text += render_event_text(event);
  expect_golden("events.txt", text);
}

}  // namespace
}  // namespace vigil::api
