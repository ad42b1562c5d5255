#include "datapath/ipvs_messages.h"

#include <arpa/inet.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <type_traits>

#include "common/overloaded.h"

namespace vigil::datapath::ipvs {
namespace {

// Names the kernel accepts are NUL-terminated in 16 bytes (IP_VS_SCHEDNAME_MAXLEN and friends).
constexpr size_t kMaxNameLength = IP_VS_SCHEDNAME_MAXLEN - 1;
// The kernel copies addresses into a union nf_inet_addr; ipvsadm always sends all 16 bytes.
constexpr size_t kAddressAttributeLength = 16;

uint16_t af_of(AddressFamily family) {
  return family == AddressFamily::kIpv4 ? AF_INET : AF_INET6;
}

Result<AddressFamily> family_of(uint16_t af) {
  if (af == AF_INET) return AddressFamily::kIpv4;
  if (af == AF_INET6) return AddressFamily::kIpv6;
  return Error{"unknown address family " + std::to_string(af)};
}

Message new_message(const Header& header, uint8_t command) {
  Message message(nlmsg_alloc());
  if (!message) return message;
  genlmsg_put(message.get(), NL_AUTO_PORT, header.sequence, header.family, 0, header.flags, command,
              IPVS_GENL_VERSION);
  return message;
}

void put_address(nl_msg* message, int type, const IpAddress& address) {
  uint8_t bytes[kAddressAttributeLength] = {};
  std::memcpy(bytes, address.bytes(), address.size());
  nla_put(message, type, sizeof bytes, bytes);
}

Status check_name(const std::string& name, const char* what) {
  if (name.size() > kMaxNameLength) {
    return Error{std::string(what) + " name \"" + name + "\" is longer than " +
                 std::to_string(kMaxNameLength) + " characters"};
  }
  return {};
}

// The attributes that identify a service (all a DEL_SERVICE or GET_DEST needs).
void put_service_key(nl_msg* message, const ServiceKey& key) {
  nla_put_u16(message, IPVS_SVC_ATTR_AF, af_of(key.family()));
  if (key.is_fwmark()) {
    nla_put_u32(message, IPVS_SVC_ATTR_FWMARK, key.fwmark);
  } else {
    nla_put_u16(message, IPVS_SVC_ATTR_PROTOCOL, static_cast<uint16_t>(key.protocol));
    put_address(message, IPVS_SVC_ATTR_ADDR, key.address);
    nla_put_u16(message, IPVS_SVC_ATTR_PORT, htons(key.port));
  }
}

Status put_service(nl_msg* message, const ServiceKey& key, const Service* service) {
  nlattr* nest = nla_nest_start(message, IPVS_CMD_ATTR_SERVICE);
  put_service_key(message, key);
  if (service != nullptr) {
    if (auto status = check_name(service->scheduler, "scheduler"); !status) return status;
    if (auto status = check_name(service->persistence_engine, "persistence engine"); !status) {
      return status;
    }
    const uint8_t host = host_prefix(key.family());
    if (service->netmask_prefix > host) {
      return Error{"persistence netmask /" + std::to_string(service->netmask_prefix) +
                   " is longer than the address"};
    }
    nla_put_string(message, IPVS_SVC_ATTR_SCHED_NAME, service->scheduler.c_str());
    // mask ~0: the request states every flag (the kernel keeps its own HASHED bit).
    const ip_vs_flags flags{.flags = service->flags.to_bits(), .mask = ~0U};
    nla_put(message, IPVS_SVC_ATTR_FLAGS, sizeof flags, &flags);
    nla_put_u32(message, IPVS_SVC_ATTR_TIMEOUT,
                static_cast<uint32_t>(service->persistence_timeout.count()));
    // IPv4: a netmask in network byte order; IPv6: the prefix length (ip_vs_ctl.c checks 1..128).
    nla_put_u32(message, IPVS_SVC_ATTR_NETMASK,
                key.family() == AddressFamily::kIpv4
                    ? htonl(ipv4_netmask_from_prefix(service->netmask_prefix))
                    : service->netmask_prefix);
    if (!service->persistence_engine.empty()) {
      nla_put_string(message, IPVS_SVC_ATTR_PE_NAME, service->persistence_engine.c_str());
    }
  }
  nla_nest_end(message, nest);
  return {};
}

void put_destination(nl_msg* message, const DestinationKey& key, const Destination* destination) {
  nlattr* nest = nla_nest_start(message, IPVS_CMD_ATTR_DEST);
  put_address(message, IPVS_DEST_ATTR_ADDR, key.address);
  nla_put_u16(message, IPVS_DEST_ATTR_PORT, htons(key.port));
  nla_put_u16(message, IPVS_DEST_ATTR_ADDR_FAMILY, af_of(key.address.family()));
  if (destination != nullptr) {
    nla_put_u32(message, IPVS_DEST_ATTR_FWD_METHOD, static_cast<uint32_t>(destination->method));
    nla_put_u32(message, IPVS_DEST_ATTR_WEIGHT, static_cast<uint32_t>(destination->weight));
    nla_put_u32(message, IPVS_DEST_ATTR_U_THRESH, destination->upper_threshold);
    nla_put_u32(message, IPVS_DEST_ATTR_L_THRESH, destination->lower_threshold);
    nla_put_u8(message, IPVS_DEST_ATTR_TUN_TYPE, static_cast<uint8_t>(destination->tunnel_type));
    nla_put_u16(message, IPVS_DEST_ATTR_TUN_PORT, htons(destination->tunnel_port));
    nla_put_u16(message, IPVS_DEST_ATTR_TUN_FLAGS, destination->tunnel_flags.to_bits());
  }
  nla_nest_end(message, nest);
}

// --- parsing ----------------------------------------------------------------------------------

nla_policy u8_policy() {
  return {.type = NLA_U8};
}
nla_policy u16_policy() {
  return {.type = NLA_U16};
}
nla_policy u32_policy() {
  return {.type = NLA_U32};
}
nla_policy string_policy() {
  return {.type = NLA_STRING};
}
nla_policy nested_policy() {
  return {.type = NLA_NESTED};
}
nla_policy binary_policy(uint16_t minimum) {
  return {.type = NLA_UNSPEC, .minlen = minimum};
}

struct Policies {
  nla_policy command[IPVS_CMD_ATTR_MAX + 1] = {};
  nla_policy service[IPVS_SVC_ATTR_MAX + 1] = {};
  nla_policy destination[IPVS_DEST_ATTR_MAX + 1] = {};
  nla_policy daemon[IPVS_DAEMON_ATTR_MAX + 1] = {};
  nla_policy stats[IPVS_STATS_ATTR_MAX + 1] = {};
  nla_policy info[IPVS_INFO_ATTR_MAX + 1] = {};

