#include "lvs/overrides.h"

#include <gtest/gtest.h>

#include "config/parser.h"
#include "lvs/desired.h"

namespace vigil::lvs {
namespace {

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

// rs1 weight `weight`; rs2 has a checker with alpha (out until its first passing check).
std::string config_text(int weight = 3, bool with_rs1 = true) {
  std::string text = R"(
virtual_server 192.0.2.80 80 {
  lvs_sched rr
  lvs_method NAT
  protocol TCP
)";
  if (with_rs1) {
    text += "  real_server 10.0.0.1 80 {\n    weight " + std::to_string(weight) + "\n  }\n";
  }
  text += R"(  real_server 10.0.0.2 80 {
    alpha
    TCP_CHECK {
      connect_timeout 3
    }
  }
  real_server 10.0.0.3 80 {
    inhibit_on_failure
  }
}
virtual_server fwmark 7 {
  lvs_sched rr
  lvs_method DR
  real_server 10.0.0.1 0 {
  }
}
)";
  return text;
}

config::Config parse(const std::string& text) {
  auto parsed = config::parse_text("test.conf", text);
  EXPECT_TRUE(parsed->ok()) << parsed->diagnostics.format(parsed->files);
  return std::move(parsed->config);
}

check::VirtualServerKey web_key(const config::Config& config) {
  return check::virtual_server_key(config.lvs.virtual_servers.at(0));
}

OverrideTarget target(const config::Config& config, const char* rs, uint16_t port = 80) {
  return {web_key(config), {ip(rs), port}};
}

Override drain() {
  return {.kind = OverrideKind::kDrain, .reason = "patching", .uid = 1000, .pid = 42, .since = 100};
}
Override maint() {
  return {.kind = OverrideKind::kMaint, .since = 100};
}
Override weight(uint32_t w, uint32_t configured = 3) {
  return {
      .kind = OverrideKind::kWeight, .weight = w, .configured_weight = configured, .since = 100};
}

TEST(ApplyOverride, Rules) {
  const Override d = drain();
  const Override m = maint();
  const Override w = weight(7);
  struct Case {
    const char* name;
    DestinationState health;
    const Override* override_;
    DestinationState want;
  };
  const Case cases[] = {
      {"no override", {true, 3}, nullptr, {true, 3}},
      {"drain of a healthy server: weight 0, stays", {true, 3}, &d, {true, 0}},
      {"drain of a DOWN server: stays out", {false, 0}, &d, {false, 0}},
      {"drain of an inhibited DOWN server: weight 0", {true, 0}, &d, {true, 0}},
      {"maint of a healthy server: out", {true, 3}, &m, {false, 0}},
      {"maint of a DOWN server: out", {false, 0}, &m, {false, 0}},
      {"weight of a healthy server", {true, 3}, &w, {true, 7}},
      {"weight of a DOWN server: stays out", {false, 0}, &w, {false, 0}},
      {"weight of an inhibited DOWN server: stays at 0", {true, 0}, &w, {true, 0}},
  };
  for (const auto& c : cases)
    EXPECT_EQ(apply_override(c.health, c.override_), c.want) << c.name;
}

int32_t weight_in(const DesiredLvs& desired, const char* rs) {
  const auto& dests =
      desired.table.at(datapath::ServiceKey::tcp(ip("192.0.2.80"), 80)).destinations;
  const auto it = dests.find({ip(rs), 80});
  return it == dests.end() ? -1 : it->second.weight;
}

TEST(DesiredWithOverrides, BeforeTheCheckersFirstVerdict) {
  const auto config = parse(config_text());
  struct Case {
    const char* name;
    const char* rs;
    Override override_;
    int32_t want;  // -1: not in IPVS
  };
  const Case cases[] = {
      {"drained before any check: weight 0", "10.0.0.1", drain(), 0},
      {"maint before any check: out", "10.0.0.1", maint(), -1},
      {"weight before any check", "10.0.0.1", weight(9), 9},
      {"alpha server waiting for its check: a drain keeps it out", "10.0.0.2", drain(), -1},
      {"alpha server waiting for its check: a weight keeps it out", "10.0.0.2", weight(9), -1},
  };
  for (const auto& c : cases) {
    const OverrideMap overrides{{target(config, c.rs), c.override_}};
    const auto desired = desired_lvs(config, {}, {}, &overrides);
    EXPECT_EQ(weight_in(desired, c.rs), c.want) << c.name;
    // The other real servers keep what the health gives them.
    if (std::string(c.rs) != "10.0.0.1") EXPECT_EQ(weight_in(desired, "10.0.0.1"), 3) << c.name;
    EXPECT_EQ(weight_in(desired, "10.0.0.3"), 1) << c.name;
  }
}

