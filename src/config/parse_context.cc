#include "config/parse_context.h"

#include <algorithm>
#include <charconv>

namespace vigil::config {

void Context::error(const Token& at, std::string message) {
  error(at.loc, std::move(message));
}
void Context::error(const SourceLocation& at, std::string message) {
  diagnostics_.error(at, std::move(message));
}
void Context::warning(const Token& at, std::string message) {
  warning(at.loc, std::move(message));
}
void Context::warning(const SourceLocation& at, std::string message) {
  diagnostics_.warning(at, std::move(message));
}

bool Context::open_block(const LogicalLine& owner) {
  const LogicalLine* next = reader_.peek();
  if (next == nullptr || !next->is_open()) {
    error(owner.tokens[0], "'" + owner.keyword() + "' needs a '{' block");
    return false;
  }
  reader_.next(brace_);
  return true;
}

bool Context::next_in_block(const LogicalLine& owner, LogicalLine& line) {
  if (!reader_.next(line)) {
    error(owner.tokens[0], "block of '" + owner.keyword() + "' is not closed: missing '}'");
    return false;
  }
  return !line.is_close();
}

void Context::skip_block_body() {
  // The opening brace was consumed; skip to its matching close (or the end of input).
  int depth = 1;
  LineLease lease(*this);
  LogicalLine& line = lease.line;
  while (depth > 0 && reader_.next(line)) {
    if (line.is_open()) ++depth;
    if (line.is_close()) --depth;
  }
}

void Context::skip_block_if_present() {
  const LogicalLine* next = reader_.peek();
  if (next == nullptr || !next->is_open()) return;
  reader_.next(brace_);
  skip_block_body();
}

bool Context::value_block(const LogicalLine& owner,
                          const std::function<void(const LogicalLine&)>& item) {
  if (!open_block(owner)) return false;
  LineLease lease(*this);
  LogicalLine& line = lease.line;
  while (next_in_block(owner, line)) {
    if (line.is_open()) {
      error(line.tokens[0], "unexpected '{' in '" + owner.keyword() + "' block");
      skip_block_body();
      continue;
    }
    item(line);
  }
  return true;
}

bool Context::arg_count(const LogicalLine& line, size_t min, size_t max) {
  size_t count = line.tokens.size() - 1;
  if (count >= min && count <= max) return true;
  std::string expected;
  if (min == max) {
    expected = std::to_string(min);
  } else if (max == SIZE_MAX) {
    expected = "at least " + std::to_string(min);
  } else {
    expected = std::to_string(min) + " to " + std::to_string(max);
  }
  const Token& at = count > max ? line.tokens[max + 1] : line.tokens[0];
  error(at, "'" + line.keyword() + "' takes " + expected + " argument" +
                (min == max && min == 1 ? "" : "s") + ", got " + std::to_string(count));
  return false;
}

std::optional<int64_t> Context::integer(const LogicalLine& line, size_t index, int64_t min,
                                        int64_t max) {
  if (index >= line.tokens.size()) {
    error(line.tokens[0], "'" + line.keyword() + "' needs a number");
    return std::nullopt;
  }
  const Token& token = line.tokens[index];
  const std::string& s = token.text;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec == std::errc::invalid_argument || end != s.data() + s.size()) {
    error(token, "'" + line.keyword() + "': '" + s + "' is not an integer");
    return std::nullopt;
  }
  if (ec == std::errc::result_out_of_range || value < min || value > max) {
    error(token, "'" + line.keyword() + "': " + s + " is out of range [" + std::to_string(min) +
                     ", " + std::to_string(max) + "]");
    return std::nullopt;
  }
  return value;
}

std::optional<Duration> parse_decimal_seconds(std::string_view s) {
  auto dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view fraction = dot == std::string_view::npos ? "" : s.substr(dot + 1);
  if (whole.empty() || fraction.size() > 6) return std::nullopt;  // finer than a microsecond
  if (dot != std::string_view::npos && fraction.empty()) return std::nullopt;
  int64_t seconds = 0;
  auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), seconds);
  if (ec != std::errc() || end != whole.data() + whole.size() || seconds < 0 ||
      seconds > 1'000'000'000) {
    return std::nullopt;
  }
  int64_t micros = 0;
  for (size_t i = 0; i < 6; ++i) {
    micros *= 10;
    if (i < fraction.size()) {
      if (fraction[i] < '0' || fraction[i] > '9') return std::nullopt;
      micros += fraction[i] - '0';
    }
  }
  return Duration{seconds * 1'000'000 + micros};
}

std::string format_seconds(Duration d) {
  auto us = d.count();
  std::string out = std::to_string(us / 1'000'000);
  if (auto frac = us % 1'000'000; frac != 0) {
    std::string digits = std::to_string(frac);
    digits.insert(0, 6 - digits.size(), '0');
    while (digits.back() == '0')
      digits.pop_back();
    out += "." + digits;
  }
  return out;
}