  Policies() {
    command[IPVS_CMD_ATTR_SERVICE] = nested_policy();
    command[IPVS_CMD_ATTR_DEST] = nested_policy();
    command[IPVS_CMD_ATTR_DAEMON] = nested_policy();
    command[IPVS_CMD_ATTR_TIMEOUT_TCP] = u32_policy();
    command[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN] = u32_policy();
    command[IPVS_CMD_ATTR_TIMEOUT_UDP] = u32_policy();

    service[IPVS_SVC_ATTR_AF] = u16_policy();
    service[IPVS_SVC_ATTR_PROTOCOL] = u16_policy();
    service[IPVS_SVC_ATTR_ADDR] = binary_policy(4);
    service[IPVS_SVC_ATTR_PORT] = u16_policy();
    service[IPVS_SVC_ATTR_FWMARK] = u32_policy();
    service[IPVS_SVC_ATTR_SCHED_NAME] = string_policy();
    service[IPVS_SVC_ATTR_FLAGS] = binary_policy(sizeof(ip_vs_flags));
    service[IPVS_SVC_ATTR_TIMEOUT] = u32_policy();
    service[IPVS_SVC_ATTR_NETMASK] = u32_policy();
    service[IPVS_SVC_ATTR_STATS] = nested_policy();
    service[IPVS_SVC_ATTR_PE_NAME] = string_policy();
    service[IPVS_SVC_ATTR_STATS64] = nested_policy();

    destination[IPVS_DEST_ATTR_ADDR] = binary_policy(4);
    destination[IPVS_DEST_ATTR_PORT] = u16_policy();
    destination[IPVS_DEST_ATTR_FWD_METHOD] = u32_policy();
    destination[IPVS_DEST_ATTR_WEIGHT] = u32_policy();
    destination[IPVS_DEST_ATTR_U_THRESH] = u32_policy();
    destination[IPVS_DEST_ATTR_L_THRESH] = u32_policy();
    destination[IPVS_DEST_ATTR_ACTIVE_CONNS] = u32_policy();
    destination[IPVS_DEST_ATTR_INACT_CONNS] = u32_policy();
    destination[IPVS_DEST_ATTR_PERSIST_CONNS] = u32_policy();
    destination[IPVS_DEST_ATTR_STATS] = nested_policy();
    destination[IPVS_DEST_ATTR_ADDR_FAMILY] = u16_policy();
    destination[IPVS_DEST_ATTR_STATS64] = nested_policy();
    destination[IPVS_DEST_ATTR_TUN_TYPE] = u8_policy();
    destination[IPVS_DEST_ATTR_TUN_PORT] = u16_policy();
    destination[IPVS_DEST_ATTR_TUN_FLAGS] = u16_policy();

    daemon[IPVS_DAEMON_ATTR_STATE] = u32_policy();
    daemon[IPVS_DAEMON_ATTR_MCAST_IFN] = string_policy();
    daemon[IPVS_DAEMON_ATTR_SYNC_ID] = u32_policy();
    daemon[IPVS_DAEMON_ATTR_SYNC_MAXLEN] = u16_policy();
    daemon[IPVS_DAEMON_ATTR_MCAST_GROUP] = u32_policy();
    daemon[IPVS_DAEMON_ATTR_MCAST_GROUP6] = binary_policy(16);
    daemon[IPVS_DAEMON_ATTR_MCAST_PORT] = u16_policy();
    daemon[IPVS_DAEMON_ATTR_MCAST_TTL] = u8_policy();

    info[IPVS_INFO_ATTR_VERSION] = u32_policy();
    info[IPVS_INFO_ATTR_CONN_TAB_SIZE] = u32_policy();
    // STATS and STATS64 share attribute numbers but not widths: checked where read.
  }
};

const Policies& policies() {
  static const Policies instance;
  return instance;
}

std::string libnl_error(int error) {
  return nl_geterror(error);
}

// The top-level attributes of a generic netlink message.
Status parse_top(const nlmsghdr* header, nlattr** attributes) {
  const int error = genlmsg_parse(const_cast<nlmsghdr*>(header), 0, attributes, IPVS_CMD_ATTR_MAX,
                                  const_cast<nla_policy*>(policies().command));
  if (error < 0) return Error{"malformed IPVS message: " + libnl_error(error)};
  return {};
}

Status parse_nested(nlattr* nest, int max_type, const nla_policy* policy, nlattr** attributes,
                    const char* what) {
  if (nest == nullptr) return Error{std::string("no ") + what + " attribute"};
  const int error = nla_parse_nested(attributes, max_type, nest, const_cast<nla_policy*>(policy));
  if (error < 0) return Error{std::string("malformed ") + what + ": " + libnl_error(error)};
  return {};
}

// A 32- or 64-bit counter: STATS carries most counters as u32, STATS64 all as u64.
uint64_t counter(nlattr* attribute) {
  if (attribute == nullptr) return 0;
  if (nla_len(attribute) >= 8) return nla_get_u64(attribute);
  if (nla_len(attribute) >= 4) return nla_get_u32(attribute);
  return 0;
}

Stats parse_stats(nlattr* stats64, nlattr* stats32) {
  nlattr* nest = stats64 != nullptr ? stats64 : stats32;
  Stats stats;
  if (nest == nullptr) return stats;
  nlattr* attributes[IPVS_STATS_ATTR_MAX + 1] = {};
  if (nla_parse_nested(attributes, IPVS_STATS_ATTR_MAX, nest, nullptr) < 0) return stats;
  stats.connections = counter(attributes[IPVS_STATS_ATTR_CONNS]);
  stats.packets_in = counter(attributes[IPVS_STATS_ATTR_INPKTS]);
  stats.packets_out = counter(attributes[IPVS_STATS_ATTR_OUTPKTS]);
  stats.bytes_in = counter(attributes[IPVS_STATS_ATTR_INBYTES]);
  stats.bytes_out = counter(attributes[IPVS_STATS_ATTR_OUTBYTES]);
  stats.connections_per_second = counter(attributes[IPVS_STATS_ATTR_CPS]);
  stats.packets_in_per_second = counter(attributes[IPVS_STATS_ATTR_INPPS]);
  stats.packets_out_per_second = counter(attributes[IPVS_STATS_ATTR_OUTPPS]);
  stats.bytes_in_per_second = counter(attributes[IPVS_STATS_ATTR_INBPS]);
  stats.bytes_out_per_second = counter(attributes[IPVS_STATS_ATTR_OUTBPS]);
  return stats;
}

Result<IpAddress> parse_address(nlattr* attribute, AddressFamily family) {
  const size_t needed = family == AddressFamily::kIpv4 ? 4 : 16;
  if (attribute == nullptr) return Error{"no address"};
  if (static_cast<size_t>(nla_len(attribute)) < needed) return Error{"address too short"};
  return IpAddress::from_bytes(family, static_cast<const uint8_t*>(nla_data(attribute)));
}

std::string string_of(nlattr* attribute) {
  if (attribute == nullptr) return {};
  const char* data = static_cast<const char*>(nla_data(attribute));
  return std::string(data, strnlen(data, static_cast<size_t>(nla_len(attribute))));
}

}  // namespace

void MessageDeleter::operator()(nl_msg* message) const {
  nlmsg_free(message);
}

nlmsghdr* header_of(const Message& message) {
  return nlmsg_hdr(message.get());
}

uint8_t prefix_from_ipv4_netmask(uint32_t host_order_mask) {
  uint8_t prefix = 0;
  while (prefix < 32 && (host_order_mask & (0x80000000U >> prefix)) != 0)
    ++prefix;
  const uint32_t contiguous = ipv4_netmask_from_prefix(prefix);
  return contiguous == host_order_mask ? prefix : kNonContiguousNetmask;
}

uint32_t ipv4_netmask_from_prefix(uint8_t prefix) {
  if (prefix == 0) return 0;
  if (prefix >= 32) return 0xffffffffU;
  return ~((1U << (32 - prefix)) - 1);
}

Result<Message> build_operation(const Header& header, const Operation& operation) {
  return std::visit(
      Overloaded{
          [&](const AddService& op) -> Result<Message> {
            Message message = new_message(header, IPVS_CMD_NEW_SERVICE);
            if (auto status = put_service(message.get(), op.key, &op.service); !status) {
              return status.error();
            }
            return message;
          },
          [&](const EditService& op) -> Result<Message> {
            Message message = new_message(header, IPVS_CMD_SET_SERVICE);
            if (auto status = put_service(message.get(), op.key, &op.service); !status) {
              return status.error();
            }
            return message;
          },
          [&](const DeleteService& op) -> Result<Message> {
            Message message = new_message(header, IPVS_CMD_DEL_SERVICE);
            (void)put_service(message.get(), op.key, nullptr);
            return message;
          },
          [&](const AddDestination& op) -> Result<Message> {
            Message message = new_message(header, IPVS_CMD_NEW_DEST);
            (void)put_service(message.get(), op.service, nullptr);
            put_destination(message.get(), op.key, &op.destination);
            return message;
          },
          [&](const EditDestination& op) -> Result<Message> {
            Message message = new_message(header, IPVS_CMD_SET_DEST);
            (void)put_service(message.get(), op.service, nullptr);
            put_destination(message.get(), op.key, &op.destination);
            return message;
          },
          [&](const DeleteDestination& op) -> Result<Message> {
            Message message = new_message(header, IPVS_CMD_DEL_DEST);
            (void)put_service(message.get(), op.service, nullptr);
            put_destination(message.get(), op.key, nullptr);
            return message;
          },
          [&](const Flush&) -> Result<Message> { return new_message(header, IPVS_CMD_FLUSH); },
      },
      operation);
}

Message build_get_info(const Header& header) {
  return new_message(header, IPVS_CMD_GET_INFO);
}

Message build_get_services(const Header& header) {
  return new_message(header, IPVS_CMD_GET_SERVICE);
}

Message build_get_destinations(const Header& header, const ServiceKey& service) {
  Message message = new_message(header, IPVS_CMD_GET_DEST);
  (void)put_service(message.get(), service, nullptr);
  return message;
}

Message build_get_daemons(const Header& header) {
  return new_message(header, IPVS_CMD_GET_DAEMON);
}

Result<Message> build_new_daemon(const Header& header, const SyncDaemonConfig& config) {
  if (config.interface.empty() || config.interface.size() >= IP_VS_IFNAME_MAXLEN) {
    return Error{"sync daemon interface name \"" + config.interface + "\" is empty or too long"};
  }
  Message message = new_message(header, IPVS_CMD_NEW_DAEMON);
  nlattr* nest = nla_nest_start(message.get(), IPVS_CMD_ATTR_DAEMON);
  nla_put_u32(message.get(), IPVS_DAEMON_ATTR_STATE, static_cast<uint32_t>(config.state));
  nla_put_string(message.get(), IPVS_DAEMON_ATTR_MCAST_IFN, config.interface.c_str());
  nla_put_u32(message.get(), IPVS_DAEMON_ATTR_SYNC_ID, config.sync_id);
  if (config.max_length != 0) {
    nla_put_u16(message.get(), IPVS_DAEMON_ATTR_SYNC_MAXLEN, config.max_length);
  }
  if (config.group) {
    if (config.group->is_v4()) {
      uint32_t group;
      std::memcpy(&group, config.group->bytes(), 4);
      nla_put_u32(message.get(), IPVS_DAEMON_ATTR_MCAST_GROUP, group);  // network order
    } else {
      nla_put(message.get(), IPVS_DAEMON_ATTR_MCAST_GROUP6, 16, config.group->bytes());
    }
  }
  // Host byte order: the kernel converts when it binds (ip_vs_sync.c).
  nla_put_u16(message.get(), IPVS_DAEMON_ATTR_MCAST_PORT, config.port);
  nla_put_u8(message.get(), IPVS_DAEMON_ATTR_MCAST_TTL, config.ttl);
  nla_nest_end(message.get(), nest);
  return message;
}

Message build_del_daemon(const Header& header, SyncDaemonState state) {
  Message message = new_message(header, IPVS_CMD_DEL_DAEMON);
  nlattr* nest = nla_nest_start(message.get(), IPVS_CMD_ATTR_DAEMON);
  nla_put_u32(message.get(), IPVS_DAEMON_ATTR_STATE, static_cast<uint32_t>(state));
  nla_nest_end(message.get(), nest);
  return message;
}

Message build_get_config(const Header& header) {
  return new_message(header, IPVS_CMD_GET_CONFIG);
}

Message build_set_config(const Header& header, const Timeouts& timeouts) {
  Message message = new_message(header, IPVS_CMD_SET_CONFIG);
  // Zero leaves the kernel's value as it is (ip_vs_set_timeout skips zero fields).
  nla_put_u32(message.get(), IPVS_CMD_ATTR_TIMEOUT_TCP,
              static_cast<uint32_t>(timeouts.tcp.count()));
  nla_put_u32(message.get(), IPVS_CMD_ATTR_TIMEOUT_TCP_FIN,
              static_cast<uint32_t>(timeouts.tcp_fin.count()));
  nla_put_u32(message.get(), IPVS_CMD_ATTR_TIMEOUT_UDP,
              static_cast<uint32_t>(timeouts.udp.count()));
  return message;
}

Result<ParsedService> parse_service(const nlmsghdr* header) {
  nlattr* top[IPVS_CMD_ATTR_MAX + 1] = {};
  if (auto status = parse_top(header, top); !status) return status.error();
  nlattr* a[IPVS_SVC_ATTR_MAX + 1] = {};
  if (auto status = parse_nested(top[IPVS_CMD_ATTR_SERVICE], IPVS_SVC_ATTR_MAX, policies().service,
                                 a, "service");
      !status) {
    return status.error();
  }
  if (a[IPVS_SVC_ATTR_AF] == nullptr) return Error{"service without address family"};
  auto family = family_of(nla_get_u16(a[IPVS_SVC_ATTR_AF]));
  if (!family) return family.error();

  ParsedService parsed;
  if (a[IPVS_SVC_ATTR_FWMARK] != nullptr && nla_get_u32(a[IPVS_SVC_ATTR_FWMARK]) != 0) {
    parsed.key = ServiceKey::firewall_mark(nla_get_u32(a[IPVS_SVC_ATTR_FWMARK]), *family);
  } else {
    if (a[IPVS_SVC_ATTR_PROTOCOL] == nullptr || a[IPVS_SVC_ATTR_PORT] == nullptr) {
      return Error{"service without protocol or port"};
    }
    const uint16_t protocol = nla_get_u16(a[IPVS_SVC_ATTR_PROTOCOL]);
    if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP && protocol != IPPROTO_SCTP) {
      return Error{"service with unknown protocol " + std::to_string(protocol)};
    }
    auto address = parse_address(a[IPVS_SVC_ATTR_ADDR], *family);
    if (!address) return Error{"service: " + address.error().message};
    parsed.key = {.protocol = static_cast<Protocol>(protocol),
                  .address = *address,
                  .port = ntohs(nla_get_u16(a[IPVS_SVC_ATTR_PORT]))};
  }

