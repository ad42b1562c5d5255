// The machinery the section parsers share: keyword tables, block walking, typed arguments.
//
// A section parser is a table of Keyword<T> entries for the object T its block fills. Each
// handler reads its line's arguments through Context, which reports a file:line:col error at the
// offending token and returns nullopt, so handlers simply skip the assignment on failure and
// parsing continues: every error in a file is reported, not just the first.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"
#include "common/time.h"
#include "config/diagnostics.h"
#include "config/model_common.h"
#include "config/reader.h"

namespace vigil::config {

class Context;

template <class T>
using Handler = void (*)(Context&, const LogicalLine&, T&);

template <class T>
struct Keyword {
  std::string_view name;
  // nullptr: a keepalived keyword vigil does not implement: accepted with a warning.
  Handler<T> handler = nullptr;
};

class Context {
 public:
  Context(Reader& reader, Diagnostics& diagnostics) : reader_(reader), diagnostics_(diagnostics) {}

  [[nodiscard]] Reader& reader() { return reader_; }
  [[nodiscard]] Diagnostics& diagnostics() { return diagnostics_; }

  // Reads lines until the end of input, dispatching each through `keywords`.
  template <class T>
  void top_level(std::span<const Keyword<T>> keywords, T& target) {
    LogicalLine line;
    while (reader_.next(line)) {
      if (line.is_close()) {
        error(line.tokens[0], "unexpected '}'");
        continue;
      }
      dispatch(line, keywords, target);
    }
  }

  // Reads the "{ ... }" block that must follow `owner`, dispatching each line through `keywords`.
  // Returns false (with an error) when no block follows.
  template <class T>
  bool block(const LogicalLine& owner, std::span<const Keyword<T>> keywords, T& target) {
    if (!open_block(owner)) return false;
    LineLease lease(*this);
    LogicalLine& line = lease.line;
    while (next_in_block(owner, line))
      dispatch(line, keywords, target);
    return true;
  }

  template <class T, size_t N>
  void top_level(const Keyword<T> (&keywords)[N], T& target) {
    top_level(std::span<const Keyword<T>>(keywords), target);
  }
  template <class T, size_t N>
  bool block(const LogicalLine& owner, const Keyword<T> (&keywords)[N], T& target) {
    return block(owner, std::span<const Keyword<T>>(keywords), target);
  }

  // Reads a value block ("virtual_ipaddress { ... }"): `item` sees each line inside it.
  bool value_block(const LogicalLine& owner, const std::function<void(const LogicalLine&)>& item);

  // --- Arguments. `index` counts tokens, so the keyword is index 0. -----------------------
  // Checks the number of arguments after the keyword; reports and returns false if outside.
  bool arg_count(const LogicalLine& line, size_t min, size_t max = SIZE_MAX);
  std::optional<int64_t> integer(const LogicalLine& line, size_t index, int64_t min, int64_t max);
  // Decimal seconds with up to microsecond resolution ("2.71828", "3"), within [min, max].
  std::optional<Duration> seconds(const LogicalLine& line, size_t index, Duration min,
                                  Duration max);
  std::optional<IpAddress> address(const LogicalLine& line, size_t index);
  std::optional<uint16_t> port(const LogicalLine& line, size_t index);
  // A boolean keyword: bare means true; otherwise one of on|off|true|false|yes|no.
  std::optional<bool> flag(const LogicalLine& line, size_t index = 1);
  // The single argument at `index` as text (with an arg count check of exactly index).
  std::optional<std::string> text(const LogicalLine& line, size_t index = 1);
  // A script keyword: the rest of the line from `index`, split with shell rules.
  std::optional<Command> command(const LogicalLine& line, size_t index = 1);
  // One of `choices` (exact match); reports the accepted values otherwise.
  std::optional<size_t> choice(const LogicalLine& line, size_t index,
                               std::span<const std::string_view> choices);

  // --- Diagnostics. --------------------------------------------------------------------------
  void error(const Token& at, std::string message);
  void error(const SourceLocation& at, std::string message);
  void warning(const Token& at, std::string message);
  void warning(const SourceLocation& at, std::string message);
  // A keyword the table does not know: an error with a did-you-mean among `known`.
  void unknown_keyword(const LogicalLine& line, std::span<const std::string_view> known);
  // A keepalived keyword vigil does not implement yet.
  void not_implemented(const LogicalLine& line);
  // Skips the block after `line`, if one follows (after an unknown or unimplemented keyword).
  void skip_block_if_present();

