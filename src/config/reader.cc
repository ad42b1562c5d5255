#include "config/reader.h"

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

namespace vigil::config {

// A line on its way through the steps listed in reader.h, with the source column of each byte.
struct Reader::Line {
  std::string text;
  std::vector<uint32_t> columns;  // 1-based source column of each byte of `text`
  uint32_t file = 0;
  uint32_t line_no = 0;
  bool continued = false;  // a physical line that ended in a backslash
  bool expanded = false;   // macros were expanded already

  [[nodiscard]] SourceLocation loc(size_t at = 0) const {
    if (columns.empty()) return {file, line_no, 1};
    return {file, line_no, columns[std::min(at, columns.size() - 1)]};
  }
  void erase_prefix(size_t n) {
    text.erase(0, n);
    columns.erase(columns.begin(), columns.begin() + static_cast<ptrdiff_t>(n));
  }
};

// A ~SEQ or ~LST line being repeated.
struct Reader::Repeat {
  std::vector<std::string> vars;
  bool is_list = false;
  bool hex = false;
  int64_t value = 0;  // ~SEQ: the next value
  int64_t step = 0;
  uint64_t remaining = 0;
  std::vector<std::vector<std::string>> values;  // ~LST: one value per variable
  size_t next_value = 0;
  Line rest;  // the rest of the line, repeated
};

// One source of lines. The reader pulls from the top of a stack of them.
struct Reader::Frame {
  enum Kind : uint8_t { kFile, kIncludeList, kLines, kRepeat };
  Kind kind = kFile;
  // kFile: a file (or text) being read.
  uint32_t file = 0;
  std::string text;
  size_t pos = 0;
  uint32_t line_no = 0;
  std::string directory;  // relative includes and ${_PWD}; empty: the current directory
  std::string identity;
  IncludeChecks include_checks;
  // kIncludeList: the paths one include line matched, opened one after the other.
  std::vector<std::string> paths;
  size_t next_path = 0;
  IncludeChecks list_checks;
  SourceLocation include_loc;
  // kLines: the lines of a multi-line macro's expansion.
  std::vector<Line> lines;
  size_t next_line = 0;
  // kRepeat
  std::unique_ptr<Repeat> repeat;
};

struct Reader::OpenDefinition {
  std::string name;
  std::vector<std::string> lines;
  const Frame* file = nullptr;
};

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}
bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

// keepalived's parameter names: [A-Za-z_][A-Za-z0-9_]*. Returns the length of the name at the
// start of `s`, 0 if there is none.
size_t name_length(std::string_view s) {
  if (s.empty() || !is_name_start(s[0])) return 0;
  size_t n = 1;
  while (n < s.size() && is_name_char(s[n]))
    ++n;
  return n;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back()))
    s.remove_suffix(1);
  return s;
}

// The include_check options an include keyword adds, or nullopt if `word` is not one.
std::optional<IncludeChecks> include_variant(std::string_view word) {
  constexpr std::string_view kInclude = "include";
  if (!word.starts_with(kInclude)) return std::nullopt;
  word.remove_prefix(kInclude.size());
  if (word.empty()) return IncludeChecks{};
  if (word.size() != 1) return std::nullopt;
  switch (word[0]) {
    case 'r':
      return IncludeChecks{.readable = true};
    case 'm':
      return IncludeChecks{.readable = true, .match = true};
    case 'w':
      return IncludeChecks{.readable = true, .wildcard_match = true};
    case 'b':
      return IncludeChecks{.readable = true, .brace_match = true};
    case 'a':
      return IncludeChecks{
          .readable = true, .match = true, .wildcard_match = true, .brace_match = true};
    default:
      return std::nullopt;
  }
}

IncludeChecks merge(IncludeChecks a, IncludeChecks b) {
  return {.readable = a.readable || b.readable,
          .match = a.match || b.match,
          .wildcard_match = a.wildcard_match || b.wildcard_match,
          .brace_match = a.brace_match || b.brace_match};
}

bool has_wildcard(std::string_view pattern) {
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      ++i;
    } else if (pattern[i] == '*' || pattern[i] == '?' || pattern[i] == '[') {
      return true;
    }
  }
  return false;
}

// A directory name made safe to prefix a glob pattern with.
std::string escape_glob(std::string_view directory) {
  std::string out;
  for (char c : directory) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\' || c == '{' || c == '}' ||
        c == ',') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

std::string directory_of(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return {};
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string join_path(std::string_view directory, std::string_view path) {
  if (directory.empty() || path.starts_with('/')) return std::string(path);
  std::string out(directory);
  if (out.back() != '/') out += '/';
  out += path;
  return out;
}

// The raw line, without trailing blanks, ends in a backslash.
bool ends_with_backslash(std::string_view raw) {
  raw = trim(raw);
  return !raw.empty() && raw.back() == '\\';
}

// An integer as keepalived's ~SEQ takes it (strtol with base 0): decimal, 0x-prefixed hex or
// 0-prefixed octal, optionally signed.
std::optional<int64_t> parse_integer(std::string_view s) {
  bool negative = s.starts_with('-');
  if (negative || s.starts_with('+')) s.remove_prefix(1);
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8;
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return negative ? -value : value;
}

std::string format_integer(int64_t value, bool hex) {
  char buffer[32];
  char* start = buffer;
  if (hex && value < 0) *start++ = '-';
  uint64_t magnitude = value < 0 ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  auto [end, ec] = hex ? std::to_chars(start, buffer + sizeof buffer, magnitude, 16)
                       : std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, end);
}