  parsed.service.scheduler = string_of(a[IPVS_SVC_ATTR_SCHED_NAME]);
  if (a[IPVS_SVC_ATTR_FLAGS] != nullptr) {
    ip_vs_flags flags{};
    std::memcpy(&flags, nla_data(a[IPVS_SVC_ATTR_FLAGS]), sizeof flags);
    parsed.service.flags = ServiceFlags::from_bits(flags.flags & ~IP_VS_SVC_F_HASHED);
  }
  if (a[IPVS_SVC_ATTR_TIMEOUT] != nullptr) {
    parsed.service.persistence_timeout =
        std::chrono::seconds(nla_get_u32(a[IPVS_SVC_ATTR_TIMEOUT]));
  }
  parsed.service.netmask_prefix = host_prefix(*family);
  if (a[IPVS_SVC_ATTR_NETMASK] != nullptr) {
    const uint32_t netmask = nla_get_u32(a[IPVS_SVC_ATTR_NETMASK]);
    if (*family == AddressFamily::kIpv4) {
      parsed.service.netmask_prefix = prefix_from_ipv4_netmask(ntohl(netmask));
    } else {
      parsed.service.netmask_prefix =
          netmask <= 128 ? static_cast<uint8_t>(netmask) : kNonContiguousNetmask;
    }
  }
  parsed.service.persistence_engine = string_of(a[IPVS_SVC_ATTR_PE_NAME]);
  parsed.stats = parse_stats(a[IPVS_SVC_ATTR_STATS64], a[IPVS_SVC_ATTR_STATS]);
  return parsed;
}