std::optional<Duration> Context::seconds(const LogicalLine& line, size_t index, Duration min,
                                         Duration max) {
  if (index >= line.tokens.size()) {
    error(line.tokens[0], "'" + line.keyword() + "' needs a time in seconds");
    return std::nullopt;
  }
  const Token& token = line.tokens[index];
  auto value = parse_decimal_seconds(token.text);
  if (!value) {
    error(token, "'" + line.keyword() + "': '" + token.text +
                     "' is not a time in seconds (at most 6 decimals)");
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    error(token, "'" + line.keyword() + "': " + token.text + " s is out of range [" +
                     format_seconds(min) + ", " + format_seconds(max) + "]");
    return std::nullopt;
  }
  return value;
}

std::optional<IpAddress> Context::address(const LogicalLine& line, size_t index) {
  if (index >= line.tokens.size()) {
    error(line.tokens[0], "'" + line.keyword() + "' needs an IP address");
    return std::nullopt;
  }
  const Token& token = line.tokens[index];
  auto value = IpAddress::parse(token.text);
  if (!value) error(token, "'" + line.keyword() + "': '" + token.text + "' is not an IP address");
  return value;
}

std::optional<uint16_t> Context::port(const LogicalLine& line, size_t index) {
  auto value = integer(line, index, 0, 65535);
  if (!value) return std::nullopt;
  return static_cast<uint16_t>(*value);
}

std::optional<bool> Context::flag(const LogicalLine& line, size_t index) {
  if (!arg_count(line, index - 1, index)) return std::nullopt;
  if (line.tokens.size() <= index) return true;
  const std::string& s = line.tokens[index].text;
  if (s == "on" || s == "true" || s == "yes") return true;
  if (s == "off" || s == "false" || s == "no") return false;
  error(line.tokens[index],
        "'" + line.keyword() + "': '" + s + "' is not one of on|off|true|false|yes|no");
  return std::nullopt;
}

std::optional<std::string> Context::text(const LogicalLine& line, size_t index) {
  if (!arg_count(line, index, index)) return std::nullopt;
  return line.tokens[index].text;
}

std::optional<Command> Context::command(const LogicalLine& line, size_t index) {
  if (index >= line.tokens.size()) {
    error(line.tokens[0], "'" + line.keyword() + "' needs a command");
    return std::nullopt;
  }
  Command cmd;
  cmd.loc = line.tokens[index].loc;
  cmd.text = std::string(line.rest(index));
  // A single double-quoted token holds the whole command line ("notify "/bin/x a b"").
  std::string_view source = cmd.text;
  if (line.tokens.size() == index + 1 && line.tokens[index].quoted) {
    source = line.tokens[index].text;
    cmd.text = line.tokens[index].text;
  }
  if (!split_command_line(source, cmd.argv) || cmd.argv.empty()) {
    error(line.tokens[index],
          "'" + line.keyword() + "': cannot split command line (unterminated quote?)");
    return std::nullopt;
  }
  return cmd;
}

std::optional<size_t> Context::choice(const LogicalLine& line, size_t index,
                                      std::span<const std::string_view> choices) {
  if (index >= line.tokens.size()) {
    error(line.tokens[0], "'" + line.keyword() + "' needs a value");
    return std::nullopt;
  }
  const Token& token = line.tokens[index];
  for (size_t i = 0; i < choices.size(); ++i) {
    if (choices[i] == token.text) return i;
  }
  std::string list;
  for (auto c : choices) {
    if (!list.empty()) list += ", ";
    list += c;
  }
  std::string message =
      "'" + line.keyword() + "': unknown value '" + token.text + "' (expected one of " + list + ")";
  error(token, std::move(message));
  return std::nullopt;
}

void Context::unknown_keyword(const LogicalLine& line, std::span<const std::string_view> known) {
  std::string message = "unknown keyword '" + line.keyword() + "'";
  auto suggestion = did_you_mean(line.keyword(), known);
  if (!suggestion.empty()) message += "; did you mean '" + std::string(suggestion) + "'?";
  error(line.tokens[0], std::move(message));
}

void Context::not_implemented(const LogicalLine& line) {
  warning(line.tokens[0], "'" + line.keyword() +
                              "' is a keepalived keyword vigil does not implement yet: accepted, "
                              "has no effect");
}

std::string_view did_you_mean(std::string_view word, std::span<const std::string_view> candidates) {
  // Levenshtein distance, case-insensitive; a suggestion must be within a third of the length.
  auto lower = [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); };
  std::string_view best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  std::vector<size_t> previous, current;
  for (auto candidate : candidates) {
    previous.resize(candidate.size() + 1);
    current.resize(candidate.size() + 1);
    for (size_t j = 0; j <= candidate.size(); ++j)
      previous[j] = j;
    for (size_t i = 1; i <= word.size(); ++i) {
      current[0] = i;
      for (size_t j = 1; j <= candidate.size(); ++j) {
        size_t cost = lower(word[i - 1]) == lower(candidate[j - 1]) ? 0 : 1;
        current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      }
      std::swap(previous, current);
    }
    if (previous[candidate.size()] < best_distance) {
      best_distance = previous[candidate.size()];
      best = candidate;
    }
  }
  return best;
}

}  // namespace vigil::config