 private:
  template <class T>
  void dispatch(const LogicalLine& line, std::span<const Keyword<T>> keywords, T& target) {
    if (line.is_open()) {
      error(line.tokens[0], "unexpected '{'");
      skip_block_body();
      return;
    }
    for (const auto& keyword : keywords) {
      if (keyword.name != line.keyword()) continue;
      if (keyword.handler == nullptr) {
        not_implemented(line);
        skip_block_if_present();
      } else {
        keyword.handler(*this, line, target);
      }
      return;
    }
    std::vector<std::string_view> names;
    names.reserve(keywords.size());
    for (const auto& keyword : keywords)
      names.push_back(keyword.name);
    unknown_keyword(line, names);
    skip_block_if_present();
  }

  // One LogicalLine per nesting depth, kept across blocks: Reader::next() swaps buffers with
  // the line it fills, so a fresh line per block would hand the reader empty buffers to
  // allocate again (tens of thousands of real_server and checker blocks in a big config).
  struct LineLease {
    explicit LineLease(Context& ctx) : ctx(ctx), line(ctx.acquire_line()) {}
    ~LineLease() { --ctx.depth_; }
    LineLease(const LineLease&) = delete;
    LineLease& operator=(const LineLease&) = delete;
    Context& ctx;
    LogicalLine& line;
  };
  LogicalLine& acquire_line() {
    if (depth_ == lines_.size()) lines_.push_back(std::make_unique<LogicalLine>());
    return *lines_[depth_++];
  }

  bool open_block(const LogicalLine& owner);
  // Next line inside the block opened by `owner`; false at its "}" or (with an error) at EOF.
  bool next_in_block(const LogicalLine& owner, LogicalLine& line);
  void skip_block_body();

  Reader& reader_;
  Diagnostics& diagnostics_;
  std::vector<std::unique_ptr<LogicalLine>> lines_;
  size_t depth_ = 0;
  LogicalLine brace_;  // receives each block's "{" line
};

// A keyword vigil reads into the model (so --dump-config shows it) but does not act on yet:
// `{"unicast_ttl", recorded_only<integer<...>>}` parses as Handler does, then warns.
template <auto Handler, class T>
void recorded_only(Context& ctx, const LogicalLine& line, T& target) {
  Handler(ctx, line, target);
  ctx.not_implemented(line);
}

// --- Generic handlers for keywords that set one member from one argument. ------------------
// Use as `{"vrrp_strict", set_flag<&GlobalDefs::vrrp_strict>}`.
template <class M>
struct member_traits;
template <class C, class V>
struct member_traits<V C::*> {
  using object = C;
  using value = V;
};
template <class V>
struct unwrap_optional {
  using type = V;
};
template <class V>
struct unwrap_optional<std::optional<V>> {
  using type = V;
};
template <auto Member>
using member_object_t = typename member_traits<decltype(Member)>::object;
template <auto Member>
using member_value_t =
    typename unwrap_optional<typename member_traits<decltype(Member)>::value>::type;

template <auto Member>
void set_flag(Context& ctx, const LogicalLine& line, member_object_t<Member>& target) {
  if (auto value = ctx.flag(line)) target.*Member = *value;
}

template <auto Member, int64_t Min, int64_t Max>
void set_integer(Context& ctx, const LogicalLine& line, member_object_t<Member>& target) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto value = ctx.integer(line, 1, Min, Max)) {
    target.*Member = static_cast<member_value_t<Member>>(*value);
  }
}

// Decimal seconds within [MinMicros, MaxMicros].
template <auto Member, int64_t MinMicros, int64_t MaxMicros>
void set_seconds(Context& ctx, const LogicalLine& line, member_object_t<Member>& target) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto value = ctx.seconds(line, 1, Duration{MinMicros}, Duration{MaxMicros})) {
    target.*Member = *value;
  }
}

template <auto Member>
void set_text(Context& ctx, const LogicalLine& line, member_object_t<Member>& target) {
  if (auto value = ctx.text(line)) target.*Member = std::move(*value);
}

template <auto Member>
void set_address(Context& ctx, const LogicalLine& line, member_object_t<Member>& target) {
  if (!ctx.arg_count(line, 1, 1)) return;
  if (auto value = ctx.address(line, 1)) target.*Member = *value;
}

template <auto Member>
void set_command(Context& ctx, const LogicalLine& line, member_object_t<Member>& target) {
  if (auto value = ctx.command(line)) target.*Member = std::move(*value);
}

constexpr int64_t kSecond = 1'000'000;  // microseconds, for set_seconds bounds

// "SECONDS[.FRACTION]" with at most 6 decimals, read exactly (no floating point); nullopt if
// malformed ("", ".5", "5.", "1e3", "-1").
std::optional<Duration> parse_decimal_seconds(std::string_view text);
// The shortest decimal form of `d` in seconds ("0.01", "3").
std::string format_seconds(Duration d);

// The closest of `candidates` to `word` (edit distance), or empty if none is close enough.
std::string_view did_you_mean(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace vigil::config