// Splits "a, {b, c}, d" at commas outside braces; items are trimmed.
std::vector<std::string_view> split_arguments(std::string_view s) {
  std::vector<std::string_view> out;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || (s[i] == ',' && depth == 0)) {
      out.push_back(trim(s.substr(start, i - start)));
      start = i + 1;
    } else if (s[i] == '{') {
      ++depth;
    } else if (s[i] == '}') {
      --depth;
    }
  }
  return out;
}

// "{a, b}" -> {"a", "b"}; "a" -> {"a"}.
std::vector<std::string_view> group_items(std::string_view item) {
  if (item.size() >= 2 && item.front() == '{' && item.back() == '}') {
    return split_arguments(item.substr(1, item.size() - 2));
  }
  return {item};
}

// Comment removal on a physical line: '#' or '!' outside double quotes ends it; "\#" and "\!"
// outside quotes are literal characters. Trailing blanks go too.
void strip_comment(std::string_view raw, std::string& text, std::vector<uint32_t>& columns) {
  text.clear();
  columns.clear();
  bool quoted = false;
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (!quoted && c == '\\' && i + 1 < raw.size() && (raw[i + 1] == '#' || raw[i + 1] == '!')) {
      columns.push_back(static_cast<uint32_t>(i + 1));
      text += raw[++i];
      continue;
    }
    if (!quoted && (c == '#' || c == '!')) break;
    if (c == '"') quoted = !quoted;
    columns.push_back(static_cast<uint32_t>(i + 1));
    text += c;
  }
  while (!text.empty() && is_blank(text.back())) {
    text.pop_back();
    columns.pop_back();
  }
}

// Lines whose first word asks for more than tokenizing: a condition, repetition, definition
// or include. (The tokenizer's fast path gives up on the rest: '$', '\\', NUL.)
bool needs_processing(std::string_view raw, size_t& first) {
  size_t i = 0;
  while (i < raw.size() && (raw[i] == ' ' || raw[i] == '\t'))
    ++i;
  first = i;
  if (i == raw.size()) return false;
  char c = raw[i];
  return c == '@' || c == '~' || c == '$' || (c == 'i' && raw.substr(i).starts_with("include"));
}

}  // namespace

Reader::Reader(SourceFiles& files, Diagnostics& diagnostics, ReaderOptions options)
    : files_(files),
      diagnostics_(diagnostics),
      options_(std::move(options)),
      fs_(options_.file_system ? options_.file_system : real_config_file_system()) {
  if (options_.random_seed) {
    random_.seed(*options_.random_seed);
  } else {
    std::random_device device;
    random_.seed(device());
  }
}

Reader::~Reader() = default;

bool Reader::open_file(const std::string& path) {
  auto contents = fs_->read(path);
  if (!contents) {
    diagnostics_.error({files_.add(path), 0, 0},
                       "cannot open configuration file: " + contents.error().message);
    return false;
  }
  auto frame = std::make_unique<Frame>();
  frame->file = files_.add(path);
  frame->text = std::move(contents->text);
  frame->directory = directory_of(path);
  frame->identity = std::move(contents->identity);
  frame->include_checks = options_.include_checks;
  // Inputs opened one after the other are read in that order.
  frames_.insert(frames_.begin(), std::move(frame));
  return true;
}

void Reader::open_text(std::string name, std::string text) {
  auto frame = std::make_unique<Frame>();
  frame->file = files_.add(std::move(name));
  frame->text = std::move(text);
  frame->directory = options_.base_directory;
  frame->include_checks = options_.include_checks;
  frames_.insert(frames_.begin(), std::move(frame));
}

bool Reader::next(LogicalLine& line) {
  if (!fill()) return false;
  // The caller's old buffers come back to the pool for reuse.
  LogicalLine& slot = pool_[head_++];
  line.tokens.swap(slot.tokens);
  line.text.swap(slot.text);
  return true;
}

const LogicalLine* Reader::peek() {
  return fill() ? &pool_[head_] : nullptr;
}

void Reader::set_include_checks(IncludeChecks checks) {
  if (Frame* frame = current_file_frame()) {
    frame->include_checks = checks;
  } else {
    options_.include_checks = checks;
  }
}

IncludeChecks Reader::include_checks() {
  if (Frame* frame = current_file_frame()) return frame->include_checks;
  return options_.include_checks;
}

void Reader::set_random_seed(uint32_t seed) {
  random_.seed(seed);
}

