#include "api/vrrp_ops.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "golden.h"

namespace vigil::api {
namespace {

VrrpCounters counters(uint64_t base) {
  return VrrpCounters{
      .adverts_received = base + 10,
      .adverts_sent = base + 20,
      .advert_send_failures = base,
      .became_master = base + 1,
      .released_master = base,
      .priority_zero_received = base + 2,
      .priority_zero_sent = base + 3,
      .own_adverts_ignored = base,
      .vip_failures = base,
      .rejected = {{"ttl_hop_limit_not_255", base + 4}, {"authentication_mismatch", base + 5}}};
}

std::vector<VrrpInstanceStats> sample() {
  return {
      VrrpInstanceStats{.name = "VI_1", .state = "MASTER", .counters = counters(0)},
      VrrpInstanceStats{.name = "VI_2",
                        .state = "BACKUP",
                        .maintenance = true,
                        .cleared_seconds_ago = 125,
                        .counters = counters(0)},
  };
}

using testing::expect_golden;

TEST(VrrpStats, CountersSinceTheClearAreTheDifference) {
  const VrrpCounters since = counters_since(counters(7), counters(3));
  EXPECT_EQ(since.adverts_received, 4U);
  EXPECT_EQ(since.became_master, 4U);
  EXPECT_EQ(since.priority_zero_sent, 4U);
  EXPECT_EQ(since.rejected_total(), 8U);
  // Nothing counted since the clear: every value is 0.
  const VrrpCounters zero = counters_since(counters(5), counters(5));
  EXPECT_EQ(zero.adverts_sent, 0U);
  EXPECT_EQ(zero.rejected_total(), 0U);
}

TEST(VrrpStats, BelowTheBaselineShowsZeroAndNewReasonsCountFromZero) {
  VrrpCounters baseline = counters(10);
  baseline.rejected = {{"ttl_hop_limit_not_255", 3}};
  VrrpCounters current = counters(0);
  const VrrpCounters since = counters_since(current, baseline);
  EXPECT_EQ(since.adverts_received, 0U);
  ASSERT_EQ(since.rejected.size(), 2U);
  EXPECT_EQ(since.rejected[0], (std::pair<std::string, uint64_t>{"ttl_hop_limit_not_255", 1}));
  EXPECT_EQ(since.rejected[1], (std::pair<std::string, uint64_t>{"authentication_mismatch", 5}));
}

TEST(VrrpStats, JsonRoundTrips) {
  auto parsed = vrrp_stats_from_json(vrrp_stats_json_text(sample()));
  ASSERT_TRUE(parsed) << parsed.error().message;
  // The JSON keys reasons in a map: compare with the same order.
  auto expected = sample();
  for (auto& s : expected) {
    std::sort(s.counters.rejected.begin(), s.counters.rejected.end());
  }
  EXPECT_EQ(*parsed, expected);
  EXPECT_FALSE(vrrp_stats_from_json("{\"schema\": \"vigil-vrrp-stats/9\", \"instances\": []}"));
  EXPECT_FALSE(vrrp_stats_from_json("[]"));
  EXPECT_FALSE(vrrp_stats_from_json("{\"schema\": \"vigil-vrrp-stats/1\"}"));
}

TEST(VrrpStats, TextMatchesTheGoldenFile) {
  expect_golden("vrrp_stats.txt", render_vrrp_stats_text(sample()));
  expect_golden("vrrp_stats.json", vrrp_stats_json_text(sample()));
  EXPECT_EQ(render_vrrp_stats_text(sample(), "VI_9"), "");
  EXPECT_EQ(render_vrrp_stats_text(sample(), "VI_2").substr(0, 5), "VI_2:");
}

TEST(VrrpMaintenance, ChangeText) {
  EXPECT_EQ(render_maintenance_change({.on = true, .changed = {"VI_1"}, .unchanged = {"VI_2"}}),
            "VI_1: maintenance on\nVI_2: maintenance already on\n");
  EXPECT_EQ(render_maintenance_change({.on = false, .changed = {"VI_1"}}),
            "VI_1: maintenance off\n");
}

}  // namespace
}  // namespace vigil::api
