#include "api/metrics.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "event/scheduler.h"
#include "golden.h"

namespace vigil::api {
namespace {

constexpr std::array<std::string_view, 4> kStates = {"INIT", "BACKUP", "MASTER", "FAULT"};

// Two sides, as vigild's would send them: the VRRP thread's and the check thread's, both with a
// timer lateness histogram (one family, two threads).
std::vector<MetricsPart> sample() {
  MetricsPart vrrp;
  auto& state = vrrp.family("vrrp_instance_state", "The VRRP instance's state (a state set).",
                            MetricType::kGauge);
  state.add_state_set({{"vrrp_instance", "VI_1"}}, "state", kStates, "MASTER");
  state.add_state_set({{"vrrp_instance", "VI \"odd\"\\\nname"}}, "state", kStates, "BACKUP");
  auto& sent = vrrp.family("vrrp_adverts_sent", "Adverts sent.", MetricType::kCounter);
  sent.add({{"vrrp_instance", "VI_1"}}, 1234);
  sent.add({{"vrrp_instance", "VI \"odd\"\\\nname"}}, 0);
  event::TimerLateness late;
  late.count = 10;
  late.total = Duration{1'500};
  late.buckets[0] = 6;
  late.buckets[3] = 3;
  late.buckets.back() = 1;
  auto& lateness = vrrp.family("timer_lateness_seconds",
                               "How late a loop ran its timers and posted work.\nBy thread.",
                               MetricType::kHistogram);
  lateness.histograms.push_back(lateness_histogram({{"thread", "vrrp"}},
                                                   event::TimerLateness::kBucketBounds,
                                                   late.buckets, late.count, late.total));
  MetricsPart check;
  auto& check_lateness =
      check.family("timer_lateness_seconds", "ignored: the first one's", MetricType::kHistogram);
  check_lateness.histograms.push_back(
      lateness_histogram({{"thread", "check"}}, event::TimerLateness::kBucketBounds,
                         event::TimerLateness{}.buckets, 0, Duration{0}));
  auto& weight = check.family("real_server_weight", "Effective weight.", MetricType::kGauge);
  weight.add({{"virtual_server", "[192.0.2.80]:tcp:80"}, {"real_server", "[10.0.0.1]:tcp:80"}}, -3);
  check.family("build_info", "No samples: header only.", MetricType::kGauge);
  return {vrrp, check};
}

using testing::expect_golden;
// VIGIL_UPDATE_GOLDEN=1 rewrites the file (then review the diff). ctest's api.metrics.promtool
// checks the file with `promtool check metrics`.
TEST(MetricsText, MatchesTheGoldenFile) {
  expect_golden("metrics.txt", render_metrics(sample()));
}

// Families are filled after later ones are added (as the sides do): the references hold.
TEST(MetricsText, AFamilyStaysWhereItIsWhileOthersAreAdded) {
  MetricsPart part;
  auto& first = part.family("first", "First.", MetricType::kGauge);
  for (int i = 0; i < 100; ++i)
    part.family("other_" + std::to_string(i), "Other.", MetricType::kGauge);
  first.add({}, 7);
  EXPECT_EQ(part.families.front().samples.size(), 1U);
}

TEST(MetricsText, EscapesLabelValues) {
  EXPECT_EQ(escape_label_value("plain"), "plain");
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(MetricsText, LabelSlugs) {
  EXPECT_EQ(label_slug("TTL/hop limit not 255"), "ttl_hop_limit_not_255");
  EXPECT_EQ(label_slug("check succeeded"), "check_succeeded");
  EXPECT_EQ(label_slug("  bad IP header "), "bad_ip_header");
}

TEST(MetricsText, CountersEndInTotalAndEveryNameHasThePrefix) {
  MetricsPart part;
  part.family("reloads", "Reloads.", MetricType::kCounter).add({{"result", "ok"}}, 2);
  const std::string text = render_metrics({part});
  EXPECT_EQ(text,
            "# HELP vigil_reloads_total Reloads.\n# TYPE vigil_reloads_total counter\n"
            "vigil_reloads_total{result=\"ok\"} 2\n");
}

TEST(MetricsText, AStateSetHasOneSeriesPerStateAndOneIsSet) {
  MetricFamily family;
  family.add_state_set({{"vrrp_instance", "VI_1"}}, "state", kStates, "FAULT");
  ASSERT_EQ(family.samples.size(), kStates.size());
  double sum = 0;
  for (const auto& s : family.samples) {
    sum += s.value;
    EXPECT_EQ(s.labels.back().first, "state");
    if (s.labels.back().second == "FAULT") {
      EXPECT_EQ(s.value, 1);
    }
  }
  EXPECT_EQ(sum, 1);
}

TEST(MetricsText, HistogramBucketsAreCumulativeInSeconds) {
  const std::array<Duration, 2> bounds = {Duration{100}, Duration{1'000}};
  const std::array<uint64_t, 3> buckets = {2, 3, 4};
  const HistogramSample h = lateness_histogram({}, bounds, buckets, 9, Duration{2'000});
  ASSERT_EQ(h.buckets.size(), 2U);
  EXPECT_DOUBLE_EQ(h.buckets[0].first, 0.0001);
  EXPECT_EQ(h.buckets[0].second, 2U);
  EXPECT_EQ(h.buckets[1].second, 5U);
  EXPECT_EQ(h.count, 9U);
  EXPECT_DOUBLE_EQ(h.sum, 0.002);
}

TEST(MetricsDetail, ParsesBothLevels) {
  EXPECT_EQ(parse_metrics_detail("basic"), MetricsDetail::kBasic);
  EXPECT_EQ(parse_metrics_detail("full"), MetricsDetail::kFull);
  EXPECT_FALSE(parse_metrics_detail("all"));
}

}  // namespace
}  // namespace vigil::api