Result<ParsedDestination> parse_destination(const nlmsghdr* header, AddressFamily service_family) {
  nlattr* top[IPVS_CMD_ATTR_MAX + 1] = {};
  if (auto status = parse_top(header, top); !status) return status.error();
  nlattr* a[IPVS_DEST_ATTR_MAX + 1] = {};
  if (auto status = parse_nested(top[IPVS_CMD_ATTR_DEST], IPVS_DEST_ATTR_MAX,
                                 policies().destination, a, "destination");
      !status) {
    return status.error();
  }
  AddressFamily family = service_family;
  if (a[IPVS_DEST_ATTR_ADDR_FAMILY] != nullptr) {
    auto parsed_family = family_of(nla_get_u16(a[IPVS_DEST_ATTR_ADDR_FAMILY]));
    if (!parsed_family) return parsed_family.error();
    family = *parsed_family;
  }
  auto address = parse_address(a[IPVS_DEST_ATTR_ADDR], family);
  if (!address) return Error{"destination: " + address.error().message};
  if (a[IPVS_DEST_ATTR_PORT] == nullptr) return Error{"destination without port"};

  ParsedDestination parsed;
  parsed.key = {.address = *address, .port = ntohs(nla_get_u16(a[IPVS_DEST_ATTR_PORT]))};
  Destination& d = parsed.destination;
  if (a[IPVS_DEST_ATTR_FWD_METHOD] != nullptr) {
    const uint32_t method = nla_get_u32(a[IPVS_DEST_ATTR_FWD_METHOD]) & IP_VS_CONN_F_FWD_MASK;
    if (method > IP_VS_CONN_F_BYPASS) {
      return Error{"destination with unknown forwarding method " + std::to_string(method)};
    }
    d.method = static_cast<ForwardingMethod>(method);
  }
  if (a[IPVS_DEST_ATTR_WEIGHT] != nullptr) {
    d.weight = static_cast<int32_t>(nla_get_u32(a[IPVS_DEST_ATTR_WEIGHT]));
  }
  if (a[IPVS_DEST_ATTR_U_THRESH] != nullptr) {
    d.upper_threshold = nla_get_u32(a[IPVS_DEST_ATTR_U_THRESH]);
  }
  if (a[IPVS_DEST_ATTR_L_THRESH] != nullptr) {
    d.lower_threshold = nla_get_u32(a[IPVS_DEST_ATTR_L_THRESH]);
  }
  // The kernel reports tunnel fields for every destination; they mean something only for TUN,
  // so other methods keep the model's defaults and compare equal to what vigil asks for.
  if (d.method == ForwardingMethod::kTunnel) {
    if (a[IPVS_DEST_ATTR_TUN_TYPE] != nullptr) {
      const uint8_t type = nla_get_u8(a[IPVS_DEST_ATTR_TUN_TYPE]);
      if (type >= IP_VS_CONN_F_TUNNEL_TYPE_MAX) {
        return Error{"destination with unknown tunnel type " + std::to_string(type)};
      }
      d.tunnel_type = static_cast<TunnelType>(type);
    }
    if (a[IPVS_DEST_ATTR_TUN_PORT] != nullptr) {
      d.tunnel_port = ntohs(nla_get_u16(a[IPVS_DEST_ATTR_TUN_PORT]));
    }
    if (a[IPVS_DEST_ATTR_TUN_FLAGS] != nullptr) {
      d.tunnel_flags = TunnelFlags::from_bits(nla_get_u16(a[IPVS_DEST_ATTR_TUN_FLAGS]));
    }
  }
  parsed.stats.traffic = parse_stats(a[IPVS_DEST_ATTR_STATS64], a[IPVS_DEST_ATTR_STATS]);
  if (a[IPVS_DEST_ATTR_ACTIVE_CONNS] != nullptr) {
    parsed.stats.active_connections = nla_get_u32(a[IPVS_DEST_ATTR_ACTIVE_CONNS]);
  }
  if (a[IPVS_DEST_ATTR_INACT_CONNS] != nullptr) {
    parsed.stats.inactive_connections = nla_get_u32(a[IPVS_DEST_ATTR_INACT_CONNS]);
  }
  if (a[IPVS_DEST_ATTR_PERSIST_CONNS] != nullptr) {
    parsed.stats.persistent_connections = nla_get_u32(a[IPVS_DEST_ATTR_PERSIST_CONNS]);
  }
  return parsed;
}

