#include "config/reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vigil::config {
namespace {

struct Read {
  SourceFiles files;
  Diagnostics diagnostics;
  std::vector<LogicalLine> lines;
};

Read read(std::string text, ReaderOptions options = {}) {
  Read result;
  Reader reader(result.files, result.diagnostics, std::move(options));
  reader.open_text("test.conf", std::move(text));
  LogicalLine line;
  while (reader.next(line))
    result.lines.push_back(line);
  return result;
}

// Each logical line rendered as its tokens joined by '|', quoted tokens in <>.
std::vector<std::string> render(const Read& r) {
  std::vector<std::string> out;
  for (const auto& line : r.lines) {
    std::string s;
    for (const auto& t : line.tokens) {
      if (!s.empty()) s += '|';
      s += t.quoted ? "<" + t.text + ">" : t.text;
    }
    out.push_back(s);
  }
  return out;
}

using Lines = std::vector<std::string>;

struct GrammarCase {
  const char* rule;
  const char* input;
  Lines expected;
};

class Grammar : public ::testing::TestWithParam<GrammarCase> {};

TEST_P(Grammar, ReadsLogicalLines) {
  const auto& c = GetParam();
  auto r = read(c.input);
  EXPECT_FALSE(r.diagnostics.has_errors()) << r.diagnostics.format(r.files);
  EXPECT_EQ(render(r), c.expected) << c.rule;
}

INSTANTIATE_TEST_SUITE_P(
    Rules, Grammar,
    ::testing::Values(
        GrammarCase{"braces are lines of their own", "a { b c }\n", Lines{"a", "{", "b|c", "}"}},
        GrammarCase{"close and open on one line", "} vrrp_instance X {\n",
                    Lines{"}", "vrrp_instance|X", "{"}},
        GrammarCase{"hash comment", "priority 100 # the master\n", Lines{"priority|100"}},
        GrammarCase{"bang comment", "priority 100 ! note\n! whole line\n", Lines{"priority|100"}},
        GrammarCase{"escaped comment characters", "a b\\#c d\\!e\n", Lines{"a|b#c|d!e"}},
        GrammarCase{"comment characters inside quotes", "a \"b # c ! d\"\n",
                    Lines{"a|<b # c ! d>"}},
        GrammarCase{"single quotes do not protect", "a 'b # c'\n", Lines{"a|'b"}},
        GrammarCase{"quoted token keeps spaces", "notify \"/bin/x  y\"\n",
                    Lines{"notify|</bin/x  y>"}},
        GrammarCase{"unquoted token ends at a quote", "a b\"c d\"e\n", Lines{"a|b|<c d>|e"}},
        GrammarCase{"quoted number", "priority \"101\"\n", Lines{"priority|<101>"}},
        GrammarCase{"braces inside quotes stay", "a \"{x}\"\n", Lines{"a|<{x}>"}},
        GrammarCase{"tabs and CRLF", "a\tb\r\nc\r\n", Lines{"a|b", "c"}},
        GrammarCase{"blank lines", "\n   \n\t\na\n", Lines{"a"}},
        GrammarCase{"no final newline", "a b", Lines{"a|b"}}));

TEST(Reader, TokensKeepLineAndColumn) {
  auto r = read("global_defs {\n  router_id  LVS_1 \n}\n");
  ASSERT_EQ(r.lines.size(), 4U);
  EXPECT_EQ(r.lines[0].tokens[0].loc, (SourceLocation{0, 1, 1}));
  EXPECT_EQ(r.lines[1].tokens[0].loc, (SourceLocation{0, 1, 13}));
  EXPECT_EQ(r.lines[2].tokens[0].loc, (SourceLocation{0, 2, 3}));
  EXPECT_EQ(r.lines[2].tokens[1].loc, (SourceLocation{0, 2, 14}));
  EXPECT_EQ(r.lines[3].tokens[0].loc, (SourceLocation{0, 3, 1}));
  EXPECT_EQ(r.files.format(r.lines[2].loc()), "test.conf:2:3");
}

TEST(Reader, RestGivesRawTextForScriptKeywords) {
  auto r = read("notify_master /usr/bin/x 'a b' \"c d\"  # comment\n");
  ASSERT_EQ(r.lines.size(), 1U);
  EXPECT_EQ(r.lines[0].rest(1), "/usr/bin/x 'a b' \"c d\"");
}

TEST(Reader, RejectsLongLinesAndNulBytes) {
  std::string text = "a " + std::string(1100, 'x') + "\nb\n";
  text += std::string("c\0d\n", 4);
  text += "e\n";
  auto r = read(text);
  EXPECT_EQ(render(r), (Lines{"b", "e"}));
  ASSERT_EQ(r.diagnostics.error_count(), 2U);
  EXPECT_EQ(r.diagnostics.items()[0].location.line, 1U);
  EXPECT_EQ(r.diagnostics.items()[1].location.line, 3U);
}

// Plain lines are tokenized straight from the file buffer; a '$', '\\' or NUL found late in a
// line must still get the full processing.
TEST(Reader, FastPathHandsOverLateSpecialCharacters) {
  auto r = read("$A=v\nx { y } $A\na \"q${A} $A\"\nb c\\#d\n");
  EXPECT_EQ(render(r), (Lines{"x", "{", "y", "}", "v", "a|<qv $A>", "b|c#d"}));
  EXPECT_FALSE(r.diagnostics.has_errors()) << r.diagnostics.format(r.files);
  auto nul = read(std::string("a # c\0d\nb\n", 10));
  EXPECT_EQ(render(nul), (Lines{"b"}));
  EXPECT_EQ(nul.diagnostics.error_count(), 1U);
}

TEST(Reader, PeekThenNextGiveTheSameLine) {
  SourceFiles files;
  Diagnostics diagnostics;
  Reader reader(files, diagnostics);
  reader.open_text("t", "a { b }\n");
  std::vector<std::string> seen;
  LogicalLine line;
  while (const LogicalLine* ahead = reader.peek()) {
    std::string peeked = ahead->keyword();
    ASSERT_TRUE(reader.next(line));
    EXPECT_EQ(line.keyword(), peeked);
    seen.push_back(peeked);
  }
  EXPECT_FALSE(reader.next(line));
  EXPECT_EQ(seen, (Lines{"a", "{", "b", "}"}));
}

TEST(Reader, ConfigIdLines) {
  const char* text = "@lb1 priority 150\n@lb2 priority 100\n@^lb1 state BACKUP\nx\n";
  EXPECT_EQ(render(read(text, {.config_id = "lb1"})), (Lines{"priority|150", "x"}));
  EXPECT_EQ(render(read(text, {.config_id = "lb2"})), (Lines{"priority|100", "state|BACKUP", "x"}));
}

TEST(Reader, ConfigIdLineKeepsColumns) {
  auto r = read("@lb1 priority 150\n", {.config_id = "lb1"});
  ASSERT_EQ(r.lines.size(), 1U);
  EXPECT_EQ(r.lines[0].tokens[0].loc.column, 6U);
}

struct CommandCase {
  const char* text;
  std::vector<std::string> argv;
};

class CommandLine : public ::testing::TestWithParam<CommandCase> {};

TEST_P(CommandLine, SplitsLikeAShell) {
  std::vector<std::string> argv;
  ASSERT_TRUE(split_command_line(GetParam().text, argv));
  EXPECT_EQ(argv, GetParam().argv);
}

INSTANTIATE_TEST_SUITE_P(Table, CommandLine,
                         ::testing::Values(CommandCase{"/bin/x a b", {"/bin/x", "a", "b"}},
                                           CommandCase{"/bin/x 'a b' \"c d\"",
                                                       {"/bin/x", "a b", "c d"}},
                                           CommandCase{"/bin/x a\\ b", {"/bin/x", "a b"}},
                                           CommandCase{"/bin/x \"a\\\"b\"", {"/bin/x", "a\"b"}},
                                           CommandCase{"/bin/x 'a\\b'", {"/bin/x", "a\\b"}},
                                           CommandCase{"/bin/x a''b", {"/bin/x", "ab"}},
                                           CommandCase{"  /bin/x   ", {"/bin/x"}}));

TEST(CommandLine, UnterminatedQuoteFails) {
  std::vector<std::string> argv;
  EXPECT_FALSE(split_command_line("/bin/x 'a", argv));
  EXPECT_FALSE(split_command_line("/bin/x \"a", argv));
}

}  // namespace
}  // namespace vigil::config
