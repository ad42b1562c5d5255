// An in-memory IPVS that follows the kernel's rules (net/netfilter/ipvs/ip_vs_ctl.c): adding
// what exists fails with EEXIST, a missing service is ESRCH, a missing destination ENOENT,
// deleting a service drops its destinations, mixed-family destinations need TUN. Tests can
// inject failures per operation and count what was sent, as the benchmark counts netlink
// messages.
#pragma once

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "datapath/datapath.h"

namespace vigil::testing {

class FakeDatapath final : public datapath::Datapath {
 public:
  FakeDatapath() = default;
  explicit FakeDatapath(datapath::Table initial) : table_(std::move(initial)) {}

  // --- Datapath ---
  Result<datapath::KernelInfo> info() override {
    if (info_error_) return *info_error_;
    return info_;
  }

  Result<datapath::Table> dump() override {
    ++dumps_;
    if (on_dump_) on_dump_();
    if (dump_error_) return *dump_error_;
    return table_;
  }

  std::vector<datapath::OpResult> apply(std::span<const datapath::Operation> operations) override {
    std::vector<datapath::OpResult> results;
    results.reserve(operations.size());
    for (const auto& operation : operations) {
      ++sent_[static_cast<size_t>(datapath::kind(operation))];
      journal_.push_back(operation);
      int error = injected_failure(operation);
      if (error == 0) error = std::visit([this](const auto& op) { return execute(op); }, operation);
      if (error != 0) {
        ++failed_;
      } else {
        ++applied_[static_cast<size_t>(datapath::kind(operation))];
      }
      results.push_back(error == 0 ? datapath::OpResult{}
                                   : datapath::OpResult{error, std::strerror(error)});
    }
    return results;
  }

  Result<std::vector<datapath::SyncDaemonConfig>> sync_daemons() override { return daemons_; }

  Status start_sync_daemon(const datapath::SyncDaemonConfig& config) override {
    if (config.interface.empty()) return Error{std::strerror(EINVAL)};
    for (const auto& running : daemons_) {
      if (running.state == config.state) return Error{std::strerror(EEXIST)};
    }
    auto effective = config;
    // The kernel reports the values it chose: payload from a 1500-byte MTU, default group.
    if (effective.max_length == 0) effective.max_length = 1472;
    if (!effective.group) effective.group = IpAddress::v4(0xe0000051);  // 224.0.0.81
    daemons_.push_back(std::move(effective));
    return {};
  }

  Status stop_sync_daemon(datapath::SyncDaemonState state) override {
    for (auto it = daemons_.begin(); it != daemons_.end(); ++it) {
      if (it->state == state) {
        daemons_.erase(it);
        return {};
      }
    }
    return Error{std::strerror(ESRCH)};
  }

  Result<datapath::Timeouts> timeouts() override { return timeouts_; }

  Status set_timeouts(const datapath::Timeouts& timeouts) override {
    if (timeouts.tcp.count() != 0) timeouts_.tcp = timeouts.tcp;
    if (timeouts.tcp_fin.count() != 0) timeouts_.tcp_fin = timeouts.tcp_fin;
    if (timeouts.udp.count() != 0) timeouts_.udp = timeouts.udp;
    return {};
  }

  // --- test controls ---
  // The kernel's state, to inspect or to change "behind vigil's back" (like ipvsadm by hand).
  datapath::Table& table() { return table_; }
  [[nodiscard]] const datapath::Table& table() const { return table_; }

  void set_info(datapath::KernelInfo info) { info_ = info; }
  void fail_info(std::optional<Error> error) { info_error_ = std::move(error); }
  void fail_dump(std::optional<Error> error) { dump_error_ = std::move(error); }
  // Runs inside every dump() (e.g. to let virtual time pass, as a slow dump does).
  void on_dump(std::function<void()> hook) { on_dump_ = std::move(hook); }

  // The next `times` operations equal to `operation` fail with `error` and change nothing.
  void fail_operation(const datapath::Operation& operation, int error, size_t times = 1) {
    fail_matching([operation](const datapath::Operation& op) { return op == operation; }, error,
                  times);
  }
  // The next `times` operations matching `predicate` fail with `error` and change nothing.
  void fail_matching(std::function<bool(const datapath::Operation&)> predicate, int error,
                     size_t times = std::numeric_limits<size_t>::max()) {
    failures_.push_back({std::move(predicate), error, times});
  }

  // Operations received (failed ones included), by kind and in total.
  [[nodiscard]] size_t sent(datapath::OperationKind kind) const {
    return sent_[static_cast<size_t>(kind)];
  }
  [[nodiscard]] size_t sent() const {
    size_t total = 0;
    for (size_t count : sent_)
      total += count;
    return total;
  }
  [[nodiscard]] size_t failed() const { return failed_; }
  // Operations that succeeded and changed the table, by kind.
  [[nodiscard]] size_t applied(datapath::OperationKind kind) const {
    return applied_[static_cast<size_t>(kind)];
  }
  [[nodiscard]] size_t dumps() const { return dumps_; }
  // Every operation received, in order.
  [[nodiscard]] const std::vector<datapath::Operation>& journal() const { return journal_; }
  void reset_counts() {
    sent_ = {};
    applied_ = {};
    failed_ = 0;
    dumps_ = 0;
    journal_.clear();
  }

