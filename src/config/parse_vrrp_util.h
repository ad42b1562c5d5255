// Internal to the VRRP section parser (parse_vrrp*.cc): argument readers whose messages name
// the object being configured, e.g. "vrrp_instance VI_1: priority 300 is out of range [1, 255]".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/model_vrrp.h"
#include "config/parse_context.h"

namespace vigil::config::vrrp_parse {

// One line inside the block of a named object ("vrrp_instance VI_1").
class Item {
 public:
  Item(Context& ctx, const LogicalLine& line, std::string_view kind, std::string_view name)
      : ctx_(ctx), line_(line), kind_(kind), name_(name) {}

  [[nodiscard]] Context& ctx() const { return ctx_; }
  [[nodiscard]] const LogicalLine& line() const { return line_; }
  [[nodiscard]] const std::string& keyword() const { return line_.keyword(); }
  // What messages call the value being read: the keyword unless set (for the entries of a value
  // block, e.g. "track_interface eth1 weight").
  [[nodiscard]] const std::string& subject() const {
    return subject_.empty() ? line_.keyword() : subject_;
  }
  void set_subject(std::string subject) { subject_ = std::move(subject); }
  [[nodiscard]] size_t args() const { return line_.tokens.size() - 1; }
  [[nodiscard]] const Token& token(size_t index) const { return line_.tokens[index]; }
  [[nodiscard]] const std::string& text(size_t index) const { return line_.tokens[index].text; }
  // "vrrp_instance VI_1"; empty for the lines of a top-level block (static_routes), whose
  // messages start with the block's keyword.
  [[nodiscard]] std::string owner() const;

  void error(size_t index, std::string_view message) const;
  void warning(size_t index, std::string_view message) const;

  // Between min and max arguments after the keyword; reports otherwise.
  bool count(size_t min, size_t max) const;
  std::optional<int64_t> integer(size_t index, int64_t min, int64_t max) const;
  // Decimal seconds, exact to the microsecond, within [min, max].
  std::optional<Duration> seconds(size_t index, Duration min, Duration max) const;
  std::optional<IpAddress> address(size_t index) const;
  // Bare keyword: true; otherwise one of on|off|true|false|yes|no.
  std::optional<bool> flag() const;

 private:
  Context& ctx_;
  const LogicalLine& line_;
  std::string_view kind_;
  std::string_view name_;
  std::string subject_;
};

// A script keyword as keepalived reads it: `KEYWORD SCRIPT [username [groupname]]`. The words
// after the keyword are split with shell quoting; the first is the command line (split again
// into argv), the next two name the user and group. With allow_user false, words after the
// script are ignored with a warning (keepalived ignores them silently).
std::optional<NotifyScript> script_keyword(const Item& item, bool allow_user);

// An address or route scope: global, site, link, host, nowhere or 0-255.
bool parse_scope(std::string_view word, uint8_t& scope);

// One line of virtual_routes / virtual_rules (parse_vrrp_routes.cc); `block` is the keyword of
// the value block, for messages. Errors are reported and give nullopt.
std::optional<VirtualRoute> virtual_route(Item& item, std::string_view block);
std::optional<VirtualRule> virtual_rule(Item& item, std::string_view block);

}  // namespace vigil::config::vrrp_parse
