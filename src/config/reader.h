// The keepalived configuration language, read into logical lines of tokens.
//
// The reader is a pull stream: the parser asks for one logical line at a time, so a config with
// tens of thousands of real servers never exists as a whole token tree in memory.
// It implements the grammar rules of shared/reference/keepalived-behaviour.md:
// physical lines -> @ID / @^ID filtering -> comment removal -> $NAME= definitions and macro
// expansion, ~SEQ / ~LST repetition -> include -> split at braces -> tokens.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostics.h"

namespace vigil::config {

struct Token {
  std::string text;     // quotes removed, escapes resolved
  SourceLocation loc;   // where the token starts
  uint32_t offset = 0;  // byte offset of the token's first character in LogicalLine::text
  bool quoted = false;  // the token was written in double quotes
};

// One logical line: a keyword and its arguments, or a lone "{" or "}".
struct LogicalLine {
  std::vector<Token> tokens;  // never empty
  // The line's text after comment removal and macro expansion, from the first token on. Script
  // keywords re-tokenize their argument from here with shell rules (see split_command_line).
  std::string text;

  [[nodiscard]] const SourceLocation& loc() const { return tokens.front().loc; }
  [[nodiscard]] const std::string& keyword() const { return tokens.front().text; }
  [[nodiscard]] bool is_open() const {
    return tokens.size() == 1 && tokens[0].text == "{" && !tokens[0].quoted;
  }
  [[nodiscard]] bool is_close() const {
    return tokens.size() == 1 && tokens[0].text == "}" && !tokens[0].quoted;
  }
  // Raw text from token `index` to the end of the line.
  [[nodiscard]] std::string_view rest(size_t index) const {
    return index < tokens.size() ? std::string_view(text).substr(tokens[index].offset)
                                 : std::string_view();
  }
};

struct ReaderOptions {
  std::string config_id;  // for "@ID" lines; the daemon defaults it to the short host name
  static constexpr size_t kMaxLineLength = 1024;
};

class Reader {
 public:
  Reader(SourceFiles& files, Diagnostics& diagnostics, ReaderOptions options = {});
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Starts reading `path`. Returns false (with a diagnostic) if it cannot be read.
  bool open_file(const std::string& path);
  // Starts reading in-memory text named `name` (tests, fuzzing). Includes resolve against the
  // current directory.
  void open_text(std::string name, std::string text);

  // The next logical line, or false at the end of all input.
  bool next(LogicalLine& line);
  // The line next() would return, or nullptr at the end.
  const LogicalLine* peek();

  [[nodiscard]] SourceFiles& files() { return files_; }
  [[nodiscard]] Diagnostics& diagnostics() { return diagnostics_; }

 private:
  struct Input;
  struct Macros;

  bool fill();
  bool read_physical_line(Input& input, std::string& line, SourceLocation& loc);
  void process_physical_line(std::string line, SourceLocation loc, uint32_t depth);
  void split_logical_lines(const std::string& line, const SourceLocation& loc);

  SourceFiles& files_;
  Diagnostics& diagnostics_;
  ReaderOptions options_;
  std::vector<std::unique_ptr<Input>> inputs_;
  std::deque<LogicalLine> pending_;
  std::unique_ptr<Macros> macros_;
};

// Splits a script command line with shell-like quoting (single and double quotes, backslash
// escapes), as keepalived does for script keywords. Returns false on an unterminated quote.
bool split_command_line(std::string_view text, std::vector<std::string>& argv);

}  // namespace vigil::config
