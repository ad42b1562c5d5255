// include and its variants, on real files in a temporary directory and on the in-memory file
// system. Cases marked [keepalived] were checked against keepalived 2.2.7.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/reader.h"
#include "fuzz/memory_file_system.h"

namespace vigil::config {
namespace {

using Lines = std::vector<std::string>;

struct Read {
  SourceFiles files;
  Diagnostics diagnostics;
  std::vector<LogicalLine> lines;

  [[nodiscard]] Lines rendered() const {
    Lines out;
    for (const auto& line : lines) {
      std::string s;
      for (const auto& t : line.tokens)
        s += (s.empty() ? "" : "|") + t.text;
      out.push_back(s);
    }
    return out;
  }
  // "file:line:col: message" of one severity, with `root` removed from paths.
  [[nodiscard]] Lines messages(Severity severity, const std::string& root) const {
    Lines out;
    for (const auto& d : diagnostics.items()) {
      if (d.severity != severity) continue;
      std::string text = files.format(d.location) + ": " + d.message;
      for (size_t at; !root.empty() && (at = text.find(root)) != std::string::npos;)
        text.erase(at, root.size());
      out.push_back(text);
    }
    return out;
  }
};

class Include : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/vigil-reader-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
    root_ += '/';
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void write(const std::string& path, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(root_ + path).parent_path());
    std::ofstream(root_ + path) << text;
  }

  Read read_file(const std::string& path, ReaderOptions options = {},
                 const std::function<void(Reader&, const LogicalLine&)>& on_line = {}) {
    Read result;
    Reader reader(result.files, result.diagnostics, std::move(options));
    EXPECT_TRUE(reader.open_file(root_ + path));
    LogicalLine line;
    while (reader.next(line)) {
      if (on_line) on_line(reader, line);
      result.lines.push_back(line);
    }
    return result;
  }

  std::string root_;
};

TEST_F(Include, KeepalivedCompatibleSemantics) {
  // [keepalived] every line of this file was checked against keepalived 2.2.7.
  write("main.conf",
        "ka_main\n"
        "include sub/a.conf\n"
        "include sub/{b,c}.conf\n"
        "include nomatch*.conf\n"
        "include missing.conf\n"
        "$D=sub\n"
        "include $D/d.conf\n"
        "@lb1 include sub/e.conf\n"
        "@other include sub/e.conf\n"
        "$INC=include sub/f.conf\n"
        "$INC\n"
        "include sub/c.conf sub/d.conf\n"
        "include \"sub/b.conf\"\n"
        "kend\n");
  write("sub/a.conf", "ka_a\ninclude a2.conf\n");
  write("sub/a2.conf", "ka_a2\n");
  for (std::string name : {"b", "c", "d", "e", "f"})
    write("sub/" + name + ".conf", "ka_" + name + "\n");

  auto r = read_file("main.conf", {.config_id = "lb1"});
  EXPECT_EQ(r.rendered(),
            (Lines{"ka_main", "ka_a", "ka_a2", "ka_b", "ka_c", "ka_e", "ka_f", "kend"}));
  EXPECT_EQ(r.messages(Severity::kError, root_), Lines{});
  EXPECT_EQ(r.messages(Severity::kWarning, root_),
            (Lines{"main.conf:5:1: include: no file matches 'missing.conf'",
                   "main.conf:7:1: include: no file matches '$D/d.conf'",
                   "main.conf:12:1: include: no file matches 'sub/c.conf sub/d.conf'",
                   "main.conf:13:1: include: no file matches '\"sub/b.conf\"'"}));
  // Included files get their own SourceFiles entries.
  ASSERT_GE(r.lines.size(), 3U);
  EXPECT_EQ(r.files.format(r.lines[2].loc()), root_ + "sub/a2.conf:1:1");
  EXPECT_EQ(r.files.format(r.lines[7].loc()), root_ + "main.conf:14:1");
}

struct VariantCase {
  const char* line;
  Lines expected_lines;
  Lines expected_errors;
  Lines expected_warnings;
};

void PrintTo(const VariantCase& c, std::ostream* out) {
  *out << c.line;
}

class IncludeVariant : public Include, public ::testing::WithParamInterface<VariantCase> {};

TEST_P(IncludeVariant, ChecksLikeIncludeCheck) {
  const auto& c = GetParam();
  write("main.conf", std::string(c.line) + "\n");
  write("sub/b.conf", "ka_b\n");
  write("sub/c.conf", "ka_c\n");
  std::filesystem::create_directories(root_ + "sub/dir.conf");
  auto r = read_file("main.conf");
  EXPECT_EQ(r.rendered(), c.expected_lines);
  EXPECT_EQ(r.messages(Severity::kError, root_), c.expected_errors);
  EXPECT_EQ(r.messages(Severity::kWarning, root_), c.expected_warnings);
}