Result<SyncDaemonConfig> parse_daemon(const nlmsghdr* header) {
  nlattr* top[IPVS_CMD_ATTR_MAX + 1] = {};
  if (auto status = parse_top(header, top); !status) return status.error();
  nlattr* a[IPVS_DAEMON_ATTR_MAX + 1] = {};
  if (auto status = parse_nested(top[IPVS_CMD_ATTR_DAEMON], IPVS_DAEMON_ATTR_MAX, policies().daemon,
                                 a, "sync daemon");
      !status) {
    return status.error();
  }
  if (a[IPVS_DAEMON_ATTR_STATE] == nullptr) return Error{"sync daemon without state"};
  const uint32_t state = nla_get_u32(a[IPVS_DAEMON_ATTR_STATE]);
  if (state != IP_VS_STATE_MASTER && state != IP_VS_STATE_BACKUP) {
    return Error{"sync daemon with unknown state " + std::to_string(state)};
  }
  SyncDaemonConfig config;
  config.state = static_cast<SyncDaemonState>(state);
  config.interface = string_of(a[IPVS_DAEMON_ATTR_MCAST_IFN]);
  if (a[IPVS_DAEMON_ATTR_SYNC_ID] != nullptr) {
    config.sync_id = static_cast<uint8_t>(nla_get_u32(a[IPVS_DAEMON_ATTR_SYNC_ID]));
  }
  if (a[IPVS_DAEMON_ATTR_SYNC_MAXLEN] != nullptr) {
    config.max_length = nla_get_u16(a[IPVS_DAEMON_ATTR_SYNC_MAXLEN]);
  }
  if (a[IPVS_DAEMON_ATTR_MCAST_GROUP] != nullptr) {
    const uint32_t group = nla_get_u32(a[IPVS_DAEMON_ATTR_MCAST_GROUP]);
    config.group =
        IpAddress::from_bytes(AddressFamily::kIpv4, reinterpret_cast<const uint8_t*>(&group));
  } else if (a[IPVS_DAEMON_ATTR_MCAST_GROUP6] != nullptr) {
    config.group = IpAddress::from_bytes(
        AddressFamily::kIpv6,
        static_cast<const uint8_t*>(nla_data(a[IPVS_DAEMON_ATTR_MCAST_GROUP6])));
  }
  if (a[IPVS_DAEMON_ATTR_MCAST_PORT] != nullptr) {
    config.port = nla_get_u16(a[IPVS_DAEMON_ATTR_MCAST_PORT]);
  }
  if (a[IPVS_DAEMON_ATTR_MCAST_TTL] != nullptr) {
    config.ttl = nla_get_u8(a[IPVS_DAEMON_ATTR_MCAST_TTL]);
  }
  return config;
}

