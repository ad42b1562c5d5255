// Internal: the entry points of each section of the parser, one .cc per section family.
#pragma once

#include <span>

#include "config/model.h"
#include "config/parse_context.h"

namespace vigil::config {

// Top-level keywords handled by each section (parse_global.cc, parse_vrrp.cc, parse_lvs.cc).
std::span<const Keyword<Config>> global_top_level_keywords();
std::span<const Keyword<Config>> vrrp_top_level_keywords();
std::span<const Keyword<Config>> lvs_top_level_keywords();

// Phase two, after the whole input is read: resolve defaults that depend on other settings and
// check cross-references. Errors go to ctx with the location of the offending item.
void finish_global(Config& config, Context& ctx);
void finish_vrrp(Config& config, Context& ctx);
void finish_lvs(Config& config, Context& ctx);

}  // namespace vigil::config