INSTANTIATE_TEST_SUITE_P(
    Table, IncludeVariant,
    ::testing::Values(
        VariantCase{"include missing.conf",
                    {},
                    {},
                    {"main.conf:1:1: include: no file matches 'missing.conf'"}},
        VariantCase{"include miss*.conf", {}, {}, {}},
        VariantCase{"includer missing.conf",
                    {},
                    {},
                    {"main.conf:1:1: includer: no file matches 'missing.conf'"}},
        VariantCase{"includer miss*.conf", {}, {}, {}},
        VariantCase{"includem missing.conf",
                    {},
                    {"main.conf:1:1: includem: no file matches 'missing.conf'"},
                    {}},
        VariantCase{"includem miss*.conf", {}, {}, {}},
        VariantCase{"includew miss*.conf",
                    {},
                    {"main.conf:1:1: includew: no file matches 'miss*.conf'"},
                    {}},
        VariantCase{"includeb sub/{b,zz}.conf",
                    {"ka_b"},
                    {"main.conf:1:1: includeb: no file matches 'sub/zz.conf' of 'sub/{b,zz}.conf'"},
                    {}},
        VariantCase{"include sub/{b,zz}.conf", {"ka_b"}, {}, {}},
        VariantCase{"includea sub/{c,b}.conf", {"ka_c", "ka_b"}, {}, {}},
        VariantCase{"includea sub/*.conf",
                    {"ka_b", "ka_c"},
                    {"main.conf:1:1: cannot read included file 'sub/dir.conf': not a regular "
                     "file"},
                    {}},
        VariantCase{"include sub/*.conf",
                    {"ka_b", "ka_c"},
                    {},
                    {"main.conf:1:1: cannot read included file 'sub/dir.conf': not a regular "
                     "file"}},
        VariantCase{"include", {}, {"main.conf:1:1: include needs a file name pattern"}, {}},
        VariantCase{"includex sub/b.conf", {"includex|sub/b.conf"}, {}, {}},
        VariantCase{"kz { include sub/b.conf }",
                    {"kz", "{", "}"},
                    {"main.conf:1:6: include must start a line (not follow a brace); ignored"},
                    {}}));

TEST_F(Include, LoopIsAnError) {
  write("main.conf", "include loop.conf\nkend\n");
  write("loop.conf", "ka_loop\ninclude loop.conf\n");
  auto r = read_file("main.conf");
  EXPECT_EQ(r.rendered(), (Lines{"ka_loop", "kend"}));
  EXPECT_EQ(r.messages(Severity::kError, root_),
            (Lines{"loop.conf:2:1: include loop: 'loop.conf' is already being read"}));
}

TEST_F(Include, DepthIsLimited) {
  write("main.conf", "include f0.conf\n");
  for (int i = 0; i < 40; ++i)
    write("f" + std::to_string(i) + ".conf", "include f" + std::to_string(i + 1) + ".conf\n");
  write("f40.conf", "deepest\n");
  auto r = read_file("main.conf");
  EXPECT_EQ(r.rendered(), Lines{});
  EXPECT_EQ(r.messages(Severity::kError, root_),
            (Lines{"f30.conf:1:1: includes nested more than 32 deep; not reading 'f31.conf'"}));
}

TEST_F(Include, TotalIncludedFilesAreCapped) {
  // Every file includes every file: loop detection alone allows 3 + 3*2 + 3*2*1 = 15 opens.
  write("main.conf", "include d/*.conf\n");
  for (std::string name : {"a", "b", "c"})
    write("d/" + name + ".conf", "k" + name + "\ninclude *.conf\n");
  auto all = read_file("main.conf");
  EXPECT_EQ(all.lines.size(), 15U);
  auto capped = read_file("main.conf", {.max_included_files = 4});
  EXPECT_EQ(capped.rendered(), (Lines{"ka", "kb", "kc", "kc"}));
  auto errors = capped.messages(Severity::kError, root_);
  EXPECT_EQ(std::count(errors.begin(), errors.end(),
                       "d/c.conf:2:1: include opened more than 4 files; not reading any more"),
            1);
}

TEST_F(Include, PwdIsTheIncludedFilesDirectory) {
  write("main.conf", "k ${_PWD}\ninclude sub/a.conf\n");
  write("sub/a.conf", "k ${_PWD}\n");
  auto r = read_file("main.conf");
  std::string real_root = std::filesystem::canonical(root_).string();
  EXPECT_EQ(r.rendered(), (Lines{"k|" + real_root, "k|" + real_root + "/sub"}));
}

TEST_F(Include, IncludeInsideMultiLineMacroKeepsOrder) {
  // keepalived 2.2.7 reads the macro's remaining lines before the included file; vigil reads
  // the included file where the include line is.
  write("main.conf", "$ML= \\\n kml1 \\\n include d.conf \\\n kml3\n$ML\n");
  write("d.conf", "ka_d\n");
  auto r = read_file("main.conf");
  EXPECT_EQ(r.rendered(), (Lines{"kml1", "ka_d", "kml3"}));
}

