#include "daemon/control.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/client.h"
#include "event/event_loop.h"

namespace vigil::daemon {
namespace {

using namespace std::chrono_literals;
constexpr Duration kBound = 10s;  // a safety net for a broken test, never a timing assertion

// A side whose status part comes from another thread, or never.
class FakeSide final : public Service {
 public:
  // kAtOnce: inside the call, on the loop (as the IPVS side answers).
  enum class Answer { kOnItsThread, kAtOnce, kNever };
  FakeSide(api::StatusPart part, Answer answer) : part_(std::move(part)), answer_(answer) {}
  ~FakeSide() override {
    for (auto& t : threads_)
      t.join();
  }
  Status start(const SharedConfig&) override { return {}; }
  void reload(const SharedConfig&) override {}
  void stop() override {}
  void status(const api::StatusQuery& query, StatusReply done) override {
    queries.push_back(query);
    if (answer_ == Answer::kNever) {
      kept_ = std::move(done);  // never called
      return;
    }
    if (answer_ == Answer::kAtOnce) {
      done(part_);
      return;
    }
    threads_.emplace_back([part = part_, done = std::move(done)] { done(part); });
  }
  // GET /metrics: one gauge naming the side, from its own thread (or never).
  void metrics(api::MetricsDetail detail, MetricsReply done) override {
    details.push_back(detail);
    if (answer_ == Answer::kNever) {
      kept_metrics_ = std::move(done);  // never called
      return;
    }
    api::MetricsPart part;
    part.family("fake_side", "A side.", api::MetricType::kGauge)
        .add({{"side", part_.vrrp.empty() ? "other" : part_.vrrp[0].name}}, 1);
    if (answer_ == Answer::kAtOnce) {
      done(std::move(part));
      return;
    }
    threads_.emplace_back([part = std::move(part), done = std::move(done)] { done(part); });
  }
  std::vector<api::StatusQuery> queries;
  std::vector<api::MetricsDetail> details;

 private:
  api::StatusPart part_;
  Answer answer_;
  StatusReply kept_;
  MetricsReply kept_metrics_;
  std::vector<std::thread> threads_;
};

class ControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/vigil-control-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  void start(std::vector<Service*> sides,
             Duration heartbeat = api::EventFollowers::kDefaultHeartbeat) {
    sides_ = std::move(sides);
    auto server = ControlServer::start(
        loop_, ControlOptions{
                   .sockets = api::socket_paths("", "", dir_),
                   .daemon_status = [] { return api::DaemonStatus{.version = "test", .pid = 7}; },
                   .services = [this] { return sides_; },
                   .reload =
                       [this](const std::string& who) {
                         reloads.push_back(who);
                         return ReloadOutcome{.message = "refused", .errors = {"f.conf:1:1: bad"}};
                       },
                   .events = &journal_,
                   .events_heartbeat = heartbeat,
                   .side_timeout = side_timeout_,
               });
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
  }

  api::ParsedResponse request(const api::ClientRequest& request, bool read_only = false) {
    const auto paths = api::socket_paths("", "", dir_);
    std::atomic<bool> done{false};
    Result<api::ParsedResponse> result = Error{"not run"};
    std::thread client([&] {
      result = api::send_request(read_only ? paths.read_only : paths.admin, request);
      done = true;
      loop_.post([] {});
    });
    loop_.run_until([&] { return done.load(); }, kBound);
    client.join();
    EXPECT_TRUE(result) << (result ? "" : result.error().message);
    return result ? *result : api::ParsedResponse{};
  }