 private:
  struct Failure {
    std::function<bool(const datapath::Operation&)> matches;
    int error;
    size_t remaining;
  };

  int injected_failure(const datapath::Operation& operation) {
    for (auto& failure : failures_) {
      if (failure.remaining > 0 && failure.matches(operation)) {
        --failure.remaining;
        return failure.error;
      }
    }
    return 0;
  }

  static bool known_scheduler(const std::string& name) {
    static const std::array<const char*, 14> kSchedulers = {"rr",    "wrr", "lc", "wlc", "lblc",
                                                            "lblcr", "dh",  "sh", "sed", "nq",
                                                            "fo",    "ovf", "mh", "twos"};
    for (const char* known : kSchedulers) {
      if (name == known) return true;
    }
    return false;
  }

  // ip_vs_add_service / ip_vs_edit_service checks.
  static int check_service(const datapath::ServiceKey& key, const datapath::Service& service) {
    if (!known_scheduler(service.scheduler)) return ENOENT;
    if (!service.persistence_engine.empty() && service.persistence_engine != "sip") return ENOENT;
    if (key.family() == AddressFamily::kIpv6) {
      if (service.netmask_prefix < 1 || service.netmask_prefix > 128) return EINVAL;
    } else if (service.netmask_prefix > 32) {
      return EINVAL;
    }
    return 0;
  }

  // ip_vs_genl_set_cmd / ip_vs_add_dest / ip_vs_edit_dest checks.
  static int check_destination(const datapath::ServiceKey& service,
                               const datapath::DestinationKey& key,
                               const datapath::Destination& destination) {
    if (key.address.family() != service.family() &&
        destination.method != datapath::ForwardingMethod::kTunnel) {
      return EINVAL;
    }
    if (destination.weight < 0) return ERANGE;
    if (destination.lower_threshold > destination.upper_threshold) return ERANGE;
    if (destination.tunnel_type == datapath::TunnelType::kGue && destination.tunnel_port == 0) {
      return EINVAL;
    }
    return 0;
  }

  int execute(const datapath::AddService& op) {
    if (table_.contains(op.key)) return EEXIST;
    if (int error = check_service(op.key, op.service); error != 0) return error;
    table_[op.key].service = op.service;
    return 0;
  }
  int execute(const datapath::EditService& op) {
    auto it = table_.find(op.key);
    if (it == table_.end()) return ESRCH;
    if (int error = check_service(op.key, op.service); error != 0) return error;
    it->second.service = op.service;
    return 0;
  }
  int execute(const datapath::DeleteService& op) { return table_.erase(op.key) == 1 ? 0 : ESRCH; }
  int execute(const datapath::AddDestination& op) {
    auto it = table_.find(op.service);
    if (it == table_.end()) return ESRCH;
    if (it->second.destinations.contains(op.key)) return EEXIST;
    if (int error = check_destination(op.service, op.key, op.destination); error != 0) {
      return error;
    }
    it->second.destinations.emplace(op.key, op.destination);
    it->second.destination_stats.emplace(op.key, datapath::DestinationStats{});
    return 0;
  }
  int execute(const datapath::EditDestination& op) {
    auto it = table_.find(op.service);
    if (it == table_.end()) return ESRCH;
    auto dest = it->second.destinations.find(op.key);
    if (dest == it->second.destinations.end()) return ENOENT;
    if (int error = check_destination(op.service, op.key, op.destination); error != 0) {
      return error;
    }
    dest->second = op.destination;
    return 0;
  }
  int execute(const datapath::DeleteDestination& op) {
    auto it = table_.find(op.service);
    if (it == table_.end()) return ESRCH;
    if (it->second.destinations.erase(op.key) == 0) return ENOENT;
    it->second.destination_stats.erase(op.key);
    return 0;
  }
  int execute(const datapath::Flush&) {
    table_.clear();
    return 0;
  }

  datapath::Table table_;
  datapath::KernelInfo info_{.version = 0x010201, .connection_table_size = 4096};
  std::optional<Error> info_error_;
  std::optional<Error> dump_error_;
  std::function<void()> on_dump_;
  std::vector<datapath::SyncDaemonConfig> daemons_;
  // The kernel's defaults (ip_vs_proto_tcp.c, ip_vs_proto_udp.c).
  datapath::Timeouts timeouts_{.tcp = std::chrono::seconds(900),
                               .tcp_fin = std::chrono::seconds(120),
                               .udp = std::chrono::seconds(300)};
  std::vector<Failure> failures_;
  std::array<size_t, datapath::kOperationKinds> sent_{};
  std::array<size_t, datapath::kOperationKinds> applied_{};
  size_t failed_ = 0;
  size_t dumps_ = 0;
  std::vector<datapath::Operation> journal_;
};

}  // namespace vigil::testing