TEST(DesiredWithOverrides, OnTheCheckersVerdict) {
  const auto config = parse(config_text());
  check::DesiredService verdict;
  verdict.real_servers = {{{ip("10.0.0.1"), 80}, true, 3},
                          {{ip("10.0.0.2"), 80}, false, 0},  // DOWN
                          {{ip("10.0.0.3"), 80}, true, 0}};  // DOWN, inhibit_on_failure
  const HealthOverlay health{{web_key(config), verdict}};
  struct Case {
    const char* name;
    const char* rs;
    Override override_;
    int32_t want;
  };
  const Case cases[] = {
      {"drain of an UP server", "10.0.0.1", drain(), 0},
      {"drain never brings a DOWN server in", "10.0.0.2", drain(), -1},
      {"weight never brings a DOWN server in", "10.0.0.2", weight(5), -1},
      {"weight never lifts an inhibited DOWN server", "10.0.0.3", weight(5, 1), 0},
      {"maint takes an inhibited DOWN server out", "10.0.0.3", maint(), -1},
  };
  for (const auto& c : cases) {
    const OverrideMap overrides{{target(config, c.rs), c.override_}};
    EXPECT_EQ(weight_in(desired_lvs(config, {}, health, &overrides), c.rs), c.want) << c.name;
  }
}

TEST(DesiredWithOverrides, OnlyTheTargetedVirtualServer) {
  const auto config = parse(config_text());
  // 10.0.0.1 is also in the fwmark service: the web service's drain leaves it there.
  const OverrideMap overrides{{target(config, "10.0.0.1"), drain()}};
  const auto desired = desired_lvs(config, {}, {}, &overrides);
  const auto& fwm =
      desired.table.at(datapath::ServiceKey::firewall_mark(7, AddressFamily::kIpv4)).destinations;
  EXPECT_EQ(fwm.at({ip("10.0.0.1"), 0}).weight, 1);
  EXPECT_EQ(weight_in(desired, "10.0.0.1"), 0);
}

TEST(Prune, Rules) {
  const auto config = parse(config_text(3));
  const auto gone = OverrideTarget{web_key(config), {ip("10.9.9.9"), 80}};
  auto expiring = drain();
  expiring.expires = 200;
  struct Case {
    const char* name;
    OverrideTarget target;
    Override override_;
    int64_t now;
    std::optional<DropReason> dropped;
  };
  const Case cases[] = {
      {"a drain stays", target(config, "10.0.0.1"), drain(), 1000, std::nullopt},
      {"not yet expired", target(config, "10.0.0.1"), expiring, 199, std::nullopt},
      {"expired at its time", target(config, "10.0.0.1"), expiring, 200, DropReason::kExpired},
      {"weight set against the same configured weight stays", target(config, "10.0.0.1"),
       weight(9, 3), 1000, std::nullopt},
      {"weight set against another configured weight drops", target(config, "10.0.0.1"),
       weight(9, 4), 1000, DropReason::kConfiguredWeightChanged},
      {"orphaned drain stays", gone, drain(), 1000, std::nullopt},
      {"orphaned weight stays (its weight is unknown)", gone, weight(9, 4), 1000, std::nullopt},
      {"orphaned and expired drops", gone, expiring, 300, DropReason::kExpired},
  };
  for (const auto& c : cases) {
    OverrideMap overrides{{c.target, c.override_}};
    const auto dropped = prune_overrides(overrides, config, c.now);
    if (c.dropped) {
      ASSERT_EQ(dropped.size(), 1U) << c.name;
      EXPECT_EQ(dropped[0].reason, *c.dropped) << c.name;
      EXPECT_EQ(dropped[0].target, c.target) << c.name;
      EXPECT_TRUE(overrides.empty()) << c.name;
    } else {
      EXPECT_TRUE(dropped.empty()) << c.name;
      EXPECT_EQ(overrides.size(), 1U) << c.name;
    }
  }
}

