// Building and parsing the messages of the IPVS generic netlink family (include/uapi/linux/
// ip_vs.h) with libnl, without a socket: the model <-> attribute mapping, kept pure so that it
// is unit-tested by building a message and parsing it back.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "datapath/datapath.h"
#include "datapath/model.h"

struct nl_msg;
struct nlmsghdr;

namespace vigil::datapath::ipvs {

struct MessageDeleter {
  void operator()(nl_msg* message) const;
};
using Message = std::unique_ptr<nl_msg, MessageDeleter>;

// Header fields every request carries; the socket layer chooses them.
struct Header {
  int family = 0;  // the generic netlink id of "IPVS" (from the controller)
  uint32_t sequence = 0;
  uint16_t flags = 0;  // NLM_F_ACK, NLM_F_DUMP; NLM_F_REQUEST is added on send
};

// The request for one table change. Fails (without building anything) for values the kernel
// would reject anyway: a scheduler or persistence engine name longer than 15 characters, a
// netmask prefix longer than the family's.
Result<Message> build_operation(const Header& header, const Operation& operation);

Message build_get_info(const Header& header);
Message build_get_services(const Header& header);  // with NLM_F_DUMP in header.flags
Message build_get_destinations(const Header& header, const ServiceKey& service);
Message build_get_daemons(const Header& header);
Result<Message> build_new_daemon(const Header& header, const SyncDaemonConfig& config);
Message build_del_daemon(const Header& header, SyncDaemonState state);
Message build_get_config(const Header& header);
Message build_set_config(const Header& header, const Timeouts& timeouts);

// The header of a built message (to copy it into a batch, or to parse it back in tests).
nlmsghdr* header_of(const Message& message);

struct ParsedService {
  ServiceKey key;
  Service service;
  Stats stats;
};
struct ParsedDestination {
  DestinationKey key;
  Destination destination;
  DestinationStats stats;
};

// Parsers for the kernel's replies (which use the same nested attributes as the requests, so
// they also read back what the builders wrote). Each returns why it rejected a message.
// IPVS_CMD_ATTR_SERVICE of a GET_SERVICE reply or a service request.
Result<ParsedService> parse_service(const nlmsghdr* header);
// IPVS_CMD_ATTR_DEST of a GET_DEST reply or a destination request; a destination without
// ADDR_FAMILY (older kernels) has the service's family.
Result<ParsedDestination> parse_destination(const nlmsghdr* header, AddressFamily service_family);
Result<SyncDaemonConfig> parse_daemon(const nlmsghdr* header);
Result<Timeouts> parse_config(const nlmsghdr* header);
Result<KernelInfo> parse_info(const nlmsghdr* header);

// Why a request ended (an NLMSG_ERROR message): the kernel's errno, 0 for an acknowledgement,
// and the extended-ack text when the kernel gave one (NETLINK_EXT_ACK).
struct Acknowledgement {
  int error = 0;
  std::string message;
};
Acknowledgement parse_acknowledgement(const nlmsghdr* header);

// IPv4 persistence netmask <-> prefix length (kNonContiguousNetmask for a mask with holes).
uint8_t prefix_from_ipv4_netmask(uint32_t host_order_mask);
uint32_t ipv4_netmask_from_prefix(uint8_t prefix);

}  // namespace vigil::datapath::ipvs
