// CheckEngine in virtual time with a fake prober: keepalived.conf text in, probe requests out,
// probe results in, the desired IPVS state of each service and its notifies out.
#include "check/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "alert/message.h"
#include "config/parser.h"
#include "fakes/fake_scheduler.h"

namespace vigil::check {
namespace {

class FakeProber final : public Prober {
 public:
  struct Started {
    ProbeRequest request;
    ProbeDone done;
  };
  ProbeId start(const ProbeRequest& request, ProbeDone done) override {
    running.emplace(++last_id, Started{request, std::move(done)});
    ++started;
    return last_id;
  }
  void cancel(ProbeId id) override {
    if (running.erase(id) != 0) ++cancelled;
  }
  // Completes the oldest running probe with `result`.
  void finish_oldest(ProbeResult result) {
    ASSERT_FALSE(running.empty());
    auto node = running.extract(running.begin());
    node.mapped().done(std::move(result));
  }

  std::map<ProbeId, Started> running;
  ProbeId last_id = 0;
  size_t started = 0;
  size_t cancelled = 0;
};

config::Config parse(const std::string& text) {
  auto parsed = config::parse_text("test.conf", text);
  EXPECT_TRUE(parsed->ok()) << parsed->diagnostics.format(parsed->files);
  return parsed->config;
}

std::string one_service(const std::string& real_servers) {
  return "virtual_server 10.0.0.100 80 {\n  lvs_sched rr\n  lvs_method NAT\n  protocol TCP\n"
         "  delay_loop 10\n" +
         real_servers + "}\n";
}

const std::string kTwoTcpServers = one_service(
    "  real_server 10.0.0.1 80 {\n    weight 2\n    TCP_CHECK {\n      connect_timeout 3\n"
    "    }\n  }\n"
    "  real_server 10.0.0.2 80 {\n    weight 3\n    inhibit_on_failure\n"
    "    TCP_CHECK {\n    }\n  }\n");

const ProbeFailed kRefused{.reason = Reason::kConnectionRefused, .detail = "connection refused"};

class EngineTest : public ::testing::Test {
 protected:
  EngineTest()
      : engine_(
            scheduler_, prober_, [](Duration) { return Duration{0}; },
            EngineSinks{
                .health = [this](HealthBatch batch) { batches_.push_back(std::move(batch)); },
                .notify =
                    [this](const VirtualServerSpec& vs, NotifyActions actions) {
                      for (const auto& a : actions)
                        notifies_.push_back(vs.label + " " + to_string(a));
                    },
            },
            {},
            [this](const std::string& path) -> std::optional<int64_t> {
              auto it = files_.find(path);
              return it == files_.end() ? std::optional<int64_t>(0) : it->second;
            }) {}

  HealthBatch load(const std::string& text) {
    config_ = parse(text);
    auto loaded = engine_.load(config_);
    EXPECT_TRUE(loaded) << (loaded ? "" : loaded.error().message);
    return loaded ? *loaded : HealthBatch{};
  }

  // Ends every running TCP probe: refused for `failing`, succeeded for the others.
  void finish_tcp_probes_failing(const std::string& failing) {
    while (!prober_.running.empty()) {
      const auto* tcp = std::get_if<TcpProbe>(&prober_.running.begin()->second.request);
      ASSERT_NE(tcp, nullptr);
      if (tcp->connection.connect_ip.to_string() == failing)
        prober_.finish_oldest(kRefused);
      else
        prober_.finish_oldest(ProbeSucceeded{});
    }
  }

