// Checks of the config that need the checker code rather than the parser: today, compiling every
// HTTP_GET/SSL_GET url regex with PCRE2 so that `vigild -t` reports a bad pattern at its line
// instead of the checker failing it at run time. (keepalived 2.2.7's -t does not compile them;
// at run time it logs "Invalid regex" and goes on.)
#pragma once

#include <vector>

#include "config/diagnostics.h"
#include "config/model.h"

namespace vigil::check {

// One error per url whose regex PCRE2 rejects, at the pattern's location (the url block's when
// the pattern's is unknown), in the order of the file: "regex 'a(' at offset 2: missing closing
// parenthesis". Identical patterns (with the same options) are compiled once.
std::vector<config::Diagnostic> compile_regexes(const config::Config& config);

}  // namespace vigil::check
