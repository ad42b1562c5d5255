#include "config/parse_vrrp_util.h"

#include <charconv>
#include <vector>

namespace vigil::config::vrrp_parse {

bool parse_scope(std::string_view word, uint8_t& scope) {
  static constexpr std::pair<std::string_view, uint8_t> kScopes[] = {
      {"global", kScopeGlobal}, {"site", kScopeSite},       {"link", kScopeLink},
      {"host", kScopeHost},     {"nowhere", kScopeNowhere},
  };
  for (auto [name, value] : kScopes) {
    if (word == name) {
      scope = value;
      return true;
    }
  }
  unsigned number = 0;
  auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), number);
  if (ec != std::errc() || end != word.data() + word.size() || number > 255) return false;
  scope = static_cast<uint8_t>(number);
  return true;
}

std::string Item::owner() const {
  std::string out(kind_);
  if (!name_.empty()) {
    out += ' ';
    out += name_;
  }
  return out;
}

namespace {
std::string prefixed(const std::string& owner, std::string_view message) {
  return owner.empty() ? std::string(message) : owner + ": " + std::string(message);
}
}  // namespace

void Item::error(size_t index, std::string_view message) const {
  ctx_.error(line_.tokens[std::min(index, line_.tokens.size() - 1)], prefixed(owner(), message));
}

void Item::warning(size_t index, std::string_view message) const {
  ctx_.warning(line_.tokens[std::min(index, line_.tokens.size() - 1)], prefixed(owner(), message));
}

bool Item::count(size_t min, size_t max) const {
  size_t n = args();
  if (n >= min && n <= max) return true;
  std::string expected = min == max        ? std::to_string(min)
                         : max == SIZE_MAX ? "at least " + std::to_string(min)
                         : min == 0 && max == 1
                             ? "at most 1"
                             : std::to_string(min) + " to " + std::to_string(max);
  bool singular = (min == max && min == 1) || (min == 0 && max == 1);
  error(n > max ? max + 1 : 0, "'" + keyword() + "' takes " + expected + " argument" +
                                   (singular ? "" : "s") + ", got " + std::to_string(n));
  return false;
}

std::optional<int64_t> Item::integer(size_t index, int64_t min, int64_t max) const {
  if (index > args()) {
    error(0, "'" + keyword() + "' needs a number");
    return std::nullopt;
  }
  const std::string& s = text(index);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec == std::errc::invalid_argument || end != s.data() + s.size()) {
    error(index, subject() + " '" + s + "' is not an integer");
    return std::nullopt;
  }
  if (ec == std::errc::result_out_of_range || value < min || value > max) {
    error(index, subject() + " " + s + " is out of range [" + std::to_string(min) + ", " +
                     std::to_string(max) + "]");
    return std::nullopt;
  }
  return value;
}

std::optional<Duration> Item::seconds(size_t index, Duration min, Duration max) const {
  if (index > args()) {
    error(0, "'" + keyword() + "' needs a time in seconds");
    return std::nullopt;
  }
  const std::string& s = text(index);
  auto value = parse_decimal_seconds(s);
  if (!value) {
    error(index, subject() + " '" + s + "' is not a time in seconds (at most 6 decimals)");
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    error(index, subject() + " " + s + " s is out of range [" + format_seconds(min) + ", " +
                     format_seconds(max) + "]");
    return std::nullopt;
  }
  return value;
}

std::optional<IpAddress> Item::address(size_t index) const {
  if (index > args()) {
    error(0, "'" + keyword() + "' needs an IP address");
    return std::nullopt;
  }
  auto value = IpAddress::parse(text(index));
  if (!value) error(index, subject() + " '" + text(index) + "' is not an IP address");
  return value;
}

std::optional<bool> Item::flag() const {
  if (!count(0, 1)) return std::nullopt;
  if (args() == 0) return true;
  const std::string& s = text(1);
  if (s == "on" || s == "true" || s == "yes") return true;
  if (s == "off" || s == "false" || s == "no") return false;
  error(1, subject() + " '" + s + "' is not one of on|off|true|false|yes|no");
  return std::nullopt;
}

namespace {

// Byte offsets where the shell words of `text` start (the words split_command_line returns).
std::vector<size_t> word_starts(std::string_view text) {
  std::vector<size_t> starts;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t'))
      ++i;
    if (i >= text.size()) break;
    starts.push_back(i);
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') {
      char c = text[i++];
      if (c == '\\') {
        ++i;
      } else if (c == '\'' || c == '"') {
        while (i < text.size() && text[i] != c)
          i += (c == '"' && text[i] == '\\') ? 2 : 1;
        ++i;
      }
    }
  }
  return starts;
}

}  // namespace

std::optional<NotifyScript> script_keyword(const Item& item, bool allow_user) {
  if (item.args() == 0) {
    item.error(0, "'" + item.keyword() + "' needs a script");
    return std::nullopt;
  }
  std::vector<std::string> words;
  if (!split_command_line(item.line().rest(1), words) || words.empty()) {
    item.error(1, item.keyword() + ": cannot split the command line (unterminated quote?)");
    return std::nullopt;
  }
  NotifyScript out;
  out.command.loc = item.token(1).loc;
  out.command.text = words[0];
  if (!split_command_line(words[0], out.command.argv) || out.command.argv.empty()) {
    item.error(1, item.keyword() + ": cannot split the command line (unterminated quote?)");
    return std::nullopt;
  }
  // Warnings about a word point at it: its column is the first argument's plus its offset.
  auto starts = word_starts(item.line().rest(1));
  auto warn_at = [&](size_t word, const std::string& message) {
    SourceLocation at = item.token(1).loc;
    if (word < starts.size()) at.column += static_cast<uint32_t>(starts[word]);
    item.ctx().warning(at, item.owner() + ": " + message);
  };
  if (!allow_user) {
    if (words.size() > 1) {
      warn_at(1, item.keyword() + ": '" + words[1] +
                     "' and later words are ignored (as keepalived does); "
                     "quote the whole command line to pass arguments");
    }
    return out;
  }
  if (words.size() > 1) out.run_as = RunAs{words[1], words.size() > 2 ? words[2] : ""};
  if (words.size() > 3) {
    warn_at(3, item.keyword() + ": '" + words[3] +
                   "' and later words are ignored: the form is SCRIPT "
                   "[username [groupname]]; quote the command line to pass "
                   "arguments");
  }
  return out;
}

}  // namespace vigil::config::vrrp_parse
