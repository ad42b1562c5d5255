// Macros ($NAME=, $NAME, ${NAME}, built-ins, multi-line definitions) and repetition (~SEQ,
// ~SEQx, ~LST). Cases marked [keepalived] were checked against keepalived 2.2.7
// (`keepalived -t -f FILE -l -n -D` in a network namespace, reading the "Unknown keyword"
// lines it logs for each generated line).
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "config/reader.h"

namespace vigil::config {
namespace {

using Lines = std::vector<std::string>;

struct Read {
  SourceFiles files;
  Diagnostics diagnostics;
  std::vector<LogicalLine> lines;
};

Read read(std::string text, ReaderOptions options = {}) {
  Read result;
  if (!options.random_seed) options.random_seed = 1;
  Reader reader(result.files, result.diagnostics, std::move(options));
  reader.open_text("test.conf", std::move(text));
  LogicalLine line;
  while (reader.next(line))
    result.lines.push_back(line);
  return result;
}

// Each logical line as its tokens joined by '|', quoted tokens in <>.
Lines render(const Read& r) {
  Lines out;
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

// "line:col: message" of each diagnostic of one severity.
Lines messages(const Read& r, Severity severity) {
  Lines out;
  for (const auto& d : r.diagnostics.items()) {
    if (d.severity != severity) continue;
    out.push_back(std::to_string(d.location.line) + ":" + std::to_string(d.location.column) + ": " +
                  d.message);
  }
  return out;
}

struct Case {
  const char* rule;
  std::string input;
  Lines expected;
  ReaderOptions options = {};
};

void PrintTo(const Case& c, std::ostream* out) {
  *out << c.rule;
}

class Expands : public ::testing::TestWithParam<Case> {};

TEST_P(Expands, WithoutErrors) {
  const auto& c = GetParam();
  auto r = read(c.input, c.options);
  EXPECT_EQ(r.diagnostics.items().size(), 0U) << r.diagnostics.format(r.files);
  EXPECT_EQ(render(r), c.expected) << c.rule;
}

INSTANTIATE_TEST_SUITE_P(
    Macros, Expands,
    ::testing::Values(
        Case{"[keepalived] bare name followed by a blank", "$A=foo\nk1_$A\tx\n", {"k1_foo|x"}},
        Case{"bare name at the end of the line", "$A=foo\nk $A\n", {"k|foo"}},
        Case{"[keepalived] bare name followed by anything else stays",
             "$A=foo\nk2_$A}\nk3_$A.x\nk4_$A\"q\"\n",
             {"k2_$A", "}", "k3_$A.x", "k4_$A|<q>"}},
        Case{"[keepalived] a longer name is another name", "$A=foo\nk $A_x\n", {"k|$A_x"}},
        Case{"[keepalived] braced name anywhere", "$A=foo\n$E=\nk5_${A}${E}z\n", {"k5_fooz"}},
        Case{"[keepalived] value is trimmed", "$T=  sp  \nk6_${T}z\n", {"k6_spz"}},
        Case{
            "[keepalived] blank before '=' is no definition", "$N =x\nk7_$N\n", {"$N|=x", "k7_$N"}},
        Case{"[keepalived] name cannot start with a digit", "$1A=x\nk $1A\n", {"$1A=x", "k|$1A"}},
        Case{"undefined names stay as written (and braces still split)",
             "k ${UNDEF} $UNDEF $ $$\n",
             {"k|$", "{", "UNDEF", "}", "$UNDEF|$|$$"}},
        Case{"[keepalived] unterminated brace stays", "$A=foo\nk11_${A\n", {"k11_$", "{", "A"}},
        Case{"expansion is lazy (manual example)",
             "$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}\n$ADDRESS_BASE_SUB=0\n"
             "${ADDRESS_BASE}.100/32\n$ADDRESS_BASE_SUB=10\n${ADDRESS_BASE}.100/32\n",
             {"10.2.0.100/32", "10.2.10.100/32"}},
        Case{"redefinition replaces", "$A=1\n$A=2\nk $A\n", {"k|2"}},
        Case{"[keepalived] a value with braces splits into logical lines",
             "$B=kb1 { kb2 }\n$B\n",
             {"kb1", "{", "kb2", "}"}},
        Case{"a value with quotes is tokenized after expansion", "$Q=\"a b\"\nk $Q\n", {"k|<a b>"}},
        Case{"expansion inside quotes", "$A=foo\nk \"x ${A} y\"\n", {"k|<x foo y>"}},
        Case{"comments go before definitions", "$A=foo # note\nk $A\n", {"k|foo"}},
        Case{"a $ in a comment is ignored", "k # $A\n", {"k"}},
        Case{"an escaped # in a value is literal", "$A=a\\#b\nk $A\n", {"k|a#b"}},
        Case{"${_HASH} and ${_BANG} are literal (after comment removal)",
             "k a${_HASH}b ${_BANG} $_HASH\n",
             {"k|a#b|!|#"}},
        Case{"[keepalived] ${_INSTANCE} is the config id by default",
             "k ${_INSTANCE}\n",
             {"k|lb1"},
             ReaderOptions{.config_id = "lb1"}},
        Case{"${_INSTANCE} from the options",
             "k ${_INSTANCE}\n",
             {"k|i1"},
             ReaderOptions{.config_id = "lb1", .instance_name = "i1"}},
        Case{"${_PWD} of text is its base directory",
             "k ${_PWD}/x\n",
             {"k|/etc/vigil/x"},
             ReaderOptions{.base_directory = "/etc/vigil"}},
        Case{"[keepalived] ${_RANDOM MIN MAX}", "k ${_RANDOM 5 5} ${_RANDOM 7 7}\n", {"k|5|7"}},
        Case{"macro expanding to a condition (manual example)",
             "$IF_MAIN=@main\n$IF_MAIN priority 240\n$IF_BACKUP=@backup\n$IF_BACKUP priority 1\n",
             {"priority|240"},
             ReaderOptions{.config_id = "main"}},
        Case{"conditional definitions (manual example)",
             "@main $PRIORITY=240\n@backup $PRIORITY=200\npriority $PRIORITY\n",
             {"priority|240"},
             ReaderOptions{.config_id = "main"}},
        Case{"[keepalived] trailing backslash outside a definition is literal",
             "k8_\\\nk9\n",
             {"k8_\\", "k9"}},
        Case{"multi-line definition (manual example)",
             "$INSTANCE= \\\nvrrp_instance VI_${NUM} { \\\n  interface eth0.${NUM} \\\n"
             "  @high priority 130 \\\n  @low priority 120 \\\n}\n"
             "$NUM=0\n$INSTANCE\n\n$NUM=1\n$INSTANCE\n",
             {"vrrp_instance|VI_0", "{", "interface|eth0.0", "priority|130", "}",
              "vrrp_instance|VI_1", "{", "interface|eth0.1", "priority|130", "}"},
             ReaderOptions{.config_id = "high"}},
        Case{"nested multi-line definitions with definitions inside (manual example)",
             "$RS= \\\nreal_server 192.168.${VS_NUM}.${RS_NUM} 80 { \\\n  weight 1 \\\n}\n"
             "$VS= \\\nvirtual_server 10.0.${VS_NUM}.4 80 { \\\n  $RS_NUM=1 \\\n  $RS \\\n"
             "  $RS_NUM=2 \\\n  $RS \\\n}\n$VS_NUM=0\n$VS\n",
             {"virtual_server|10.0.0.4|80", "{", "real_server|192.168.0.1|80", "{", "weight|1", "}",
              "real_server|192.168.0.2|80", "{", "weight|1", "}", "}"}},
        Case{"[keepalived] a multi-line macro expands only at the end of a line",
             "$ML= \\\n a \\\n b\nx_${ML}\ny_$ML  \n$ML y\n",
             {"x_a", "b", "y_a", "b", "$ML|y"}},
        Case{"[keepalived] a comment inside a multi-line definition",
             "$ML= \\\n kml3 # comment \\\n kml4\n$ML\n",
             {"kml3", "kml4"}},
        Case{
            "[keepalived] blanks after the continuation backslash", "$ML= \\   \n a\n$ML\n", {"a"}},
        Case{
            "a definition on the first line of a multi-line one", "$ML=a \\\nb\n$ML\n", {"a", "b"}},
        Case{"an empty value", "$E=\nk x${E}y\n", {"k|xy"}},
        Case{"an empty multi-line value", "$E= \\\n\nk x${E}y\n", {"k|xy"}}));

INSTANTIATE_TEST_SUITE_P(
    Repetition, Expands,
    ::testing::Values(
        Case{"[keepalived] ~SEQ(var, start, end) (manual example)",
             "~SEQ(SUBNET, 0, 3) ip_address 10.0.${SUBNET}.1\n",
             {"ip_address|10.0.0.1", "ip_address|10.0.1.1", "ip_address|10.0.2.1",
              "ip_address|10.0.3.1"}},
        Case{"[keepalived] ~SEQx formats in hex (manual example)",
             "~SEQx(SUBNET, 0x90, 0x10, 0xc0) a fe80::20:${SUBNET}:1\n",
             {"a|fe80::20:90:1", "a|fe80::20:a0:1", "a|fe80::20:b0:1", "a|fe80::20:c0:1"}},
        Case{"[keepalived] ~SEQ(var, end)", "~SEQ(J, 3) kj_$J\n", {"kj_1", "kj_2", "kj_3"}},
        Case{"[keepalived] ~SEQ counts down",
             "~SEQ(J2, 5, 3) kj2_$J2\n",
             {"kj2_5", "kj2_4", "kj2_3"}},
        Case{
            "[keepalived] ~SEQ(var, negative end)", "~SEQ(J3, -2) kj3_$J3\n", {"kj3_-1", "kj3_-2"}},
        Case{"[keepalived] ~SEQ(var, 0) starts at 1", "~SEQ(J, 0) k$J\n", {"k1", "k0"}},
        Case{"[keepalived] hex arguments, decimal values",
             "~SEQ(A4, 0x10, 0x12) k$A4\n",
             {"k16", "k17", "k18"}},
        Case{"[keepalived] octal and signed arguments (strtol base 0)",
             "~SEQ(A, 010, 011) ko$A\n~SEQ(B, +2) kp$B\n",
             {"ko8", "ko9", "kp1", "kp2"}},
        Case{"[keepalived] blank before the parenthesis", "~SEQ (A6,2,2) ks6_$A6\n", {"ks6_2"}},
        Case{"[keepalived] the variable keeps its last value",
             "~SEQ(I, 1, 3) x\nafter_$I\n",
             {"x", "x", "x", "after_3"}},
        Case{"[keepalived] ~LST", "~LST(L, a, b,c) kl_$L\n", {"kl_a", "kl_b", "kl_c"}},
        Case{"[keepalived] ~LST of several variables",
             "~LST({IP, IP1}, {10,1},{20,4}) 192.168.${IP}.${IP1}\n",
             {"192.168.10.1", "192.168.20.4"}},
        Case{"nested ~LST (manual example)",
             "~LST(IP, 1, 2) ~LST(IP1, 5,6) 192.169.${IP}.${IP1}\n",
             {"192.169.1.5", "192.169.1.6", "192.169.2.5", "192.169.2.6"}},
        Case{"nested ~SEQx counting down (manual example)",
             "~SEQx(AD2, 0x90, 0x10, 0xa0) ~SEQx(AD1, 0x12, -1, 0x11) fe81::10:${AD2}:${AD1}\n",
             {"fe81::10:90:12", "fe81::10:90:11", "fe81::10:a0:12", "fe81::10:a0:11"}},
        Case{"~LST combined with ~SEQ",
             "~LST({IP, IP1}, {10,1},{20,4}) ~SEQ(IP2,168,2,170) 192.${IP2}.${IP}.${IP1}\n",
             {"192.168.10.1", "192.170.10.1", "192.168.20.4", "192.170.20.4"}},
        Case{"~SEQ repeating a multi-line macro",
             "$VI= \\\nvrrp_instance v${IF}.${ID} { \\\n}\n~SEQ(IF,0,1) ~SEQ(ID,1,2) $VI\n",
             {"vrrp_instance|v0.1", "{", "}", "vrrp_instance|v0.2", "{", "}", "vrrp_instance|v1.1",
              "{", "}", "vrrp_instance|v1.2", "{", "}"}},
        Case{"~SEQ with braces in the rest",
             "~SEQ(I, 2) a$I { b }\n",
             {"a1", "{", "b", "}", "a2", "{", "b", "}"}},
        Case{"a line merely starting with ~ is ordinary",
             "~SEQUENCE x\n~x\n",
             {"~SEQUENCE|x", "~x"}}));

struct ErrorCase {
  const char* rule;
  std::string input;
  Lines expected_lines;
  Lines expected_errors;  // "line:col: message" prefixes
  ReaderOptions options = {};
};

void PrintTo(const ErrorCase& c, std::ostream* out) {
  *out << c.rule;
}

class Rejects : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(Rejects, WithAnErrorAtTheRightPlace) {
  const auto& c = GetParam();
  auto r = read(c.input, c.options);
  EXPECT_EQ(render(r), c.expected_lines) << c.rule;
  auto errors = messages(r, Severity::kError);
  ASSERT_EQ(errors.size(), c.expected_errors.size()) << r.diagnostics.format(r.files);
  for (size_t i = 0; i < errors.size(); ++i) {
    EXPECT_TRUE(errors[i].starts_with(c.expected_errors[i]))
        << "got: " << errors[i] << "\nwant prefix: " << c.expected_errors[i];
  }
}

INSTANTIATE_TEST_SUITE_P(
    Errors, Rejects,
    ::testing::Values(
        ErrorCase{"a definition that refers to itself",
                  "$A=x${A}\nk $A\nnext\n",
                  {"next"},
                  {"2:3: expanding $A does not end"}},
        ErrorCase{"two definitions that refer to each other",
                  "$A=${B}\n$B=${A}\nk ${A}\n",
                  {},
                  {"3:3: expanding $"}},
        ErrorCase{"a multi-line macro that uses itself",
                  "$M= \\\n a \\\n $M\n$M\n",
                  Lines(32, "a"),
                  {"4:1: multi-line macros nested more than 32 deep"}},
        ErrorCase{"a line too long after expansion",
                  "$A=" + std::string(600, 'x') + "\nk ${A}${A}\nnext\n",
                  {"next"},
                  {"2:7: line is longer than 1024 bytes after macro expansion"}},
        ErrorCase{
            "${_RANDOM} with MIN > MAX", "k ${_RANDOM 9 3}\n", {}, {"1:3: invalid ${_RANDOM 9 3}"}},
        ErrorCase{"${_RANDOM} with a negative bound",
                  "k ${_RANDOM -1}\n",
                  {},
                  {"1:3: invalid ${_RANDOM -1}"}},
        ErrorCase{"[keepalived] unterminated quote",
                  "k \"abc\n",
                  {"k|<abc>"},
                  {"1:3: unterminated quote"}},
        ErrorCase{"[keepalived] ~SEQ step away from the end",
                  "~SEQ(A1, 1, -1, 3) k\n",
                  {},
                  {"1:1: invalid ~SEQ: step -1 does not lead from 1 to 3"}},
        ErrorCase{
            "[keepalived] ~SEQ step 0", "~SEQ(A3, 1, 0, 3) k\n", {}, {"1:1: invalid ~SEQ: step 0"}},
        ErrorCase{"[keepalived] ~SEQ with a non-number",
                  "~SEQ(A7, x) k\n",
                  {},
                  {"1:1: invalid ~SEQ: 'x' is not an integer"}},
        ErrorCase{"[keepalived] ~SEQx with negative values",
                  "~SEQx(C, -1, -2) k\n",
                  {},
                  {"1:1: invalid ~SEQ: ~SEQx is only valid for positive numbers"}},
        ErrorCase{"~SEQ with too many arguments",
                  "~SEQ(A, 1, 2, 3, 4) k\n",
                  {},
                  {"1:1: invalid ~SEQ: expected"}},
        ErrorCase{"~SEQ with a bad variable name",
                  "~SEQ(1A, 3) k\n",
                  {},
                  {"1:1: invalid ~SEQ: '1A' is not a variable name"}},
        ErrorCase{"~SEQ without ')'", "~SEQ(A, 3 k\n", {}, {"1:1: invalid ~SEQ: no closing ')'"}},
        ErrorCase{"[keepalived] ~LST value with a blank",
                  "~LST(L1, a b , c) k\n",
                  {},
                  {"1:1: invalid ~LST: value 'a b' contains a blank"}},
        ErrorCase{"[keepalived] ~LST without values",
                  "~LST(L2) k\n",
                  {},
                  {"1:1: invalid ~LST: no values"}},
        ErrorCase{"~LST group of the wrong size",
                  "~LST({A,B}, {1,2}, {3}) k\n",
                  {},
                  {"1:1: invalid ~LST: value {3} does not give one value per variable"}},
        ErrorCase{"~SEQ longer than the generated-line cap",
                  "~SEQ(I, 10) k$I\n",
                  {},
                  {"1:1: invalid ~SEQ: more than 5 repetitions"},
                  ReaderOptions{.max_generated_lines = 5}},
        ErrorCase{"nested repetition over the generated-line cap",
                  "~SEQ(I,3) ~SEQ(J,3) k\nnext\n",
                  {"k", "k", "k", "next"},
                  {"1:21: macros, ~SEQ and ~LST generated more than 5 lines"},
                  ReaderOptions{.max_generated_lines = 5}}));

TEST(MacroLocations, ExpandedTokensCarryTheLocationOfTheUse) {
  auto r = read("$A=foo bar\n  k $A z\n");
  ASSERT_EQ(render(r), (Lines{"k|foo|bar|z"}));
  const auto& t = r.lines[0].tokens;
  EXPECT_EQ(t[0].loc, (SourceLocation{0, 2, 3}));
  EXPECT_EQ(t[1].loc, (SourceLocation{0, 2, 5}));
  EXPECT_EQ(t[2].loc, (SourceLocation{0, 2, 5}));
  EXPECT_EQ(t[3].loc, (SourceLocation{0, 2, 8}));
  EXPECT_EQ(r.lines[0].text, "k foo bar z");
  EXPECT_EQ(r.lines[0].rest(1), "foo bar z");
}

TEST(MacroLocations, MultiLineBodyLinesCarryTheUse) {
  auto r = read("$M= \\\na b \\\nc\n  x $M\n");
  ASSERT_EQ(render(r), (Lines{"x|a|b", "c"}));
  EXPECT_EQ(r.lines[0].tokens[0].loc, (SourceLocation{0, 4, 3}));
  EXPECT_EQ(r.lines[0].tokens[1].loc, (SourceLocation{0, 4, 5}));
  EXPECT_EQ(r.lines[0].tokens[2].loc, (SourceLocation{0, 4, 5}));
  EXPECT_EQ(r.lines[1].tokens[0].loc, (SourceLocation{0, 4, 5}));
}

TEST(MacroLocations, RepeatedLinesKeepTheirColumns) {
  auto r = read("~SEQ(I, 2) k $I z\n");
  ASSERT_EQ(render(r), (Lines{"k|1|z", "k|2|z"}));
  for (const auto& line : r.lines) {
    EXPECT_EQ(line.tokens[0].loc, (SourceLocation{0, 1, 12}));
    EXPECT_EQ(line.tokens[1].loc, (SourceLocation{0, 1, 14}));
    EXPECT_EQ(line.tokens[2].loc, (SourceLocation{0, 1, 17}));
  }
}

TEST(MacroLocations, EscapedCommentCharacterKeepsLaterColumns) {
  auto r = read("a\\#b c\n");
  ASSERT_EQ(render(r), (Lines{"a#b|c"}));
  EXPECT_EQ(r.lines[0].tokens[1].loc, (SourceLocation{0, 1, 6}));
}

TEST(Random, StaysWithinBoundsAndFollowsTheSeed) {
  std::string text;
  for (int i = 0; i < 50; ++i)
    text += "k ${_RANDOM 3 6} ${_RANDOM} ${_RANDOM 32000}\n";
  auto a = read(text, {.random_seed = 7});
  auto b = read(text, {.random_seed = 7});
  EXPECT_EQ(render(a), render(b));
  std::set<std::string> seen;
  for (const auto& line : a.lines) {
    int small = std::stoi(line.tokens[1].text);
    int full = std::stoi(line.tokens[2].text);
    int high = std::stoi(line.tokens[3].text);
    EXPECT_GE(small, 3);
    EXPECT_LE(small, 6);
    EXPECT_GE(full, 0);
    EXPECT_LE(full, 32767);
    EXPECT_GE(high, 32000);
    EXPECT_LE(high, 32767);
    seen.insert(line.tokens[1].text);
  }
  EXPECT_EQ(seen.size(), 4U);  // 50 draws from 4 values hit them all (fixed seed)
}

TEST(Random, SetRandomSeedMakesLaterValuesRepeatable) {
  auto draw = [](uint32_t seed) {
    SourceFiles files;
    Diagnostics diagnostics;
    Reader reader(files, diagnostics);
    reader.open_text("t", "k ${_RANDOM}\nk ${_RANDOM}\n");
    reader.set_random_seed(seed);
    LogicalLine line;
    std::string out;
    while (reader.next(line))
      out += line.tokens[1].text + ",";
    return out;
  };
  EXPECT_EQ(draw(11), draw(11));
  EXPECT_NE(draw(11), draw(12));
}

TEST(Repetition, ManualExampleOf65024InstancesIsGeneratedLazily) {
  // ~SEQ(IF,0,7) ~SEQ(NUM,0,31) ~SEQ(ID,1,254) $VI4 from keepalived.conf(5), 4 lines per copy.
  SourceFiles files;
  Diagnostics diagnostics;
  Reader reader(files, diagnostics);
  reader.open_text("t",
                   "$VI4= \\\nvrrp_instance vrrp4.${IF}.${NUM}.${ID} { \\\n"
                   "  virtual_router_id ${ID} \\\n}\n"
                   "~SEQ(IF,0,7) ~SEQ(NUM,0,31) ~SEQ(ID,1,254) $VI4\n");
  LogicalLine line;
  size_t count = 0;
  std::string last_name;
  while (reader.next(line)) {
    ++count;
    if (line.keyword() == "vrrp_instance") last_name = line.tokens[1].text;
  }
  EXPECT_FALSE(diagnostics.has_errors()) << diagnostics.format(files);
  EXPECT_EQ(count, 65024U * 4);
  EXPECT_EQ(last_name, "vrrp4.7.31.254");
}

}  // namespace
}  // namespace vigil::config
