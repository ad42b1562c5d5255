#include "recording_datapath.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "datapath/datapath.h"

namespace vigil::integration {
namespace {

using namespace datapath;

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

double monotonic_ms() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
}

// The table and the journal every handle shares.
struct State {
  explicit State(std::string file) : journal(std::move(file)), start_ms(monotonic_ms()) {}

  std::mutex mutex;
  std::string journal;
  double start_ms;
  Table table;
  std::vector<SyncDaemonConfig> daemons;
  Timeouts timeouts{.tcp = std::chrono::seconds(900),
                    .tcp_fin = std::chrono::seconds(120),
                    .udp = std::chrono::seconds(300)};

  // One line, appended and closed at once: the test reads the file while vigild runs.
  void record(const std::string& op, const std::string& fields, int error) {
    const double now = monotonic_ms();
    char times[96];
    std::snprintf(times, sizeof times, "{\"t_ms\": %.3f, \"mono_ms\": %.3f, ", now - start_ms, now);
    std::string line = times + std::string("\"op\": ") + json_string(op) + fields +
                       ", \"error\": " + std::to_string(error) + "}\n";
    if (FILE* out = std::fopen(journal.c_str(), "a")) {
      std::fwrite(line.data(), 1, line.size(), out);
      std::fclose(out);
    }
  }
};

std::string service_fields(const ServiceKey& key) {
  return ", \"service\": " + json_string(to_string(key));
}

std::string service_fields(const ServiceKey& key, const Service& service) {
  return service_fields(key) + ", \"scheduler\": " + json_string(service.scheduler) +
         ", \"persistence_s\": " + std::to_string(service.persistence_timeout.count());
}

std::string dest_fields(const ServiceKey& service, const DestinationKey& key) {
  return service_fields(service) + ", \"dest\": " + json_string(to_string(key));
}

std::string dest_fields(const ServiceKey& service, const DestinationKey& key,
                        const Destination& destination) {
  return dest_fields(service, key) + ", \"method\": " + json_string(to_string(destination.method)) +
         ", \"weight\": " + std::to_string(destination.weight);
}

class RecordingDatapath final : public Datapath {
 public:
  explicit RecordingDatapath(std::shared_ptr<State> state) : state_(std::move(state)) {}

  Result<KernelInfo> info() override {
    return KernelInfo{.version = 0x010201, .connection_table_size = 4096};
  }

  // One service at a time, as the kernel does: IPVS holds its mutex per netlink message of a
  // dump (and the destinations are a dump per service), never for a whole table, so a change
  // sent while another handle reads waits for one service's copy at most. Holding the lock for
  // the whole copy (37,000 destinations: ~30 ms) stalled vigild's drains behind its periodic
  // read in a way the kernel never does. A change between two services' copies is seen or not,
  // as with the kernel.
  Result<Table> dump() override {
    Table copy;
    std::optional<ServiceKey> last;
    for (;;) {
      std::lock_guard lock(state_->mutex);
      auto next = last ? state_->table.upper_bound(*last) : state_->table.begin();
      if (next == state_->table.end()) break;
      ServiceEntry& copied = copy.emplace_hint(copy.end(), next->first, next->second)->second;
      // The kernel's dump gives every destination its counters (zero here); the table itself
      // keeps none, so that vigild's memory benchmarks do not count this test-only table's.
      for (const auto& [key, destination] : copied.destinations)
        copied.destination_stats.emplace_hint(copied.destination_stats.end(), key,
                                              DestinationStats{});
      last = next->first;
    }
    return copy;
  }

  std::vector<OpResult> apply(std::span<const Operation> operations) override {
    std::lock_guard lock(state_->mutex);
    std::vector<OpResult> results;
    results.reserve(operations.size());
    for (const auto& operation : operations) {
      const int error = std::visit([this](const auto& op) { return execute(op); }, operation);
      results.push_back(error == 0 ? OpResult{} : OpResult{error, std::strerror(error)});
    }
    return results;
  }

  Result<std::vector<SyncDaemonConfig>> sync_daemons() override {
    std::lock_guard lock(state_->mutex);
    return state_->daemons;
  }

  Status start_sync_daemon(const SyncDaemonConfig& config) override {
    std::lock_guard lock(state_->mutex);
    int error = config.interface.empty() ? EINVAL : 0;
    for (const auto& running : state_->daemons) {
      if (running.state == config.state) error = EEXIST;
    }
    state_->record("NEW_DAEMON",
                   ", \"state\": " + json_string(to_string(config.state)) +
                       ", \"interface\": " + json_string(config.interface) +
                       ", \"sync_id\": " + std::to_string(config.sync_id),
                   error);
    if (error != 0) return Error{std::strerror(error)};
    auto effective = config;
    if (effective.max_length == 0) effective.max_length = 1472;
    if (!effective.group) effective.group = IpAddress::v4(0xe0000051);  // 224.0.0.81
    state_->daemons.push_back(std::move(effective));
    return {};
  }