  vigil::testing::FakeScheduler scheduler_;
  FakeProber prober_;
  std::vector<HealthBatch> batches_;
  std::vector<std::string> notifies_;
  std::map<std::string, std::optional<int64_t>> files_;  // FILE_CHECK values; none: out of range
  config::Config config_;
  CheckEngine engine_;
};

DesiredDestination dest(const char* address, uint16_t port, bool in, uint32_t weight) {
  return {.key = {*IpAddress::parse(address), port}, .in_ipvs = in, .weight = weight};
}

TEST_F(EngineTest, StartsEveryServerUpAndProbesAtTheBootstrapDelay) {
  const TimePoint t0 = scheduler_.now();
  const auto batch = load(kTwoTcpServers);
  ASSERT_EQ(batch.size(), 1U);
  EXPECT_EQ(batch[0].desired.real_servers,
            (std::vector{dest("10.0.0.1", 80, true, 2), dest("10.0.0.2", 80, true, 3)}));
  EXPECT_EQ(batches_.size(), 1U);  // the load's batch went to the sink too
  EXPECT_EQ(prober_.started, 0U);

  // keepalived's BOOTSTRAP_DELAY: 1 s + rand(0..warmup); the fake random gives 0.
  scheduler_.run_until(t0 + 1s);
  ASSERT_EQ(prober_.running.size(), 2U);
  const auto* tcp = std::get_if<TcpProbe>(&prober_.running.begin()->second.request);
  ASSERT_NE(tcp, nullptr);
  EXPECT_EQ(tcp->connection.connect_ip, *IpAddress::parse("10.0.0.1"));
  EXPECT_EQ(tcp->connection.connect_port, 80);
  EXPECT_EQ(tcp->connection.connect_timeout, 3s);
}

TEST_F(EngineTest, AFailedServerLeavesAndComesBackAsOneServiceChange) {
  const TimePoint t0 = scheduler_.now();
  load(kTwoTcpServers);
  scheduler_.run_until(t0 + 1s);
  batches_.clear();

  // 10.0.0.1 refuses: the first check has no retries, so it is out at once.
  prober_.finish_oldest(kRefused);
  ASSERT_EQ(batches_.size(), 1U);
  EXPECT_EQ(batches_[0][0].desired.real_servers,
            (std::vector{dest("10.0.0.1", 80, false, 0), dest("10.0.0.2", 80, true, 3)}));
  // 10.0.0.2 passes: nothing changed, nothing sent.
  prober_.finish_oldest(ProbeSucceeded{});
  EXPECT_EQ(batches_.size(), 1U);

  // The next probe of 10.0.0.1 is delay_loop after the failure (fixed delay); it passes.
  scheduler_.run_until(t0 + 1s + 10s);
  ASSERT_EQ(prober_.running.size(), 2U);
  prober_.finish_oldest(ProbeSucceeded{});
  ASSERT_EQ(batches_.size(), 2U);
  EXPECT_EQ(batches_[1][0].desired.real_servers,
            (std::vector{dest("10.0.0.1", 80, true, 2), dest("10.0.0.2", 80, true, 3)}));
}

TEST_F(EngineTest, InhibitOnFailureKeepsTheServerAtWeightZero) {
  const TimePoint t0 = scheduler_.now();
  load(kTwoTcpServers);
  scheduler_.run_until(t0 + 1s);
  batches_.clear();
  prober_.finish_oldest(ProbeSucceeded{});
  prober_.finish_oldest(kRefused);
  ASSERT_EQ(batches_.size(), 1U);
  EXPECT_EQ(batches_[0][0].desired.real_servers,
            (std::vector{dest("10.0.0.1", 80, true, 2), dest("10.0.0.2", 80, true, 0)}));
}

TEST_F(EngineTest, MiscDynamicExitStatusSetsTheWeight) {
  const TimePoint t0 = scheduler_.now();
  load(one_service(
      "  real_server 10.0.0.1 80 {\n    weight 1\n"
      "    MISC_CHECK {\n      misc_path \"/usr/local/bin/probe --fast\"\n      misc_dynamic\n"
      "    }\n  }\n"));
  scheduler_.run_until(t0 + 1s);
  ASSERT_EQ(prober_.running.size(), 1U);
  const auto* misc = std::get_if<MiscProbe>(&prober_.running.begin()->second.request);
  ASSERT_NE(misc, nullptr);
  EXPECT_EQ(misc->argv, (std::vector<std::string>{"/usr/local/bin/probe", "--fast"}));
  EXPECT_EQ(misc->timeout, 10s);  // no misc_timeout: the virtual server's delay_loop
  EXPECT_TRUE(misc->dynamic);
  batches_.clear();
  prober_.finish_oldest(ProbeSucceeded{.exit_status = 7});
  ASSERT_EQ(batches_.size(), 1U);
  EXPECT_EQ(batches_[0][0].desired.real_servers, (std::vector{dest("10.0.0.1", 80, true, 5)}));
}

TEST_F(EngineTest, HttpGetBuildsOneRequestPerUrlWithKeepalivedBytes) {
  const TimePoint t0 = scheduler_.now();
  load(one_service(
      "  real_server 10.0.0.1 8080 {\n"
      "    HTTP_GET {\n      url {\n        path /health\n        status_code 200\n      }\n"
      "      virtualhost www.example.org\n    }\n  }\n"));
  scheduler_.run_until(t0 + 1s);
  ASSERT_EQ(prober_.running.size(), 1U);
  const auto* http = std::get_if<HttpProbe>(&prober_.running.begin()->second.request);
  ASSERT_NE(http, nullptr);
  EXPECT_EQ(http->request,
            "GET /health HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: www.example.org\r\n\r\n");
  EXPECT_FALSE(http->tls);
  ASSERT_NE(http->expect, nullptr);
  EXPECT_TRUE(http->expect->status_ok(200));
  EXPECT_FALSE(http->expect->status_ok(204));
}

TEST_F(EngineTest, SslGetTakesSniFromTheVirtualhostAndNeverVerifiesByDefault) {
  const TimePoint t0 = scheduler_.now();
  load("SSL {\n  ca /etc/ssl/ca.pem\n}\n" +
       one_service("  real_server 10.0.0.1 443 {\n"
                   "    SSL_GET {\n      url {\n        path /\n      }\n"
                   "      virtualhost tls.example.org\n      enable_sni\n    }\n  }\n"));
  scheduler_.run_until(t0 + 1s);
  ASSERT_EQ(prober_.running.size(), 1U);
  const auto* http = std::get_if<HttpProbe>(&prober_.running.begin()->second.request);
  ASSERT_NE(http, nullptr);
  ASSERT_TRUE(http->tls);
  EXPECT_EQ(http->tls->ca, "/etc/ssl/ca.pem");
  EXPECT_FALSE(http->tls->verify);  // keepalived never verifies, even with a ca
  EXPECT_EQ(http->sni, "tls.example.org");
}

// vigil's opt-ins reach the probes: total_timeout (HTTP_GET / SSL_GET) and the global
// checker_strict_framing (HTTP and SMTP); unset, keepalived's per-step timeouts and reading.
TEST_F(EngineTest, TotalTimeoutAndStrictFramingReachTheProbes) {
  for (const bool opted_in : {false, true}) {
    SCOPED_TRACE(opted_in ? "opted in" : "default");
    const TimePoint t0 = scheduler_.now();
    load(std::string(opted_in ? "global_defs {\n  checker_strict_framing\n}\n" : "") +
         one_service("  real_server 10.0.0.1 80 {\n    HTTP_GET {\n      url {\n"
                     "        path /\n      }\n" +
                     std::string(opted_in ? "      total_timeout 4\n" : "") +
                     "    }\n    SMTP_CHECK {\n    }\n  }\n"));
    scheduler_.run_until(t0 + 1s);
    ASSERT_EQ(prober_.running.size(), 2U);
    size_t seen = 0;
    for (const auto& [id, running] : prober_.running) {
      if (const auto* http = std::get_if<HttpProbe>(&running.request)) {
        EXPECT_EQ(http->total_deadline, opted_in ? Duration{4s} : Duration{0});
        EXPECT_EQ(http->strict_framing, opted_in);
        ++seen;
      } else if (const auto* smtp = std::get_if<SmtpProbe>(&running.request)) {
        EXPECT_EQ(smtp->strict_framing, opted_in);
        ++seen;
      }
    }
    EXPECT_EQ(seen, 2U);
  }  // the next load cancels these probes
}

TEST_F(EngineTest, PingCheckSendsAnEchoToTheRealServer) {
  const TimePoint t0 = scheduler_.now();
  load(
      one_service("  real_server 10.0.0.1 53 {\n    PING_CHECK {\n      connect_timeout 2\n"
                  "    }\n  }\n"));
  EXPECT_EQ(engine_.skipped_checkers(), 0U);
  EXPECT_EQ(engine_.checker_count(), 1U);
  scheduler_.run_until(t0 + 1s);
  ASSERT_EQ(prober_.running.size(), 1U);
  const auto* ping = std::get_if<PingProbe>(&prober_.running.begin()->second.request);
  ASSERT_NE(ping, nullptr);
  EXPECT_EQ(ping->connection.connect_ip, *IpAddress::parse("10.0.0.1"));
  EXPECT_EQ(ping->connection.connect_timeout, 2s);
}

// keepalived 2.2.7 smtp_check_end_handler: without a connection option of its own, the first
// host {} takes the checker's place and each further host is one more checker.
TEST_F(EngineTest, SmtpCheckRunsOneCheckerPerHost) {
  const TimePoint t0 = scheduler_.now();
  load(
      one_service("  real_server 10.0.0.1 25 {\n    SMTP_CHECK {\n      helo_name vigil.test\n"
                  "      host {\n        connect_ip 10.0.0.7\n      }\n"
                  "      host {\n        connect_port 2525\n      }\n    }\n  }\n"));
  EXPECT_EQ(engine_.checker_count(), 2U);
  scheduler_.run_until(t0 + 1s);
  ASSERT_EQ(prober_.running.size(), 2U);
  std::set<std::pair<std::string, uint16_t>> targets;
  for (const auto& [id, running] : prober_.running) {
    const auto* smtp = std::get_if<SmtpProbe>(&running.request);
    ASSERT_NE(smtp, nullptr);
    EXPECT_EQ(smtp->helo_name, "vigil.test");
    targets.emplace(smtp->connection.connect_ip.to_string(), smtp->connection.connect_port);
  }
  EXPECT_EQ(targets,
            (std::set<std::pair<std::string, uint16_t>>{{"10.0.0.7", 25}, {"10.0.0.1", 2525}}));
}

// The per-host checkers come from a copy of their virtual server's block only (the engine keeps
// no second configuration); a reload of the same text finds that block unchanged and keeps every
// host's checker running as it is, twice in a row.
TEST_F(EngineTest, ReloadKeepsEverySmtpHostCheckerOfAnUnchangedBlock) {
  const TimePoint t0 = scheduler_.now();
  const std::string text = one_service(
      "  real_server 10.0.0.1 25 {\n    SMTP_CHECK {\n      host {\n        connect_ip 10.0.0.7\n"
      "      }\n      host {\n        connect_port 2525\n      }\n    }\n  }\n");
  load(text);
  scheduler_.run_until(t0 + 1s);
  ASSERT_EQ(prober_.running.size(), 2U);
  const auto before = engine_.status();
  for (int reload = 0; reload < 2; ++reload) {
    SCOPED_TRACE(reload);
    load(text);
    EXPECT_EQ(prober_.cancelled, 0U);
    EXPECT_EQ(prober_.running.size(), 2U);
    const auto after = engine_.status();
    ASSERT_EQ(after.size(), 2U);
    for (size_t i = 0; i < after.size(); ++i) {
      EXPECT_EQ(after[i].label, before[i].label);
      EXPECT_EQ(after[i].probes, 1U);
    }
  }
  EXPECT_EQ(prober_.started, 2U);
}

TEST(EngineWithoutFileReader, FileChecksAreLeftOutAndCountAsUp) {
  vigil::testing::FakeScheduler scheduler;
  FakeProber prober;
  CheckEngine engine(
      scheduler, prober, [](Duration) { return Duration{0}; }, EngineSinks{});
  const config::Config config = parse("track_file weights {\n  file /run/vigil/weights\n}\n" +
                                      one_service("  real_server 10.0.0.1 53 {\n    FILE_CHECK {\n"
                                                  "      track_file weights\n    }\n  }\n"));
  const auto batch = engine.load(config);
  ASSERT_TRUE(batch);
  EXPECT_EQ(engine.skipped_checkers(), 1U);
  EXPECT_EQ(engine.checker_count(), 0U);
  EXPECT_EQ((*batch)[0].desired.real_servers, (std::vector{dest("10.0.0.1", 53, true, 1)}));
}

// FILE_CHECK (checkers.md §1.2): no probe and no timer; the value at load decides the state, each
// change is one event. weight N: value * N joins the real server's weight; weight 0: a non-zero
// value takes the server out.
// One event that changes several virtual servers (a file they all track) gives one batch, in
// configuration order; services it did not change are not in it.
TEST_F(EngineTest, OneBatchHoldsEveryChangedServiceInConfigurationOrder) {
  std::string text = "track_file weights {\n  file /run/vigil/weights\n}\n";
  for (const char* port : {"81", "82", "83"}) {
    const bool tracks = std::string(port) != "82";
    text += std::string("virtual_server 10.0.0.100 ") + port +
            " {\n  lvs_sched rr\n  lvs_method NAT\n  protocol TCP\n"
            "  real_server 10.0.0.1 80 {\n" +
            (tracks ? "    FILE_CHECK {\n      track_file weights\n      weight 0\n    }\n"
                    : "    TCP_CHECK {\n    }\n") +
            "  }\n}\n";
  }
  load(text);
  batches_.clear();
  files_["/run/vigil/weights"] = 1;  // weight 0: any non-zero value is down
  engine_.file_changed("/run/vigil/weights");
  ASSERT_EQ(batches_.size(), 1U);
  ASSERT_EQ(batches_[0].size(), 2U);
  EXPECT_EQ(batches_[0][0].key.port, 81);
  EXPECT_EQ(batches_[0][1].key.port, 83);
  EXPECT_FALSE(batches_[0][0].desired.real_servers.at(0).in_ipvs);
  // Nothing changed since: a further flush sends nothing.
  engine_.file_changed("/run/vigil/weights");
  EXPECT_EQ(batches_.size(), 1U);
}

TEST_F(EngineTest, FileCheckFollowsTheTrackedFile) {
  files_["/run/vigil/weights"] = 2;
  const auto batch =
      load("track_file weights {\n  file /run/vigil/weights\n}\n" +
           one_service("  real_server 10.0.0.1 80 {\n    weight 2\n    FILE_CHECK {\n"
                       "      track_file weights\n      weight 3\n    }\n  }\n"
                       "  real_server 10.0.0.2 80 {\n    FILE_CHECK {\n      track_file weights\n"
                       "      weight 0\n    }\n  }\n"));
  EXPECT_EQ(engine_.checker_count(), 2U);
  EXPECT_EQ(engine_.skipped_checkers(), 0U);
  EXPECT_EQ(engine_.tracked_files(), (std::set<std::string>{"/run/vigil/weights"}));
  ASSERT_EQ(batch.size(), 1U);
  EXPECT_EQ(batch[0].desired.real_servers,
            (std::vector{dest("10.0.0.1", 80, true, 8), dest("10.0.0.2", 80, false, 0)}));

  batches_.clear();
  files_["/run/vigil/weights"] = 0;
  engine_.file_changed("/run/vigil/weights");
  ASSERT_EQ(batches_.size(), 1U);
  EXPECT_EQ(batches_[0][0].desired.real_servers,
            (std::vector{dest("10.0.0.1", 80, true, 2), dest("10.0.0.2", 80, true, 1)}));

  // Out of range: ignored, the last value stays. An unrelated path changes nothing.
  batches_.clear();
  files_["/run/vigil/weights"] = std::nullopt;
  engine_.file_changed("/run/vigil/weights");
  engine_.file_changed("/run/vigil/other");
  EXPECT_TRUE(batches_.empty());

  // value * weight <= INT32_MIN: down.
  files_["/run/vigil/weights"] = -2147483648;
  engine_.file_changed("/run/vigil/weights");
  ASSERT_EQ(batches_.size(), 1U);
  EXPECT_EQ(batches_[0][0].desired.real_servers,
            (std::vector{dest("10.0.0.1", 80, false, 0), dest("10.0.0.2", 80, false, 0)}));
  EXPECT_EQ(prober_.started, 0U);
  scheduler_.run_until(scheduler_.now() + 60s);
  EXPECT_EQ(prober_.started, 0U) << "FILE_CHECK never probes";
}

TEST_F(EngineTest, DnsCheckBuildsADnsProbe) {
  const TimePoint t0 = scheduler_.now();
  load(one_service(
      "  real_server 10.0.0.1 53 {\n    DNS_CHECK {\n      type A\n      name example.org\n"
      "      connect_timeout 2\n    }\n  }\n"));
  EXPECT_EQ(engine_.skipped_checkers(), 0U);
  EXPECT_EQ(engine_.checker_count(), 1U);
  scheduler_.run_until(t0 + 1s);
  ASSERT_EQ(prober_.running.size(), 1U);
  const auto* dns = std::get_if<DnsProbe>(&prober_.running.begin()->second.request);
  ASSERT_NE(dns, nullptr);
  EXPECT_EQ(dns->type, config::DnsType::kA);
  EXPECT_EQ(dns->name, "example.org");
  EXPECT_EQ(dns->connection.connect_ip, *IpAddress::parse("10.0.0.1"));
  EXPECT_EQ(dns->connection.connect_port, 53);
  EXPECT_EQ(dns->connection.connect_timeout, 2s);
}

TEST_F(EngineTest, ReloadOfAnUnchangedFileKeepsAFailedServerOut) {
  const TimePoint t0 = scheduler_.now();
  load(kTwoTcpServers);
  scheduler_.run_until(t0 + 1s);
  prober_.finish_oldest(kRefused);
  prober_.finish_oldest(ProbeSucceeded{});
  batches_.clear();
  notifies_.clear();

  const auto batch = load(kTwoTcpServers);
  ASSERT_EQ(batch.size(), 1U);
  EXPECT_EQ(batch[0].desired.real_servers,
            (std::vector{dest("10.0.0.1", 80, false, 0), dest("10.0.0.2", 80, true, 3)}));
  EXPECT_EQ(engine_.status()[0].up, false);
  EXPECT_TRUE(notifies_.empty());  // a kept service does not announce its quorum again
}

TEST_F(EngineTest, ReloadCancelsTheProbesOfARemovedServer) {
  const TimePoint t0 = scheduler_.now();
  load(kTwoTcpServers);
  scheduler_.run_until(t0 + 1s);
  ASSERT_EQ(prober_.running.size(), 2U);
  load(
      one_service("  real_server 10.0.0.2 80 {\n    weight 3\n    inhibit_on_failure\n"
                  "    TCP_CHECK {\n    }\n  }\n"));
  // Every running probe is abandoned (kept checkers re-arm theirs); none calls back.
  EXPECT_EQ(prober_.cancelled, 2U);
  EXPECT_TRUE(prober_.running.empty());
  EXPECT_EQ(engine_.checker_count(), 1U);
}

TEST_F(EngineTest, StatusCountsProbesFailuresAndTheLastError) {
  const TimePoint t0 = scheduler_.now();
  load(kTwoTcpServers);
  scheduler_.run_until(t0 + 1s);
  scheduler_.advance(250ms);
  prober_.finish_oldest(kRefused);
  const auto status = engine_.status();
  ASSERT_EQ(status.size(), 2U);
  EXPECT_EQ(status[0].label, "TCP 10.0.0.1:80");
  EXPECT_EQ(status[0].probes, 1U);
  EXPECT_EQ(status[0].failures[static_cast<size_t>(Reason::kConnectionRefused)], 1U);
  EXPECT_EQ(status[0].last_error, "connection refused");
  EXPECT_EQ(status[0].last_latency, 250ms);
  EXPECT_FALSE(status[0].up);
}

// GET /metrics' probe timings: every completed probe's duration by checker type, how late the
// schedule's timers ran (a stalled thread makes them late), and when each checker last completed
// one; a probe that could not start completes nothing.
TEST_F(EngineTest, TimingsCountDurationsSlipAndTheLastCompletion) {
  const TimePoint t0 = scheduler_.now();
  load(kTwoTcpServers);
  scheduler_.run_until(t0 + 1s);  // both probes start on time
  ASSERT_EQ(prober_.running.size(), 2U);
  const auto& slip = engine_.timings().slip;
  EXPECT_EQ(slip.count, 2U);
  EXPECT_EQ(slip.buckets[0], 2U);  // <= 100 us
  EXPECT_EQ(slip.total, Duration::zero());

  scheduler_.advance(3ms);
  prober_.finish_oldest(kRefused);  // 10.0.0.1: 3 ms, failed
  scheduler_.advance(2s);
  prober_.finish_oldest(ProbeSucceeded{});  // 10.0.0.2: 2.003 s
  const auto& tcp = engine_.timings().duration[static_cast<size_t>(config::CheckerType::kTcp)];
  EXPECT_EQ(tcp.count, 2U);
  EXPECT_EQ(tcp.total, 3ms + 2003ms);
  // Bounds 1, 2.5, 5 ms ... 1, 2.5 s: 3 ms is in the third bucket, 2.003 s in the eleventh.
  EXPECT_EQ(tcp.buckets[2], 1U);
  EXPECT_EQ(tcp.buckets[10], 1U);
  EXPECT_EQ(engine_.timings().duration[static_cast<size_t>(config::CheckerType::kHttp)].count, 0U);
  auto status = engine_.status();
  ASSERT_EQ(status.size(), 2U);
  EXPECT_EQ(status[0].type, config::CheckerType::kTcp);
  EXPECT_EQ(status[0].last_completed, t0 + 1s + 3ms);
  EXPECT_EQ(status[1].last_completed, t0 + 1s + 2003ms);

  // The check thread stalls for 40 ms past 10.0.0.1's next probe (delay_loop 10 s after its
  // result): that probe starts 40 ms late. 10.0.0.2's is not due yet.
  scheduler_.run_until(t0 + 1s + 3ms + 10s - 1ms);
  scheduler_.stall(41ms);
  scheduler_.run_ready();
  EXPECT_EQ(slip.count, 3U);
  EXPECT_EQ(slip.total, 40ms);
  EXPECT_EQ(slip.buckets[5], 1U);  // (10 ms, 50 ms]
  // It cannot start (no socket): no completion, no duration.
  prober_.finish_oldest(ProbeNotRun{.detail = "no socket"});
  EXPECT_EQ(tcp.count, 2U);
  status = engine_.status();
  EXPECT_EQ(status[0].last_completed, t0 + 1s + 3ms);
}

TEST_F(EngineTest, StopAbandonsRunningProbes) {
  const TimePoint t0 = scheduler_.now();
  load(kTwoTcpServers);
  scheduler_.run_until(t0 + 1s);
  engine_.stop();
  EXPECT_EQ(prober_.cancelled, 2U);
  EXPECT_EQ(engine_.checker_count(), 0U);
  EXPECT_EQ(scheduler_.advance(120s), 0U);  // no timer left
}

// `rs maint` (set_paused): a paused real server's checkers run no probe and keep their state;
// resumed, the next check starts at once.
PausedServers paused_server(const char* address, uint16_t port) {
  return {ServerRef{.virtual_server = {.address = *IpAddress::parse("10.0.0.100"), .port = 80},
                    .real_server = {*IpAddress::parse(address), port}}};
}

size_t running_probes_to(const FakeProber& prober, const char* address) {
  return static_cast<size_t>(
      std::count_if(prober.running.begin(), prober.running.end(), [&](const auto& entry) {
        const auto* tcp = std::get_if<TcpProbe>(&entry.second.request);
        return tcp != nullptr && tcp->connection.connect_ip.to_string() == address;
      }));
}

TEST_F(EngineTest, APausedServerRunsNoProbeUntilResumedThenIsCheckedAtOnce) {
  const TimePoint t0 = scheduler_.now();
  load(kTwoTcpServers);
  engine_.set_paused(paused_server("10.0.0.1", 80));
  for (int round = 0; round < 5; ++round) {
    scheduler_.advance(10s);
    EXPECT_EQ(running_probes_to(prober_, "10.0.0.1"), 0U);
    EXPECT_EQ(running_probes_to(prober_, "10.0.0.2"), 1U);
    finish_tcp_probes_failing("none");
  }
  for (const auto& c : engine_.status()) {
    EXPECT_EQ(c.paused, c.real_server.address.to_string() == "10.0.0.1") << c.label;
    if (c.paused) {
      EXPECT_EQ(c.probes, 0U);
      EXPECT_TRUE(c.up);  // the state it had
    }
  }
  const TimePoint resumed = t0 + 50s + 1ms;
  scheduler_.run_until(resumed);
  engine_.set_paused({});
  scheduler_.run_ready();
  EXPECT_EQ(running_probes_to(prober_, "10.0.0.1"), 1U);
  EXPECT_EQ(scheduler_.now(), resumed);
  for (const auto& c : engine_.status())
    EXPECT_FALSE(c.paused);
}

TEST_F(EngineTest, PausingCancelsTheProbeInFlightAndKeepsADownServerDown) {
  const TimePoint t0 = scheduler_.now();
  load(kTwoTcpServers);
  scheduler_.run_until(t0 + 1s);
  finish_tcp_probes_failing("10.0.0.1");  // 10.0.0.1 DOWN (one failure is enough initially)
  scheduler_.advance(10s);
  ASSERT_EQ(running_probes_to(prober_, "10.0.0.1"), 1U);
  batches_.clear();
  notifies_.clear();
  const size_t cancelled = prober_.cancelled;
  engine_.set_paused(paused_server("10.0.0.1", 80));
  EXPECT_EQ(prober_.cancelled, cancelled + 1);
  EXPECT_EQ(running_probes_to(prober_, "10.0.0.1"), 0U);
  scheduler_.advance(60s);
  finish_tcp_probes_failing("none");
  EXPECT_EQ(running_probes_to(prober_, "10.0.0.1"), 0U);
  EXPECT_TRUE(batches_.empty());  // nothing about 10.0.0.1 changed while paused
  EXPECT_TRUE(notifies_.empty());
  for (const auto& c : engine_.status()) {
    if (c.paused) {
      EXPECT_FALSE(c.up);
    }
  }
  // Resumed: it passes and comes back.
  engine_.set_paused({});
  scheduler_.run_ready();
  ASSERT_EQ(running_probes_to(prober_, "10.0.0.1"), 1U);
  finish_tcp_probes_failing("none");
  ASSERT_FALSE(batches_.empty());
  EXPECT_TRUE(batches_.back().at(0).desired.real_servers.at(0).in_ipvs);
}

TEST_F(EngineTest, AReloadKeepsTheServerPausedAndItsNewCheckersStartPaused) {
  load(kTwoTcpServers);
  engine_.set_paused(paused_server("10.0.0.1", 80));
  // Another checker on the paused server (a new slot) and a changed delay_loop (all new slots).
  const std::string changed = one_service(
      "  real_server 10.0.0.1 80 {\n    weight 2\n    TCP_CHECK {\n      connect_timeout 3\n"
      "    }\n    TCP_CHECK {\n      connect_port 81\n    }\n  }\n"
      "  real_server 10.0.0.2 80 {\n    weight 3\n    inhibit_on_failure\n"
      "    TCP_CHECK {\n    }\n  }\n");
  load(changed);
  for (int round = 0; round < 3; ++round) {
    scheduler_.advance(10s);
    EXPECT_EQ(running_probes_to(prober_, "10.0.0.1"), 0U);
    finish_tcp_probes_failing("none");
  }
  size_t paused = 0;
  for (const auto& c : engine_.status())
    paused += c.paused ? 1 : 0;
  EXPECT_EQ(paused, 2U);
  engine_.set_paused({});
  scheduler_.run_ready();
  EXPECT_EQ(running_probes_to(prober_, "10.0.0.1"), 2U);
}

TEST_F(EngineTest, APausedFileCheckIgnoresItsFileAndReadsItWhenResumed) {
  files_["/run/vigil/weights"] = 0;
  load("track_file weights {\n  file /run/vigil/weights\n}\n" +
       one_service("  real_server 10.0.0.1 80 {\n    FILE_CHECK {\n      track_file weights\n"
                   "      weight 0\n    }\n  }\n"));
  engine_.set_paused(paused_server("10.0.0.1", 80));
  batches_.clear();
  files_["/run/vigil/weights"] = 1;  // weight 0: non-zero is down
  engine_.file_changed("/run/vigil/weights");
  EXPECT_TRUE(batches_.empty());
  engine_.set_paused({});
  ASSERT_EQ(batches_.size(), 1U);
  EXPECT_FALSE(batches_[0].at(0).desired.real_servers.at(0).in_ipvs);
}

}  // namespace
}  // namespace vigil::check

