// check::compile_regexes: every url regex compiled at config time, errors at the pattern's token.
#include "check/validate.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/parser.h"

namespace vigil::check {
namespace {

// "line:col: message" of each diagnostic (all must be errors).
std::vector<std::string> regex_errors(const std::string& text) {
  auto parsed = config::parse_text("test.conf", text);
  EXPECT_TRUE(parsed->ok()) << parsed->diagnostics.format(parsed->files);
  std::vector<std::string> out;
  for (const auto& d : compile_regexes(parsed->config)) {
    EXPECT_EQ(d.severity, config::Severity::kError);
    out.push_back(std::to_string(d.location.line) + ":" + std::to_string(d.location.column) + ": " +
                  d.message);
  }
  return out;
}

// One virtual server (lines 1-4) whose real servers come from `real_servers` (from line 5).
std::string with_real_servers(const std::string& real_servers) {
  return "virtual_server 10.0.0.100 80 {\n"
         "  lvs_sched rr\n"
         "  lvs_method NAT\n"
         "  protocol TCP\n" +
         real_servers + "}\n";
}

TEST(CompileRegexes, NoRegexNoError) {
  EXPECT_TRUE(regex_errors(with_real_servers("  real_server 10.0.0.1 80 {\n"
                                             "    HTTP_GET {\n"
                                             "      url {\n"
                                             "        path /\n"
                                             "      }\n"
                                             "    }\n"
                                             "    TCP_CHECK {\n"
                                             "    }\n"
                                             "  }\n"))
                  .empty());
}

TEST(CompileRegexes, GoodRegexesWithOptionsCompile) {
  EXPECT_TRUE(regex_errors(with_real_servers("  real_server 10.0.0.1 80 {\n"
                                             "    SSL_GET {\n"
                                             "      url {\n"
                                             "        path /\n"
                                             "        regex \"(?<=a{3})b+c\"\n"
                                             "        regex_options caseless utf\n"
                                             "      }\n"
                                             "    }\n"
                                             "  }\n"))
                  .empty());
}

TEST(CompileRegexes, EachBadUrlIsReportedAtItsPattern) {
  // Two real servers share a bad pattern (compiled once, reported twice); a url with a good
  // regex between them is not reported; a regex bad only with an option is.
  const std::string text = with_real_servers(
      "  real_server 10.0.0.1 80 {\n"      // 5
      "    HTTP_GET {\n"                   // 6
      "      url {\n"                      // 7
      "        path /a\n"                  // 8
      "        regex \"a(\"\n"             // 9
      "      }\n"                          // 10
      "      url {\n"                      // 11
      "        path /b\n"                  // 12
      "        regex ok\n"                 // 13
      "      }\n"                          // 14
      "    }\n"                            // 15
      "  }\n"                              // 16
      "  real_server 10.0.0.2 80 {\n"      // 17
      "    HTTP_GET {\n"                   // 18
      "      url {\n"                      // 19
      "        path /a\n"                  // 20
      "        regex \"a(\"\n"             // 21
      "      }\n"                          // 22
      "      url {\n"                      // 23
      "        path /c\n"                  // 24
      "        regex \"\\\\xff\"\n"        // 25: compiles with never_utf
      "        regex_options never_utf\n"  // 26
      "      }\n"                          // 27
      "      url {\n"                      // 28
      "        path /d\n"                  // 29
      "        regex \"(*UTF)x\"\n"        // 30: (*UTF) is refused under never_utf
      "        regex_options never_utf\n"  // 31
      "      }\n"                          // 32
      "    }\n"                            // 33
      "  }\n");
  EXPECT_EQ(regex_errors(text),
            (std::vector<std::string>{
                "9:15: regex 'a(' at offset 2: missing closing parenthesis",
                "21:15: regex 'a(' at offset 2: missing closing parenthesis",
                "30:15: regex '(*UTF)x' at offset 6: using UTF is disabled by the application",
            }));
}

TEST(CompileRegexes, UrlLocationWhenThePatternHasNone) {
  // A model built in code (no parser): the url block's location stands in.
  config::Config config;
  config::VirtualServer vs;
  config::RealServer rs;
  config::Checker checker;
  checker.type = config::CheckerType::kHttp;
  config::HttpCheck http;
  config::HttpUrl url;
  url.path = "/";
  url.regex = "[z-a]";
  url.loc = {.file = 0, .line = 42, .column = 7};
  http.urls.push_back(url);
  checker.kind = config::Box<config::HttpCheck>(http);
  rs.checkers.push_back(checker);
  vs.real_servers.push_back(rs);
  config.lvs.virtual_servers.push_back(vs);
  const auto errors = compile_regexes(config);
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_EQ(errors[0].location, url.loc);
  EXPECT_EQ(errors[0].message, "regex '[z-a]' at offset 3: range out of order in character class");
}

}  // namespace
}  // namespace vigil::check
