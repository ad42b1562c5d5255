#include "config/parser.h"

#include <vector>

#include "config/parse_context.h"
#include "config/sections.h"

namespace vigil::config {
namespace {

void parse(Reader& reader, Parsed& parsed) {
  Context ctx(reader, parsed.diagnostics);
  static const std::vector<Keyword<Config>> kTopLevel = [] {
    std::vector<Keyword<Config>> all;
    for (auto section :
         {global_top_level_keywords(), vrrp_top_level_keywords(), lvs_top_level_keywords()}) {
      all.insert(all.end(), section.begin(), section.end());
    }
    return all;
  }();
  ctx.top_level(std::span<const Keyword<Config>>(kTopLevel), parsed.config);
  finish_global(parsed.config, ctx);
  finish_vrrp(parsed.config, ctx);
  finish_lvs(parsed.config, ctx);
}

}  // namespace

std::unique_ptr<Parsed> parse_file(const std::string& path, const ParseOptions& options) {
  auto parsed = std::make_unique<Parsed>();
  Reader reader(parsed->files, parsed->diagnostics, options.reader);
  if (reader.open_file(path)) parse(reader, *parsed);
  return parsed;
}

std::unique_ptr<Parsed> parse_text(std::string name, std::string text,
                                   const ParseOptions& options) {
  auto parsed = std::make_unique<Parsed>();
  Reader reader(parsed->files, parsed->diagnostics, options.reader);
  reader.open_text(std::move(name), std::move(text));
  parse(reader, *parsed);
  return parsed;
}

}  // namespace vigil::config