namespace vigil::check {
namespace {

// SMTP alerts follow the config's resolved smtp_alert flags, and only with smtp_server and
// notification_email (keepalived 2.2.7 core/smtp.c smtp_alert).
TEST(EngineAlerts, OnlyWithAServerAndAnAddress) {
  struct Case {
    std::string globals;
    bool alert;
  };
  const std::string both =
      "  smtp_server 192.0.2.25\n  notification_email {\n    ops@example.com\n  }\n";
  const Case cases[] = {
      {"", false},
      {"global_defs {\n  smtp_server 192.0.2.25\n}\n", false},
      {"global_defs {\n  notification_email {\n    ops@example.com\n  }\n}\n", false},
      {"global_defs {\n" + both + "}\n", true},
      {"global_defs {\n" + both + "  smtp_alert_checker off\n}\n", false},
      {"global_defs {\n" + both + "  smtp_alert off\n}\n", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.globals);
    vigil::testing::FakeScheduler scheduler;
    FakeProber prober;
    std::vector<std::string> notifies;
    CheckEngine engine(
        scheduler, prober, [](Duration) { return Duration{0}; },
        EngineSinks{.notify = [&](const VirtualServerSpec& vs, NotifyActions actions) {
          for (const auto& a : actions)
            notifies.push_back(vs.label + " " + to_string(a));
        }});
    const config::Config config = parse(c.globals + kTwoTcpServers);
    ASSERT_TRUE(engine.load(config));
    scheduler.advance(1s);
    prober.finish_oldest(kRefused);
    const std::string alert =
        "[10.0.0.100]:tcp:80 SmtpAlert([10.0.0.1]:tcp:80 DOWN => TCP CHECK failed on service <=)";
    EXPECT_EQ(std::count(notifies.begin(), notifies.end(), alert), c.alert ? 1 : 0)
        << ::testing::PrintToString(notifies);
  }
}

}  // namespace
}  // namespace vigil::check