TEST(Orphans, KeptListedAndAppliedAgainWhenTheTargetComesBack) {
  const auto with = parse(config_text(3, true));
  const auto without = parse(config_text(3, false));
  OverrideMap overrides{{target(with, "10.0.0.1"), drain()}};
  EXPECT_TRUE(prune_overrides(overrides, without, 1000).empty());
  auto listed = list_overrides(overrides, &without);
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_TRUE(listed[0].orphaned);
  EXPECT_EQ(listed[0].override_.reason, "patching");
  EXPECT_EQ(weight_in(desired_lvs(without, {}, {}, &overrides), "10.0.0.1"), -1);
  // Back in the configuration: drained at once.
  listed = list_overrides(overrides, &with);
  EXPECT_FALSE(listed[0].orphaned);
  EXPECT_EQ(weight_in(desired_lvs(with, {}, {}, &overrides), "10.0.0.1"), 0);
  // A weight override whose target came back with another configured weight drops.
  OverrideMap weights{{target(with, "10.0.0.1"), weight(9, 3)}};
  EXPECT_TRUE(prune_overrides(weights, without, 1000).empty());
  const auto changed = parse(config_text(5, true));
  EXPECT_EQ(prune_overrides(weights, changed, 1000).size(), 1U);
}

TEST(MakeOverride, ChecksTheTargetAndRecordsTheConfiguredWeight) {
  const auto config = parse(config_text(4));
  auto made = make_override(config, target(config, "10.0.0.1"), weight(9, 0));
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(made->configured_weight, 4U);
  EXPECT_EQ(made->weight, 9U);

  auto drained = drain();
  drained.weight = 5;  // meaningless for a drain: not kept
  drained.reason = std::string(kMaxReasonLength + 10, 'x');
  made = make_override(config, target(config, "10.0.0.1"), drained);
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(made->weight, 0U);
  EXPECT_EQ(made->reason.size(), kMaxReasonLength);

  auto too_short = drain();
  too_short.expires = too_short.since;
  struct Case {
    const char* name;
    OverrideTarget target;
    Override wanted;
    const char* error;
  };
  const Case cases[] = {
      {"unknown real server", target(config, "10.9.9.9"), drain(),
       "has no real server [10.9.9.9]:80"},
      {"unknown virtual server",
       {check::VirtualServerKey{.address = ip("192.0.2.99"), .port = 80}, {ip("10.0.0.1"), 80}},
       drain(),
       "no virtual server [192.0.2.99]:tcp:80"},
      {"weight out of range", target(config, "10.0.0.1"), weight(0x80000000U), "out of range"},
      {"expiry not after since", target(config, "10.0.0.1"), too_short, "at least one second"},
  };
  for (const auto& c : cases) {
    auto result = make_override(config, c.target, c.wanted);
    ASSERT_FALSE(result.ok()) << c.name;
    EXPECT_NE(result.error().message.find(c.error), std::string::npos)
        << c.name << ": " << result.error().message;
  }
}

