// Internal to the LVS section parser: what parse_lvs.cc and parse_check.cc share.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"
#include "config/parse_context.h"

namespace vigil::config::lvs {

// The checker blocks a real_server accepts (TCP_CHECK, HTTP_GET, ...), as real_server keywords.
std::span<const Keyword<RealServer>> checker_keywords();

// Fills the checkers' defaults from their real server (which already has the virtual server's;
// misc_timeout alone comes from the virtual server `vs`) and checks what needs the whole server
// or file: connect/bind families, FILE_CHECK names (against `track_files`, the top-level
// track_file blocks, sorted by name) and FILE_CHECK's weight (unset: its track_file's).
void finish_checkers(const GlobalDefs& global, const std::vector<const TrackFile*>& track_files,
                     const VirtualServer& vs, RealServer& rs, Context& ctx);

// One of `names` (exact, or ASCII case-insensitive when `ignore_case`); otherwise an error at
// the token with a did-you-mean and the accepted values.
std::optional<size_t> name_choice(Context& ctx, const LogicalLine& line, size_t index,
                                  std::string_view what, std::span<const std::string_view> names,
                                  bool ignore_case = false);

// "SCRIPT [username [groupname]]": the script is the first argument (split with shell rules when
// it carries arguments inside quotes).
std::optional<LvsScript> script(Context& ctx, const LogicalLine& line);

// Reads the "keyword SECONDS" timers of the checker family, with keepalived's bounds.
std::optional<Duration> timer(Context& ctx, const LogicalLine& line, bool allow_zero);

// lvs_method arguments from index 1: NAT|DR|FULLNAT|TUN [type ipip|gue port N|gre] [csum...].
std::optional<Forwarding> forwarding(Context& ctx, const LogicalLine& line);

// "virtual_server 10.0.0.1 80", "virtual_server fwmark 5", "virtual_server group VG".
std::string describe(const VirtualServer& vs);
// "real_server 10.0.1.1 80".
std::string describe(const RealServer& rs);

constexpr int64_t kMaxTimer = int64_t{1'000'000'000} * kSecond;

}  // namespace vigil::config::lvs