bool Reader::fill() {
  while (head_ == count_) {
    head_ = count_ = 0;
    if (frames_.empty()) return false;
    Frame& top = *frames_.back();
    switch (top.kind) {
      case Frame::kFile:
        if (!read_file_line(top)) close_frame();
        break;
      case Frame::kIncludeList:
        if (top.next_path >= top.paths.size()) {
          close_frame();
        } else {
          open_next_include(top);
        }
        break;
      case Frame::kLines: {
        if (generation_stopped_ || top.next_line >= top.lines.size()) {
          close_frame();
          break;
        }
        Line line = std::move(top.lines[top.next_line++]);
        if (count_generated_line(line.loc())) process_line(std::move(line));
        break;
      }
      case Frame::kRepeat: {
        Line line;
        if (generation_stopped_ || !repeat_next(top, line)) {
          close_frame();
          break;
        }
        if (count_generated_line(line.loc())) process_line(std::move(line));
        break;
      }
    }
  }
  return true;
}

void Reader::close_frame() {
  if (open_definition_ && open_definition_->file == frames_.back().get()) finish_definition();
  frames_.pop_back();
}

bool Reader::read_file_line(Frame& frame) {
  const std::string& text = frame.text;
  while (frame.pos < text.size()) {
    const char* begin = text.data() + frame.pos;
    size_t left = text.size() - frame.pos;
    const void* newline = std::memchr(begin, '\n', left);
    size_t length = newline ? static_cast<size_t>(static_cast<const char*>(newline) - begin) : left;
    std::string_view raw(begin, length);
    frame.pos += length + 1;
    ++frame.line_no;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    SourceLocation loc{frame.file, frame.line_no, 1};
    if (raw.size() > ReaderOptions::kMaxLineLength) {
      diagnostics_.error(loc, "line is longer than " +
                                  std::to_string(ReaderOptions::kMaxLineLength) +
                                  " bytes; line ignored");
      continue;
    }
    size_t first = 0;
    if (!open_definition_ && !needs_processing(raw, first) &&
        tokenize<true>(raw, nullptr, frame.file, frame.line_no, first)) {
      return true;
    }
    if (std::memchr(raw.data(), '\0', raw.size()) != nullptr) {
      diagnostics_.error(loc, "line contains a NUL byte; line ignored");
      continue;
    }
    if (open_definition_) {
      Line body;
      strip_comment(raw, body.text, body.columns);
      add_definition_line(body.text, ends_with_backslash(raw));
      return true;
    }
    Line line;
    strip_comment(raw, line.text, line.columns);
    line.file = frame.file;
    line.line_no = frame.line_no;
    line.continued = ends_with_backslash(raw);
    process_line(std::move(line));
    return true;
  }
  return false;
}

void Reader::process_line(Line line) {
  for (;;) {
    size_t start = 0;
    while (start < line.text.size() && is_blank(line.text[start]))
      ++start;
    if (start == line.text.size()) return;
    if (start > 0) line.erase_prefix(start);
    char first = line.text[0];
    if (first == '@') {
      if (!apply_condition(line)) return;
      continue;
    }
    if (first == '$' && try_definition(line)) return;
    if (first == '~' && try_repetition(line)) return;
    if (first == 'i' && try_include(line)) return;
    if (!line.expanded && line.text.find('$') != std::string::npos) {
      Expansion result = expand_macros(line);
      if (result == Expansion::kSplit || result == Expansion::kFailed) return;
      if (result == Expansion::kChanged) {
        line.expanded = true;
        continue;
      }
    }
    tokenize<false>(line.text, line.columns.data(), line.file, line.line_no, 0);
    return;
  }
}

// "@ID rest" keeps the rest only on the node whose config id is ID; "@^ID" on every other node.
bool Reader::apply_condition(Line& line) {
  size_t id_end = 1;
  while (id_end < line.text.size() && !is_blank(line.text[id_end]))
    ++id_end;
  std::string_view id(line.text.data() + 1, id_end - 1);
  bool negate = id.starts_with('^');
  if (negate) id.remove_prefix(1);
  if ((id == options_.config_id) == negate) return false;
  line.erase_prefix(id_end);
  return true;
}

// "$NAME=value" (no blank before '='). A value ending in a backslash on a physical line starts
// a multi-line definition that runs to the first line not ending in one.
bool Reader::try_definition(const Line& line) {
  std::string_view text = line.text;
  size_t n = name_length(text.substr(1));
  if (n == 0 || n + 1 >= text.size() || text[n + 1] != '=') return false;
  std::string_view name = text.substr(1, n);
  std::string_view value = trim(text.substr(n + 2));
  if (line.continued) {
    if (value.ends_with('\\')) value = trim(value.substr(0, value.size() - 1));
    open_definition_ = std::make_unique<OpenDefinition>();
    open_definition_->name = std::string(name);
    if (!value.empty()) open_definition_->lines.emplace_back(value);
    open_definition_->file = current_file_frame();
    return true;
  }
  define(name, {std::string(value)}, false);
  return true;
}

void Reader::add_definition_line(std::string_view stripped, bool continued) {
  std::string_view body = trim(stripped);
  if (continued && body.ends_with('\\')) body = trim(body.substr(0, body.size() - 1));
  if (!body.empty()) open_definition_->lines.emplace_back(body);
  if (!continued) finish_definition();
}

void Reader::finish_definition() {
  auto definition = std::move(open_definition_);
  define(definition->name, std::move(definition->lines), true);
}

void Reader::define(std::string_view name, std::vector<std::string> lines, bool multi_line) {
  auto it = macros_.find(name);
  if (it == macros_.end()) it = macros_.emplace(std::string(name), Macro{}).first;
  it->second.lines = std::move(lines);
  it->second.multi_line = multi_line;
}

