#include "datapath/ipvs_netlink.h"

#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <utility>

#include "common/log.h"
#include "datapath/ipvs_messages.h"

namespace vigil::datapath {
namespace {

constexpr int kDumpAttempts = 3;
// At most this many failed operations are logged one by one per apply(); a summary follows.
constexpr size_t kLoggedFailures = 20;

std::shared_ptr<spdlog::logger> logger() {
  return log::get("ipvs");
}

using Ack = ipvs::Acknowledgement;

std::string describe(const Ack& ack) {
  std::string text = std::strerror(ack.error);
  if (!ack.message.empty()) text += " (" + ack.message + ")";
  return text;
}

// The kernel's errno for an operation, with what it means for IPVS where strerror misleads.
std::string explain(const Operation& operation, const Ack& ack) {
  std::string text = describe(ack);
  const auto operation_kind = kind(operation);
  const bool service_change =
      operation_kind == OperationKind::kAddService || operation_kind == OperationKind::kEditService;
  if (service_change && ack.error == ENOENT) {
    text += ": no such scheduler or persistence engine module";
  } else if (ack.error == ESRCH) {
    text += ": no such service";
  } else if (ack.error == EEXIST) {
    text += ": already in the table";
  }
  return text;
}

}  // namespace

struct IpvsNetlinkDatapath::Socket {
  nl_sock* sock = nullptr;
  int family = 0;

  ~Socket() {
    if (sock != nullptr) nl_socket_free(sock);
  }
};

IpvsNetlinkDatapath::IpvsNetlinkDatapath(Options options, std::unique_ptr<Socket> socket)
    : options_(std::move(options)), socket_(std::move(socket)) {}

IpvsNetlinkDatapath::~IpvsNetlinkDatapath() = default;

Result<std::unique_ptr<IpvsNetlinkDatapath>> IpvsNetlinkDatapath::open(const Options& options) {
  auto socket = std::make_unique<Socket>();
  socket->sock = nl_socket_alloc();
  if (socket->sock == nullptr) return Error{"cannot allocate a netlink socket"};
  if (int error = genl_connect(socket->sock); error < 0) {
    return Error{std::string("cannot open a generic netlink socket: ") + nl_geterror(error)};
  }
  nl_socket_disable_auto_ack(socket->sock);  // each request states its own flags
  nl_socket_enable_msg_peek(socket->sock);   // dump replies may exceed any fixed buffer
  const int fd = nl_socket_get_fd(socket->sock);
  // Big buffers so a full batch of requests and its replies fit; the FORCE variants (root)
  // exceed net.core.rmem_max, the plain ones are the fallback.
  const int bytes = options.socket_buffer_bytes;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) != 0) {
    nl_socket_set_buffer_size(socket->sock, bytes, bytes);
  }
  const int on = 1;
  // Errors without the echoed request (small), with the kernel's explanation when it has one.
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on);
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on);

  socket->family = genl_ctrl_resolve(socket->sock, IPVS_GENL_NAME);
  if (socket->family < 0) {
    logger()->error("[{}] IPVS is not available in this kernel: load the ip_vs module",
                    options.name);
    return Error{"IPVS is not available in this kernel: load the ip_vs module"};
  }
  std::unique_ptr<IpvsNetlinkDatapath> datapath(
      new IpvsNetlinkDatapath(options, std::move(socket)));
  auto info = datapath->info();
  if (!info) return info.error();
  logger()->info("[{}] kernel IPVS {} (connection table size {})", options.name,
                 info->version_string(), info->connection_table_size);
  return datapath;
}

uint32_t IpvsNetlinkDatapath::next_sequence() {
  if (++sequence_ == 0) ++sequence_;  // 0 is libnl's NL_AUTO_SEQ
  return sequence_;
}