  // How long a gather waits for a side: a liveness bound for sides that answer; the tests with
  // a side that never answers make it short, and their other sides answer at once (kAtOnce), so
  // a loaded machine cannot make an answering side late.
  Duration side_timeout_ = 5s;
  event::EventLoop loop_{"test"};
  std::string dir_;
  std::vector<Service*> sides_;
  std::unique_ptr<ControlServer> server_;
  std::vector<std::string> reloads;
  api::EventJournal journal_{[] { return int64_t{1'796'616'000'000}; }};
};

TEST_F(ControlTest, StatusMergesTheSidesParts) {
  FakeSide vrrp({.vrrp = {{.name = "VI_1", .state = "MASTER"}}}, FakeSide::Answer::kOnItsThread);
  FakeSide check({.virtual_servers = {{.name = "FWM 7", .alive = 1, .total = 1}}},
                 FakeSide::Answer::kOnItsThread);
  start({&vrrp, &check});
  auto response = request({.target = "/v1/status"}, /*read_only=*/true);
  ASSERT_EQ(response.status, 200) << response.body;
  auto status = api::status_from_json(response.body);
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(status->version, "test");
  ASSERT_EQ(status->vrrp.size(), 1U);
  EXPECT_EQ(status->vrrp[0].state, "MASTER");
  ASSERT_EQ(status->virtual_servers.size(), 1U);
  EXPECT_TRUE(status->warnings.empty());
  ASSERT_EQ(check.queries.size(), 1U);
  EXPECT_FALSE(check.queries[0].real_servers);  // the summary
  (void)request({.target = "/v1/services"});
  ASSERT_EQ(check.queries.size(), 2U);
  EXPECT_TRUE(check.queries[1].real_servers);
}

TEST_F(ControlTest, ASilentSideIsNamedInsteadOfWaitedFor) {
  FakeSide vrrp({.vrrp = {{.name = "VI_1", .state = "BACKUP"}}}, FakeSide::Answer::kAtOnce);
  FakeSide stuck({}, FakeSide::Answer::kNever);
  side_timeout_ = 20ms;
  start({&vrrp, &stuck});
  auto response = request({.target = "/v1/status"});
  ASSERT_EQ(response.status, 200);
  auto status = api::status_from_json(response.body);
  ASSERT_TRUE(status);
  ASSERT_EQ(status->vrrp.size(), 1U);
  ASSERT_EQ(status->warnings.size(), 1U);
  EXPECT_NE(status->warnings[0].find("1 side(s) of vigild did not answer"), std::string::npos);
}

TEST_F(ControlTest, MetricsGatherTheSidesFamiliesAndTheControlCounters) {
  FakeSide vrrp({.vrrp = {{.name = "VI_1", .state = "MASTER"}}}, FakeSide::Answer::kAtOnce);
  FakeSide stuck({}, FakeSide::Answer::kNever);
  side_timeout_ = 20ms;
  start({&vrrp, &stuck});
  auto response = request({.target = "/metrics"}, /*read_only=*/true);
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.content_type, api::kMetricsContentType);
  EXPECT_NE(response.body.find("\nvigil_fake_side{side=\"VI_1\"} 1\n"), std::string::npos)
      << response.body;
  EXPECT_NE(response.body.find("\nvigil_metrics_sides_silent 1\n"), std::string::npos)
      << response.body;
  EXPECT_NE(
      response.body.find("vigil_control_connections_accepted_total{listener=\"read_only\"} 1"),
      std::string::npos)
      << response.body;
  ASSERT_EQ(vrrp.details.size(), 1U);
  EXPECT_EQ(vrrp.details[0], api::MetricsDetail::kBasic);
  response = request({.target = "/metrics?detail=full"});
  ASSERT_EQ(response.status, 200);
  ASSERT_EQ(vrrp.details.size(), 2U);
  EXPECT_EQ(vrrp.details[1], api::MetricsDetail::kFull);
  EXPECT_EQ(request({.target = "/metrics?detail=all"}).status, 400);
  EXPECT_EQ(request({.method = "POST", .target = "/metrics"}, true).status, 405);
}

// Requests by listener, path and method: the API's paths by name, anything else as "other" (no
// client can make series); a scrape counts itself.
TEST_F(ControlTest, MetricsCountRequestsByPathWithABoundedVocabulary) {
  FakeSide vrrp({.vrrp = {{.name = "VI_1", .state = "MASTER"}}}, FakeSide::Answer::kOnItsThread);
  start({&vrrp});
  (void)request({.target = "/v1/status"}, /*read_only=*/true);
  (void)request({.target = "/v1/status"}, /*read_only=*/true);
  EXPECT_EQ(request({.target = "/no/such/thing"}).status, 404);
  EXPECT_EQ(request({.target = "/v1/secret-1234"}).status, 404);
  EXPECT_EQ(request({.method = "PUT", .target = "/v1/rs"}).status, 405);
  auto response = request({.target = "/metrics"}, /*read_only=*/true);
  ASSERT_EQ(response.status, 200);
  const std::string& text = response.body;
  auto count = [&](const std::string& labels) -> std::string {
    const std::string prefix = "vigil_control_requests_total{" + labels + "} ";
    const size_t at = text.find(prefix);
    if (at == std::string::npos) return "none";
    return text.substr(at + prefix.size(), text.find('\n', at) - at - prefix.size());
  };
  EXPECT_EQ(count(R"(listener="read_only",path="/v1/status",method="GET")"), "2") << text;
  EXPECT_EQ(count(R"(listener="admin",path="other",method="GET")"), "2");
  EXPECT_EQ(count(R"(listener="admin",path="/v1/rs",method="other")"), "1");
  EXPECT_EQ(count(R"(listener="read_only",path="/metrics",method="GET")"), "1");
  EXPECT_EQ(count(R"(listener="admin",path="/v1/status",method="GET")"), "none");
  EXPECT_EQ(text.find("secret"), std::string::npos);
  EXPECT_NE(text.find("# TYPE vigil_control_requests_total counter\n"), std::string::npos);

  ControlRequestCounts counts;
  counts.count(SocketKind::kMetrics, "/metrics", "GET");
  counts.count(SocketKind::kMetrics, "/metrics?x", "HEAD");
  EXPECT_EQ(counts.get(SocketKind::kMetrics, "/metrics", "GET"), 1U);
  EXPECT_EQ(counts.get(SocketKind::kMetrics, "other", "other"), 1U);
  EXPECT_EQ(counts.get(SocketKind::kAdmin, "/metrics", "GET"), 0U);
}