// "~SEQ(var, [start, [step,]] end) rest", "~SEQx(...) rest" (values in hex) and
// "~LST(var, a, b, ...) rest" / "~LST({v1, v2}, {a1, a2}, ...) rest" repeat the rest of the
// line with the variables defined as macros; they stay defined with the last value afterwards,
// as in keepalived.
bool Reader::try_repetition(Line& line) {
  std::string_view text = line.text;
  bool is_list = text.starts_with("~LST");
  bool hex = text.starts_with("~SEQx");
  if (!is_list && !text.starts_with("~SEQ")) return false;
  size_t open = hex ? 5 : 4;
  while (open < text.size() && is_blank(text[open]))
    ++open;
  if (open >= text.size() || text[open] != '(') return false;
  const char* what = is_list ? "~LST" : "~SEQ";
  size_t close = text.find(')', open);
  if (close == std::string_view::npos) {
    diagnostics_.error(line.loc(), std::string("invalid ") + what + ": no closing ')'");
    return true;
  }
  auto args = split_arguments(text.substr(open + 1, close - open - 1));
  auto repeat = std::make_unique<Repeat>();
  repeat->is_list = is_list;
  repeat->hex = hex;
  auto fail = [&](const std::string& why) {
    diagnostics_.error(line.loc(), std::string("invalid ") + what + ": " + why);
    return true;
  };
  for (auto var : group_items(args[0])) {
    if (var.empty() || name_length(var) != var.size()) {
      return fail("'" + std::string(var) + "' is not a variable name");
    }
    repeat->vars.emplace_back(var);
  }
  if (is_list) {
    if (args.size() < 2) return fail("no values to walk");
    for (size_t i = 1; i < args.size(); ++i) {
      auto items = group_items(args[i]);
      if (items.size() != repeat->vars.size()) {
        return fail("value " + std::string(args[i]) + " does not give one value per variable");
      }
      std::vector<std::string> values;
      for (auto item : items) {
        if (std::find_if(item.begin(), item.end(), is_blank) != item.end()) {
          return fail("value '" + std::string(item) + "' contains a blank");
        }
        values.emplace_back(item);
      }
      repeat->values.push_back(std::move(values));
    }
  } else {
    if (repeat->vars.size() != 1) return fail("~SEQ takes one variable");
    if (args.size() < 2 || args.size() > 4) return fail("expected (var, [start, [step,]] end)");
    std::vector<int64_t> numbers;
    for (size_t i = 1; i < args.size(); ++i) {
      auto number = parse_integer(args[i]);
      if (!number) return fail("'" + std::string(args[i]) + "' is not an integer");
      numbers.push_back(*number);
    }
    int64_t end = numbers.back();
    int64_t start = numbers.size() >= 2 ? numbers[0] : (end >= 0 ? 1 : -1);
    int64_t step = numbers.size() == 3 ? numbers[1] : (end >= start ? 1 : -1);
    if (hex && (start < 0 || end < 0)) return fail("~SEQx is only valid for positive numbers");
    if (step == 0 || (end > start && step < 0) || (end < start && step > 0)) {
      return fail("step " + std::to_string(step) + " does not lead from " + std::to_string(start) +
                  " to " + std::to_string(end));
    }
    // Differences of int64 values fit in uint64 with wrap-around arithmetic.
    uint64_t span = end > start ? static_cast<uint64_t>(end) - static_cast<uint64_t>(start)
                                : static_cast<uint64_t>(start) - static_cast<uint64_t>(end);
    uint64_t stride = step > 0 ? static_cast<uint64_t>(step) : 0 - static_cast<uint64_t>(step);
    uint64_t steps = span / stride;
    if (steps >= options_.max_generated_lines) {
      return fail("more than " + std::to_string(options_.max_generated_lines) + " repetitions");
    }
    uint64_t count = steps + 1;
    repeat->value = start;
    repeat->step = step;
    repeat->remaining = static_cast<uint64_t>(count);
  }
  size_t rest = close + 1;
  while (rest < text.size() && is_blank(text[rest]))
    ++rest;
  repeat->rest.text.assign(text.substr(rest));
  repeat->rest.columns.assign(line.columns.begin() + static_cast<ptrdiff_t>(rest),
                              line.columns.end());
  repeat->rest.file = line.file;
  repeat->rest.line_no = line.line_no;
  repeat->rest.expanded = false;
  auto frame = std::make_unique<Frame>();
  frame->kind = Frame::kRepeat;
  frame->repeat = std::move(repeat);
  frames_.push_back(std::move(frame));
  return true;
}

bool Reader::repeat_next(Frame& frame, Line& out) {
  Repeat& repeat = *frame.repeat;
  if (repeat.is_list) {
    if (repeat.next_value >= repeat.values.size()) return false;
    const auto& values = repeat.values[repeat.next_value++];
    for (size_t i = 0; i < repeat.vars.size(); ++i)
      define(repeat.vars[i], {values[i]}, false);
  } else {
    if (repeat.remaining == 0) return false;
    define(repeat.vars[0], {format_integer(repeat.value, repeat.hex)}, false);
    if (--repeat.remaining > 0) repeat.value += repeat.step;
  }
  out = repeat.rest;
  return true;
}