namespace vigil::check {
namespace {

// ---- checker_share_probes
// ------------------------------------------------------------------------

// `count` virtual servers 10.0.0.100.. with the same real server and the same TCP_CHECK.
std::string same_check_services(size_t count, const std::string& globals,
                                const std::string& checker_extra = "",
                                const std::string& type = "TCP_CHECK") {
  std::string text = globals;
  for (size_t i = 0; i < count; ++i) {
    text += "virtual_server 10.0.0." + std::to_string(100 + i) +
            " 80 {\n  lvs_sched rr\n  lvs_method NAT\n  protocol TCP\n  delay_loop 10\n"
            "  real_server 10.0.0.1 80 {\n    weight 2\n    " +
            type +
            " {\n      connect_timeout 3\n"
            "      retry 1\n      delay_before_retry 2\n      warmup 5\n" +
            checker_extra + "    }\n  }\n}\n";
  }
  return text;
}
const std::string kShare = "global_defs {\n  checker_share_probes\n}\n";

// One engine with its fake prober; records the desired state of each service as it is sent and
// the notifies in order. The random source is an LCG: every draw differs.
struct ShareRun {
  explicit ShareRun(std::function<Duration(Duration)> random = {})
      : engine(scheduler, prober,
               random ? std::move(random) : std::function<Duration(Duration)>([this](Duration max) {
                 seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                 return Duration{static_cast<Duration::rep>((seed >> 33) % (max.count() + 1))};
               }),
               EngineSinks{
                   .health =
                       [this](HealthBatch batch) {
                         for (auto& s : batch)
                           history.push_back(std::move(s));
                       },
                   .notify =
                       [this](const VirtualServerSpec& vs, NotifyActions actions) {
                         for (const auto& a : actions)
                           notifies.push_back(vs.label + " " + to_string(a));
                       },
               }) {}

  void load(const std::string& text) {
    config = parse(text);
    auto loaded = engine.load(config);
    ASSERT_TRUE(loaded) << loaded.error().message;
  }
  // Runs to the next probe instant; returns how many probes were started there.
  size_t next_instant() {
    const size_t before = prober.started;
    const auto deadline = scheduler.next_deadline();
    if (deadline) scheduler.run_until(*deadline);
    return prober.started - before;
  }
  // Completes every running probe with `result`.
  void finish_all(const ProbeResult& result) {
    while (!prober.running.empty())
      prober.finish_oldest(result);
  }
  // The last desired state sent for each service.
  std::map<VirtualServerKey, DesiredService> desired() const {
    std::map<VirtualServerKey, DesiredService> out;
    for (const auto& s : history)
      out.insert_or_assign(s.key, s.desired);
    return out;
  }