TEST(ResolveTargets, Spellings) {
  const auto config = parse(config_text());
  const auto web = target(config, "10.0.0.1");
  const OverrideTarget fwm{check::virtual_server_key(config.lvs.virtual_servers.at(1)),
                           {ip("10.0.0.1"), 0}};
  struct Case {
    const char* vs;
    const char* rs;
    bool all;
    std::vector<OverrideTarget> want;
  };
  const Case cases[] = {
      {"192.0.2.80:80", "10.0.0.1:80", false, {web}},
      {"[192.0.2.80]:tcp:80", "[10.0.0.1]:80", false, {web}},
      {"192.0.2.80:80", "10.0.0.1", false, {web}},
      {"FWM 7", "10.0.0.1", false, {fwm}},
      {"fwmark:7", "10.0.0.1:0", false, {fwm}},
      {"", "10.0.0.1", true, {web, fwm}},
      {"192.0.2.80:81", "10.0.0.1:80", false, {}},
      {"192.0.2.80:80", "10.0.0.9", false, {}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(resolve_targets(config, c.vs, c.rs, c.all), c.want) << c.vs << " " << c.rs;
  }
}

// A virtual_server group's service is named by the group: its name, "group NAME", or the
// labels (its port is 0: the entries have the ports).
TEST(ResolveTargets, AGroupByItsName) {
  const auto config = parse(R"(
virtual_server_group web {
  192.0.2.90 80
  192.0.2.91 80
}
virtual_server group web {
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server 10.0.0.5 80 {
  }
}
)");
  const OverrideTarget want{check::virtual_server_key(config.lvs.virtual_servers.at(0)),
                            {ip("10.0.0.5"), 80}};
  for (const char* name : {"web", "group web", "web:0", "[web]:0"}) {
    EXPECT_EQ(resolve_targets(config, name, "10.0.0.5", false), std::vector<OverrideTarget>{want})
        << name;
  }
  EXPECT_TRUE(resolve_targets(config, "web:80", "10.0.0.5", false).empty());
  EXPECT_TRUE(resolve_targets(config, "webs", "10.0.0.5", false).empty());
}

TEST(PausedChecks, AreTheMaintenanceOnes) {
  const auto config = parse(config_text());
  const OverrideMap overrides{{target(config, "10.0.0.1"), drain()},
                              {target(config, "10.0.0.3"), maint()}};
  EXPECT_EQ(paused_checks(overrides), std::set<OverrideTarget>{target(config, "10.0.0.3")});
  auto expiring = maint();
  expiring.expires = 500;
  const OverrideMap timed{{target(config, "10.0.0.1"), drain()},
                          {target(config, "10.0.0.3"), expiring}};
  EXPECT_EQ(next_expiry(timed), 500);
  EXPECT_EQ(next_expiry(overrides), std::nullopt);
}

TEST(OverrideFile, RoundTrip) {
  OverrideMap overrides;
  auto o = drain();
  o.reason = "quotes \" and \\ and\nnewline";
  o.expires = 4102444800;  // 2100
  o.since = 1796000000;
  overrides[{check::VirtualServerKey{.address = ip("192.0.2.80"), .port = 80},
             {ip("10.0.0.1"), 80}}] = o;
  overrides[{check::VirtualServerKey{.kind = config::VirtualServerKind::kFwmark,
                                     .family = AddressFamily::kIpv6,
                                     .fwmark = 0xffffffff},
             {ip("2001:db8::1"), 0}}] = maint();
  overrides[{check::VirtualServerKey{.kind = config::VirtualServerKind::kGroup,
                                     .protocol = config::LvsProtocol::kSctp,
                                     .port = 443,
                                     .group = "web group"},
             {ip("10.0.0.2"), 65535}}] = weight(0x7fffffff, 0xffffffff);
  overrides[{check::VirtualServerKey{
                 .protocol = config::LvsProtocol::kUdp, .address = ip("2001:db8::80"), .port = 53},
             {ip("2001:db8::2"), 53}}] =
      Override{.kind = OverrideKind::kDrain, .uid = 0xffffffff, .pid = 0x7fffffff};
  const std::string text = format_override_file(overrides);
  EXPECT_NE(text.find("version = 1;"), std::string::npos) << text;
  auto parsed = parse_override_file(text, "state.conf");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message << "\n" << text;
  EXPECT_EQ(*parsed, overrides);
  // Empty.
  parsed = parse_override_file(format_override_file({}), "state.conf");
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->empty());
}

TEST(StateFile, VrrpMaintenanceRoundTripsWithTheOverrides) {
  StateFile state;
  state.overrides[{
      check::VirtualServerKey{
          .protocol = config::LvsProtocol::kTcp, .address = ip("192.0.2.80"), .port = 80},
      {ip("10.0.0.1"), 80}}] = Override{.kind = OverrideKind::kDrain, .since = 5};
  state.vrrp_maintenance["VI_1"] = VrrpMaintenance{
      .reason = "kernel upgrade \"5.10\"", .uid = 0, .pid = 4242, .since = 1'700'000'000};
  state.vrrp_maintenance["gone from the config"] =
      VrrpMaintenance{.reason = "", .uid = 0xffffffff, .pid = 0x7fffffff, .since = 0};
  const std::string text = format_state_file(state);
  EXPECT_NE(text.find("vrrp_maintenance"), std::string::npos) << text;
  auto parsed = parse_state_file(text, "state.conf");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message << "\n" << text;
  EXPECT_EQ(*parsed, state);
  // The overrides' own reader keeps reading such a file.
  auto overrides = parse_override_file(text, "state.conf");
  ASSERT_TRUE(overrides.ok());
  EXPECT_EQ(*overrides, state.overrides);
  // A file written without maintenance has none, and no vrrp_maintenance list.
  const std::string plain = format_state_file(StateFile{.overrides = state.overrides});
  EXPECT_EQ(plain.find("vrrp_maintenance"), std::string::npos);
  parsed = parse_state_file(plain, "state.conf");
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->vrrp_maintenance.empty());
}