struct RouteCase {
  const char* name;
  const char* method;
  const char* target;
  const char* body;
  bool read_only;
  int status;
  const char* error;  // a substring of the error
};

class ControlRoutes : public ControlTest, public ::testing::WithParamInterface<RouteCase> {};

TEST_P(ControlRoutes, AnswerAsDocumented) {
  start({});
  const auto& c = GetParam();
  auto response = request({.method = c.method, .target = c.target, .body = c.body}, c.read_only);
  EXPECT_EQ(response.status, c.status) << response.body;
  EXPECT_NE(response.body.find(c.error), std::string::npos) << response.body;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ControlRoutes,
    ::testing::Values(
        RouteCase{"status_by_post", "POST", "/v1/status", "", false, 405, "GET"},
        RouteCase{"reload_by_get", "GET", "/v1/reload", "", false, 405, "POST"},
        RouteCase{"reload_read_only", "POST", "/v1/reload", "", true, 403, "read-only"},
        RouteCase{"reload_refused", "POST", "/v1/reload", "{\"reason\":\"x\"}", false, 422,
                  "f.conf:1:1: bad"},
        RouteCase{"reload_bad_body", "POST", "/v1/reload", "[1]", false, 400, "JSON object"},
        RouteCase{"rs_without_ipvs", "POST", "/v1/rs", "{}", false, 409, "no IPVS side"},
        RouteCase{"rs_read_only", "POST", "/v1/rs", "{}", true, 403, "read-only"},
        RouteCase{"garp_without_vrrp", "POST", "/v1/vrrp/garp", "{\"instance\":\"VI_1\"}", false,
                  409, "no VRRP instance"},
        RouteCase{"garp_bad_body", "POST", "/v1/vrrp/garp", "{}", false, 400, "instance"},
        RouteCase{"log_bad_level", "POST", "/v1/log", "{\"level\":\"loud\"}", false, 400,
                  "level must be"},
        RouteCase{"log_unknown_component", "POST", "/v1/log",
                  "{\"level\":\"debug\",\"component\":\"nope\"}", false, 404, "no component"},
        RouteCase{"log_read_only", "POST", "/v1/log", "{\"level\":\"debug\"}", true, 403,
                  "read-only"},
        RouteCase{"events_by_post", "POST", "/v1/events", "", false, 405, "GET"},
        RouteCase{"events_bad_since", "GET", "/v1/events?since=-1", "", true, 400, "since"},
        RouteCase{"events_bad_follow", "GET", "/v1/events?follow=yes", "", true, 400, "follow"},
        RouteCase{"vrrp_stats_by_post", "POST", "/v1/vrrp/stats", "", false, 405, "GET"},
        RouteCase{"vrrp_stats_without_vrrp", "GET", "/v1/vrrp/stats", "", true, 409,
                  "no VRRP instance"},
        RouteCase{"vrrp_stats_clear_read_only", "POST", "/v1/vrrp/stats/clear", "{}", true, 403,
                  "read-only"},
        RouteCase{"vrrp_stats_clear_by_get", "GET", "/v1/vrrp/stats/clear", "", false, 405, "POST"},
        RouteCase{"vrrp_maintenance_read_only", "POST", "/v1/vrrp/maintenance",
                  "{\"on\":true,\"instance\":\"VI_1\"}", true, 403, "read-only"},
        RouteCase{"vrrp_maintenance_bad_body", "POST", "/v1/vrrp/maintenance",
                  "{\"instance\":\"VI_1\"}", false, 400, "\\\"on\\\""},
        RouteCase{"vrrp_maintenance_both_targets", "POST", "/v1/vrrp/maintenance",
                  "{\"on\":true,\"instance\":\"VI_1\",\"all\":true}", false, 400, "all"},
        RouteCase{"vrrp_maintenance_not_json", "POST", "/v1/vrrp/maintenance", "[", false, 400,
                  "JSON object"},
        RouteCase{"vrrp_maintenance_without_vrrp", "POST", "/v1/vrrp/maintenance",
                  "{\"on\":false,\"all\":true}", false, 409, "no VRRP instance"},
        RouteCase{"unknown", "GET", "/v2/status", "", true, 404, "no such resource"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(ControlTest, AReloadNamesItsCaller) {
  start({});
  (void)request({.method = "POST", .target = "/v1/reload", .body = "{\"reason\":\"test run\"}"});
  ASSERT_EQ(reloads.size(), 1U);
  EXPECT_EQ(reloads[0], "uid " + std::to_string(::getuid()) + " pid " + std::to_string(::getpid()) +
                            ", reason: test run");
}

TEST_F(ControlTest, EventsAnswerTheJournalAndFollowersGetEachNewOne) {
  start({});
  journal_.record(api::ReloadEvent{.ok = true, .by = "SIGHUP"});
  journal_.record(api::ReloadEvent{.ok = false, .by = "SIGHUP", .errors = 1});
  const auto kept = journal_.since(0);
  ASSERT_EQ(kept.size(), 2U);
  auto all = request({.target = "/v1/events"}, true);
  EXPECT_EQ(all.status, 200);
  EXPECT_EQ(all.content_type, "application/x-ndjson");
  EXPECT_EQ(all.body, api::to_json_line(kept[0]) + api::to_json_line(kept[1]));
  EXPECT_EQ(request({.target = "/v1/events?since=1"}, true).body, api::to_json_line(kept[1]));
  EXPECT_EQ(request({.target = "/v1/events?since=2"}, true).body, "");

  // A follower from the read-only socket: what follows since=2, then each new event.
  const auto paths = api::socket_paths("", "", dir_);
  std::vector<std::string> lines;
  std::atomic<bool> done{false};
  Result<api::ParsedResponse> result = Error{"not run"};
  std::thread client([&] {
    result = api::stream_request(paths.read_only, {.target = "/v1/events?since=2&follow=1"},
                                 [&](std::string_view line) { lines.emplace_back(line); });
    done = true;
    loop_.post([] {});
  });
  loop_.run_until([&] { return server_->read_only_counters().streams == 1; }, kBound);
  ASSERT_EQ(server_->read_only_counters().streams, 1U);
  const api::Event& next = journal_.record(api::VrrpTransitionEvent{
      .instance = "VI_1", .from = "BACKUP", .to = "MASTER", .reason = "master down timer expired"});
  std::string expected = api::to_json_line(next);
  expected.pop_back();
  // The line is in the socket as the journal records it; the server going ends the stream.
  server_.reset();
  loop_.run_until([&] { return done.load(); }, kBound);
  client.join();
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(lines, std::vector<std::string>{expected});
}

// The heartbeat on a real loop (its timing is EventFollowers' test, in virtual time): a follower
// of a quiet journal gets heartbeat lines, which are no events.
TEST_F(ControlTest, AQuietFollowerGetsHeartbeats) {
  start({}, 1ms);
  journal_.record(api::ReloadEvent{.ok = true, .by = "SIGHUP"});
  const auto paths = api::socket_paths("", "", dir_);
  std::mutex mutex;
  std::vector<std::string> lines;
  std::atomic<size_t> count{0};
  std::atomic<bool> done{false};
  Result<api::ParsedResponse> result = Error{"not run"};
  std::thread client([&] {
    result = api::stream_request(paths.read_only, {.target = "/v1/events?follow=1"},
                                 [&](std::string_view line) {
                                   const std::lock_guard lock(mutex);
                                   lines.emplace_back(line);
                                   ++count;
                                   loop_.post([] {});
                                 });
    done = true;
    loop_.post([] {});
  });
  loop_.run_until([&] { return count.load() >= 3; }, kBound);
  server_.reset();
  loop_.run_until([&] { return done.load(); }, kBound);
  client.join();
  ASSERT_TRUE(result) << result.error().message;
  const std::lock_guard lock(mutex);
  ASSERT_GE(lines.size(), 3U);
  EXPECT_EQ(lines[0] + "\n", api::to_json_line(journal_.since(0).at(0)));
  for (size_t i = 1; i < lines.size(); ++i) {
    const auto line = nlohmann::json::parse(lines[i]);
    EXPECT_TRUE(api::is_heartbeat(line)) << lines[i];
    EXPECT_EQ(line["since"], 1) << lines[i];
  }
}

}  // namespace
}  // namespace vigil::daemon