bool Reader::count_generated_line(const SourceLocation& loc) {
  if (++generated_lines_ <= options_.max_generated_lines) return true;
  if (!generation_stopped_) {
    diagnostics_.error(loc, "macros, ~SEQ and ~LST generated more than " +
                                std::to_string(options_.max_generated_lines) +
                                " lines; the rest are dropped");
    generation_stopped_ = true;
  }
  return false;
}

// "include PATTERN" and its stricter variants. As in keepalived, the pattern is the raw rest of
// the line (quotes are part of it) and is not macro-expanded.
bool Reader::try_include(const Line& line) {
  std::string_view text = line.text;
  size_t word_end = 0;
  while (word_end < text.size() && !is_blank(text[word_end]))
    ++word_end;
  auto variant = include_variant(text.substr(0, word_end));
  if (!variant) return false;
  std::string keyword(text.substr(0, word_end));
  std::string pattern(trim(text.substr(word_end)));
  if (pattern.empty()) {
    diagnostics_.error(line.loc(), keyword + " needs a file name pattern");
    return true;
  }
  Frame* including = current_file_frame();
  IncludeChecks checks =
      merge(including ? including->include_checks : options_.include_checks, *variant);
  std::string full =
      pattern.starts_with('/') ? pattern : join_path(escape_glob(current_directory()), pattern);
  std::vector<std::string> alternatives;
  if (!expand_braces(full, alternatives)) {
    diagnostics_.error(line.loc(), keyword + " '" + pattern + "' has too many brace alternatives");
    return true;
  }
  std::vector<std::string> paths;
  bool wildcard = false;
  for (const auto& alternative : alternatives) {
    wildcard = wildcard || has_wildcard(alternative);
    auto matches = fs_->glob(alternative);
    if (matches.empty() && checks.brace_match && alternatives.size() > 1) {
      diagnostics_.error(line.loc(),
                         keyword + ": no file matches '" + alternative + "' of '" + pattern + "'");
    }
    paths.insert(paths.end(), std::make_move_iterator(matches.begin()),
                 std::make_move_iterator(matches.end()));
  }
  if (paths.empty()) {
    if (wildcard ? checks.wildcard_match : checks.match) {
      diagnostics_.error(line.loc(), keyword + ": no file matches '" + pattern + "'");
    } else if (!wildcard) {
      // keepalived logs a missing file even for plain include, without failing the config.
      diagnostics_.warning(line.loc(), keyword + ": no file matches '" + pattern + "'");
    }
    return true;
  }
  auto frame = std::make_unique<Frame>();
  frame->kind = Frame::kIncludeList;
  frame->paths = std::move(paths);
  frame->list_checks = checks;
  frame->include_loc = line.loc();
  frames_.push_back(std::move(frame));
  return true;
}

void Reader::open_next_include(Frame& list) {
  const std::string& path = list.paths[list.next_path++];
  auto report = [&](const std::string& message) {
    if (list.list_checks.readable) {
      diagnostics_.error(list.include_loc, message);
    } else {
      diagnostics_.warning(list.include_loc, message);
    }
  };
  auto contents = fs_->read(path);
  if (!contents) {
    report("cannot read included file '" + path + "': " + contents.error().message);
    return;
  }
  uint32_t depth = 0;
  for (const auto& frame : frames_) {
    if (frame->kind != Frame::kFile) continue;
    ++depth;
    if (!frame->identity.empty() && frame->identity == contents->identity) {
      diagnostics_.error(list.include_loc, "include loop: '" + path + "' is already being read");
      return;
    }
  }
  if (depth >= ReaderOptions::kMaxIncludeDepth) {
    diagnostics_.error(list.include_loc, "includes nested more than " +
                                             std::to_string(ReaderOptions::kMaxIncludeDepth) +
                                             " deep; not reading '" + path + "'");
    return;
  }
  if (++included_files_ > options_.max_included_files) {
    if (included_files_ == options_.max_included_files + 1) {
      diagnostics_.error(list.include_loc, "include opened more than " +
                                               std::to_string(options_.max_included_files) +
                                               " files; not reading any more");
    }
    return;
  }
  Frame* including = current_file_frame();
  auto frame = std::make_unique<Frame>();
  frame->file = files_.add(path);
  frame->text = std::move(contents->text);
  frame->directory = directory_of(path);
  frame->identity = std::move(contents->identity);
  frame->include_checks = including ? including->include_checks : options_.include_checks;
  frames_.push_back(std::move(frame));
}

Reader::Frame* Reader::current_file_frame() const {
  for (auto it = frames_.rbegin(); it != frames_.rend(); ++it) {
    if ((*it)->kind == Frame::kFile) return it->get();
  }
  return nullptr;
}

uint32_t Reader::nesting(uint8_t kind) const {
  return static_cast<uint32_t>(std::count_if(
      frames_.begin(), frames_.end(), [kind](const auto& frame) { return frame->kind == kind; }));
}

std::string Reader::current_directory() const {
  const Frame* frame = current_file_frame();
  return frame ? frame->directory : options_.base_directory;
}