TEST(StateFile, BadVrrpMaintenanceEntriesAreReportedWithTheirLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"version = 1;\noverrides = ();\nvrrp_maintenance = 3;\n", "state.conf:3: "},
      {"version = 1;\noverrides = ();\nvrrp_maintenance = (\n  { reason = \"x\"; uid = 0L; pid = "
       "0L; "
       "since = 0L; }\n);\n",
       "state.conf:4: "},
      {"version = 1;\noverrides = ();\nvrrp_maintenance = (\n  { instance = \"VI_1\"; reason = "
       "\"\"; "
       "uid = 0L; pid = -1L; since = 0L; }\n);\n",
       "state.conf:4: "},
      {"version = 1;\noverrides = ();\nvrrp_maintenance = (\n"
       "  { instance = \"VI_1\"; reason = \"\"; uid = 0L; pid = 1L; since = 0L; },\n"
       "  { instance = \"VI_1\"; reason = \"\"; uid = 0L; pid = 1L; since = 0L; }\n);\n",
       "state.conf:5: a second vrrp_maintenance entry for VI_1"},
  };
  for (const auto& [text, expected] : cases) {
    auto parsed = parse_state_file(text, "state.conf");
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().message.rfind(expected, 0), 0U) << parsed.error().message;
  }
}

TEST(OverrideFile, CorruptionIsReportedWithFileAndLine) {
  const std::string entry =
      R"(  { virtual_server = { kind = "address"; family = "inet"; protocol = "TCP";
        address = "192.0.2.80"; port = 80; fwmark = 0L; group = ""; };
    real_server = { address = "10.0.0.1"; port = 80; };
    kind = "drain"; weight = 0L; configured_weight = 0L; reason = ""; uid = 0L; pid = 1L;
    since = 100L; }
)";
  struct Case {
    const char* name;
    std::string text;
    const char* error;
  };
  const Case cases[] = {
      {"syntax error", "version = 1;\noverrides = (\n  { kind = ; }\n);\n", "state.conf:3: "},
      {"truncated", "version = 1;\noverrides = (\n" + entry, "state.conf:"},
      {"no version", "overrides = ();\n", "state.conf: no version"},
      {"unknown version", "\nversion = 2;\noverrides = ();\n", "state.conf:2: version 2"},
      {"version of another type", "version = \"1\";\noverrides = ();\n", "no version"},
      {"no list", "version = 1;\n", "no overrides list"},
      {"bad kind",
       "version = 1;\noverrides = (\n" +
           std::string(entry).replace(entry.find("\"drain\""), 7, "\"off\"") + ");\n",
       "state.conf:3: unknown override kind 'off'"},
      {"bad address",
       "version = 1;\noverrides = (\n" +
           std::string(entry).replace(entry.find("10.0.0.1"), 8, "10.0.0.x") + ");\n",
       "state.conf:5: bad address '10.0.0.x'"},
      {"port out of range",
       "version = 1;\noverrides = (\n" +
           std::string(entry).replace(entry.find("port = 80; fwmark"), 9, "port = 99999") + ");\n",
       "state.conf:3: virtual_server needs"},
      {"negative pid",
       "version = 1;\noverrides = (\n" +
           std::string(entry).replace(entry.find("pid = 1L"), 8, "pid = -1") + ");\n",
       "state.conf:3: an override needs"},
      {"twice the same target", "version = 1;\noverrides = (\n" + entry + "," + entry + ");\n",
       "state.conf:8: a second override of [192.0.2.80]:tcp:80 [10.0.0.1]:80"},
      {"not a group", "version = 1;\noverrides = ( 7 );\n", "state.conf:2: an override must be"},
      {"binary", std::string("\0\xff\xfe", 3), "state.conf:"},
  };
  for (const auto& c : cases) {
    auto parsed = parse_override_file(c.text, "state.conf");
    ASSERT_FALSE(parsed.ok()) << c.name;
    EXPECT_NE(parsed.error().message.find(c.error), std::string::npos)
        << c.name << ": " << parsed.error().message;
  }
  // The entry itself is valid.
  auto parsed = parse_override_file("version = 1;\noverrides = (\n" + entry + ");\n", "state.conf");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->size(), 1U);
}

}  // namespace
}  // namespace vigil::lvs
