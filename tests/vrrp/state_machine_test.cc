#include "vrrp/state_machine.h"

#include <gtest/gtest.h>

#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace vigil::vrrp {

// Readable failure output for action lists.
void PrintTo(const Action& action, std::ostream* os) {
  *os << to_string(action);
}

namespace {

IpAddress ip(std::string_view text) {
  return *IpAddress::parse(text);
}

constexpr TimePoint kT0{Duration{1'000'000'000}};
TimePoint at(Duration offset) {
  return kT0 + offset;
}

// Skew_Time and Master_Down_Interval for the default instance (priority 100, 1 s):
// (256 - 100) * 1 s / 256 = 609375 us; 3 s + 609375 us.
constexpr Duration kSkew100 = 609'375us;
constexpr Duration kDown100 = 3'609'375us;

InstanceConfig base_config() {
  return InstanceConfig{
      .name = "VI_1",
      .interface = "eth0",
      .vrid = 51,
      .priority = 100,
      .version = 3,
      .advert_interval = 1s,
      .primary_address = ip("10.0.0.2"),
      .virtual_addresses = {{.prefix = *IpPrefix::parse("10.0.0.100/24")}},
  };
}

// ---- RFC 5798 §6.1 formulas, to the microsecond ---------------------------------------------

struct TimingCase {
  uint8_t version;
  uint8_t priority;
  Duration master_adver_interval;
  Duration skew;
  Duration down;
};

class VrrpTiming : public ::testing::TestWithParam<TimingCase> {};

TEST_P(VrrpTiming, SkewAndMasterDownInterval) {
  const auto& c = GetParam();
  EXPECT_EQ(skew_time(c.version, c.priority, c.master_adver_interval), c.skew);
  EXPECT_EQ(master_down_interval(c.version, c.priority, c.master_adver_interval), c.down);
}

INSTANTIATE_TEST_SUITE_P(
    Rfc5798, VrrpTiming,
    ::testing::Values(
        // v2: Skew_Time = (256 - Priority) / 256 s, independent of the interval.
        TimingCase{2, 100, 1s, 609'375us, 3'609'375us},
        TimingCase{2, 101, 1s, 605'468us, 3'605'468us},  // 605468.75 truncated
        TimingCase{2, 254, 1s, 7'812us, 3'007'812us},    // 7812.5 truncated
        TimingCase{2, 1, 1s, 996'093us, 3'996'093us},    // 996093.75 truncated
        TimingCase{2, 255, 1s, 3'906us, 3'003'906us},    // 3906.25 truncated
        TimingCase{2, 100, 3s, 609'375us, 9'609'375us},
        TimingCase{2, 200, 255s, 218'750us, 765'218'750us},
        // v3: Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256.
        TimingCase{3, 100, 1s, 609'375us, 3'609'375us},
        TimingCase{3, 200, 1s, 218'750us, 3'218'750us},
        TimingCase{3, 100, 100ms, 60'937us, 360'937us},  // 60937.5 truncated
        TimingCase{3, 150, 100ms, 41'406us, 341'406us},  // 41406.25 truncated
        TimingCase{3, 100, 10ms, 6'093us, 36'093us},     // 6093.75 truncated
        TimingCase{3, 254, 10ms, 78us, 30'078us},        // 78.125 truncated
        TimingCase{3, 1, 40950ms, 40'790'039us, 163'640'039us},
        TimingCase{3, 128, 500ms, 250'000us, 1'750'000us}));

// keepalived's down_timer_adverts replaces the formula's 3; Skew_Time is unchanged.
TEST(VrrpTiming, DownTimerAdvertsReplacesTheThree) {
  EXPECT_EQ(master_down_interval(3, 100, 1s, 1), 1'609'375us);
  EXPECT_EQ(master_down_interval(3, 100, 1s, 3), 3'609'375us);
  EXPECT_EQ(master_down_interval(2, 100, 1s, 5), 5'609'375us);
  EXPECT_EQ(master_down_interval(3, 254, 10ms, 100), 1'000'078us);
}

// ---- RFC 5798 §6.4 transitions, table-driven -------------------------------------------------

struct Step {
  Duration at;
  Event event;
};

struct TransitionCase {
  const char* name;
  std::function<void(InstanceConfig&)> configure;  // edits the base config
  std::vector<Step> setup;                         // brings the machine to `initial`
  State initial;
  Step step;
  State expected;
  Actions actions;
};

// Reaching Master: startup, then Master_Down_Timer runs out.
const std::vector<Step> kToMaster = {{0us, Startup{}}, {kDown100, MasterDownTimerExpired{}}};
const std::vector<Step> kToBackup = {{0us, Startup{}}};
const std::vector<Step> kToFault = {{0us, Startup{}}, {0us, FaultRaised{}}};
auto keep = [](InstanceConfig&) {};

std::vector<TransitionCase> transition_cases() {
  return {
      // §6.4.1 Initialize
      {.name = "InitStartupNonOwnerWaitsMasterDownInterval",
       .configure = keep,
       .setup = {},
       .initial = State::kInitialize,
       .step = {0us, Startup{}},
       .expected = State::kBackup,
       .actions = {SetTimer{TimerKind::kMasterDown, at(kDown100)},
                   Notify{State::kInitialize, State::kBackup, TransitionReason::kStartup}}},
      {.name = "InitStartupOwnerBecomesMasterAtOnce",
       .configure = [](auto& c) { c.priority = 255; },
       .setup = {},
       .initial = State::kInitialize,
       .step = {0us, Startup{}},
       .expected = State::kMaster,
       .actions = {SendAdvert{255}, AddVips{}, SendGratuitous{},
                   SetTimer{TimerKind::kAdver, at(1s)},
                   Notify{State::kInitialize, State::kMaster, TransitionReason::kAddressOwner}}},
      {.name = "InitStartupV3ShortInterval",
       .configure = [](auto& c) { c.advert_interval = 100ms; },
       .setup = {},
       .initial = State::kInitialize,
       .step = {0us, Startup{}},
       .expected = State::kBackup,
       .actions = {SetTimer{TimerKind::kMasterDown, at(360'937us)},
                   Notify{State::kInitialize, State::kBackup, TransitionReason::kStartup}}},
      {.name = "InitStartupV2Priority101",
       .configure = [](auto& c) { c.version = 2, c.priority = 101; },
       .setup = {},
       .initial = State::kInitialize,
       .step = {0us, Startup{}},
       .expected = State::kBackup,
       .actions = {SetTimer{TimerKind::kMasterDown, at(3'605'468us)},
                   Notify{State::kInitialize, State::kBackup, TransitionReason::kStartup}}},
      {.name = "InitStartupArmsPreemptDelay",
       .configure = [](auto& c) { c.preempt_delay = 5s; },
       .setup = {},
       .initial = State::kInitialize,
       .step = {0us, Startup{}},
       .expected = State::kBackup,
       .actions = {SetTimer{TimerKind::kPreemptDelay, at(5s)},
                   SetTimer{TimerKind::kMasterDown, at(kDown100)},
                   Notify{State::kInitialize, State::kBackup, TransitionReason::kStartup}}},
      {.name = "InitStartupNopreemptIgnoresPreemptDelay",
       .configure = [](auto& c) { c.preempt = false, c.preempt_delay = 5s; },
       .setup = {},
       .initial = State::kInitialize,
       .step = {0us, Startup{}},
       .expected = State::kBackup,
       .actions = {SetTimer{TimerKind::kMasterDown, at(kDown100)},
                   Notify{State::kInitialize, State::kBackup, TransitionReason::kStartup}}},
      {.name = "InitStartupWhileFaultedGoesToFault",
       .configure = keep,
       .setup = {{0us, FaultRaised{}}},
       .initial = State::kInitialize,
       .step = {1s, Startup{}},
       .expected = State::kFault,
       .actions = {Notify{State::kInitialize, State::kFault, TransitionReason::kFault}}},
      {.name = "InitIgnoresAdverts",
       .configure = keep,
       .setup = {},
       .initial = State::kInitialize,
       .step = {0us,
                AdvertReceived{
                    .priority = 50, .max_advert_interval = 1s, .source = ip("10.0.0.1")}},
       .expected = State::kInitialize,
       .actions = {}},

      // §6.4.2 Backup
      {.name = "BackupMasterDownTimerExpiresBecomesMaster",
       .configure = keep,
       .setup = kToBackup,
       .initial = State::kBackup,
       .step = {kDown100, MasterDownTimerExpired{}},
       .expected = State::kMaster,
       .actions = {SendAdvert{100}, AddVips{}, SendGratuitous{},
                   SetTimer{TimerKind::kAdver, at(kDown100 + 1s)},
                   Notify{State::kBackup, State::kMaster, TransitionReason::kMasterDownTimer}}},
      {.name = "BackupStaleMasterDownExpiryIgnored",
       .configure = keep,
       .setup = kToBackup,
       .initial = State::kBackup,
       .step = {kDown100 - 1us, MasterDownTimerExpired{}},
       .expected = State::kBackup,
       .actions = {}},
      // vigil's addition: an expiry handled late waits as long as it was late (at most one
      // Master_Adver_Interval) for adverts held up while this host was not running.
      {.name = "BackupMasterDownExpiryOneMillisecondLateTakesOver",
       .configure = keep,
       .setup = kToBackup,
       .initial = State::kBackup,
       .step = {kDown100 + 1ms, MasterDownTimerExpired{}},
       .expected = State::kMaster,
       .actions = {SendAdvert{100}, AddVips{}, SendGratuitous{},
                   SetTimer{TimerKind::kAdver, at(kDown100 + 1ms + 1s)},
                   Notify{State::kBackup, State::kMaster, TransitionReason::kMasterDownTimer}}},
      {.name = "BackupLateMasterDownExpiryWaitsAsLongAsItWasLate",
       .configure = keep,
       .setup = kToBackup,
       .initial = State::kBackup,
       .step = {kDown100 + 1001us, MasterDownTimerExpired{}},
       .expected = State::kBackup,
       .actions = {SetTimer{TimerKind::kMasterDown, at(kDown100 + 2002us)}}},
      {.name = "BackupLateMasterDownWaitIsAtMostOneAdverInterval",
       .configure = keep,
       .setup = kToBackup,
       .initial = State::kBackup,
       .step = {kDown100 + 5s, MasterDownTimerExpired{}},
       .expected = State::kBackup,
       .actions = {SetTimer{TimerKind::kMasterDown, at(kDown100 + 6s)}}},
      {.name = "BackupLateExpiryAfterTheWaitTakesOver",
       .configure = keep,
       .setup = {{0us, Startup{}}, {kDown100 + 3ms, MasterDownTimerExpired{}}},
       .initial = State::kBackup,
       .step = {kDown100 + 9ms, MasterDownTimerExpired{}},
       .expected = State::kMaster,
       .actions = {SendAdvert{100}, AddVips{}, SendGratuitous{},
                   SetTimer{TimerKind::kAdver, at(kDown100 + 9ms + 1s)},
                   Notify{State::kBackup, State::kMaster, TransitionReason::kMasterDownTimer}}},
      {.name = "BackupLateSkewTimeExpiryAfterPriorityZeroTakesOver",
       .configure = keep,
       .setup = {{0us, Startup{}},
                 {1s,
                  AdvertReceived{
                      .priority = 0, .max_advert_interval = 1s, .source = ip("10.0.0.1")}}},
       .initial = State::kBackup,
       .step = {1s + kSkew100 + 20ms, MasterDownTimerExpired{}},
       .expected = State::kMaster,
       .actions = {SendAdvert{100}, AddVips{}, SendGratuitous{},
                   SetTimer{TimerKind::kAdver, at(1s + kSkew100 + 20ms + 1s)},
                   Notify{State::kBackup, State::kMaster, TransitionReason::kMasterDownTimer}}},
      {.name = "BackupHigherPriorityAdvertRestartsMasterDown",
       .configure = keep,
       .setup = kToBackup,
       .initial = State::kBackup,
       .step = {1s,
                AdvertReceived{
                    .priority = 150, .max_advert_interval = 1s, .source = ip("10.0.0.1")}},
       .expected = State::kBackup,
       .actions = {SetTimer{TimerKind::kMasterDown, at(1s + kDown100)}}},
      {.name = "BackupEqualPriorityAdvertRestartsMasterDown",
       .configure = keep,
       .setup = kToBackup,
       .initial = State::kBackup,
       .step = {1s,
                AdvertReceived{
                    .priority = 100, .max_advert_interval = 1s, .source = ip("10.0.0.1")}},
       .expected = State::kBackup,
       .actions = {SetTimer{TimerKind::kMasterDown, at(1s + kDown100)}}},
      {.name = "BackupLowerPriorityAdvertDiscardedWhenPreempting",
       .configure = keep,
       .setup = kToBackup,
       .initial = State::kBackup,
       .step = {1s,
                AdvertReceived{
                    .priority = 99, .max_advert_interval = 1s, .source = ip("10.0.0.1")}},
       .expected = State::kBackup,
       .actions = {}},
      {.name = "BackupLowerPriorityAdvertAcceptedWithNopreempt",
       .configure = [](auto& c) { c.preempt = false; },
       .setup = kToBackup,
       .initial = State::kBackup,
       .step = {1s,
                AdvertReceived{
                    .priority = 99, .max_advert_interval = 1s, .source = ip("10.0.0.1")}},
       .expected = State::kBackup,
       .actions = {SetTimer{TimerKind::kMasterDown, at(1s + kDown100)}}},
      {.name = "BackupV3AdoptsMasterAdverInterval",
       .configure = keep,
       .setup = kToBackup,
       .initial = State::kBackup,
       // 3 * 200 ms + (156 * 200 ms) / 256 = 600 ms + 121875 us
       .step = {1s,
                AdvertReceived{
                    .priority = 150, .max_advert_interval = 200ms, .source = ip("10.0.0.1")}},
       .expected = State::kBackup,
       .actions = {SetTimer{TimerKind::kMasterDown, at(1s + 721'875us)}}},
      {.name = "BackupV2KeepsItsInterval",
       .configure = [](auto& c) { c.version = 2; },
       .setup = kToBackup,
       .initial = State::kBackup,
       .step = {1s,
                AdvertReceived{
                    .priority = 150, .max_advert_interval = 2s, .source = ip("10.0.0.1")}},
       .expected = State::kBackup,
       .actions = {SetTimer{TimerKind::kMasterDown, at(1s + kDown100)}}},
      {.name = "BackupPriorityZeroTakesOverAfterSkewTime",
       .configure = keep,
       .setup = kToBackup,
       .initial = State::kBackup,
       .step = {1s,
                AdvertReceived{.priority = 0, .max_advert_interval = 1s, .source = ip("10.0.0.1")}},
       .expected = State::kBackup,
       .actions = {SetTimer{TimerKind::kMasterDown, at(1s + kSkew100)}}},
      {.name = "BackupPriorityZeroSkewUsesAdoptedInterval",
       .configure = keep,
       .setup = {{0us, Startup{}},
                 {1s,
                  AdvertReceived{
                      .priority = 150, .max_advert_interval = 100ms, .source = ip("10.0.0.1")}}},
       .initial = State::kBackup,
       .step = {1100ms,
                AdvertReceived{
                    .priority = 0, .max_advert_interval = 100ms, .source = ip("10.0.0.1")}},
       .expected = State::kBackup,
       .actions = {SetTimer{TimerKind::kMasterDown, at(1100ms + 60'937us)}}},
      {.name = "BackupOwnAdvertIgnored",
       .configure = keep,
       .setup = kToBackup,
       .initial = State::kBackup,
       .step = {1s,
                AdvertReceived{.priority = 0, .max_advert_interval = 1s, .source = ip("10.0.0.2")}},
       .expected = State::kBackup,
       .actions = {}},
      {.name = "BackupShutdownCancelsMasterDown",
       .configure = keep,
       .setup = kToBackup,
       .initial = State::kBackup,
       .step = {1s, Shutdown{}},
       .expected = State::kInitialize,
       .actions = {CancelTimer{TimerKind::kMasterDown},
                   Notify{State::kBackup, State::kInitialize, TransitionReason::kShutdown}}},
      {.name = "BackupFaultCancelsTimers",
       .configure = [](auto& c) { c.preempt_delay = 10s; },
       .setup = kToBackup,
       .initial = State::kBackup,
       .step = {1s, FaultRaised{}},
       .expected = State::kFault,
       .actions = {CancelTimer{TimerKind::kMasterDown}, CancelTimer{TimerKind::kPreemptDelay},
                   Notify{State::kBackup, State::kFault, TransitionReason::kFault}}},
      {.name = "BackupLowerPriorityAdvertAcceptedDuringPreemptDelay",
       .configure = [](auto& c) { c.preempt_delay = 10s; },
       .setup = kToBackup,
       .initial = State::kBackup,
       .step = {1s,
                AdvertReceived{
                    .priority = 50, .max_advert_interval = 1s, .source = ip("10.0.0.1")}},
       .expected = State::kBackup,
       .actions = {SetTimer{TimerKind::kMasterDown, at(1s + kDown100)}}},
      {.name = "BackupPreemptDelayExpiryPreemptsLowerMaster",
       .configure = [](auto& c) { c.preempt_delay = 10s; },
       .setup =
           {{0us, Startup{}},
            {1s,
             AdvertReceived{.priority = 50, .max_advert_interval = 1s, .source = ip("10.0.0.1")}},
            {9s,
             AdvertReceived{.priority = 50, .max_advert_interval = 1s, .source = ip("10.0.0.1")}}},
       .initial = State::kBackup,
       .step = {10s, PreemptDelayExpired{}},
       .expected = State::kMaster,
       .actions = {CancelTimer{TimerKind::kMasterDown}, SendAdvert{100}, AddVips{},
                   SendGratuitous{}, SetTimer{TimerKind::kAdver, at(11s)},
                   Notify{State::kBackup, State::kMaster, TransitionReason::kPreemptDelayExpired}}},
      {.name = "BackupPreemptDelayExpiryKeepsHigherMaster",
       .configure = [](auto& c) { c.preempt_delay = 10s; },
       .setup = {{0us, Startup{}},
                 {9s,
                  AdvertReceived{
                      .priority = 150, .max_advert_interval = 1s, .source = ip("10.0.0.1")}}},
       .initial = State::kBackup,
       .step = {10s, PreemptDelayExpired{}},
       .expected = State::kBackup,
       .actions = {}},
      {.name = "BackupLowerPriorityAdvertDiscardedAfterPreemptDelay",
       .configure = [](auto& c) { c.preempt_delay = 2s; },
       .setup = {{0us, Startup{}}, {2s, PreemptDelayExpired{}}},
       .initial = State::kBackup,
       .step = {3s,
                AdvertReceived{
                    .priority = 50, .max_advert_interval = 1s, .source = ip("10.0.0.1")}},
       .expected = State::kBackup,
       .actions = {}},
      {.name = "BackupGroupMasterBecomesMaster",
       .configure = keep,
       .setup = kToBackup,
       .initial = State::kBackup,
       .step = {1s, GroupMaster{}},
       .expected = State::kMaster,
       .actions = {CancelTimer{TimerKind::kMasterDown}, SendAdvert{100}, AddVips{},
                   SendGratuitous{}, SetTimer{TimerKind::kAdver, at(2s)},
                   Notify{State::kBackup, State::kMaster, TransitionReason::kSyncGroup}}},
      {.name = "BackupIgnoresGroupBackup",
       .configure = keep,
       .setup = kToBackup,
       .initial = State::kBackup,
       .step = {1s, GroupBackup{}},
       .expected = State::kBackup,
       .actions = {}},
      {.name = "BackupTrackedPriorityMovesSkew",
       .configure = keep,
       .setup = {{0us, Startup{}}, {0us, PriorityChanged{200}}},
       .initial = State::kBackup,
       .step = {1s,
                AdvertReceived{
                    .priority = 250, .max_advert_interval = 1s, .source = ip("10.0.0.1")}},
       .expected = State::kBackup,
       .actions = {SetTimer{TimerKind::kMasterDown, at(1s + 3'218'750us)}}},

      // §6.4.3 Master
      {.name = "MasterAdverTimerSendsAndRearms",
       .configure = keep,
       .setup = kToMaster,
       .initial = State::kMaster,
       .step = {kDown100 + 1s, AdverTimerExpired{}},
       .expected = State::kMaster,
       .actions = {SendAdvert{100}, SetTimer{TimerKind::kAdver, at(kDown100 + 2s)}}},
      {.name = "MasterStaleAdverExpiryIgnored",
       .configure = keep,
       .setup = kToMaster,
       .initial = State::kMaster,
       .step = {kDown100 + 999ms, AdverTimerExpired{}},
       .expected = State::kMaster,
       .actions = {}},
      {.name = "MasterPriorityZeroAdvertAnsweredAtOnce",
       .configure = keep,
       .setup = kToMaster,
       .initial = State::kMaster,
       .step = {4s,
                AdvertReceived{.priority = 0, .max_advert_interval = 1s, .source = ip("10.0.0.1")}},
       .expected = State::kMaster,
       .actions = {SendAdvert{100}, SetTimer{TimerKind::kAdver, at(5s)}}},
      {.name = "MasterHigherPriorityAdvertStepsDown",
       .configure = keep,
       .setup = kToMaster,
       .initial = State::kMaster,
       .step = {4s,
                AdvertReceived{
                    .priority = 101, .max_advert_interval = 1s, .source = ip("10.0.0.1")}},
       .expected = State::kBackup,
       .actions = {CancelTimer{TimerKind::kAdver}, RemoveVips{},
                   SetTimer{TimerKind::kMasterDown, at(4s + kDown100)},
                   Notify{State::kMaster, State::kBackup,
                          TransitionReason::kHigherPriorityAdvert}}},
      {.name = "MasterHigherPriorityAdvertAdoptsIntervalV3",
       .configure = keep,
       .setup = kToMaster,
       .initial = State::kMaster,
       // 3 * 500 ms + 156 * 500 ms / 256 = 1.5 s + 304687 us (304687.5 truncated)
       .step = {4s,
                AdvertReceived{
                    .priority = 200, .max_advert_interval = 500ms, .source = ip("10.0.0.1")}},
       .expected = State::kBackup,
       .actions = {CancelTimer{TimerKind::kAdver}, RemoveVips{},
                   SetTimer{TimerKind::kMasterDown, at(4s + 1'804'687us)},
                   Notify{State::kMaster, State::kBackup,
                          TransitionReason::kHigherPriorityAdvert}}},
      {.name = "MasterEqualPriorityHigherAddressStepsDown",
       .configure = keep,
       .setup = kToMaster,
       .initial = State::kMaster,
       .step = {4s,
                AdvertReceived{
                    .priority = 100, .max_advert_interval = 1s, .source = ip("10.0.0.3")}},
       .expected = State::kBackup,
       .actions = {CancelTimer{TimerKind::kAdver}, RemoveVips{},
                   SetTimer{TimerKind::kMasterDown, at(4s + kDown100)},
                   Notify{State::kMaster, State::kBackup,
                          TransitionReason::kHigherPriorityAdvert}}},
      // keepalived's higher_prio_send_advert: one last advert with our priority, then Backup.
      {.name = "MasterHigherPriorityAdvertWithHigherPrioSendAdvert",
       .configure = [](auto& c) { c.higher_prio_send_advert = true; },
       .setup = kToMaster,
       .initial = State::kMaster,
       .step = {4s,
                AdvertReceived{
                    .priority = 200, .max_advert_interval = 1s, .source = ip("10.0.0.1")}},
       .expected = State::kBackup,
       .actions = {SendAdvert{100}, CancelTimer{TimerKind::kAdver}, RemoveVips{},
                   SetTimer{TimerKind::kMasterDown, at(4s + kDown100)},
                   Notify{State::kMaster, State::kBackup,
                          TransitionReason::kHigherPriorityAdvert}}},
      {.name = "MasterEqualPriorityLowerAddressReasserts",
       .configure = keep,
       .setup = kToMaster,
       .initial = State::kMaster,
       .step = {4s,
                AdvertReceived{
                    .priority = 100, .max_advert_interval = 1s, .source = ip("10.0.0.1")}},
       .expected = State::kMaster,
       .actions = {SendAdvert{100}, SetTimer{TimerKind::kAdver, at(5s)},
                   SendLowerPriorityGratuitous{}, NotifyLowerPriorityAdvert{100, ip("10.0.0.1")}}},
      {.name = "MasterLowerPriorityAdvertReasserts",
       .configure = keep,
       .setup = kToMaster,
       .initial = State::kMaster,
       .step = {4s,
                AdvertReceived{
                    .priority = 99, .max_advert_interval = 1s, .source = ip("10.0.0.9")}},
       .expected = State::kMaster,
       .actions = {SendAdvert{100}, SetTimer{TimerKind::kAdver, at(5s)},
                   SendLowerPriorityGratuitous{}, NotifyLowerPriorityAdvert{99, ip("10.0.0.9")}}},
      // keepalived's lower_prio_no_advert: RFC 5798 §6.4.3's discard, but still re-announced
      // and notified.
      {.name = "MasterLowerPriorityAdvertWithLowerPrioNoAdvert",
       .configure = [](auto& c) { c.lower_prio_no_advert = true; },
       .setup = kToMaster,
       .initial = State::kMaster,
       .step = {4s,
                AdvertReceived{
                    .priority = 99, .max_advert_interval = 1s, .source = ip("10.0.0.9")}},
       .expected = State::kMaster,
       .actions = {SendLowerPriorityGratuitous{}, NotifyLowerPriorityAdvert{99, ip("10.0.0.9")}}},
      {.name = "MasterLowerPriorityAdvertWithGarpLowerPrioRepeatZero",
       .configure = [](auto& c) { c.garp_lower_prio_repeat = 0; },
       .setup = kToMaster,
       .initial = State::kMaster,
       .step = {4s,
                AdvertReceived{
                    .priority = 99, .max_advert_interval = 1s, .source = ip("10.0.0.9")}},
       .expected = State::kMaster,
       .actions = {SendAdvert{100}, SetTimer{TimerKind::kAdver, at(5s)},
                   NotifyLowerPriorityAdvert{99, ip("10.0.0.9")}}},
      // Priority 0 is a master leaving, not a lower-priority router.
      {.name = "MasterPriorityZeroAdvertIsNotLowerPriority",
       .configure = [](auto& c) { c.lower_prio_no_advert = true; },
       .setup = kToMaster,
       .initial = State::kMaster,
       .step = {4s,
                AdvertReceived{.priority = 0, .max_advert_interval = 1s, .source = ip("10.0.0.9")}},
       .expected = State::kMaster,
       .actions = {SendAdvert{100}, SetTimer{TimerKind::kAdver, at(5s)}}},
      {.name = "MasterOwnAdvertIgnored",
       .configure = keep,
       .setup = kToMaster,
       .initial = State::kMaster,
       .step = {4s,
                AdvertReceived{
                    .priority = 100, .max_advert_interval = 1s, .source = ip("10.0.0.2")}},
       .expected = State::kMaster,
       .actions = {}},
      {.name = "OwnerReassertsAgainstPriority254",
       .configure = [](auto& c) { c.priority = 255; },
       .setup = kToBackup,
       .initial = State::kMaster,
       .step = {1s,
                AdvertReceived{
                    .priority = 254, .max_advert_interval = 1s, .source = ip("10.0.0.9")}},
       .expected = State::kMaster,
       .actions = {SendAdvert{255}, SetTimer{TimerKind::kAdver, at(2s)},
                   SendLowerPriorityGratuitous{}, NotifyLowerPriorityAdvert{254, ip("10.0.0.9")}}},
      {.name = "MasterShutdownSendsPriorityZero",
       .configure = keep,
       .setup = kToMaster,
       .initial = State::kMaster,
       .step = {4s, Shutdown{}},
       .expected = State::kInitialize,
       .actions = {CancelTimer{TimerKind::kAdver}, SendAdvert{0}, RemoveVips{},
                   Notify{State::kMaster, State::kInitialize, TransitionReason::kShutdown}}},
      {.name = "MasterFaultSendsPriorityZero",
       .configure = keep,
       .setup = kToMaster,
       .initial = State::kMaster,
       .step = {4s, FaultRaised{}},
       .expected = State::kFault,
       .actions = {CancelTimer{TimerKind::kAdver}, SendAdvert{0}, RemoveVips{},
                   Notify{State::kMaster, State::kFault, TransitionReason::kFault}}},
      {.name = "MasterGroupBackupStepsDown",
       .configure = keep,
       .setup = kToMaster,
       .initial = State::kMaster,
       .step = {4s, GroupBackup{}},
       .expected = State::kBackup,
       .actions = {CancelTimer{TimerKind::kAdver}, RemoveVips{},
                   SetTimer{TimerKind::kMasterDown, at(4s + kDown100)},
                   Notify{State::kMaster, State::kBackup, TransitionReason::kSyncGroup}}},
      {.name = "MasterLoweredPriorityAdvertisesIt",
       .configure = keep,
       .setup = {{0us, Startup{}}, {kDown100, MasterDownTimerExpired{}}, {4s, PriorityChanged{80}}},
       .initial = State::kMaster,
       .step = {kDown100 + 1s, AdverTimerExpired{}},
       .expected = State::kMaster,
       .actions = {SendAdvert{80}, SetTimer{TimerKind::kAdver, at(kDown100 + 2s)}}},

      // Tracking moved the priority: keepalived's MASTER_PRIORITY / BACKUP_PRIORITY notice.
      {.name = "MasterPriorityChangeIsNoticed",
       .configure = keep,
       .setup = kToMaster,
       .initial = State::kMaster,
       .step = {4s, PriorityChanged{80}},
       .expected = State::kMaster,
       .actions = {NotifyPriorityChange{State::kMaster, 80}}},
      {.name = "BackupPriorityChangeIsNoticed",
       .configure = keep,
       .setup = kToBackup,
       .initial = State::kBackup,
       .step = {1s, PriorityChanged{120}},
       .expected = State::kBackup,
       .actions = {NotifyPriorityChange{State::kBackup, 120}}},
      {.name = "FaultPriorityChangeIsNoticed",
       .configure = keep,
       .setup = kToFault,
       .initial = State::kFault,
       .step = {1s, PriorityChanged{90}},
       .expected = State::kFault,
       .actions = {NotifyPriorityChange{State::kFault, 90}}},
      {.name = "UnchangedPriorityIsNotNoticed",
       .configure = keep,
       .setup = {{0us, Startup{}}, {0us, PriorityChanged{90}}},
       .initial = State::kBackup,
       .step = {1s, PriorityChanged{90}},
       .expected = State::kBackup,
       .actions = {}},

      // Fault
      {.name = "FaultClearedWaitsAsBackup",
       .configure = [](auto& c) { c.preempt_delay = 3s; },
       .setup = kToFault,
       .initial = State::kFault,
       .step = {20s, FaultCleared{}},
       .expected = State::kBackup,
       .actions = {SetTimer{TimerKind::kPreemptDelay, at(23s)},
                   SetTimer{TimerKind::kMasterDown, at(20s + kDown100)},
                   Notify{State::kFault, State::kBackup, TransitionReason::kFaultCleared}}},
      {.name = "FaultClearedOwnerBecomesMaster",
       .configure = [](auto& c) { c.priority = 255; },
       .setup = kToFault,
       .initial = State::kFault,
       .step = {20s, FaultCleared{}},
       .expected = State::kMaster,
       .actions = {SendAdvert{255}, AddVips{}, SendGratuitous{},
                   SetTimer{TimerKind::kAdver, at(21s)},
                   Notify{State::kFault, State::kMaster, TransitionReason::kFaultCleared}}},
      {.name = "FaultIgnoresAdverts",
       .configure = keep,
       .setup = kToFault,
       .initial = State::kFault,
       .step = {1s,
                AdvertReceived{.priority = 0, .max_advert_interval = 1s, .source = ip("10.0.0.1")}},
       .expected = State::kFault,
       .actions = {}},
      {.name = "FaultIgnoresGroupMaster",
       .configure = keep,
       .setup = kToFault,
       .initial = State::kFault,
       .step = {1s, GroupMaster{}},
       .expected = State::kFault,
       .actions = {}},
      {.name = "FaultShutdown",
       .configure = keep,
       .setup = kToFault,
       .initial = State::kFault,
       .step = {1s, Shutdown{}},
       .expected = State::kInitialize,
       .actions = {Notify{State::kFault, State::kInitialize, TransitionReason::kShutdown}}},
      {.name = "FaultStaysWhileGroupFaultHolds",
       .configure = keep,
       .setup = {{0us, Startup{}}, {0us, FaultRaised{}}, {0us, GroupFault{}}},
       .initial = State::kFault,
       .step = {1s, FaultCleared{}},
       .expected = State::kFault,
       .actions = {}},
      {.name = "GroupFaultClearedLeavesFault",
       .configure = keep,
       .setup = {{0us, Startup{}}, {0us, GroupFault{}}},
       .initial = State::kFault,
       .step = {1s, GroupFaultCleared{}},
       .expected = State::kBackup,
       .actions = {SetTimer{TimerKind::kMasterDown, at(1s + kDown100)},
                   Notify{State::kFault, State::kBackup, TransitionReason::kSyncGroup}}},
      {.name = "BackupGroupFaultEntersFault",
       .configure = keep,
       .setup = kToBackup,
       .initial = State::kBackup,
       .step = {1s, GroupFault{}},
       .expected = State::kFault,
       .actions = {CancelTimer{TimerKind::kMasterDown},
                   Notify{State::kBackup, State::kFault, TransitionReason::kSyncGroup}}},
  };
}

void PrintTo(const TransitionCase& c, std::ostream* os) {
  *os << c.name;
}

class VrrpTransition : public ::testing::TestWithParam<TransitionCase> {};

TEST_P(VrrpTransition, FollowsTheTable) {
  const auto& c = GetParam();
  auto config = base_config();
  c.configure(config);
  StateMachine machine(config);
  for (const auto& step : c.setup)
    (void)machine.handle(step.event, at(step.at));
  ASSERT_EQ(machine.state(), c.initial) << to_string(machine.state());

  auto actions = machine.handle(c.step.event, at(c.step.at));
  EXPECT_EQ(machine.state(), c.expected)
      << to_string(machine.state()) << " instead of " << to_string(c.expected);
  EXPECT_EQ(actions, c.actions);
  // Every state entered was counted under one reason, one can_enter() allows (the metrics show
  // those pairs always).
  for (size_t s = 0; s < kStateCount; ++s) {
    const auto state = static_cast<State>(s);
    uint64_t by_reason = 0;
    for (size_t r = 0; r < kTransitionReasonCount; ++r) {
      const auto reason = static_cast<TransitionReason>(r);
      by_reason += machine.entered(state, reason);
      if (machine.entered(state, reason) > 0) {
        EXPECT_TRUE(can_enter(state, reason)) << to_string(state) << " " << to_string(reason);
      }
    }
    EXPECT_EQ(by_reason, machine.entered(state)) << to_string(state);
  }
}

INSTANTIATE_TEST_SUITE_P(Rfc5798Section6_4, VrrpTransition, ::testing::ValuesIn(transition_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- properties that need more than one step ---------------------------------------------

TEST(VrrpStateMachine, CountsEveryStateEntered) {
  StateMachine machine(base_config());
  (void)machine.handle(Startup{}, at(0us));
  (void)machine.handle(MasterDownTimerExpired{}, at(kDown100));
  (void)machine.handle(
      AdvertReceived{.priority = 200, .max_advert_interval = 1s, .source = ip("10.0.0.1")}, at(5s));
  (void)machine.handle(MasterDownTimerExpired{}, at(5s + kDown100));
  EXPECT_EQ(machine.entered(State::kBackup), 2U);
  EXPECT_EQ(machine.entered(State::kMaster), 2U);
  EXPECT_EQ(machine.entered(State::kFault), 0U);
  // By reason: BACKUP at startup, then for the higher-priority advert; MASTER both times
  // because the master went silent.
  EXPECT_EQ(machine.entered(State::kBackup, TransitionReason::kStartup), 1U);
  EXPECT_EQ(machine.entered(State::kBackup, TransitionReason::kHigherPriorityAdvert), 1U);
  EXPECT_EQ(machine.entered(State::kMaster, TransitionReason::kMasterDownTimer), 2U);
  EXPECT_EQ(machine.entered(State::kMaster, TransitionReason::kAddressOwner), 0U);
  (void)machine.handle(FaultRaised{}, at(10s));
  (void)machine.handle(FaultCleared{}, at(11s));
  (void)machine.handle(Shutdown{}, at(12s));
  EXPECT_EQ(machine.entered(State::kFault, TransitionReason::kFault), 1U);
  EXPECT_EQ(machine.entered(State::kBackup, TransitionReason::kFaultCleared), 1U);
  EXPECT_EQ(machine.entered(State::kInitialize, TransitionReason::kShutdown), 1U);
}

TEST(VrrpStateMachine, KnowsWhoIsMaster) {
  StateMachine machine(base_config());  // priority 100, primary 10.0.0.2
  EXPECT_FALSE(machine.master_address());
  (void)machine.handle(Startup{}, at(0us));
  EXPECT_FALSE(machine.master_address());  // backup, nothing heard yet
  (void)machine.handle(
      AdvertReceived{.priority = 200, .max_advert_interval = 1s, .source = ip("10.0.0.1")}, at(1s));
  EXPECT_EQ(machine.master_address(), ip("10.0.0.1"));
  (void)machine.handle(
      AdvertReceived{.priority = 0, .max_advert_interval = 1s, .source = ip("10.0.0.1")}, at(2s));
  EXPECT_FALSE(machine.master_address());  // it said it is leaving
  (void)machine.handle(MasterDownTimerExpired{}, at(3s));
  ASSERT_EQ(machine.state(), State::kMaster);
  EXPECT_EQ(machine.master_address(), ip("10.0.0.2"));
  (void)machine.handle(
      AdvertReceived{.priority = 250, .max_advert_interval = 1s, .source = ip("10.0.0.3")}, at(4s));
  ASSERT_EQ(machine.state(), State::kBackup);
  EXPECT_EQ(machine.master_address(), ip("10.0.0.3"));  // the one that made us step down
  (void)machine.handle(FaultRaised{}, at(5s));
  EXPECT_FALSE(machine.master_address());
}

TEST(VrrpStateMachine, DeadlinesTrackTheTimersItAsksFor) {
  StateMachine machine(base_config());
  (void)machine.handle(Startup{}, at(0us));
  EXPECT_EQ(machine.deadline(TimerKind::kMasterDown), at(kDown100));
  EXPECT_FALSE(machine.deadline(TimerKind::kAdver).has_value());
  (void)machine.handle(MasterDownTimerExpired{}, at(kDown100));
  EXPECT_FALSE(machine.deadline(TimerKind::kMasterDown).has_value());
  EXPECT_EQ(machine.deadline(TimerKind::kAdver), at(kDown100 + 1s));
}

TEST(VrrpStateMachine, MasterDownIntervalFollowsAdoptedIntervalAndPriority) {
  StateMachine machine(base_config());
  (void)machine.handle(Startup{}, at(0us));
  (void)machine.handle(
      AdvertReceived{.priority = 150, .max_advert_interval = 50ms, .source = ip("10.0.0.1")},
      at(1s));
  EXPECT_EQ(machine.master_adver_interval(), 50ms);
  EXPECT_EQ(machine.skew_time(), 30'468us);  // 156 * 50000 / 256 = 30468.75
  EXPECT_EQ(machine.master_down_interval(), 180'468us);
  (void)machine.handle(PriorityChanged{228}, at(1s));
  EXPECT_EQ(machine.skew_time(), 5'468us);  // 28 * 50000 / 256 = 5468.75
}

// A backup whose master falls silent takes over after down_timer_adverts intervals plus
// Skew_Time, counted from the last advert, at start-up and after adopting the master's interval.
TEST(VrrpStateMachine, DownTimerAdvertsSetsWhenASilentMasterIsTakenOver) {
  auto config = base_config();
  config.version = 3;
  config.down_timer_adverts = 1;
  StateMachine machine(config);
  EXPECT_EQ(machine.master_down_interval(), 1'609'375us);
  (void)machine.handle(Startup{}, at(0us));
  EXPECT_EQ(machine.deadline(TimerKind::kMasterDown), at(1'609'375us));
  (void)machine.handle(
      AdvertReceived{.priority = 150, .max_advert_interval = 200ms, .source = ip("10.0.0.1")},
      at(1s));
  EXPECT_EQ(machine.master_down_interval(), 321'875us);  // 200 ms + 156 * 200000 / 256
  EXPECT_EQ(machine.deadline(TimerKind::kMasterDown), at(1s + 321'875us));
  (void)machine.handle(MasterDownTimerExpired{}, at(1s + 321'875us));
  EXPECT_EQ(machine.state(), State::kMaster);
}

TEST(VrrpStateMachine, AnAdvertDuringTheLateExpiryWaitKeepsTheBackup) {
  // 0.01 s adverts at priority 250: Master_Down_Interval 30234 us. The whole host stalls 29 ms
  // across the deadline; the master, stalled too, sends its overdue advert 50 us after we wake.
  auto config = base_config();
  config.priority = 250;
  config.advert_interval = 10ms;
  StateMachine machine(config);
  (void)machine.handle(Startup{}, at(0us));
  (void)machine.handle(
      AdvertReceived{.priority = 254, .max_advert_interval = 10ms, .source = ip("10.0.0.1")},
      at(1s));
  ASSERT_EQ(machine.master_down_interval(), 30'234us);
  const Duration woke = 1s + 37ms;
  EXPECT_EQ(machine.handle(MasterDownTimerExpired{}, at(woke)),
            (Actions{SetTimer{TimerKind::kMasterDown, at(woke + 6766us)}}));
  EXPECT_EQ(machine.late_master_down_waits(), 1U);
  EXPECT_EQ(
      machine.handle(
          AdvertReceived{.priority = 254, .max_advert_interval = 10ms, .source = ip("10.0.0.1")},
          at(woke + 50us)),
      (Actions{SetTimer{TimerKind::kMasterDown, at(woke + 50us + 30'234us)}}));
  // The wait's own (now stale) expiry changes nothing.
  EXPECT_EQ(machine.handle(MasterDownTimerExpired{}, at(woke + 6766us)), Actions{});
  EXPECT_EQ(machine.state(), State::kBackup);
  EXPECT_EQ(machine.entered(State::kMaster), 0U);
  // A later silence gets its own wait.
  (void)machine.handle(MasterDownTimerExpired{}, at(woke + 50us + 30'234us + 2ms));
  EXPECT_EQ(machine.late_master_down_waits(), 2U);
  EXPECT_EQ(machine.state(), State::kBackup);
}

TEST(VrrpStateMachine, OwnerIgnoresPriorityChanges) {
  auto config = base_config();
  config.priority = 255;
  StateMachine machine(config);
  EXPECT_EQ(machine.handle(PriorityChanged{100}, at(0us)), Actions{});  // nothing to notice
  EXPECT_EQ(machine.priority(), 255);
}

TEST(VrrpStateMachine, RestartAfterShutdownIsAFreshStart) {
  StateMachine machine(base_config());
  (void)machine.handle(Startup{}, at(0us));
  (void)machine.handle(MasterDownTimerExpired{}, at(kDown100));
  (void)machine.handle(Shutdown{}, at(10s));
  EXPECT_EQ(machine.state(), State::kInitialize);
  for (size_t i = 0; i < static_cast<size_t>(TimerKind::kCount); ++i)
    EXPECT_FALSE(machine.deadline(static_cast<TimerKind>(i)).has_value());
  auto actions = machine.handle(Startup{}, at(20s));
  EXPECT_EQ(machine.state(), State::kBackup);
  EXPECT_EQ(actions.front(), Action(SetTimer{TimerKind::kMasterDown, at(20s + kDown100)}));
}

TEST(VrrpStateMachine, SyncGroupMemberAsksTheGroupInsteadOfTakingOver) {
  StateMachine machine(base_config());
  machine.set_in_sync_group(true);
  (void)machine.handle(Startup{}, at(0us));
  EXPECT_EQ(machine.handle(MasterDownTimerExpired{}, at(kDown100)), Actions{RequestGroupMaster{}});
  EXPECT_EQ(machine.state(), State::kBackup);
  EXPECT_TRUE(machine.wants_master());
  // A master is heard again: no longer ready.
  (void)machine.handle(
      AdvertReceived{.priority = 150, .max_advert_interval = 1s, .source = ip("10.0.0.1")}, at(5s));
  EXPECT_FALSE(machine.wants_master());
  (void)machine.handle(MasterDownTimerExpired{}, at(5s + kDown100));
  EXPECT_TRUE(machine.wants_master());
  auto actions = machine.handle(GroupMaster{}, at(10s));
  EXPECT_EQ(machine.state(), State::kMaster);
  EXPECT_FALSE(machine.wants_master());
  EXPECT_EQ(actions.back(),
            Action(Notify{State::kBackup, State::kMaster, TransitionReason::kSyncGroup}));
}

// ---- vigilctl vrrp maintenance -----------------------------------------------------------------

TEST(VrrpStateMachine, MaintenanceOnAMasterSendsPriorityZeroAndStepsDown) {
  StateMachine machine(base_config());
  (void)machine.handle(Startup{}, at(0us));
  (void)machine.handle(MasterDownTimerExpired{}, at(kDown100));
  ASSERT_EQ(machine.state(), State::kMaster);
  EXPECT_EQ(machine.handle(MaintenanceOn{}, at(5s)),
            (Actions{CancelTimer{TimerKind::kAdver}, SendAdvert{0}, RemoveVips{},
                     Notify{State::kMaster, State::kBackup, TransitionReason::kMaintenance}}));
  EXPECT_EQ(machine.state(), State::kBackup);
  EXPECT_TRUE(machine.in_maintenance());
  EXPECT_FALSE(machine.deadline(TimerKind::kMasterDown).has_value());
  EXPECT_EQ(to_string(TransitionReason::kMaintenance), "maintenance");
}

TEST(VrrpStateMachine, MaintenanceNeverBecomesMaster) {
  StateMachine machine(base_config());
  (void)machine.handle(Startup{}, at(0us));
  EXPECT_EQ(machine.handle(MaintenanceOn{}, at(1s)),
            (Actions{CancelTimer{TimerKind::kMasterDown}}));
  // Adverts are noted (who is master), arm nothing; silence, a leaving master, a lower-priority
  // master, the group: none of them makes it MASTER.
  const auto peer = ip("10.0.0.1");
  EXPECT_EQ(machine.handle(
                AdvertReceived{.priority = 50, .max_advert_interval = 1s, .source = peer}, at(2s)),
            Actions{});
  EXPECT_EQ(machine.master_address(), peer);
  EXPECT_EQ(machine.handle(AdvertReceived{.priority = 0, .max_advert_interval = 1s, .source = peer},
                           at(3s)),
            Actions{});
  EXPECT_EQ(machine.handle(MasterDownTimerExpired{}, at(3s + kDown100)), Actions{});
  EXPECT_EQ(machine.handle(PreemptDelayExpired{}, at(100s)), Actions{});
  EXPECT_EQ(machine.handle(GroupMaster{}, at(101s)), Actions{});
  EXPECT_EQ(machine.state(), State::kBackup);
  // A fault and its end, a shutdown and a restart keep it out too.
  (void)machine.handle(FaultRaised{}, at(102s));
  EXPECT_EQ(machine.state(), State::kFault);
  (void)machine.handle(FaultCleared{}, at(103s));
  EXPECT_EQ(machine.state(), State::kBackup);
  EXPECT_FALSE(machine.deadline(TimerKind::kMasterDown).has_value());
  EXPECT_EQ(machine.entered(State::kMaster), 0U);
}

TEST(VrrpStateMachine, MaintenanceFromInitKeepsAnOwnerBackup) {
  // A restart with the state file's entry: the event comes before Startup.
  auto config = base_config();
  config.priority = 255;
  config.preempt_delay = 10s;
  StateMachine machine(config);
  EXPECT_EQ(machine.handle(MaintenanceOn{}, at(0us)), Actions{});
  EXPECT_EQ(machine.handle(Startup{}, at(0us)),
            (Actions{Notify{State::kInitialize, State::kBackup, TransitionReason::kStartup}}));
  EXPECT_EQ(machine.state(), State::kBackup);
  EXPECT_EQ(machine.entered(State::kMaster), 0U);
}

TEST(VrrpStateMachine, MaintenanceOffContendsAgainWithPreempt) {
  StateMachine machine(base_config());
  (void)machine.handle(MaintenanceOn{}, at(0us));
  (void)machine.handle(Startup{}, at(0us));
  const auto peer = ip("10.0.0.1");
  (void)machine.handle(AdvertReceived{.priority = 50, .max_advert_interval = 1s, .source = peer},
                       at(1s));
  EXPECT_EQ(machine.handle(MaintenanceOff{}, at(2s)),
            (Actions{SetTimer{TimerKind::kMasterDown, at(2s + kDown100)}}));
  EXPECT_FALSE(machine.in_maintenance());
  // preempt: the lower-priority master's adverts are discarded, the timer runs out.
  EXPECT_EQ(machine.handle(
                AdvertReceived{.priority = 50, .max_advert_interval = 1s, .source = peer}, at(3s)),
            Actions{});
  auto actions = machine.handle(MasterDownTimerExpired{}, at(2s + kDown100));
  EXPECT_EQ(machine.state(), State::kMaster);
  EXPECT_EQ(actions.back(),
            Action(Notify{State::kBackup, State::kMaster, TransitionReason::kMasterDownTimer}));
}

TEST(VrrpStateMachine, MaintenanceOffWithoutPreemptStaysBackupUnderALiveMaster) {
  auto config = base_config();
  config.preempt = false;
  StateMachine machine(config);
  (void)machine.handle(MaintenanceOn{}, at(0us));
  (void)machine.handle(Startup{}, at(0us));
  (void)machine.handle(MaintenanceOff{}, at(1s));
  const auto peer = ip("10.0.0.1");
  for (int i = 2; i < 10; ++i) {
    (void)machine.handle(AdvertReceived{.priority = 50, .max_advert_interval = 1s, .source = peer},
                         at(std::chrono::seconds(i)));
    (void)machine.handle(MasterDownTimerExpired{}, at(std::chrono::seconds(i) + 500ms));
  }
  EXPECT_EQ(machine.state(), State::kBackup);
  // Turning it on or off twice changes nothing.
  EXPECT_EQ(machine.handle(MaintenanceOff{}, at(20s)), Actions{});
  (void)machine.handle(MaintenanceOn{}, at(21s));
  EXPECT_EQ(machine.handle(MaintenanceOn{}, at(22s)), Actions{});
}

TEST(VrrpStateMachine, MaintenanceInASyncGroupNeverAsksTheGroup) {
  StateMachine machine(base_config());
  machine.set_in_sync_group(true);
  (void)machine.handle(Startup{}, at(0us));
  (void)machine.handle(MasterDownTimerExpired{}, at(kDown100));
  ASSERT_TRUE(machine.wants_master());
  (void)machine.handle(MaintenanceOn{}, at(5s));
  // Not ready for the group's MASTER: the group stays BACKUP while a member is in maintenance.
  EXPECT_FALSE(machine.wants_master());
  EXPECT_EQ(machine.handle(GroupMaster{}, at(6s)), Actions{});
  EXPECT_EQ(machine.state(), State::kBackup);
}

TEST(VrrpStateMachine, NamesForLogs) {
  EXPECT_EQ(to_string(State::kMaster), "MASTER");
  EXPECT_EQ(to_string(TransitionReason::kMasterDownTimer), "master down timer expired");
  EXPECT_EQ(to_string(Action(SendAdvert{0})), "SendAdvert(priority 0)");
}

}  // namespace
}  // namespace vigil::vrrp