  uint64_t seed = 42;
  vigil::testing::FakeScheduler scheduler;
  FakeProber prober;
  std::vector<ServiceHealth> history;
  std::vector<std::string> notifies;
  config::Config config;
  CheckEngine engine;
};

TEST(EngineShareProbes, IdenticalChecksOfSeveralServicesProbeOncePerInstant) {
  ShareRun shared;
  shared.load(same_check_services(3, kShare));
  ShareRun alone;
  alone.load(same_check_services(3, ""));
  // 47 s: the first probe (1 s + a warmup of up to 5 s) and four delay_loops after it.
  const TimePoint end = shared.scheduler.now() + 47s;
  for (ShareRun* run : {&shared, &alone}) {
    while (run->scheduler.next_deadline() && *run->scheduler.next_deadline() <= end) {
      const size_t started = run->next_instant();
      // Sharing: one probe at each instant, for the three checkers.
      if (run == &shared) {
        EXPECT_EQ(started, 1U);
      }
      run->finish_all(ProbeSucceeded{});
    }
  }
  EXPECT_EQ(shared.prober.started, 5U);  // 1 probe per interval with sharing
  EXPECT_EQ(alone.prober.started, 15U);  // N without it, each at its own warmup

  // Every member is still its own checker, listed with its virtual server, and says it shares.
  const auto status = shared.engine.status();
  ASSERT_EQ(status.size(), 3U);
  for (const auto& s : status) {
    EXPECT_EQ(s.shared_with, 2U);
    EXPECT_EQ(s.probes, 5U);
    EXPECT_TRUE(s.has_run);
  }
  EXPECT_EQ(status[1].virtual_server, "[10.0.0.101]:tcp:80");
  for (const auto& s : alone.engine.status())
    EXPECT_EQ(s.shared_with, 0U);
}

TEST(EngineShareProbes, OnlyIdenticalSpecsShare) {
  // The third service's checker retries twice: another spec, its own probes.
  ShareRun run;
  std::string text = same_check_services(2, kShare);
  text +=
      "virtual_server 10.0.0.110 80 {\n  lvs_sched rr\n  lvs_method NAT\n  protocol TCP\n"
      "  delay_loop 10\n  real_server 10.0.0.1 80 {\n    weight 2\n    TCP_CHECK {\n"
      "      connect_timeout 3\n      retry 2\n      delay_before_retry 2\n"
      "      warmup 5\n    }\n  }\n}\n";
  run.load(text);
  const auto status = run.engine.status();
  ASSERT_EQ(status.size(), 3U);
  EXPECT_EQ(status[0].shared_with, 1U);
  EXPECT_EQ(status[1].shared_with, 1U);
  EXPECT_EQ(status[2].shared_with, 0U);
  size_t probes = 0;
  for (int i = 0; i < 4; ++i) {
    probes += run.next_instant();
    run.finish_all(ProbeSucceeded{});
  }
  EXPECT_EQ(run.prober.started, probes);
  EXPECT_GE(run.prober.started, 3U);  // the odd one probed on its own
}

// A scripted sequence of results gives the same verdicts, IPVS desired state and notifies with
// and without sharing (a constant random source, so that the unshared members probe at the same
// instants too and see the same result there).
TEST(EngineShareProbes, VerdictsAndDesiredStateAreThoseOfTheUnsharedRun) {
  const auto half = [](Duration max) { return max / 2; };
  ShareRun shared(half);
  ShareRun alone(half);
  const std::string alpha = "      alpha\n";
  const std::string globals =
      "  smtp_server 192.0.2.25\n  notification_email {\n    ops@example.com\n  }\n";
  shared.load(
      same_check_services(3, "global_defs {\n" + globals + "  checker_share_probes\n}\n", alpha));
  alone.load(same_check_services(3, "global_defs {\n" + globals + "}\n", alpha));
  const ProbeResult kOk = ProbeSucceeded{};
  const ProbeResult kNo = kRefused;
  const std::vector<ProbeResult> script = {kOk, kNo, kNo, kOk, kNo, kOk, kOk, kNo,
                                           kNo, kNo, kOk, kNo, kOk, kNo, kNo, kOk};
  for (size_t step = 0; step < script.size(); ++step) {
    SCOPED_TRACE(step);
    const size_t started_shared = shared.next_instant();
    const size_t started_alone = alone.next_instant();
    EXPECT_EQ(shared.scheduler.now(), alone.scheduler.now());
    EXPECT_EQ(started_shared, 1U);
    EXPECT_EQ(started_alone, 3U);
    shared.finish_all(script[step]);
    alone.finish_all(script[step]);
    EXPECT_EQ(shared.desired(), alone.desired());
  }
  EXPECT_EQ(shared.history, alone.history);
  EXPECT_EQ(shared.notifies, alone.notifies);
  // The script took the server down and up again: the verdicts were exercised.
  EXPECT_GE(std::count_if(shared.notifies.begin(), shared.notifies.end(),
                          [](const std::string& n) { return n.find("DOWN") != std::string::npos; }),
            3);
  EXPECT_EQ(shared.prober.started * 3, alone.prober.started);
}

// A reload re-forms the groups: kept members keep their state, a new member starts fresh, and
// all of them still probe once per instant; a removed member leaves the group.
TEST(EngineShareProbes, ReloadReformsTheGroupAndMembersKeepTheirState) {
  ShareRun run([](Duration max) { return max / 3; });
  run.load(same_check_services(3, kShare));
  run.next_instant();
  run.finish_all(kRefused);  // the first check has no retries: down everywhere
  for (const auto& s : run.engine.status())
    EXPECT_FALSE(s.up);

  // In flight when the reload comes: abandoned once, not once per member.
  run.next_instant();
  ASSERT_EQ(run.prober.running.size(), 1U);
  const size_t cancelled = run.prober.cancelled;
  run.load(same_check_services(4, kShare));
  EXPECT_EQ(run.prober.cancelled, cancelled + 1);
  EXPECT_TRUE(run.prober.running.empty());
  auto status = run.engine.status();
  ASSERT_EQ(status.size(), 4U);
  for (size_t i = 0; i < 3; ++i)
    EXPECT_FALSE(status[i].up) << i;  // kept: still down
  EXPECT_TRUE(status[3].up);          // new real server, no alpha: up until it fails
  for (const auto& s : status)
    EXPECT_EQ(s.shared_with, 3U);
  const auto desired = run.desired();
  ASSERT_EQ(desired.size(), 4U);
  for (const auto& [key, service] : desired)
    ASSERT_EQ(service.real_servers.size(), 1U);

  EXPECT_EQ(run.next_instant(), 1U);
  run.finish_all(ProbeSucceeded{});
  for (const auto& s : run.engine.status())
    EXPECT_TRUE(s.up);

  // One member removed: the other two still share.
  run.load(same_check_services(2, kShare));
  status = run.engine.status();
  ASSERT_EQ(status.size(), 2U);
  EXPECT_EQ(status[0].shared_with, 1U);
  EXPECT_EQ(run.next_instant(), 1U);
  run.finish_all(ProbeSucceeded{});
  EXPECT_EQ(run.engine.status()[1].probes, 1U);
}

// A member whose state makes it probe at other instants joins the group's probe of the same
// target whenever its own falls due while that probe runs; from then on they probe together.
TEST(EngineShareProbes, AMemberDueDuringTheGroupsProbeJoinsIt) {
  ShareRun run([](Duration) { return Duration{0}; });
  run.load(same_check_services(2, kShare, "", "PING_CHECK"));
  ASSERT_EQ(run.next_instant(), 1U);
  run.finish_all(kRefused);  // no retries on the first check: both down
  // A third service with a fresh (up) member: PING_CHECK retries only while up, so the new
  // member probes 2 s after a failure and the kept (down) ones 10 s after it.
  run.load(same_check_services(3, kShare, "", "PING_CHECK"));
  const TimePoint t = run.scheduler.now();
  ASSERT_EQ(run.next_instant(), 1U);  // the first probe after the reload: all three
  EXPECT_EQ(run.scheduler.now(), t + 1s);
  run.finish_all(kRefused);
  ASSERT_EQ(run.next_instant(), 1U);  // the new member's retry, on its own
  EXPECT_EQ(run.scheduler.now(), t + 3s);
  run.finish_all(kRefused);
  EXPECT_FALSE(run.engine.status()[2].up);
  ASSERT_EQ(run.next_instant(), 1U);  // the kept members, at t + 11 s
  EXPECT_EQ(run.scheduler.now(), t + 11s);
  // Still running when the new member's probe falls due at t + 13 s: it joins.
  run.scheduler.run_until(t + 13s);
  EXPECT_EQ(run.prober.started, 4U);
  ASSERT_EQ(run.prober.running.size(), 1U);
  run.finish_all(ProbeSucceeded{});
  for (const auto& s : run.engine.status())
    EXPECT_TRUE(s.up);
  // Together from now on.
  EXPECT_EQ(run.next_instant(), 1U);
  EXPECT_EQ(run.scheduler.now(), t + 23s);
  EXPECT_EQ(run.prober.running.size(), 1U);
}

}  // namespace
}  // namespace vigil::check