TEST_F(Include, IncludeFromRepetitionIsNotExpanded) {
  // [keepalived] the include pattern is taken before macro expansion, also on ~LST lines.
  write("main.conf", "~LST(F, a, b) include $F.conf\n");
  write("a.conf", "ka_a\n");
  auto r = read_file("main.conf");
  EXPECT_EQ(r.rendered(), Lines{});
  EXPECT_EQ(r.messages(Severity::kWarning, root_).size(), 2U);
}

TEST_F(Include, IncludeCheckSettingIsScopedToTheFile) {
  // The parser calls set_include_checks() for global_defs' include_check keyword.
  write("main.conf", "include_check\ninclude inner.conf\ninclude missing1.conf\n");
  write("inner.conf", "include missing2.conf\nreset_check\ninclude missing3.conf\n");
  auto r = read_file("main.conf", {}, [](Reader& reader, const LogicalLine& line) {
    if (line.keyword() == "include_check") {
      reader.set_include_checks({.readable = true, .match = true});
    }
    if (line.keyword() == "reset_check") reader.set_include_checks({});
  });
  EXPECT_EQ(r.messages(Severity::kError, root_),
            (Lines{"inner.conf:1:1: include: no file matches 'missing2.conf'",
                   "main.conf:3:1: include: no file matches 'missing1.conf'"}));
  EXPECT_EQ(r.messages(Severity::kWarning, root_),
            (Lines{"inner.conf:3:1: include: no file matches 'missing3.conf'"}));
}

TEST_F(Include, InitialIncludeChecksFromOptions) {
  write("main.conf", "include missing.conf\n");
  auto r = read_file("main.conf", {.include_checks = {.match = true}});
  EXPECT_EQ(r.messages(Severity::kError, root_).size(), 1U);
}

TEST_F(Include, GlobCharactersInTheDirectoryAreLiteral) {
  write("we[ir]d{a,b}/main.conf", "include x.conf\n");
  write("we[ir]d{a,b}/x.conf", "kx\n");
  auto r = read_file("we[ir]d{a,b}/main.conf");
  EXPECT_EQ(r.rendered(), (Lines{"kx"}));
}

TEST_F(Include, OpenTextResolvesAgainstBaseDirectory) {
  write("x.conf", "kx\n");
  Read r;
  Reader reader(r.files, r.diagnostics, {.base_directory = root_});
  reader.open_text("inline", "include x.conf\n");
  LogicalLine line;
  while (reader.next(line))
    r.lines.push_back(line);
  EXPECT_EQ(r.rendered(), (Lines{"kx"}));
}

TEST_F(Include, OpenFileFailsForMissingAndNonRegularFiles) {
  Read r;
  Reader reader(r.files, r.diagnostics);
  EXPECT_FALSE(reader.open_file(root_ + "nope.conf"));
  EXPECT_FALSE(reader.open_file("/dev/zero"));
  ASSERT_EQ(r.diagnostics.error_count(), 2U);
  EXPECT_EQ(r.diagnostics.items()[1].message, "cannot open configuration file: not a regular file");
}

TEST(IncludeMemory, ReadsFromTheInjectedFileSystem) {
  auto fs = std::make_shared<testing::MemoryFileSystem>();
  fs->add("/cfg/a.conf", "ka\ninclude b*.conf\n");
  fs->add("/cfg/b1.conf", "kb1\n");
  fs->add("/cfg/b2.conf", "kb2\ninclude a.conf\n");
  Read r;
  Reader reader(r.files, r.diagnostics, {.base_directory = "/cfg", .file_system = fs});
  reader.open_text("main", "include a.conf\nkend\n");
  LogicalLine line;
  while (reader.next(line))
    r.lines.push_back(line);
  EXPECT_EQ(r.rendered(), (Lines{"ka", "kb1", "kb2", "kend"}));
  EXPECT_EQ(r.messages(Severity::kError, ""),
            (Lines{"/cfg/b2.conf:2:1: include loop: '/cfg/a.conf' is already being read"}));
}

TEST(BraceExpansion, LikeGlibcGlobBrace) {
  struct Case {
    const char* pattern;
    Lines expected;
  };
  for (const auto& c : std::vector<Case>{
           {"a{b,c}d", {"abd", "acd"}},
           {"a{b,c{d,e}}f", {"abf", "acdf", "acef"}},
           {"{a,b}{1,2}", {"a1", "a2", "b1", "b2"}},
           {"x{a}y", {"xay"}},
           {"x{}y", {"xy"}},
           {"x{a,}y", {"xay", "xy"}},
           {"x\\{a,b}y", {"x\\{a,b}y"}},
           {"x{a\\,b,c}y", {"xa\\,by", "xcy"}},
           {"x{a,b", {"x{a,b"}},
           {"plain", {"plain"}},
       }) {
    Lines out;
    EXPECT_TRUE(expand_braces(c.pattern, out)) << c.pattern;
    EXPECT_EQ(out, c.expected) << c.pattern;
  }
  Lines out;
  EXPECT_FALSE(expand_braces("{a,b}{a,b}{a,b}{a,b}{a,b}", out, 16));
}

}  // namespace
}  // namespace vigil::config