Status IpvsNetlinkDatapath::request(const std::string& what, nl_msg* message,
                                    const ReplyHandler& on_reply) {
  const uint32_t sequence = nlmsg_hdr(message)->nlmsg_seq;
  ++counters_.requests;
  if (int error = nl_send_auto(socket_->sock, message); error < 0) {
    return Error{what + ": cannot send: " + nl_geterror(error)};
  }
  Status handler_status;
  const int fd = nl_socket_get_fd(socket_->sock);
  for (;;) {
    pollfd readable{.fd = fd, .events = POLLIN};
    const int ready = poll(&readable, 1, static_cast<int>(options_.reply_timeout.count()));
    if (ready == 0) return Error{what + ": no reply from the kernel"};
    if (ready < 0) {
      if (errno == EINTR) continue;
      return Error{what + ": poll: " + std::strerror(errno)};
    }
    sockaddr_nl peer{};
    unsigned char* buffer = nullptr;
    const int length = nl_recv(socket_->sock, &peer, &buffer, nullptr);
    if (length < 0) return Error{what + ": receive: " + nl_geterror(length)};
    std::unique_ptr<unsigned char, decltype(&std::free)> owned(buffer, &std::free);
    auto* header = reinterpret_cast<nlmsghdr*>(buffer);
    int remaining = length;
    for (; nlmsg_ok(header, remaining); header = nlmsg_next(header, &remaining)) {
      // Replies to an earlier request that timed out are not ours.
      if (header->nlmsg_seq != sequence) continue;
      if ((header->nlmsg_flags & NLM_F_DUMP_INTR) != 0) {
        return Error{what + ": interrupted: the table changed during the dump"};
      }
      if (header->nlmsg_type == NLMSG_ERROR) {
        const Ack ack = ipvs::parse_acknowledgement(header);
        if (ack.error != 0) return Error{what + ": " + describe(ack)};
        return handler_status;
      }
      if (header->nlmsg_type == NLMSG_DONE) {
        int error = 0;
        if (header->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
          std::memcpy(&error, NLMSG_DATA(header), sizeof error);
        }
        if (error != 0) return Error{what + ": " + std::strerror(-error)};
        return handler_status;
      }
      if (header->nlmsg_type < NLMSG_MIN_TYPE) continue;  // NOOP, OVERRUN
      if (handler_status.ok()) {
        if (auto status = on_reply(header); !status) {
          handler_status = Error{what + ": " + status.error().message};
        }
      }
    }
  }
}

Result<KernelInfo> IpvsNetlinkDatapath::info() {
  auto message = ipvs::build_get_info(
      {.family = socket_->family, .sequence = next_sequence(), .flags = NLM_F_ACK});
  std::optional<KernelInfo> info;
  auto status = request("get info", message.get(), [&](const nlmsghdr* header) -> Status {
    auto parsed = ipvs::parse_info(header);
    if (!parsed) return parsed.error();
    info = *parsed;
    return {};
  });
  if (!status) return status.error();
  if (!info) return Error{"get info: the kernel sent no info"};
  return *info;
}

Result<Table> IpvsNetlinkDatapath::dump() {
  std::string last_error;
  for (int attempt = 0; attempt < kDumpAttempts; ++attempt) {
    Table table;
    ++counters_.dumps;
    auto services = ipvs::build_get_services(
        {.family = socket_->family, .sequence = next_sequence(), .flags = NLM_F_DUMP});
    auto status = request("dump services", services.get(), [&](const nlmsghdr* header) -> Status {
      auto parsed = ipvs::parse_service(header);
      if (!parsed) {
        // The kernel sent something this model cannot hold: skipped, so it stays foreign.
        logger()->warn("[{}] skipping a service in the dump: {}", options_.name,
                       parsed.error().message);
        return {};
      }
      ServiceEntry& entry = table[parsed->key];
      entry.service = std::move(parsed->service);
      entry.stats = parsed->stats;
      return {};
    });
    // Then one GET_DEST dump per service: the kernel has no dump of every destination, and a
    // socket runs one dump at a time, so these cannot be pipelined.
    for (auto it = table.begin(); status.ok() && it != table.end(); ++it) {
      const ServiceKey& key = it->first;
      ServiceEntry& entry = it->second;
      ++counters_.dumps;
      auto destinations = ipvs::build_get_destinations(
          {.family = socket_->family, .sequence = next_sequence(), .flags = NLM_F_DUMP}, key);
      status = request("dump destinations of " + to_string(key), destinations.get(),
                       [&](const nlmsghdr* header) -> Status {
                         auto parsed = ipvs::parse_destination(header, key.family());
                         if (!parsed) {
                           logger()->warn("[{}] skipping a destination of {} in the dump: {}",
                                          options_.name, to_string(key), parsed.error().message);
                           return {};
                         }
                         entry.destinations[parsed->key] = parsed->destination;
                         entry.destination_stats[parsed->key] = parsed->stats;
                         return {};
                       });
    }
    if (status.ok()) return table;
    // A service deleted, or the table changed, between the dumps: read it again.
    last_error = status.error().message;
    logger()->debug("[{}] dump attempt {} failed: {}", options_.name, attempt + 1, last_error);
  }
  logger()->warn("[{}] cannot dump the IPVS table: {}", options_.name, last_error);
  return Error{last_error};
}