Result<Timeouts> parse_config(const nlmsghdr* header) {
  nlattr* top[IPVS_CMD_ATTR_MAX + 1] = {};
  if (auto status = parse_top(header, top); !status) return status.error();
  Timeouts timeouts;
  if (top[IPVS_CMD_ATTR_TIMEOUT_TCP] != nullptr) {
    timeouts.tcp = std::chrono::seconds(nla_get_u32(top[IPVS_CMD_ATTR_TIMEOUT_TCP]));
  }
  if (top[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN] != nullptr) {
    timeouts.tcp_fin = std::chrono::seconds(nla_get_u32(top[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN]));
  }
  if (top[IPVS_CMD_ATTR_TIMEOUT_UDP] != nullptr) {
    timeouts.udp = std::chrono::seconds(nla_get_u32(top[IPVS_CMD_ATTR_TIMEOUT_UDP]));
  }
  return timeouts;
}

Acknowledgement parse_acknowledgement(const nlmsghdr* header) {
  if (header->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return {EBADMSG, "truncated ack"};
  const auto* error = static_cast<const nlmsgerr*>(NLMSG_DATA(header));
  Acknowledgement ack{.error = -error->error};
  if ((header->nlmsg_flags & NLM_F_ACK_TLVS) == 0) return ack;
  // With NETLINK_CAP_ACK the request is not echoed (NLM_F_CAPPED); the TLVs follow it or the
  // bare header.
  size_t offset = sizeof(nlmsgerr);
  if ((header->nlmsg_flags & NLM_F_CAPPED) == 0) offset += error->msg.nlmsg_len - NLMSG_HDRLEN;
  const size_t payload = header->nlmsg_len - NLMSG_HDRLEN;
  if (offset >= payload) return ack;
  nlattr* attributes[NLMSGERR_ATTR_MAX + 1] = {};
  auto* start = reinterpret_cast<nlattr*>(
      static_cast<char*>(NLMSG_DATA(const_cast<nlmsghdr*>(header))) + offset);
  if (nla_parse(attributes, NLMSGERR_ATTR_MAX, start, static_cast<int>(payload - offset),
                nullptr) == 0 &&
      attributes[NLMSGERR_ATTR_MSG] != nullptr) {
    ack.message = string_of(attributes[NLMSGERR_ATTR_MSG]);
  }
  return ack;
}

Result<KernelInfo> parse_info(const nlmsghdr* header) {
  // GET_INFO replies carry the info attributes at the top level.
  nlattr* a[IPVS_INFO_ATTR_MAX + 1] = {};
  const int error = genlmsg_parse(const_cast<nlmsghdr*>(header), 0, a, IPVS_INFO_ATTR_MAX,
                                  const_cast<nla_policy*>(policies().info));
  if (error < 0) return Error{"malformed IPVS info: " + libnl_error(error)};
  if (a[IPVS_INFO_ATTR_VERSION] == nullptr) return Error{"IPVS info without version"};
  KernelInfo info;
  info.version = nla_get_u32(a[IPVS_INFO_ATTR_VERSION]);
  if (a[IPVS_INFO_ATTR_CONN_TAB_SIZE] != nullptr) {
    info.connection_table_size = nla_get_u32(a[IPVS_INFO_ATTR_CONN_TAB_SIZE]);
  }
  return info;
}

}  // namespace vigil::datapath::ipvs
