// AnnouncePacer in virtual time: vrrp_garp_interval / vrrp_gna_interval and garp_group spacing,
// checked to the microsecond against a recording VipManager.
#include "vrrp/announce_pacer.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "fakes/fake_scheduler.h"

namespace vigil::vrrp {
namespace {

using namespace std::chrono_literals;

VirtualAddress vip(std::string_view prefix, std::string device = "") {
  return VirtualAddress{.prefix = *IpPrefix::parse(prefix), .device = std::move(device)};
}

// What reached the VipManager behind the pacer.
class RecordingVips final : public VipManager {
 public:
  struct Announcement {
    Duration at;  // since the test started
    std::string interface;
    std::vector<std::string> addresses;
    int count;
    bool operator==(const Announcement&) const = default;
  };

  explicit RecordingVips(const Scheduler& clock) : clock_(clock), start_(clock.now()) {}

  Status add_addresses(const std::string&, const std::vector<VirtualAddress>&) override {
    ++adds;
    return {};
  }
  Status remove_addresses(const std::string&, const std::vector<VirtualAddress>&) override {
    ++removes;
    return {};
  }
  Status announce(const std::string& interface, const std::vector<VirtualAddress>& addresses,
                  int count, const std::shared_ptr<AnnounceTally>& tally) override {
    Announcement a{clock_.now() - start_, interface, {}, count};
    for (const auto& address : addresses)
      a.addresses.push_back(address.prefix.address.to_string());
    announced.push_back(std::move(a));
    if (fail) return Error{"injected failure"};
    if (tally) {  // as the host's does: every frame it sent
      for (const auto& address : addresses)
        (address.prefix.address.is_v4() ? tally->gratuitous_arps : tally->neighbour_adverts) +=
            static_cast<uint64_t>(count);
    }
    return {};
  }

  std::vector<Announcement> announced;
  int adds = 0;
  int removes = 0;
  bool fail = false;

