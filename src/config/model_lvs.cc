// same_ignoring_locations: a member-by-member comparison of the LVS model that skips
// SourceLocation fields.
#include "config/model_lvs.h"

#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace vigil::config {
namespace {

// Every member of a model type, in order, as a tuple of references. The structured binding does
// not compile unless it names every member: a field added to the model breaks the build here
// until it is listed, instead of being silently left out of the comparison.
#define VIGIL_ALL_MEMBERS(value, ...) \
  const auto& [__VA_ARGS__] = value;  \
  return std::tie(__VA_ARGS__)

// NOLINTBEGIN(readability-identifier-naming): the bindings are named after the members.
auto members(const Command& v) {
  VIGIL_ALL_MEMBERS(v, argv, text, loc);
}
auto members(const RunAs& v) {
  VIGIL_ALL_MEMBERS(v, user, group);
}
auto members(const LvsScript& v) {
  VIGIL_ALL_MEMBERS(v, command, run_as);
}
auto members(const Forwarding& v) {
  VIGIL_ALL_MEMBERS(v, method, tunnel_type, tunnel_checksum, tunnel_port);
}
auto members(const StatusRange& v) {
  VIGIL_ALL_MEMBERS(v, first, last);
}
auto members(const HttpUrl& v) {
  VIGIL_ALL_MEMBERS(v, path, digest, status_codes, virtualhost, regex, regex_no_match,
                    regex_options, regex_stack_start, regex_stack_max, regex_min_offset,
                    regex_max_offset, loc, regex_loc);
}
auto members(const ClientTls& v) {
  VIGIL_ALL_MEMBERS(v, certificate, key, password, certificate_loc, key_loc, password_loc);
}
auto members(const HttpCheck& v) {
  VIGIL_ALL_MEMBERS(v, urls, protocol, virtualhost, enable_sni, fast_recovery, total_timeout,
                    client_tls);
}
auto members(const SmtpHost& v) {
  VIGIL_ALL_MEMBERS(v, connect_ip, connect_port, bind_ip, bind_port, bind_if, fwmark,
                    connect_timeout, loc);
}
auto members(const SmtpCheck& v) {
  VIGIL_ALL_MEMBERS(v, helo_name, hosts);
}
auto members(const DnsCheck& v) {
  VIGIL_ALL_MEMBERS(v, type, name);
}
auto members(const UdpCheck& v) {
  VIGIL_ALL_MEMBERS(v, payload, require_reply, reply, reply_mask, min_reply_length,
                    max_reply_length);
}
auto members(const MiscCheck& v) {
  VIGIL_ALL_MEMBERS(v, path, timeout, dynamic, user);
}
auto members(const FileCheck& v) {
  VIGIL_ALL_MEMBERS(v, track_file, track_file_loc, weight, reverse, weight_set);
}
auto members(const Checker& v) {
  VIGIL_ALL_MEMBERS(v, type, kind, connect_ip, connect_port, bind_ip, bind_port, fwmark, bind_if,
                    connect_timeout, delay_before_retry, warmup, delay_loop, retry, alpha,
                    log_all_failures, rise, interval_jitter, explicit_fields, loc);
}
auto members(const RealServer& v) {
  VIGIL_ALL_MEMBERS(v, address, port, forwarding, weight, upper_threshold, lower_threshold,
                    inhibit_on_failure, alpha, smtp_alert, connect_timeout, delay_loop,
                    delay_before_retry, warmup, retry, explicit_fields, virtualhost, snmp_name,
                    notify_up, notify_down, checkers, loc);
}
auto members(const SorryServer& v) {
  VIGIL_ALL_MEMBERS(v, address, port, forwarding, forwarding_set, inhibit, loc);
}
auto members(const VirtualServer& v) {
  VIGIL_ALL_MEMBERS(v, kind, address, port, fwmark, group, loc, group_loc, family, family_set,
                    protocol, protocol_set, scheduler, scheduler_set, sched_flag_1, sched_flag_2,
                    sched_flag_3, one_packet, forwarding, forwarding_set, persistence_timeout,
                    persistence_granularity, persistence_engine, ha_suspend, alpha, omega,
                    inhibit_on_failure, smtp_alert, smtp_alert_set, quorum, hysteresis, weight,
                    virtualhost, snmp_name, quorum_up, quorum_down, sorry_server, delay_loop,
                    connect_timeout, delay_before_retry, warmup, retry, real_servers);
}
// NOLINTEND(readability-identifier-naming)
#undef VIGIL_ALL_MEMBERS

template <class T>
struct Kind {
  static constexpr bool optional = false, vector = false, variant = false, box = false;
};
template <class T>
struct Kind<std::optional<T>> : Kind<void> {
  static constexpr bool optional = true;
};
template <class T, class A>
struct Kind<std::vector<T, A>> : Kind<void> {
  static constexpr bool vector = true;
};
template <class... T>
struct Kind<std::variant<T...>> : Kind<void> {
  static constexpr bool variant = true;
};
template <class T>
struct Kind<Box<T>> : Kind<void> {
  static constexpr bool box = true;
};

template <class T>
bool same(const T& a, const T& b);

template <class Tuple, size_t... I>
bool same_members(const Tuple& a, const Tuple& b, std::index_sequence<I...> /*unused*/) {
  return (same(std::get<I>(a), std::get<I>(b)) && ...);
}

template <class T>
bool same(const T& a, const T& b) {
  if constexpr (std::is_same_v<T, SourceLocation>) {
    return true;
  } else if constexpr (requires { members(a); }) {
    using Tuple = decltype(members(a));
    return same_members(members(a), members(b),
                        std::make_index_sequence<std::tuple_size_v<Tuple>>{});
  } else if constexpr (Kind<T>::optional) {
    if (a.has_value() != b.has_value()) return false;
    return !a.has_value() || same(*a, *b);
  } else if constexpr (Kind<T>::box) {
    if (static_cast<bool>(a) != static_cast<bool>(b)) return false;
    return !a || same(*a, *b);
  } else if constexpr (Kind<T>::vector) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!same(a[i], b[i])) return false;
    return true;
  } else if constexpr (Kind<T>::variant) {
    if (a.index() != b.index()) return false;
    return std::visit(
        [&b](const auto& x) { return same(x, std::get<std::decay_t<decltype(x)>>(b)); }, a);
  } else {
    return a == b;  // a value without parts of its own (number, enum, string, address, ...)
  }
}

}  // namespace

bool same_ignoring_locations(const VirtualServer& a, const VirtualServer& b) {
  return same(a, b);
}

}  // namespace vigil::config