std::vector<OpResult> IpvsNetlinkDatapath::apply(std::span<const Operation> operations) {
  std::vector<OpResult> results(operations.size());
  const size_t window = std::max<size_t>(1, options_.window);
  for (size_t first = 0; first < operations.size(); first += window) {
    apply_batch(operations, first, std::min(window, operations.size() - first), results);
  }
  size_t failures = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].ok()) continue;
    ++failures;
    if (failures <= kLoggedFailures) {
      logger()->warn("[{}] {} failed: {}", options_.name, to_string(operations[i]),
                     results[i].message);
    }
  }
  counters_.failed_operations += failures;
  if (failures > kLoggedFailures) {
    logger()->warn("[{}] {} of {} operations failed ({} not shown)", options_.name, failures,
                   operations.size(), failures - kLoggedFailures);
  }
  return results;
}

void IpvsNetlinkDatapath::apply_batch(std::span<const Operation> operations, size_t first,
                                      size_t count, std::vector<OpResult>& results) {
  // Build every request; those the kernel would reject anyway fail here without being sent.
  std::vector<ipvs::Message> messages(count);
  std::vector<size_t> index_of_slot;  // slot k (sequence base + k) -> operation index
  index_of_slot.reserve(count);
  if (sequence_ > UINT32_MAX - count - 1) sequence_ = 0;  // keep this batch's numbers contiguous
  const uint32_t base = sequence_ + 1;
  for (size_t k = 0; k < count; ++k) {
    const size_t index = first + k;
    auto built = ipvs::build_operation(
        {.family = socket_->family, .sequence = base + static_cast<uint32_t>(index_of_slot.size())},
        operations[index]);
    if (!built) {
      results[index] = {EINVAL, built.error().message};
      continue;
    }
    messages[k] = std::move(*built);
    index_of_slot.push_back(index);
  }
  if (index_of_slot.empty()) return;
  sequence_ = base + static_cast<uint32_t>(index_of_slot.size()) - 1;
  const uint32_t last_sequence = sequence_;

  // One datagram: every request, the last asking for the acknowledgement that closes the batch.
  std::vector<unsigned char> datagram;
  for (auto& message : messages) {
    if (!message) continue;
    nlmsghdr* header = nlmsg_hdr(message.get());
    if (header->nlmsg_seq == last_sequence) header->nlmsg_flags |= NLM_F_ACK;
    nl_complete_msg(socket_->sock, message.get());
    const auto* bytes = reinterpret_cast<const unsigned char*>(header);
    datagram.insert(datagram.end(), bytes, bytes + NLMSG_ALIGN(header->nlmsg_len));
  }
  counters_.requests += index_of_slot.size();
  ++counters_.batches;
  std::vector<bool> answered(index_of_slot.size(), false);
  auto fail_unanswered = [&](int error, const std::string& why) {
    for (size_t slot = 0; slot < index_of_slot.size(); ++slot) {
      if (!answered[slot]) results[index_of_slot[slot]] = {error, why};
    }
  };
  if (int error = nl_sendto(socket_->sock, datagram.data(), datagram.size()); error < 0) {
    fail_unanswered(EIO, std::string("cannot send: ") + nl_geterror(error));
    return;
  }

  const int fd = nl_socket_get_fd(socket_->sock);
  bool lost_replies = false;
  for (;;) {
    pollfd readable{.fd = fd, .events = POLLIN};
    const int ready = poll(&readable, 1, static_cast<int>(options_.reply_timeout.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      fail_unanswered(ETIMEDOUT, "no acknowledgement from the kernel: outcome unknown");
      return;
    }
    sockaddr_nl peer{};
    unsigned char* buffer = nullptr;
    const int length = nl_recv(socket_->sock, &peer, &buffer, nullptr);
    if (length == -NLE_NOMEM) {
      // ENOBUFS: the kernel dropped replies for lack of room. Keep reading up to the closing
      // acknowledgement; operations without an answer may then have failed silently.
      lost_replies = true;
      continue;
    }
    if (length < 0) {
      fail_unanswered(EIO, std::string("cannot receive: ") + nl_geterror(length));
      return;
    }
    std::unique_ptr<unsigned char, decltype(&std::free)> owned(buffer, &std::free);
    auto* header = reinterpret_cast<nlmsghdr*>(buffer);
    int remaining = length;
    bool closed = false;
    for (; nlmsg_ok(header, remaining); header = nlmsg_next(header, &remaining)) {
      if (header->nlmsg_type != NLMSG_ERROR) continue;
      const uint32_t slot = header->nlmsg_seq - base;
      if (slot >= index_of_slot.size()) continue;  // a late reply to an earlier batch
      const Ack ack = ipvs::parse_acknowledgement(header);
      const size_t index = index_of_slot[slot];
      answered[slot] = true;
      if (ack.error != 0) results[index] = {ack.error, explain(operations[index], ack)};
      if (header->nlmsg_seq == last_sequence) closed = true;
    }
    if (closed) break;
  }
  if (lost_replies) {
    // Unanswered requests succeeded unless their error was among the dropped replies.
    logger()->warn("[{}] the kernel dropped acknowledgements: re-dump to learn the outcome",
                   options_.name);
    fail_unanswered(ENOBUFS, "acknowledgement lost: outcome unknown");
  }
}

Result<std::vector<SyncDaemonConfig>> IpvsNetlinkDatapath::sync_daemons() {
  auto message = ipvs::build_get_daemons(
      {.family = socket_->family, .sequence = next_sequence(), .flags = NLM_F_DUMP});
  std::vector<SyncDaemonConfig> daemons;
  auto status = request("get sync daemons", message.get(), [&](const nlmsghdr* header) -> Status {
    auto parsed = ipvs::parse_daemon(header);
    if (!parsed) return parsed.error();
    daemons.push_back(std::move(*parsed));
    return {};
  });
  if (!status) return status.error();
  return daemons;
}

Status IpvsNetlinkDatapath::start_sync_daemon(const SyncDaemonConfig& config) {
  auto message = ipvs::build_new_daemon(
      {.family = socket_->family, .sequence = next_sequence(), .flags = NLM_F_ACK}, config);
  if (!message) return message.error();
  auto status = request("start " + to_string(config.state) + " sync daemon", message->get(),
                        [](const nlmsghdr*) { return Status{}; });
  if (!status) {
    logger()->warn("[{}] {}", options_.name, status.error().message);
    return status;
  }
  logger()->info("[{}] started {} sync daemon on {} (sync id {})", options_.name,
                 to_string(config.state), config.interface, config.sync_id);
  return {};
}

Status IpvsNetlinkDatapath::stop_sync_daemon(SyncDaemonState state) {
  auto message = ipvs::build_del_daemon(
      {.family = socket_->family, .sequence = next_sequence(), .flags = NLM_F_ACK}, state);
  auto status = request("stop " + to_string(state) + " sync daemon", message.get(),
                        [](const nlmsghdr*) { return Status{}; });
  if (!status) {
    logger()->warn("[{}] {}", options_.name, status.error().message);
    return status;
  }
  logger()->info("[{}] stopped {} sync daemon", options_.name, to_string(state));
  return {};
}

Result<Timeouts> IpvsNetlinkDatapath::timeouts() {
  auto message = ipvs::build_get_config(
      {.family = socket_->family, .sequence = next_sequence(), .flags = NLM_F_ACK});
  std::optional<Timeouts> timeouts;
  auto status = request("get timeouts", message.get(), [&](const nlmsghdr* header) -> Status {
    auto parsed = ipvs::parse_config(header);
    if (!parsed) return parsed.error();
    timeouts = *parsed;
    return {};
  });
  if (!status) return status.error();
  if (!timeouts) return Error{"get timeouts: the kernel sent no reply"};
  return *timeouts;
}

Status IpvsNetlinkDatapath::set_timeouts(const Timeouts& timeouts) {
  auto message = ipvs::build_set_config(
      {.family = socket_->family, .sequence = next_sequence(), .flags = NLM_F_ACK}, timeouts);
  auto status = request("set timeouts", message.get(), [](const nlmsghdr*) { return Status{}; });
  if (!status) logger()->warn("[{}] {}", options_.name, status.error().message);
  return status;
}

}  // namespace vigil::datapath