// Replaces "$NAME" (followed by a blank or the end of the line) and "${NAME}" with the macro's
// value, rescanning the value so definitions may refer to others. Undefined names stay as
// written. A multi-line macro, allowed only at the end of a line, splits the line: the text
// before it joins its first line; the pieces go through all steps again, in order.
Reader::Expansion Reader::expand_macros(Line& line) {
  std::string& text = line.text;
  uint32_t substitutions = 0;
  bool changed = false;
  size_t i = 0;
  while ((i = text.find('$', i)) != std::string::npos) {
    std::string_view name;
    std::string_view arguments;
    size_t end = 0;
    if (i + 1 < text.size() && text[i + 1] == '{') {
      size_t close = text.find('}', i + 2);
      if (close == std::string::npos) {
        ++i;
        continue;
      }
      std::string_view inner(text.data() + i + 2, close - i - 2);
      size_t n = name_length(inner);
      name = inner.substr(0, n);
      arguments = inner.substr(n);
      if (n == 0 || (!arguments.empty() && !(name == "_RANDOM" && is_blank(arguments[0])))) {
        ++i;
        continue;
      }
      end = close + 1;
    } else {
      size_t n = name_length(std::string_view(text).substr(i + 1));
      end = i + 1 + n;
      if (n == 0 || (end < text.size() && !is_blank(text[end]))) {
        ++i;
        continue;
      }
      name = std::string_view(text).substr(i + 1, n);
    }

    std::string value;
    const Macro* multi = nullptr;
    if (name == "_PWD") {
      std::string directory = current_directory();
      value = fs_->absolute(directory.empty() ? "." : directory);
    } else if (name == "_INSTANCE") {
      value = options_.instance_name.empty() ? options_.config_id : options_.instance_name;
    } else if (name == "_HASH") {
      value = "#";
    } else if (name == "_BANG") {
      value = "!";
    } else if (name == "_RANDOM") {
      // ${_RANDOM [MIN [MAX]]}: non-negative integers, defaults 0 and 32767.
      int64_t bounds[2] = {0, 32767};
      size_t count = 0;
      bool valid = true;
      std::string_view args = trim(arguments);
      while (!args.empty() && valid) {
        size_t blank = 0;
        while (blank < args.size() && !is_blank(args[blank]))
          ++blank;
        auto number = parse_integer(args.substr(0, blank));
        valid = count < 2 && number && *number >= 0;
        if (valid) bounds[count++] = *number;
        args = trim(args.substr(blank));
      }
      if (!valid || bounds[0] > bounds[1]) {
        diagnostics_.error(line.loc(i), "invalid ${_RANDOM" + std::string(arguments) +
                                            "}: expected ${_RANDOM [MIN [MAX]]} with 0 <= MIN "
                                            "<= MAX");
        return Expansion::kFailed;
      }
      value = std::to_string(std::uniform_int_distribution<int64_t>(bounds[0], bounds[1])(random_));
    } else {
      auto it = macros_.find(name);
      if (it == macros_.end()) {
        ++i;
        continue;
      }
      if (it->second.multi_line && !it->second.lines.empty()) {
        // As in keepalived 2.2.7, a multi-line macro expands only at the end of a line;
        // elsewhere it stays as written.
        if (!trim(std::string_view(text).substr(end)).empty()) {
          ++i;
          continue;
        }
        multi = &it->second;
      } else {
        value = it->second.lines.empty() ? std::string() : it->second.lines.front();
      }
    }

    if (++substitutions > ReaderOptions::kMaxSubstitutionsPerLine) {
      diagnostics_.error(line.loc(i), "expanding $" + std::string(name) + " does not end (" +
                                          std::to_string(ReaderOptions::kMaxSubstitutionsPerLine) +
                                          " substitutions in one line): does a definition "
                                          "refer to itself?");
      return Expansion::kFailed;
    }
    uint32_t use_column = line.columns[i];
    if (multi) {
      if (nesting(Frame::kLines) >= ReaderOptions::kMaxMacroNesting) {
        diagnostics_.error(line.loc(i), "multi-line macros nested more than " +
                                            std::to_string(ReaderOptions::kMaxMacroNesting) +
                                            " deep: does $" + std::string(name) + " use itself?");
        return Expansion::kFailed;
      }
      auto frame = std::make_unique<Frame>();
      frame->kind = Frame::kLines;
      const auto& body = multi->lines;
      frame->lines.resize(body.size());
      for (size_t k = 0; k < body.size(); ++k) {
        Line& piece = frame->lines[k];
        piece.file = line.file;
        piece.line_no = line.line_no;
        if (k == 0) {
          piece.text.assign(text, 0, i);
          piece.columns.assign(line.columns.begin(), line.columns.begin() + ptrdiff_t(i));
        }
        piece.text += body[k];
        piece.columns.insert(piece.columns.end(), body[k].size(), use_column);
        if (k + 1 == body.size()) {
          piece.text.append(text, end);
          piece.columns.insert(piece.columns.end(), line.columns.begin() + ptrdiff_t(end),
                               line.columns.end());
        }
      }
      frames_.push_back(std::move(frame));
      return Expansion::kSplit;
    }
    text.replace(i, end - i, value);
    line.columns.erase(line.columns.begin() + ptrdiff_t(i), line.columns.begin() + ptrdiff_t(end));
    line.columns.insert(line.columns.begin() + ptrdiff_t(i), value.size(), use_column);
    changed = true;
    if (text.size() > ReaderOptions::kMaxLineLength) {
      diagnostics_.error(line.loc(i), "line is longer than " +
                                          std::to_string(ReaderOptions::kMaxLineLength) +
                                          " bytes after macro expansion; line ignored");
      return Expansion::kFailed;
    }
    // Rescan from the start of the value: it may itself contain references.
  }
  return changed ? Expansion::kChanged : Expansion::kUnchanged;
}