namespace vigil::check {
namespace {

// ---- a reload removes real servers (keepalived 2.2.7 ipwrapper.c clear_diff_services) ----------

const std::string kAlertGlobals =
    "global_defs {\n  router_id lb1\n  smtp_server 192.0.2.25\n  notification_email {\n"
    "    ops@example.com\n  }\n}\n";

std::string three_servers(bool with_second, bool with_third) {
  std::string servers = "  real_server 10.0.0.1 80 {\n    TCP_CHECK {\n    }\n  }\n";
  if (with_second) {
    servers +=
        "  real_server 10.0.0.2 80 {\n    notify_down /bin/down.sh\n    TCP_CHECK {\n    }\n"
        "  }\n";
  }
  if (with_third) servers += "  real_server 10.0.0.3 80 {\n    TCP_CHECK {\n    }\n  }\n";
  return one_service(servers);
}

TEST_F(EngineTest, ReloadRemovingAnAliveServerSendsKeepalivedsRemovingAlert) {
  const TimePoint t0 = scheduler_.now();
  load(kAlertGlobals + three_servers(true, true));
  scheduler_.run_until(t0 + 1s);
  prober_.finish_oldest(ProbeSucceeded{});  // 10.0.0.1
  prober_.finish_oldest(ProbeSucceeded{});  // 10.0.0.2
  prober_.finish_oldest(kRefused);          // 10.0.0.3: down
  notifies_.clear();

  // The reload removes 10.0.0.2 (alive) and 10.0.0.3 (not alive).
  load(kAlertGlobals + three_servers(false, false));
  EXPECT_EQ(notifies_,
            (std::vector<std::string>{
                "[10.0.0.100]:tcp:80 RunScript(/bin/down.sh)",
                "[10.0.0.100]:tcp:80 FifoLine(RS [10.0.0.2]:tcp:80 [10.0.0.100]:tcp:80 DOWN\n)",
                "[10.0.0.100]:tcp:80 SmtpAlert([10.0.0.2]:tcp:80 DOWN => Removing <=)",
            }));

  // As mailed: keepalived's SMTP_MSG_RS_SHUT with "DOWN" and "=> Removing <=".
  const alert::SmtpSettings settings{.router_id = "lb1"};
  const alert::Alert mail =
      alert::real_server_alert("[10.0.0.2]:tcp:80", "[10.0.0.100]:tcp:80", false, "=> Removing <=");
  EXPECT_EQ(alert::full_subject(settings, mail),
            "[lb1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.100]:tcp:80 - DOWN");
  EXPECT_EQ(mail.body, "=> Removing <=");
}

TEST_F(EngineTest, ReloadRemovingAServerSendsNoAlertWithoutSmtpAlert) {
  const TimePoint t0 = scheduler_.now();
  load(three_servers(true, false));  // no smtp_server: no alert can be sent
  scheduler_.run_until(t0 + 1s);
  prober_.finish_oldest(ProbeSucceeded{});
  prober_.finish_oldest(ProbeSucceeded{});
  notifies_.clear();
  load(three_servers(false, false));
  EXPECT_EQ(notifies_,
            (std::vector<std::string>{
                "[10.0.0.100]:tcp:80 RunScript(/bin/down.sh)",
                "[10.0.0.100]:tcp:80 FifoLine(RS [10.0.0.2]:tcp:80 [10.0.0.100]:tcp:80 DOWN\n)",
            }));

  // smtp_alert off for checkers: the script and the FIFO line, no mail.
  const std::string off =
      "global_defs {\n  smtp_server 192.0.2.25\n  smtp_alert_checker off\n"
      "  notification_email {\n    ops@example.com\n  }\n}\n";
  load(off + three_servers(true, false));
  scheduler_.advance(2s);
  while (!prober_.running.empty())
    prober_.finish_oldest(ProbeSucceeded{});
  notifies_.clear();
  load(off + three_servers(false, false));
  EXPECT_EQ(std::count_if(notifies_.begin(), notifies_.end(),
                          [](const std::string& n) { return n.find("SmtpAlert") != n.npos; }),
            0)
      << ::testing::PrintToString(notifies_);
  EXPECT_EQ(notifies_.size(), 2U) << ::testing::PrintToString(notifies_);
}

TEST_F(EngineTest, ReloadRemovingAVirtualServerRemovesEveryAliveServerAndItsQuorum) {
  const TimePoint t0 = scheduler_.now();
  const std::string other =
      "virtual_server 10.0.0.200 80 {\n  lvs_sched rr\n  lvs_method NAT\n  protocol TCP\n"
      "  delay_loop 10\n  real_server 10.0.0.9 80 {\n    TCP_CHECK {\n    }\n  }\n}\n";
  // smtp_alert: the virtual server's quorum alerts too.
  const std::string globals =
      "global_defs {\n  smtp_alert\n  smtp_server 192.0.2.25\n  notification_email {\n"
      "    ops@example.com\n  }\n}\n";
  load(globals + three_servers(true, false) + other);
  scheduler_.run_until(t0 + 1s);
  while (!prober_.running.empty())
    prober_.finish_oldest(ProbeSucceeded{});
  notifies_.clear();
  load(globals + other);
  EXPECT_EQ(
      notifies_,
      (std::vector<std::string>{
          "[10.0.0.100]:tcp:80 FifoLine(RS [10.0.0.1]:tcp:80 [10.0.0.100]:tcp:80 DOWN\n)",
          "[10.0.0.100]:tcp:80 SmtpAlert([10.0.0.1]:tcp:80 DOWN => Removing <=)",
          "[10.0.0.100]:tcp:80 RunScript(/bin/down.sh)",
          "[10.0.0.100]:tcp:80 FifoLine(RS [10.0.0.2]:tcp:80 [10.0.0.100]:tcp:80 DOWN\n)",
          "[10.0.0.100]:tcp:80 SmtpAlert([10.0.0.2]:tcp:80 DOWN => Removing <=)",
          "[10.0.0.100]:tcp:80 FifoLine(VS [10.0.0.100]:tcp:80 DOWN\n)",
          "[10.0.0.100]:tcp:80 SmtpAlert([10.0.0.100]:tcp:80 DOWN => Lost quorum 1+0=1 <= 0 <=)",
      }));
}

}  // namespace
}  // namespace vigil::check

namespace vigil::check {
namespace {

// ---- incremental reload: what a reload does not touch stays as it is ---------------------------

std::string service_at(const std::string& address, const std::string& body) {
  return "virtual_server " + address +
         " 80 {\n  lvs_sched rr\n  lvs_method NAT\n  protocol TCP\n  delay_loop 10\n" + body +
         "}\n";
}

std::string tcp_server(const std::string& address, int weight, const std::string& check = "") {
  return "  real_server " + address + " 80 {\n    weight " + std::to_string(weight) +
         "\n    inhibit_on_failure\n    TCP_CHECK {\n" + check + "    }\n  }\n";
}

// The status of the checker of real server `address`.
CheckEngine::CheckerStatus status_of(const CheckEngine& engine, const char* address) {
  for (const auto& s : engine.status())
    if (s.real_server.address == *IpAddress::parse(address)) return s;
  ADD_FAILURE() << "no checker for " << address;
  return {};
}

TEST_F(EngineTest, ReloadKeepsUntouchedCheckersTheirProbeTheirTimerAndTheirState) {
  const TimePoint t0 = scheduler_.now();
  const std::string other = service_at("10.0.0.101", tcp_server("10.0.0.3", 1));
  load(service_at("10.0.0.100", tcp_server("10.0.0.1", 2) + tcp_server("10.0.0.2", 3)) + other);
  scheduler_.run_until(t0 + 1s);
  ASSERT_EQ(prober_.running.size(), 3U);
  prober_.finish_oldest(kRefused);  // 10.0.0.1: down (no retries on the first check)
  scheduler_.advance(3s);           // 10.0.0.2 and 10.0.0.3 still probing
  const auto before = engine_.status();
  ASSERT_EQ(before.size(), 3U);
  ASSERT_FALSE(before[0].up);
  ASSERT_EQ(before[0].next_probe, t0 + 11s);

  // 10.0.0.2's weight changes (its checker is the same); 10.0.0.101 does not change at all.
  const HealthBatch batch =
      load(service_at("10.0.0.100", tcp_server("10.0.0.1", 2) + tcp_server("10.0.0.2", 4)) + other);
  // Nothing abandoned, nothing re-armed: a new checker would probe at now + 1 s with 0 probes.
  EXPECT_EQ(prober_.cancelled, 0U);
  EXPECT_EQ(prober_.running.size(), 2U);
  const auto after = engine_.status();
  ASSERT_EQ(after.size(), 3U);
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(after[i].next_probe, before[i].next_probe);
    EXPECT_EQ(after[i].probes, 1U);
    EXPECT_EQ(after[i].up, before[i].up);
    EXPECT_EQ(after[i].failures, before[i].failures);
  }
  ASSERT_EQ(batch.size(), 2U);
  EXPECT_EQ(batch[0].desired.real_servers,
            (std::vector{dest("10.0.0.1", 80, true, 0), dest("10.0.0.2", 80, true, 4)}));
  EXPECT_EQ(batch[1].desired.real_servers, (std::vector{dest("10.0.0.3", 80, true, 1)}));

