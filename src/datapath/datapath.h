// The Datapath: the one interface behind which vigil reads and programs the kernel's IPVS
// tables. The production implementation speaks generic netlink (IpvsNetlinkDatapath); tests use
// FakeDatapath (tests/fakes/fake_datapath.h).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "common/result.h"
#include "datapath/model.h"

namespace vigil::datapath {

// One change to the tables; each is one netlink message (IPVS_CMD_*).
struct AddService {  // NEW_SERVICE
  ServiceKey key;
  Service service;
  bool operator==(const AddService&) const = default;
};
struct EditService {  // SET_SERVICE
  ServiceKey key;
  Service service;
  bool operator==(const EditService&) const = default;
};
struct DeleteService {  // DEL_SERVICE, which also drops the service's destinations
  ServiceKey key;
  bool operator==(const DeleteService&) const = default;
};
struct AddDestination {  // NEW_DEST
  ServiceKey service;
  DestinationKey key;
  Destination destination;
  bool operator==(const AddDestination&) const = default;
};
struct EditDestination {  // SET_DEST
  ServiceKey service;
  DestinationKey key;
  Destination destination;
  bool operator==(const EditDestination&) const = default;
};
struct DeleteDestination {  // DEL_DEST
  ServiceKey service;
  DestinationKey key;
  bool operator==(const DeleteDestination&) const = default;
};
struct Flush {  // FLUSH: every service and destination, owned or not
  bool operator==(const Flush&) const = default;
};

using Operation = std::variant<AddService, EditService, DeleteService, AddDestination,
                               EditDestination, DeleteDestination, Flush>;

// In the order of Operation's alternatives, so kind(op) is op.index().
enum class OperationKind : uint8_t {
  kAddService,
  kEditService,
  kDeleteService,
  kAddDestination,
  kEditDestination,
  kDeleteDestination,
  kFlush,
};
inline constexpr size_t kOperationKinds = std::variant_size_v<Operation>;

inline OperationKind kind(const Operation& operation) {
  return static_cast<OperationKind>(operation.index());
}

// For logs: "add service TCP 10.0.0.1:80 sched rr",
// "edit dest TCP 10.0.0.1:80 -> 192.168.1.2:80 masq weight 3", "flush".
std::string to_string(const Operation& operation);
std::string to_string(OperationKind kind);

// The outcome of one operation: 0 or the kernel's errno (EEXIST, ENOENT, ESRCH, ...).
struct OpResult {
  int error = 0;
  std::string message;  // empty on success
  [[nodiscard]] bool ok() const { return error == 0; }
};

class Datapath {
 public:
  virtual ~Datapath() = default;

  // GET_INFO: fails when IPVS is not available.
  virtual Result<KernelInfo> info() = 0;

  // Every service with its destinations, attributes and counters.
  virtual Result<Table> dump() = 0;

  // Applies `operations` in order. One failure never stops the others: result i belongs to
  // operations[i], and the result has exactly operations.size() entries.
  virtual std::vector<OpResult> apply(std::span<const Operation> operations) = 0;

  // The connection-sync daemons running (at most one master and one backup).
  virtual Result<std::vector<SyncDaemonConfig>> sync_daemons() = 0;
  virtual Status start_sync_daemon(const SyncDaemonConfig& config) = 0;
  virtual Status stop_sync_daemon(SyncDaemonState state) = 0;

  virtual Result<Timeouts> timeouts() = 0;
  // Zero fields leave the kernel's value unchanged.
  virtual Status set_timeouts(const Timeouts& timeouts) = 0;
};

}  // namespace vigil::datapath