 private:
  const Scheduler& clock_;
  TimePoint start_;
};

using A = RecordingVips::Announcement;

class AnnouncePacerTest : public ::testing::Test {
 protected:
  testing::FakeScheduler clock;
  RecordingVips inner{clock};
  AnnouncePacer pacer{inner, clock};
};

TEST_F(AnnouncePacerTest, WithoutIntervalsTheCallPassesThroughUnchanged) {
  ASSERT_TRUE(pacer.announce("eth0", {vip("10.0.0.1/24"), vip("2001:db8::1/64")}, 5, nullptr));
  EXPECT_EQ(inner.announced, (std::vector<A>{{0us, "eth0", {"10.0.0.1", "2001:db8::1"}, 5}}));
  EXPECT_EQ(clock.pending(), 0U);
  EXPECT_EQ(pacer.counters().queued, 0U);
}

// vrrp_garp_interval: one ARP at once, then one per interval, round by round.
TEST_F(AnnouncePacerTest, GarpIntervalSpacesEveryArpRoundByRound) {
  pacer.configure({.garp_interval = 10ms});
  ASSERT_TRUE(pacer.announce("eth0", {vip("10.0.0.1/24"), vip("10.0.0.2/24")}, 3, nullptr));
  clock.advance(1s);
  EXPECT_EQ(inner.announced, (std::vector<A>{{0ms, "eth0", {"10.0.0.1"}, 1},
                                             {10ms, "eth0", {"10.0.0.2"}, 1},
                                             {20ms, "eth0", {"10.0.0.1"}, 1},
                                             {30ms, "eth0", {"10.0.0.2"}, 1},
                                             {40ms, "eth0", {"10.0.0.1"}, 1},
                                             {50ms, "eth0", {"10.0.0.2"}, 1}}));
  EXPECT_EQ(pacer.counters().queued, 5U);
  EXPECT_EQ(pacer.counters().sent_later, 5U);
  EXPECT_EQ(pacer.waiting(), 0U);
}

// ARPs and NAs have lanes of their own: vrrp_gna_interval spaces only the NAs, and an address
// family without an interval goes out as before.
TEST_F(AnnouncePacerTest, ArpAndNaLanesAreIndependent) {
  struct Case {
    std::string_view name;
    AnnouncePacing pacing;
    std::vector<A> expected;
  };
  const std::vector<VirtualAddress> mixed = {vip("10.0.0.1/24"), vip("2001:db8::1/64"),
                                             vip("10.0.0.2/24"), vip("2001:db8::2/64")};
  const Case cases[] = {
      {"ARPs spaced, NAs not",
       {.garp_interval = 10ms},
       {{0ms, "eth0", {"2001:db8::1", "2001:db8::2"}, 2},
        {0ms, "eth0", {"10.0.0.1"}, 1},
        {10ms, "eth0", {"10.0.0.2"}, 1},
        {20ms, "eth0", {"10.0.0.1"}, 1},
        {30ms, "eth0", {"10.0.0.2"}, 1}}},
      {"NAs spaced, ARPs not",
       {.gna_interval = 1ms},
       {{0ms, "eth0", {"10.0.0.1", "10.0.0.2"}, 2},
        {0ms, "eth0", {"2001:db8::1"}, 1},
        {1ms, "eth0", {"2001:db8::2"}, 1},
        {2ms, "eth0", {"2001:db8::1"}, 1},
        {3ms, "eth0", {"2001:db8::2"}, 1}}},
      {"both, each on its own clock",
       {.garp_interval = 10ms, .gna_interval = 15ms},
       {{0ms, "eth0", {"10.0.0.1"}, 1},
        {0ms, "eth0", {"2001:db8::1"}, 1},
        {10ms, "eth0", {"10.0.0.2"}, 1},
        {15ms, "eth0", {"2001:db8::2"}, 1},
        {20ms, "eth0", {"10.0.0.1"}, 1},
        {30ms, "eth0", {"2001:db8::1"}, 1},
        {30ms, "eth0", {"10.0.0.2"}, 1},
        {45ms, "eth0", {"2001:db8::2"}, 1}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    testing::FakeScheduler case_clock;
    RecordingVips case_inner{case_clock};
    AnnouncePacer case_pacer{case_inner, case_clock};
    case_pacer.configure(c.pacing);
    ASSERT_TRUE(case_pacer.announce("eth0", mixed, 2, nullptr));
    case_clock.advance(1s);
    EXPECT_EQ(case_inner.announced, c.expected);
  }
}

// Global intervals apply to each interface on its own; a garp_group's interfaces share one
// lane; an address's own `dev` decides which interface (and lane) it goes out on.
TEST_F(AnnouncePacerTest, LanesArePerInterfaceOrPerGarpGroup) {
  pacer.configure(
      {.garp_interval = 10ms, .groups = {{.garp_interval = 4ms, .interfaces = {"eth1", "eth2"}}}});
  ASSERT_TRUE(pacer.announce("eth0", {vip("10.0.0.1/24"), vip("10.0.0.2/24")}, 1, nullptr));
  ASSERT_TRUE(pacer.announce("eth3", {vip("10.3.0.1/24"), vip("10.3.0.2/24")}, 1, nullptr));
  ASSERT_TRUE(pacer.announce("eth1", {vip("10.1.0.1/24"), vip("10.2.0.1/24", "eth2")}, 2, nullptr));
  clock.advance(1s);
  EXPECT_EQ(inner.announced, (std::vector<A>{{0ms, "eth0", {"10.0.0.1"}, 1},
                                             {0ms, "eth3", {"10.3.0.1"}, 1},
                                             {0ms, "eth1", {"10.1.0.1"}, 1},
                                             {4ms, "eth2", {"10.2.0.1"}, 1},
                                             {8ms, "eth1", {"10.1.0.1"}, 1},
                                             {10ms, "eth0", {"10.0.0.2"}, 1},
                                             {10ms, "eth3", {"10.3.0.2"}, 1},
                                             {12ms, "eth2", {"10.2.0.1"}, 1}}));
}

// keepalived: a group that sets only garp_interval leaves its interfaces' NAs unspaced, even
// with a global vrrp_gna_interval.
TEST_F(AnnouncePacerTest, AGroupsUnsetIntervalIsNotTheGlobalOne) {
  pacer.configure(
      {.gna_interval = 10ms, .groups = {{.garp_interval = 10ms, .interfaces = {"eth1"}}}});
  ASSERT_TRUE(pacer.announce("eth1", {vip("2001:db8::1/64"), vip("2001:db8::2/64")}, 2, nullptr));
  EXPECT_EQ(inner.announced, (std::vector<A>{{0ms, "eth1", {"2001:db8::1", "2001:db8::2"}, 2}}));
  EXPECT_EQ(clock.pending(), 0U);
}

// An idle lane sends at once; one that sent less than an interval ago waits for the rest of it.
TEST_F(AnnouncePacerTest, AnIdleLaneSendsAtOnceABusyOneWaitsItsTurn) {
  pacer.configure({.garp_interval = 100ms});
  ASSERT_TRUE(pacer.announce("eth0", {vip("10.0.0.1/24")}, 1, nullptr));
  clock.advance(30ms);
  ASSERT_TRUE(pacer.announce("eth0", {vip("10.0.0.2/24")}, 1, nullptr));
  clock.advance(500ms);
  ASSERT_TRUE(pacer.announce("eth0", {vip("10.0.0.3/24")}, 1, nullptr));
  clock.advance(1s);
  EXPECT_EQ(inner.announced, (std::vector<A>{{0ms, "eth0", {"10.0.0.1"}, 1},
                                             {100ms, "eth0", {"10.0.0.2"}, 1},
                                             {530ms, "eth0", {"10.0.0.3"}, 1}}));
}

// A node that gives an address up (BACKUP, FAULT, stop) must stop announcing it.
TEST_F(AnnouncePacerTest, RemovingAnAddressDropsItsQueuedAnnouncements) {
  pacer.configure({.garp_interval = 10ms});
  ASSERT_TRUE(pacer.announce("eth0", {vip("10.0.0.1/24"), vip("10.0.0.2/24")}, 3, nullptr));
  clock.advance(15ms);  // 10.0.0.1 at 0, 10.0.0.2 at 10
  ASSERT_TRUE(pacer.remove_addresses("eth0", {vip("10.0.0.1/24")}));
  EXPECT_EQ(inner.removes, 1);
  clock.advance(1s);
  EXPECT_EQ(inner.announced, (std::vector<A>{{0ms, "eth0", {"10.0.0.1"}, 1},
                                             {10ms, "eth0", {"10.0.0.2"}, 1},
                                             {20ms, "eth0", {"10.0.0.2"}, 1},
                                             {30ms, "eth0", {"10.0.0.2"}, 1}}));
  EXPECT_EQ(pacer.counters().dropped_removed, 2U);

  // The same address on another interface is another announcement: it stays queued.
  ASSERT_TRUE(pacer.announce("eth0", {vip("10.0.0.9/24"), vip("10.0.0.9/24", "eth1")}, 2, nullptr));
  ASSERT_TRUE(pacer.remove_addresses("eth0", {vip("10.0.0.9/24")}));
  clock.advance(1s);
  ASSERT_EQ(inner.announced.size(), 7U);
  EXPECT_EQ(inner.announced[4], (A{1015ms, "eth0", {"10.0.0.9"}, 1}));  // before the removal
  EXPECT_EQ(inner.announced[5], (A{1015ms, "eth1", {"10.0.0.9"}, 1}));
  EXPECT_EQ(inner.announced[6], (A{1025ms, "eth1", {"10.0.0.9"}, 1}));
  EXPECT_EQ(pacer.waiting(), 0U);
  EXPECT_EQ(clock.pending(), 0U);
}

TEST_F(AnnouncePacerTest, AddingAddressesPassesThrough) {
  pacer.configure({.garp_interval = 10ms});
  ASSERT_TRUE(pacer.add_addresses("eth0", {vip("10.0.0.1/24")}));
  EXPECT_EQ(inner.adds, 1);
  EXPECT_TRUE(inner.announced.empty());
}

// A reload keeps what is waiting, in order, under the new spacing.
TEST_F(AnnouncePacerTest, AReloadRespacesWhatIsWaiting) {
  pacer.configure({.garp_interval = 100ms});
  ASSERT_TRUE(pacer.announce("eth0", {vip("10.0.0.1/24"), vip("10.0.0.2/24")}, 2, nullptr));
  clock.advance(10ms);
  pacer.configure({.garp_interval = 5ms});
  clock.advance(1s);
  EXPECT_EQ(inner.announced, (std::vector<A>{{0ms, "eth0", {"10.0.0.1"}, 1},
                                             {10ms, "eth0", {"10.0.0.2"}, 1},
                                             {15ms, "eth0", {"10.0.0.1"}, 1},
                                             {20ms, "eth0", {"10.0.0.2"}, 1}}));

  ASSERT_TRUE(pacer.announce("eth0", {vip("10.0.0.1/24"), vip("10.0.0.2/24")}, 2, nullptr));
  clock.advance(1ms);
  pacer.configure({});  // spacing off: the three waiting go out at once
  EXPECT_EQ(inner.announced.size(), 8U);
  EXPECT_EQ(inner.announced.back().at, inner.announced[5].at);
  EXPECT_EQ(pacer.waiting(), 0U);
  EXPECT_EQ(pacer.counters().queued, 6U);  // each waiting announcement counted once
}

TEST_F(AnnouncePacerTest, FailuresNowAreReturnedFailuresLaterAreCounted) {
  pacer.configure({.garp_interval = 10ms});
  inner.fail = true;
  EXPECT_FALSE(pacer.announce("eth0", {vip("10.0.0.1/24"), vip("10.0.0.2/24")}, 1, nullptr));
  clock.advance(1s);
  EXPECT_EQ(inner.announced.size(), 2U);
  EXPECT_EQ(pacer.counters().sent_later, 1U);
  EXPECT_EQ(pacer.counters().failed_later, 1U);
}

// The instance's tally counts an announcement when it goes out: at once, later when its turn
// comes, never when its address was removed while it waited.
TEST_F(AnnouncePacerTest, TheTallyCountsWhatWasSentNotWhatWasDropped) {
  pacer.configure({.garp_interval = 10ms});
  auto tally = std::make_shared<AnnounceTally>();
  ASSERT_TRUE(pacer.announce("eth0", {vip("10.0.0.1/24"), vip("2001:db8::1/64")}, 3, tally));
  // The NAs have no interval: all three at once; one ARP at once, two waiting.
  EXPECT_EQ(tally->neighbour_adverts, 3U);
  EXPECT_EQ(tally->gratuitous_arps, 1U);
  clock.advance(10ms);
  EXPECT_EQ(tally->gratuitous_arps, 2U);
  ASSERT_TRUE(pacer.remove_addresses("eth0", {vip("10.0.0.1/24")}));
  clock.advance(1s);
  EXPECT_EQ(tally->gratuitous_arps, 2U);
  EXPECT_EQ(pacer.counters().dropped_removed, 1U);
}

// The pacer cancels its timers when it goes (the VRRP runtime is torn down).
TEST(AnnouncePacer, DestroyingItCancelsWhatIsWaiting) {
  testing::FakeScheduler clock;
  RecordingVips inner{clock};
  {
    AnnouncePacer pacer{inner, clock};
    pacer.configure({.garp_interval = 10ms});
    ASSERT_TRUE(pacer.announce("eth0", {vip("10.0.0.1/24"), vip("10.0.0.2/24")}, 1, nullptr));
    EXPECT_EQ(clock.pending(), 1U);
  }
  EXPECT_EQ(clock.pending(), 0U);
  clock.advance(1s);
  EXPECT_EQ(inner.announced.size(), 1U);
}

}  // namespace
}  // namespace vigil::vrrp
