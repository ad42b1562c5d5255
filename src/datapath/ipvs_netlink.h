// IpvsNetlinkDatapath: the Datapath that programs the kernel's IPVS tables over generic netlink
// (family "IPVS") with libnl-genl-3.
//
// apply() pipelines: it packs up to `window` requests into one sendmsg(), so the kernel runs
// them back to back (netlink_rcv_skb processes every message of a datagram, and answers each
// failure with an error carrying that message's sequence number, whatever the others did). Only
// the last request of a batch asks for an acknowledgement: it arrives after the errors of the
// requests before it, so it closes the batch. Errors are mapped back to operations by sequence
// number; one failure never stops the others.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "datapath/datapath.h"

struct nl_msg;
struct nl_sock;
struct nlmsghdr;

namespace vigil::datapath {

class IpvsNetlinkDatapath final : public Datapath {
 public:
  struct Options {
    std::string name = "kernel";  // the instance name in log lines
    size_t window = 256;          // requests per sendmsg() (in flight at once)
    std::chrono::milliseconds reply_timeout{10000};
    int socket_buffer_bytes = 8 << 20;
  };

  // What the adapter sent, for benchmarks and status.
  struct Counters {
    uint64_t requests = 0;  // netlink messages sent (operations, dumps, queries)
    uint64_t batches = 0;   // sendmsg() calls carrying operations
    uint64_t dumps = 0;     // dump requests (one per GET_SERVICE and one per service's GET_DEST)
    uint64_t failed_operations = 0;
  };

  // Connects, resolves the "IPVS" family and asks GET_INFO (logging the kernel's IPVS version).
  // Fails with "IPVS is not available in this kernel: load the ip_vs module" when there is none.
  static Result<std::unique_ptr<IpvsNetlinkDatapath>> open(const Options& options);
  static Result<std::unique_ptr<IpvsNetlinkDatapath>> open() { return open(Options{}); }

  ~IpvsNetlinkDatapath() override;
  IpvsNetlinkDatapath(const IpvsNetlinkDatapath&) = delete;
  IpvsNetlinkDatapath& operator=(const IpvsNetlinkDatapath&) = delete;

  Result<KernelInfo> info() override;
  Result<Table> dump() override;
  std::vector<OpResult> apply(std::span<const Operation> operations) override;
  Result<std::vector<SyncDaemonConfig>> sync_daemons() override;
  Status start_sync_daemon(const SyncDaemonConfig& config) override;
  Status stop_sync_daemon(SyncDaemonState state) override;
  Result<Timeouts> timeouts() override;
  Status set_timeouts(const Timeouts& timeouts) override;

  [[nodiscard]] const Counters& counters() const { return counters_; }

 private:
  struct Socket;
  IpvsNetlinkDatapath(Options options, std::unique_ptr<Socket> socket);

  uint32_t next_sequence();
  // Sends one request and collects its replies (every message up to the ACK or NLMSG_DONE).
  // A reply handler error ends the request with that error.
  using ReplyHandler = std::function<Status(const nlmsghdr*)>;
  Status request(const std::string& what, nl_msg* message, const ReplyHandler& on_reply);
  // One batch of apply(): operations[first, first + count).
  void apply_batch(std::span<const Operation> operations, size_t first, size_t count,
                   std::vector<OpResult>& results);

  Options options_;
  std::unique_ptr<Socket> socket_;
  uint32_t sequence_ = 0;
  Counters counters_;
};

}  // namespace vigil::datapath
