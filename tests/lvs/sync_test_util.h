// Helpers shared by the sync daemon tests (tests/lvs/sync_test.cc, the daemon's Service test):
// a configuration, and a kernel that counts the sync daemon calls and fails them on demand.
#pragma once

#include <cerrno>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "config/model.h"
#include "datapath/datapath.h"
#include "fakes/fake_datapath.h"

namespace vigil::lvs::testing {

using datapath::SyncDaemonConfig;
using datapath::SyncDaemonState;

inline config::LvsSyncDaemon sync_config(std::string instance = "VI_1") {
  return {.interface = "eth1",
          .vrrp_instance = std::move(instance),
          .sync_id = 51,
          .sync_id_set = true};
}

inline std::vector<SyncDaemonState> states(const std::vector<SyncDaemonConfig>& daemons) {
  std::vector<SyncDaemonState> out;
  for (const auto& d : daemons)
    out.push_back(d.state);
  return out;
}

// A FakeDatapath that counts the sync daemon calls and fails them on demand.
class SyncDatapath final : public datapath::Datapath {
 public:
  Result<datapath::KernelInfo> info() override { return fake.info(); }
  Result<datapath::Table> dump() override { return fake.dump(); }
  std::vector<datapath::OpResult> apply(std::span<const datapath::Operation> ops) override {
    return fake.apply(ops);
  }
  Result<std::vector<SyncDaemonConfig>> sync_daemons() override {
    ++lists;
    if (list_failures > 0) {
      --list_failures;
      return Error{std::strerror(ENOBUFS)};
    }
    return fake.sync_daemons();
  }
  Status start_sync_daemon(const SyncDaemonConfig& config) override {
    ++starts;
    if (start_failures > 0) {
      --start_failures;
      return Error{std::strerror(ENODEV)};
    }
    return fake.start_sync_daemon(config);
  }
  Status stop_sync_daemon(SyncDaemonState state) override {
    ++stops;
    return fake.stop_sync_daemon(state);
  }
  Result<datapath::Timeouts> timeouts() override { return fake.timeouts(); }
  Status set_timeouts(const datapath::Timeouts& t) override { return fake.set_timeouts(t); }

  // The daemons running, as states.
  std::vector<SyncDaemonState> running() {
    auto daemons = fake.sync_daemons();
    return states(*daemons);
  }
  std::optional<SyncDaemonConfig> running(SyncDaemonState state) {
    const auto daemons = fake.sync_daemons();
    for (const auto& d : *daemons)
      if (d.state == state) return d;
    return std::nullopt;
  }

  vigil::testing::FakeDatapath fake;
  int lists = 0;
  int starts = 0;
  int stops = 0;
  int list_failures = 0;
  int start_failures = 0;
};

}  // namespace vigil::lvs::testing