LogicalLine& Reader::start_logical_line() {
  if (count_ == pool_.size()) pool_.emplace_back();
  return pool_[count_];
}

namespace {

// Character classes for the tokenizer.
enum : uint8_t {
  kBlank = 1,
  kQuote = 2,
  kBrace = 4,
  kComment = 8,   // '#' '!': end a physical line on the fast path
  kSpecial = 16,  // '$' '\\' NUL: the fast path hands the line to the full processing
};

constexpr std::array<uint8_t, 256> make_classes() {
  std::array<uint8_t, 256> classes{};
  for (char c : {' ', '\t', '\r', '\f', '\v'})
    classes[static_cast<uint8_t>(c)] = kBlank;
  classes['"'] = kQuote;
  classes['{'] = kBrace;
  classes['}'] = kBrace;
  classes['#'] = kComment;
  classes['!'] = kComment;
  classes['$'] = kSpecial;
  classes['\\'] = kSpecial;
  classes[0] = kSpecial;
  return classes;
}
constexpr std::array<uint8_t, 256> kClasses = make_classes();

uint8_t classify(char c) {
  return kClasses[static_cast<uint8_t>(c)];
}

}  // namespace

// Splits a line at braces into logical lines of tokens.
// kFast: a physical line straight from the file buffer, columns are offsets + 1; '#' and '!'
// outside quotes end it. Returns false, having emitted nothing, at the first character that
// needs the full processing ('$', '\\', NUL, or an include after a brace).
// Otherwise comments were removed before, such characters are literal (from "\\#" or
// ${_HASH}), and `columns` maps each byte to its source column.
template <bool kFast>
bool Reader::tokenize(std::string_view text, const uint32_t* columns, uint32_t file,
                      uint32_t line_no, size_t from) {
  auto column = [&](size_t at) {
    if constexpr (kFast) {
      return static_cast<uint32_t>(at + 1);
    } else {
      return columns[at];
    }
  };
  constexpr uint8_t kStop = kBlank | kQuote | kBrace | (kFast ? kComment | kSpecial : 0);
  const size_t first_slot = count_;
  LogicalLine* current = nullptr;
  size_t used = 0;  // tokens of *current; slots keep their old Token objects for reuse
  size_t line_start = 0;
  auto add_token = [&](size_t at, std::string_view token, uint32_t offset, bool quoted) {
    if (used == current->tokens.size()) current->tokens.emplace_back();
    Token& t = current->tokens[used++];
    t.text.clear();  // clear + append: cheaper than assign's general replace for short text
    t.text.append(token.data(), token.size());
    t.loc = {file, line_no, column(at)};
    t.offset = offset;
    t.quoted = quoted;
  };
  // Ends the current logical line at `end`; false if it must not be emitted.
  auto finish = [&](size_t end) {
    if (current == nullptr) return true;
    current->tokens.resize(used);
    LogicalLine& line = *current;
    current = nullptr;
    if (count_ > first_slot && !line.tokens.front().quoted &&
        include_variant(line.tokens.front().text).has_value()) {
      if constexpr (kFast) return false;
      diagnostics_.error(line.loc(),
                         line.keyword() + " must start a line (not follow a brace); ignored");
      return true;
    }
    while (end > line_start && classify(text[end - 1]) == kBlank)
      --end;
    line.text.clear();
    line.text.append(text.data() + line_start, end - line_start);
    ++count_;
    return true;
  };
  auto give_up = [&] {
    count_ = first_slot;
    return false;
  };

  size_t i = from;
  const size_t n = text.size();
  while (i < n) {
    uint8_t cls = classify(text[i]);
    if (cls == kBlank) {
      ++i;
      continue;
    }
    if (kFast && cls == kComment) {
      // A NUL byte anywhere rejects the line, even in a comment.
      if (std::memchr(text.data() + i, '\0', n - i) != nullptr) return give_up();
      break;
    }
    if (kFast && cls == kSpecial) return give_up();
    if (cls == kBrace) {
      if (!finish(i)) return give_up();
      current = &start_logical_line();
      used = 0;
      line_start = i;
      add_token(i, text.substr(i, 1), 0, false);
      if (!finish(i + 1)) return give_up();
      ++i;
      continue;
    }
    if (current == nullptr) {
      current = &start_logical_line();
      used = 0;
      line_start = i;
    }
    auto offset = static_cast<uint32_t>(i - line_start);
    if (cls == kQuote) {
      size_t end = i + 1;
      while (end < n && text[end] != '"') {
        if (kFast && classify(text[end]) == kSpecial) return give_up();
        ++end;
      }
      add_token(i, text.substr(i + 1, end - i - 1), offset, true);
      if (end == n) diagnostics_.error({file, line_no, column(i)}, "unterminated quote");
      i = end == n ? n : end + 1;
      continue;
    }
    size_t end = i + 1;
    while (end < n && (classify(text[end]) & kStop) == 0)
      ++end;
    add_token(i, text.substr(i, end - i), offset, false);
    i = end;
    if (kFast && i < n && classify(text[i]) == kSpecial) return give_up();
  }
  if (!finish(i)) return give_up();
  return true;
}

