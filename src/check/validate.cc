// Config checks that need the checker code; see validate.h.
#include "check/validate.h"

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "check/http.h"

namespace vigil::check {

std::vector<config::Diagnostic> compile_regexes(const config::Config& config) {
  std::vector<config::Diagnostic> out;
  // (pattern, options) -> the compile error, or nullopt when it compiles. Large configs repeat
  // one regex on thousands of real servers.
  std::map<std::pair<std::string, std::vector<std::string>>, std::optional<std::string>> seen;
  for (const auto& vs : config.lvs.virtual_servers) {
    for (const auto& rs : vs.real_servers) {
      for (const auto& checker : rs.checkers) {
        const auto* http = checker.as<config::HttpCheck>();
        if (http == nullptr) continue;
        for (const auto& url : http->urls) {
          if (url.regex.empty()) continue;
          auto [it, inserted] = seen.try_emplace({url.regex, url.regex_options});
          if (inserted) {
            auto made = HttpUrlCheck::make(url);
            if (!made.ok()) it->second = made.error().message;
          }
          if (!it->second) continue;
          const config::SourceLocation at =
              url.regex_loc == config::SourceLocation{} ? url.loc : url.regex_loc;
          out.push_back({config::Severity::kError, at, *it->second});
        }
      }
    }
  }
  return out;
}

}  // namespace vigil::check