  Status stop_sync_daemon(SyncDaemonState which) override {
    std::lock_guard lock(state_->mutex);
    int error = ESRCH;
    for (auto it = state_->daemons.begin(); it != state_->daemons.end(); ++it) {
      if (it->state == which) {
        state_->daemons.erase(it);
        error = 0;
        break;
      }
    }
    state_->record("DEL_DAEMON", ", \"state\": " + json_string(to_string(which)), error);
    if (error != 0) return Error{std::strerror(error)};
    return {};
  }

  Result<Timeouts> timeouts() override {
    std::lock_guard lock(state_->mutex);
    return state_->timeouts;
  }

  Status set_timeouts(const Timeouts& timeouts) override {
    std::lock_guard lock(state_->mutex);
    auto& current = state_->timeouts;
    if (timeouts.tcp.count() != 0) current.tcp = timeouts.tcp;
    if (timeouts.tcp_fin.count() != 0) current.tcp_fin = timeouts.tcp_fin;
    if (timeouts.udp.count() != 0) current.udp = timeouts.udp;
    state_->record("SET_CONFIG",
                   ", \"tcp\": " + std::to_string(current.tcp.count()) +
                       ", \"tcp_fin\": " + std::to_string(current.tcp_fin.count()) +
                       ", \"udp\": " + std::to_string(current.udp.count()),
                   0);
    return {};
  }

 private:
  // The kernel's checks that matter for what vigild sends (the unit tests' FakeDatapath has
  // the full set: this one records, it does not judge schedulers).
  int execute(const AddService& op) {
    auto& table = state_->table;
    const int error = table.contains(op.key) ? EEXIST : 0;
    if (error == 0) table[op.key].service = op.service;
    state_->record("NEW_SERVICE", service_fields(op.key, op.service), error);
    return error;
  }
  int execute(const EditService& op) {
    auto it = state_->table.find(op.key);
    const int error = it == state_->table.end() ? ESRCH : 0;
    if (error == 0) it->second.service = op.service;
    state_->record("SET_SERVICE", service_fields(op.key, op.service), error);
    return error;
  }
  int execute(const DeleteService& op) {
    const int error = state_->table.erase(op.key) == 1 ? 0 : ESRCH;
    state_->record("DEL_SERVICE", service_fields(op.key), error);
    return error;
  }
  int execute(const AddDestination& op) {
    auto it = state_->table.find(op.service);
    int error = it == state_->table.end() ? ESRCH : 0;
    if (error == 0 && it->second.destinations.contains(op.key)) error = EEXIST;
    if (error == 0 && op.key.address.family() != op.service.family() &&
        op.destination.method != ForwardingMethod::kTunnel) {
      error = EINVAL;
    }
    if (error == 0) it->second.destinations.emplace(op.key, op.destination);
    state_->record("NEW_DEST", dest_fields(op.service, op.key, op.destination), error);
    return error;
  }
  int execute(const EditDestination& op) {
    auto it = state_->table.find(op.service);
    int error = it == state_->table.end() ? ESRCH : 0;
    if (error == 0) {
      auto dest = it->second.destinations.find(op.key);
      if (dest == it->second.destinations.end()) {
        error = ENOENT;
      } else {
        dest->second = op.destination;
      }
    }
    state_->record("SET_DEST", dest_fields(op.service, op.key, op.destination), error);
    return error;
  }
  int execute(const DeleteDestination& op) {
    auto it = state_->table.find(op.service);
    int error = it == state_->table.end() ? ESRCH : 0;
    if (error == 0 && it->second.destinations.erase(op.key) == 0) error = ENOENT;
    state_->record("DEL_DEST", dest_fields(op.service, op.key), error);
    return error;
  }
  int execute(const Flush&) {
    state_->table.clear();
    state_->record("FLUSH", "", 0);
    return 0;
  }

  std::shared_ptr<State> state_;
};

}  // namespace

daemon::DatapathFactory recording_datapath_factory(const std::string& journal_file) {
  auto state = std::make_shared<State>(journal_file);
  return [state]() -> Result<std::unique_ptr<Datapath>> {
    return std::unique_ptr<Datapath>(std::make_unique<RecordingDatapath>(state));
  };
}

}  // namespace vigil::integration