  // The probes in flight report to the checkers that started them.
  batches_.clear();
  prober_.finish_oldest(kRefused);  // 10.0.0.2
  EXPECT_FALSE(status_of(engine_, "10.0.0.2").up);
  ASSERT_EQ(batches_.size(), 1U);
  EXPECT_EQ(batches_[0][0].desired.real_servers,
            (std::vector{dest("10.0.0.1", 80, true, 0), dest("10.0.0.2", 80, true, 0)}));
  // The timer armed before the reload fires at its time.
  scheduler_.run_until(t0 + 11s);
  EXPECT_EQ(status_of(engine_, "10.0.0.1").probes, 2U);
  EXPECT_EQ(prober_.started, 4U);
}

TEST_F(EngineTest, ReloadRestartsAChangedCheckerAsBeforeWithItsCarriedState) {
  const TimePoint t0 = scheduler_.now();
  load(service_at("10.0.0.100", tcp_server("10.0.0.1", 2) + tcp_server("10.0.0.2", 3)));
  scheduler_.run_until(t0 + 1s);
  prober_.finish_oldest(kRefused);  // 10.0.0.1: down
  scheduler_.run_until(t0 + 11s);   // 10.0.0.1 probes again; 10.0.0.2's first probe still runs
  ASSERT_EQ(prober_.running.size(), 2U);
  const TimePoint reload_at = scheduler_.now();
  const auto kept_before = status_of(engine_, "10.0.0.2");

  // 10.0.0.1's checker gets another retry: not its identity (its state is carried), but another
  // spec, so it starts again as every checker did on a reload before.
  load(service_at("10.0.0.100",
                  tcp_server("10.0.0.1", 2, "      retry 2\n") + tcp_server("10.0.0.2", 3)));
  EXPECT_EQ(prober_.cancelled, 1U);  // its probe in flight is abandoned
  EXPECT_EQ(prober_.running.size(), 1U);
  const auto restarted = status_of(engine_, "10.0.0.1");
  EXPECT_FALSE(restarted.up);  // carried
  EXPECT_TRUE(restarted.has_run);
  EXPECT_EQ(restarted.probes, 0U);  // a new checker
  EXPECT_EQ(restarted.next_probe, reload_at + kBootstrapDelay);
  const auto kept = status_of(engine_, "10.0.0.2");
  EXPECT_EQ(kept.next_probe, kept_before.next_probe);
  EXPECT_EQ(kept.probes, 1U);

  // A new connect_port is a new identity: a fresh checker, up until it fails.
  load(service_at("10.0.0.100", tcp_server("10.0.0.1", 2, "      connect_port 81\n") +
                                    tcp_server("10.0.0.2", 3)));
  const auto fresh = status_of(engine_, "10.0.0.1");
  EXPECT_TRUE(fresh.up);
  EXPECT_FALSE(fresh.has_run);
  EXPECT_EQ(fresh.next_probe, reload_at + kBootstrapDelay);
}

// A kept virtual server that loses real servers: keepalived 2.2.7 clear_diff_rs removes them
// (notify_down, FIFO, "=> Removing <="), then update_vs_notifies: the quorum is lost when the
// servers left weigh less than quorum - hysteresis (quorum_down, "VS ... DOWN", the alert).
TEST_F(EngineTest, ReloadRemovingServersOfAKeptServiceLosesItsQuorumAsKeepalivedDoes) {
  const std::string globals =
      "global_defs {\n  smtp_alert\n  smtp_server 192.0.2.25\n  notification_email {\n"
      "    ops@example.com\n  }\n}\n";
  // 10.0.0.9 (weight 5) is down: the quorum counts the others.
  auto config = [&globals](uint32_t hysteresis, const std::vector<const char*>& servers) {
    std::string body = "  quorum 2\n  hysteresis " + std::to_string(hysteresis) +
                       "\n  quorum_up /bin/quorum-up.sh\n  quorum_down /bin/quorum-down.sh\n";
    for (const char* address : servers)
      body += std::string("  real_server ") + address + " 80 {\n    TCP_CHECK {\n    }\n  }\n";
    body += "  real_server 10.0.0.9 80 {\n    weight 5\n    TCP_CHECK {\n    }\n  }\n";
    return globals + service_at("10.0.0.100", body);
  };
  auto probe_all = [this] { finish_tcp_probes_failing("10.0.0.9"); };
  const TimePoint t0 = scheduler_.now();
  load(config(0, {"10.0.0.1", "10.0.0.2", "10.0.0.3"}));
  scheduler_.run_until(t0 + 1s);
  probe_all();
  notifies_.clear();

  // 2 of weight 1 left alive: the quorum of 2 holds.
  load(config(0, {"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(notifies_,
            (std::vector<std::string>{
                "[10.0.0.100]:tcp:80 FifoLine(RS [10.0.0.3]:tcp:80 [10.0.0.100]:tcp:80 DOWN\n)",
                "[10.0.0.100]:tcp:80 SmtpAlert([10.0.0.3]:tcp:80 DOWN => Removing <=)",
            }));
  notifies_.clear();

  // 1 left alive: lost, after the removed server's notifies.
  const auto batch = load(config(0, {"10.0.0.1"}));
  EXPECT_EQ(notifies_,
            (std::vector<std::string>{
                "[10.0.0.100]:tcp:80 FifoLine(RS [10.0.0.2]:tcp:80 [10.0.0.100]:tcp:80 DOWN\n)",
                "[10.0.0.100]:tcp:80 SmtpAlert([10.0.0.2]:tcp:80 DOWN => Removing <=)",
                "[10.0.0.100]:tcp:80 RunScript(/bin/quorum-down.sh)",
                "[10.0.0.100]:tcp:80 FifoLine(VS [10.0.0.100]:tcp:80 DOWN\n)",
                "[10.0.0.100]:tcp:80 SmtpAlert([10.0.0.100]:tcp:80 DOWN => Lost quorum 2+0=2 <= 1 "
                "<=)",
            }));
  ASSERT_EQ(batch.size(), 1U);
  EXPECT_EQ(batch[0].desired.real_servers,
            (std::vector{dest("10.0.0.1", 80, true, 1), dest("10.0.0.9", 80, false, 0)}));

  // With hysteresis 1 the quorum is lost below 2 - 1 = 1 only: one server left keeps it.
  load(config(1, {"10.0.0.1", "10.0.0.2", "10.0.0.3"}));
  scheduler_.advance(2s);
  probe_all();
  scheduler_.advance(20s);
  probe_all();
  notifies_.clear();
  load(config(1, {"10.0.0.1"}));
  EXPECT_EQ(std::count_if(notifies_.begin(), notifies_.end(),
                          [](const std::string& n) { return n.find("VS [") != n.npos; }),
            0)
      << ::testing::PrintToString(notifies_);
  EXPECT_EQ(notifies_.size(), 4U) << ::testing::PrintToString(notifies_);  // 2 RS lines, 2 alerts
}

// keepalived carries a kept virtual server's quorum state (and its sorry server's) across a
// reload, then evaluates the quorum as at start (ipwrapper.c clear_diff_services,
// init_service_vs): a reload that raises the quorum above the live weight announces "Starting
// with quorum down" and brings in the sorry server; one that changes nothing about the quorum
// announces nothing; lowering it again announces the gain.
TEST_F(EngineTest, ReloadChangingAKeptServicesQuorumAnnouncesOnlyTheChange) {
  const std::string globals =
      "global_defs {\n  smtp_alert\n  smtp_server 192.0.2.25\n  notification_email {\n"
      "    ops@example.com\n  }\n}\n";
  // 10.0.0.1 and 10.0.0.2 (weight 1) pass; 10.0.0.9 fails.
  auto config = [&globals](uint32_t quorum, uint32_t down_weight) {
    std::string body = "  quorum " + std::to_string(quorum) +
                       "\n  sorry_server 10.0.0.50 80\n"
                       "  quorum_up /bin/quorum-up.sh\n  quorum_down /bin/quorum-down.sh\n";
    for (const char* address : {"10.0.0.1", "10.0.0.2"})
      body += std::string("  real_server ") + address + " 80 {\n    TCP_CHECK {\n    }\n  }\n";
    body += "  real_server 10.0.0.9 80 {\n    weight " + std::to_string(down_weight) +
            "\n    TCP_CHECK {\n    }\n  }\n";
    return globals + service_at("10.0.0.100", body);
  };
  auto probe_all = [this] { finish_tcp_probes_failing("10.0.0.9"); };
  auto vs_notifies = [this] {
    std::vector<std::string> out;
    for (const auto& n : notifies_)
      if (n.find("RunScript(/bin/quorum") != n.npos || n.find("VS [") != n.npos ||
          n.find("quorum") != n.npos)
        out.push_back(n);
    notifies_.clear();
    return out;
  };
  const auto sorry = dest("10.0.0.50", 80, true, 1);
  const TimePoint t0 = scheduler_.now();
  load(config(2, 5));
  scheduler_.run_until(t0 + 1s);
  probe_all();
  notifies_.clear();

  // Quorum 3 > live weight 2: down, the sorry server in, the alive servers out.
  auto batch = load(config(3, 5));
  EXPECT_EQ(vs_notifies(),
            (std::vector<std::string>{
                "[10.0.0.100]:tcp:80 RunScript(/bin/quorum-down.sh)",
                "[10.0.0.100]:tcp:80 FifoLine(VS [10.0.0.100]:tcp:80 DOWN\n)",
                "[10.0.0.100]:tcp:80 SmtpAlert([10.0.0.100]:tcp:80 DOWN => Starting with quorum "
                "down 3+0=3 <= 2 <=)",
            }));
  ASSERT_EQ(batch.size(), 1U);
  EXPECT_EQ(batch[0].desired.sorry_server, sorry);
  EXPECT_FALSE(batch[0].desired.real_servers[0].in_ipvs);

  // Rebuilt for another change (the failed server's weight), the quorum still down and the same
  // sorry server: nothing announced, the sorry server stays.
  batch = load(config(3, 4));
  EXPECT_EQ(vs_notifies(), std::vector<std::string>{});
  ASSERT_EQ(batch.size(), 1U);
  EXPECT_EQ(batch[0].desired.sorry_server, sorry);

  // Quorum 2 again: gained, announced, the sorry server out.
  batch = load(config(2, 4));
  EXPECT_EQ(vs_notifies(),
            (std::vector<std::string>{
                "[10.0.0.100]:tcp:80 RunScript(/bin/quorum-up.sh)",
                "[10.0.0.100]:tcp:80 FifoLine(VS [10.0.0.100]:tcp:80 UP\n)",
                "[10.0.0.100]:tcp:80 SmtpAlert([10.0.0.100]:tcp:80 UP => Starting with quorum up "
                "2+0=2 <= 2 <=)",
            }));
  ASSERT_EQ(batch.size(), 1U);
  EXPECT_FALSE(batch[0].desired.sorry_server && batch[0].desired.sorry_server->in_ipvs);
  EXPECT_TRUE(batch[0].desired.real_servers[0].in_ipvs);
}

// The incremental reload gives what a reload that starts every checker again gives: the same
// desired state, notifies and checker states, from the same history, for changes of every kind.
// `outcome(request, instant)`: the result of every probe of the instant.
template <class Outcome>
void finish_instant(ShareRun& run, int instant, Outcome outcome) {
  while (!run.prober.running.empty())
    run.prober.finish_oldest(outcome(run.prober.running.begin()->second.request, instant));
}

TEST(EngineIncrementalReload, GivesTheResultsOfAReloadThatStartsEveryCheckerAgain) {
  const std::string globals =
      "global_defs {\n  smtp_alert\n  smtp_server 192.0.2.25\n  notification_email {\n"
      "    ops@example.com\n  }\n}\n";
  auto base = [](const std::string& a_extra, const std::string& a_servers,
                 const std::string& b_servers, bool with_c) {
    std::string text =
        service_at("10.0.0.100",
                   "  hysteresis 1\n  sorry_server 10.9.9.9 80\n"
                   "  quorum_down /bin/qd.sh\n" +
                       (a_extra.empty() ? std::string("  quorum 3\n") : a_extra) + a_servers);
    text += service_at("10.0.0.101", b_servers);
    if (with_c) {
      text += service_at("10.0.0.102",
                         "  real_server 10.0.0.7 80 {\n    weight 5\n    MISC_CHECK {\n"
                         "      misc_path /bin/check\n      misc_dynamic\n    }\n  }\n");
    }
    return text;
  };
  auto a_servers = [](int first_weight) {
    return tcp_server("10.0.0.1", first_weight) +
           "  real_server 10.0.0.2 80 {\n    weight 1\n    TCP_CHECK {\n      alpha\n    }\n  }\n"
           "  real_server 10.0.0.3 80 {\n    weight 1\n    notify_down /bin/down.sh\n"
           "    TCP_CHECK {\n    }\n  }\n";
  };
  auto b_servers = [](const std::string& tcp_extra, bool ping) {
    return "  real_server 10.0.0.4 80 {\n    TCP_CHECK {\n" + tcp_extra + "    }\n" +
           (ping ? "    PING_CHECK {\n    }\n" : "") +
           "  }\n"
           "  real_server 10.0.0.5 80 {\n    TCP_CHECK {\n      alpha\n    }\n  }\n";
  };
  const std::string start = globals + base("", a_servers(2), b_servers("", true), true);
  const std::vector<std::pair<std::string, std::string>> reloads = {
      {"unchanged", start},
      {"weight", globals + base("", a_servers(3), b_servers("", true), true)},
      {"quorum", globals + base("  quorum 2\n", a_servers(2), b_servers("", true), true)},
      {"server removed", globals + base("", tcp_server("10.0.0.1", 4), b_servers("", true), true)},
      {"server added",
       globals + base("", a_servers(2), b_servers("", true) + tcp_server("10.0.0.6", 1), true)},
      {"checker removed", globals + base("", a_servers(2), b_servers("", false), true)},
      {"retry", globals + base("", a_servers(2), b_servers("      retry 4\n", true), true)},
      {"service removed", globals + base("", a_servers(2), b_servers("", true), false)},
      {"no alerts", base("", a_servers(2), b_servers("", true), true)},
      // Every block moved down (reload skips translating what only moved).
      {"lines shifted", "\n\n# moved down\n\n" + start},
      {"lines shifted and weight",
       "\n\n" + globals + base("", a_servers(3), b_servers("", true), true)},
  };
  // 10.0.0.3 always fails, 10.0.0.4's PING_CHECK from the second instant on; the MISC_CHECK
  // exits 4, then 6 (a dynamic weight).
  auto outcome = [](const ProbeRequest& request, int instant) -> ProbeResult {
    if (std::holds_alternative<MiscProbe>(request))
      return ProbeSucceeded{.exit_status = instant == 0 ? 4 : 6};
    std::string address;
    if (const auto* tcp = std::get_if<TcpProbe>(&request))
      address = tcp->connection.connect_ip.to_string();
    if (const auto* ping = std::get_if<PingProbe>(&request)) {
      if (instant > 0 && ping->connection.connect_ip.to_string() == "10.0.0.4") return kRefused;
    }
    if (address == "10.0.0.3") return kRefused;
    return ProbeSucceeded{};
  };
  size_t notified = 0;
  for (const auto& [name, text] : reloads) {
    for (int probes_before = 0; probes_before < 3; ++probes_before) {
      SCOPED_TRACE(name + ", instants before the reload: " + std::to_string(probes_before));
      const auto half = [](Duration max) { return max / 2; };
      ShareRun incremental(half);
      ShareRun full(half);
      full.engine.set_incremental_reload(false);
      for (ShareRun* run : {&incremental, &full}) {
        run->load(start);
        for (int i = 0; i < probes_before; ++i) {
          run->next_instant();
          finish_instant(*run, i, outcome);
        }
        run->history.clear();
        run->notifies.clear();
      }
      incremental.load(text);
      full.load(text);
      EXPECT_EQ(incremental.history, full.history);
      EXPECT_EQ(incremental.notifies, full.notifies);
      notified += full.notifies.size();
      const auto a = incremental.engine.status();
      const auto b = full.engine.status();
      ASSERT_EQ(a.size(), b.size());
      for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].label, b[i].label) << i;
        EXPECT_EQ(a[i].up, b[i].up) << i;
        EXPECT_EQ(a[i].has_run, b[i].has_run) << i;
        EXPECT_EQ(a[i].dynamic_weight, b[i].dynamic_weight) << i;
      }
    }
  }
  EXPECT_GT(notified, 0U);  // the reloads notified something to compare
}

