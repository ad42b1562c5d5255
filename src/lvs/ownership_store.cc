#include "lvs/ownership_store.h"

#include <sys/stat.h>

#include <filesystem>
#include <libconfig.h++>

#include "common/log.h"
#include "common/safe_file.h"
#include "lvs/libconfig_setting.h"

namespace vigil::lvs {
namespace {

constexpr int kFormatVersion = 1;
// A state lists services, a line each: far below this.
constexpr size_t kMaxStateSize = size_t{64} << 20;

std::string family_name(AddressFamily family) {
  return family == AddressFamily::kIpv4 ? "inet" : "inet6";
}

std::string line_error(const std::string& name, const libconfig::Setting& setting,
                       const std::string& why) {
  return name + ":" + std::to_string(setting.getSourceLine()) + ": " + why;
}

// One entry of `services`, or the reason it is not one.
Result<datapath::ServiceKey> parse_service(const libconfig::Setting& entry,
                                           const std::string& name) {
  if (!entry.isGroup()) return Error{line_error(name, entry, "a service must be a { ... } group")};
  long long fwmark = 0;
  if (lookup_integer(entry, "fwmark", fwmark)) {
    std::string family;
    if (fwmark <= 0 || fwmark > 0xffffffffLL) {
      return Error{line_error(name, entry, "fwmark out of range")};
    }
    if (!entry.lookupValue("family", family) || (family != "inet" && family != "inet6")) {
      return Error{line_error(name, entry, "a fwmark service needs family \"inet\" or \"inet6\"")};
    }
    return datapath::ServiceKey::firewall_mark(
        static_cast<uint32_t>(fwmark),
        family == "inet" ? AddressFamily::kIpv4 : AddressFamily::kIpv6);
  }
  std::string protocol;
  std::string address_text;
  int port = -1;
  if (!entry.lookupValue("protocol", protocol) || !entry.lookupValue("address", address_text) ||
      !entry.lookupValue("port", port)) {
    return Error{line_error(name, entry, "a service needs protocol, address and port (or fwmark)")};
  }
  auto address = IpAddress::parse(address_text);
  if (!address) return Error{line_error(name, entry, "bad address '" + address_text + "'")};
  if (port < 0 || port > 65535) return Error{line_error(name, entry, "port out of range")};
  datapath::ServiceKey key{datapath::Protocol::kTcp, *address, static_cast<uint16_t>(port)};
  if (protocol == "TCP") {
    key.protocol = datapath::Protocol::kTcp;
  } else if (protocol == "UDP") {
    key.protocol = datapath::Protocol::kUdp;
  } else if (protocol == "SCTP") {
    key.protocol = datapath::Protocol::kSctp;
  } else {
    return Error{line_error(name, entry, "unknown protocol '" + protocol + "'")};
  }
  return key;
}

}  // namespace

std::string format_ownership(const datapath::Ownership& owned, uint64_t network_namespace) {
  libconfig::Config config;
  auto& root = config.getRoot();
  root.add("version", libconfig::Setting::TypeInt) = kFormatVersion;
  root.add("network_namespace", libconfig::Setting::TypeInt64) =
      static_cast<long long>(network_namespace);
  auto& services = root.add("services", libconfig::Setting::TypeList);
  for (const auto& key : owned.services) {
    auto& entry = services.add(libconfig::Setting::TypeGroup);
    if (key.is_fwmark()) {
      entry.add("fwmark", libconfig::Setting::TypeInt64) = static_cast<long long>(key.fwmark);
      entry.add("family", libconfig::Setting::TypeString) = family_name(key.family());
    } else {
      entry.add("protocol", libconfig::Setting::TypeString) = datapath::to_string(key.protocol);
      entry.add("address", libconfig::Setting::TypeString) = key.address.to_string();
      entry.add("port", libconfig::Setting::TypeInt) = static_cast<int>(key.port);
    }
  }
  char* buffer = nullptr;
  size_t size = 0;
  FILE* stream = open_memstream(&buffer, &size);
  if (stream == nullptr) return {};
  config.write(stream);
  std::fclose(stream);
  std::string text =
      "# vigild: the IPVS services it owns, read at start (written by vigild; do not edit)\n";
  text.append(buffer, size);
  std::free(buffer);  // NOLINT(cppcoreguidelines-no-malloc): open_memstream's buffer
  return text;
}

Result<datapath::Ownership> parse_ownership(const std::string& text, const std::string& name,
                                            uint64_t network_namespace) {
  libconfig::Config config;
  try {
    config.readString(text);
  } catch (const libconfig::ParseException& e) {
    return Error{name + ":" + std::to_string(e.getLine()) + ": " + e.getError()};
  }
  const auto& root = config.getRoot();
  int version = 0;
  if (!root.lookupValue("version", version) || version != kFormatVersion) {
    return Error{name + ": not a version " + std::to_string(kFormatVersion) + " state file"};
  }
  long long written_in = 0;
  if (!lookup_integer(root, "network_namespace", written_in)) {
    return Error{name + ": no network_namespace"};
  }
  if (network_namespace != 0 && written_in != 0 &&
      static_cast<uint64_t>(written_in) != network_namespace) {
    return Error{name + ": written in another network namespace (" + std::to_string(written_in) +
                 ", this is " + std::to_string(network_namespace) + ")"};
  }
  if (!root.exists("services") || !root["services"].isList()) {
    return Error{name + ": no services list"};
  }
  datapath::Ownership owned;
  const auto& services = root["services"];
  for (int i = 0; i < services.getLength(); ++i) {
    auto key = parse_service(services[i], name);
    if (!key) return key.error();
    owned.services.insert(*key);
  }
  return owned;
}

Result<datapath::Ownership> FileOwnershipStore::load() {
  // Not through a symbolic link: a state planted by someone else is an error, not a state.
  auto text = read_file_nofollow(path_, kMaxStateSize);
  if (!text) return text.error();
  if (!*text) return datapath::Ownership{};  // no state yet: a first start
  return parse_ownership(**text, path_, network_namespace_);
}

Status FileOwnershipStore::save(const datapath::Ownership& owned) {
  const std::string text = format_ownership(owned, network_namespace_);
  if (text.empty()) return Error{"cannot format the IPVS ownership state"};
  const auto directory = std::filesystem::path(path_).parent_path();
  if (!directory.empty()) {
    if (auto status = ensure_owned_directory(directory.string(), 0755); !status) return status;
  }
  // Durable before it replaces the old state: a crash leaves the old file or the new one.
  auto written = replace_file(path_, text, ReplaceOptions{.mode = 0600, .sync = true});
  if (!written) return written.error();
  if (*written == Replaced::kSymlink)
    log::get("ipvs")->warn("[ipvs] {}", replaced_symlink_message(path_));
  return {};
}

uint64_t current_network_namespace() {
  struct stat st {};
  if (stat("/proc/self/ns/net", &st) != 0) return 0;
  return st.st_ino;
}

}  // namespace vigil::lvs
