#include "config/reader.h"

#include <fstream>
#include <sstream>

namespace vigil::config {

struct Reader::Input {
  uint32_t file = 0;
  std::string text;
  size_t pos = 0;
  uint32_t line_no = 0;
};

struct Reader::Macros {};

Reader::Reader(SourceFiles& files, Diagnostics& diagnostics, ReaderOptions options)
    : files_(files),
      diagnostics_(diagnostics),
      options_(std::move(options)),
      macros_(std::make_unique<Macros>()) {}

Reader::~Reader() = default;

bool Reader::open_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diagnostics_.error({files_.add(path), 0, 0}, "cannot open configuration file");
    return false;
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  open_text(path, std::move(contents).str());
  return true;
}

void Reader::open_text(std::string name, std::string text) {
  auto input = std::make_unique<Input>();
  input->file = files_.add(std::move(name));
  input->text = std::move(text);
  inputs_.push_back(std::move(input));
}

bool Reader::next(LogicalLine& line) {
  if (!fill()) return false;
  line = std::move(pending_.front());
  pending_.pop_front();
  return true;
}

const LogicalLine* Reader::peek() {
  return fill() ? &pending_.front() : nullptr;
}

bool Reader::fill() {
  std::string physical;
  SourceLocation loc;
  while (pending_.empty() && !inputs_.empty()) {
    if (!read_physical_line(*inputs_.back(), physical, loc)) {
      inputs_.pop_back();
      continue;
    }
    process_physical_line(std::move(physical), loc, 0);
  }
  return !pending_.empty();
}

bool Reader::read_physical_line(Input& input, std::string& line, SourceLocation& loc) {
  while (input.pos < input.text.size()) {
    size_t end = input.text.find('\n', input.pos);
    if (end == std::string::npos) end = input.text.size();
    std::string_view raw(input.text.data() + input.pos, end - input.pos);
    input.pos = end + 1;
    ++input.line_no;
    loc = {input.file, input.line_no, 1};
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    if (raw.find('\0') != std::string_view::npos) {
      diagnostics_.error(loc, "line contains a NUL byte; line ignored");
      continue;
    }
    if (raw.size() > ReaderOptions::kMaxLineLength) {
      diagnostics_.error(loc, "line is longer than " +
                                  std::to_string(ReaderOptions::kMaxLineLength) +
                                  " bytes; line ignored");
      continue;
    }
    line.assign(raw);
    return true;
  }
  return false;
}

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

// Removes a comment ('#' or '!' outside double quotes) and turns "\#" and "\!" outside quotes
// into literal characters. `columns` maps each kept byte to its 1-based source column.
void strip_comment(std::string& line, std::vector<uint32_t>& columns) {
  std::string out;
  out.reserve(line.size());
  columns.clear();
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (!quoted && c == '\\' && i + 1 < line.size() && (line[i + 1] == '#' || line[i + 1] == '!')) {
      columns.push_back(static_cast<uint32_t>(i + 1));
      out += line[++i];
      continue;
    }
    if (!quoted && (c == '#' || c == '!')) break;
    if (c == '"') quoted = !quoted;
    columns.push_back(static_cast<uint32_t>(i + 1));
    out += c;
  }
  line.swap(out);
}

}  // namespace

void Reader::process_physical_line(std::string line, SourceLocation loc, uint32_t /*depth*/) {
  // "@ID rest" keeps the rest only on the node whose config id is ID; "@^ID" on every other node.
  size_t start = 0;
  while (start < line.size() && is_blank(line[start]))
    ++start;
  if (start < line.size() && line[start] == '@') {
    size_t id_end = start + 1;
    while (id_end < line.size() && !is_blank(line[id_end]))
      ++id_end;
    std::string_view id(line.data() + start + 1, id_end - start - 1);
    bool negate = !id.empty() && id.front() == '^';
    if (negate) id.remove_prefix(1);
    if ((id == options_.config_id) == negate) return;
    line.replace(start, id_end - start, id_end - start, ' ');
  }
  split_logical_lines(line, loc);
}

void Reader::split_logical_lines(const std::string& physical, const SourceLocation& loc) {
  std::string line = physical;
  std::vector<uint32_t> columns;
  strip_comment(line, columns);

  LogicalLine current;
  auto flush = [&] {
    if (!current.tokens.empty()) pending_.push_back(std::move(current));
    current = LogicalLine{};
  };
  auto add_token = [&](std::string text, size_t at, bool quoted) {
    Token token{std::move(text), {loc.file, loc.line, columns[at]}, 0, quoted};
    current.tokens.push_back(std::move(token));
  };

  // The raw text of the current logical line is rebuilt from the comment-free line: it is the
  // slice from the first token's start to the end of the logical line.
  size_t line_start = std::string::npos;
  auto finish_text = [&](size_t end) {
    if (!current.tokens.empty() && line_start != std::string::npos) {
      current.text.assign(line, line_start, end - line_start);
      while (!current.text.empty() && is_blank(current.text.back()))
        current.text.pop_back();
    }
    line_start = std::string::npos;
  };

  size_t i = 0;
  while (i < line.size()) {
    char c = line[i];
    if (is_blank(c)) {
      ++i;
      continue;
    }
    if (c == '{' || c == '}') {
      finish_text(i);
      flush();
      line_start = i;
      add_token(std::string(1, c), i, false);
      current.tokens.back().offset = 0;
      finish_text(i + 1);
      flush();
      ++i;
      continue;
    }
    if (line_start == std::string::npos) line_start = i;
    size_t token_start = i;
    if (c == '"') {
      size_t close = line.find('"', i + 1);
      size_t end = close == std::string::npos ? line.size() : close;
      add_token(line.substr(i + 1, end - i - 1), token_start, true);
      current.tokens.back().offset = static_cast<uint32_t>(token_start - line_start);
      i = close == std::string::npos ? line.size() : close + 1;
      continue;
    }
    size_t end = i;
    while (end < line.size() && !is_blank(line[end]) && line[end] != '"' && line[end] != '{' &&
           line[end] != '}') {
      ++end;
    }
    add_token(line.substr(i, end - i), token_start, false);
    current.tokens.back().offset = static_cast<uint32_t>(token_start - line_start);
    i = end;
  }
  finish_text(line.size());
  flush();
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

}  // namespace vigil::config