// A reload of the same configuration with lines inserted above and inside its blocks (every
// source location differs): no checker starts again or loses its probe in flight, and the desired
// state load() hands the IPVS side is the one already sent (nothing to program).
TEST(EngineIncrementalReload, ALineShiftRestartsNoCheckerAndChangesNoDesiredState) {
  const std::string text =
      service_at("10.0.0.100", tcp_server("10.0.0.1", 2) + tcp_server("10.0.0.2", 1)) +
      service_at("10.0.0.101",
                 "  real_server 10.0.0.7 80 {\n    MISC_CHECK {\n      misc_path /bin/check\n"
                 "    }\n  }\n"
                 "  real_server 10.0.0.8 80 {\n    HTTP_GET {\n      url {\n        path /\n"
                 "      }\n    }\n  }\n");
  std::string shifted = "\n\n# moved down\n\n" + text;
  shifted.replace(shifted.find("  real_server 10.0.0.2"), 2, "\n\n      ");
  ShareRun run([](Duration max) { return max / 2; });
  run.load(text);
  ASSERT_GT(run.next_instant(), 0U);
  run.finish_all(kRefused);  // 10.0.0.* go down: kept states that are not a fresh start's
  ASSERT_GT(run.next_instant(), 0U);
  ASSERT_FALSE(run.prober.running.empty());  // probes in flight across the reload
  const size_t started = run.prober.started;
  const size_t running = run.prober.running.size();
  const auto before = run.engine.status();
  const auto desired = run.desired();
  run.history.clear();
  run.notifies.clear();
  run.load(shifted);
  EXPECT_EQ(run.prober.cancelled, 0U);
  EXPECT_EQ(run.prober.started, started);
  EXPECT_EQ(run.prober.running.size(), running);
  const auto after = run.engine.status();
  ASSERT_EQ(after.size(), before.size());
  ASSERT_EQ(after.size(), 4U);
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].label, before[i].label) << i;
    EXPECT_EQ(after[i].up, before[i].up) << i;
    EXPECT_EQ(after[i].probes, before[i].probes) << i;
    EXPECT_EQ(after[i].next_probe, before[i].next_probe) << i;
  }
  ASSERT_EQ(run.history.size(), 2U);
  for (const auto& service : run.history)
    EXPECT_EQ(service.desired, desired.at(service.key));
  EXPECT_TRUE(run.notifies.empty()) << ::testing::PrintToString(run.notifies);
  // Probes still run and their results still count: the kept checkers are live.
  run.finish_all(ProbeSucceeded{});
  EXPECT_FALSE(run.history.empty());
}

}  // namespace
}  // namespace vigil::check

namespace vigil::check {
namespace {

// checker_share_probes: a reload that keeps a group's members exactly keeps the group running
// (its probe in flight serves every member); one that changes the members re-forms it (the
// existing ReloadReformsTheGroupAndMembersKeepTheirState).
TEST(EngineShareProbes, AnUnchangedGroupKeepsItsProbeAcrossAReload) {
  ShareRun run([](Duration max) { return max / 3; });
  run.load(same_check_services(3, kShare));
  ASSERT_EQ(run.next_instant(), 1U);
  ASSERT_EQ(run.prober.running.size(), 1U);
  const auto before = run.engine.status();
  run.load(same_check_services(3, kShare));
  EXPECT_EQ(run.prober.cancelled, 0U);
  ASSERT_EQ(run.prober.running.size(), 1U);
  const auto after = run.engine.status();
  ASSERT_EQ(after.size(), 3U);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(after[i].shared_with, 2U);
    EXPECT_EQ(after[i].probes, before[i].probes);
  }
  run.finish_all(kRefused);  // the first check has no retries: every member goes down
  for (const auto& s : run.engine.status())
    EXPECT_FALSE(s.up);
  // They still probe together.
  EXPECT_EQ(run.next_instant(), 1U);
  EXPECT_EQ(run.prober.started, 2U);
}

}  // namespace
}  // namespace vigil::check