bool split_command_line(std::string_view text, std::vector<std::string>& argv) {
  argv.clear();
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (is_blank(c)) {
      if (in_word) argv.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\\') {
      if (i + 1 < text.size()) word += text[++i];
      continue;
    }
    if (c == '\'') {
      size_t close = text.find('\'', i + 1);
      if (close == std::string_view::npos) return false;
      word.append(text.substr(i + 1, close - i - 1));
      i = close;
      continue;
    }
    if (c == '"') {
      ++i;
      for (; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size() &&
            (text[i + 1] == '"' || text[i + 1] == '\\' || text[i + 1] == '$')) {
          ++i;
        }
        word += text[i];
      }
      if (i >= text.size()) return false;
      continue;
    }
    word += c;
  }
  if (in_word) argv.push_back(std::move(word));
  return true;
}

namespace {  // the file-system side: glob(3), whole-file reads, brace expansion

constexpr off_t kMaxFileSize = 64 << 20;

class RealConfigFileSystem final : public ConfigFileSystem {
 public:
  std::vector<std::string> glob(const std::string& pattern) override {
    std::vector<std::string> paths;
    glob_t matches{};
    if (::glob(pattern.c_str(), 0, nullptr, &matches) == 0) {
      paths.assign(matches.gl_pathv, matches.gl_pathv + matches.gl_pathc);
    }
    globfree(&matches);
    return paths;
  }

  Result<FileContents> read(const std::string& path) override {
    // O_NONBLOCK: opening a FIFO must not hang the reader; it is rejected below anyway.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return Error{std::strerror(errno)};
    struct stat info {};
    if (::fstat(fd, &info) != 0) {
      int error = errno;
      ::close(fd);
      return Error{std::strerror(error)};
    }
    if (!S_ISREG(info.st_mode)) {
      ::close(fd);
      return Error{"not a regular file"};
    }
    if (info.st_size > kMaxFileSize) {
      ::close(fd);
      return Error{"larger than 64 MiB"};
    }
    FileContents contents;
    contents.identity = std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);
    contents.text.resize(static_cast<size_t>(info.st_size));
    size_t done = 0;
    while (done < contents.text.size()) {
      ssize_t n = ::read(fd, contents.text.data() + done, contents.text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int error = errno;
        ::close(fd);
        return Error{std::strerror(error)};
      }
      if (n == 0) break;  // the file shrank while we read it
      done += static_cast<size_t>(n);
    }
    contents.text.resize(done);
    ::close(fd);
    return contents;
  }

  std::string absolute(const std::string& directory) override {
    char* resolved = ::realpath(directory.c_str(), nullptr);
    if (resolved == nullptr) return directory;
    std::string out(resolved);
    std::free(resolved);  // NOLINT(cppcoreguidelines-no-malloc): realpath allocates with malloc
    return out;
  }
};

// Finds the first unescaped '{' that has a matching '}'.
bool find_brace(std::string_view s, size_t& open, size_t& close) {
  int depth = 0;
  open = std::string_view::npos;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\') {
      ++i;
    } else if (c == '{') {
      if (depth++ == 0) open = i;
    } else if (c == '}' && depth > 0) {
      if (--depth == 0) {
        close = i;
        return true;
      }
    }
  }
  return false;
}

bool expand_into(std::string_view pattern, std::vector<std::string>& out, size_t limit, int depth) {
  size_t open = 0;
  size_t close = 0;
  if (depth > 64 || !find_brace(pattern, open, close)) {
    out.emplace_back(pattern);
    return out.size() <= limit;
  }
  std::string_view prefix = pattern.substr(0, open);
  std::string_view body = pattern.substr(open + 1, close - open - 1);
  std::string_view suffix = pattern.substr(close + 1);
  int nested = 0;
  size_t start = 0;
  for (size_t i = 0; i <= body.size(); ++i) {
    if (i < body.size()) {
      char c = body[i];
      if (c == '\\' && i + 1 < body.size()) {
        ++i;
        continue;
      }
      if (c == '{') ++nested;
      if (c == '}') --nested;
      if (c != ',' || nested != 0) continue;
    }
    std::string alternative(prefix);
    alternative.append(body.substr(start, std::min(i, body.size()) - start));
    alternative.append(suffix);
    if (!expand_into(alternative, out, limit, depth + 1)) return false;
    start = i + 1;
  }
  return true;
}

}  // namespace

std::shared_ptr<ConfigFileSystem> real_config_file_system() {
  static auto fs = std::make_shared<RealConfigFileSystem>();
  return fs;
}

bool expand_braces(std::string_view pattern, std::vector<std::string>& out, size_t limit) {
  out.clear();
  return expand_into(pattern, out, limit, 0);
}

}  // namespace vigil::config
