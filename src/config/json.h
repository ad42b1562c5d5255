// The model as JSON (vigild --dump-config): what vigil understood, defaults resolved.
#pragma once

#include <string>

#include "config/model.h"

namespace vigil::config {

std::string to_json_text(const Config& config, int indent = 2);

}  // namespace vigil::config
