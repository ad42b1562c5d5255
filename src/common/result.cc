#include "common/result.h"

#include <fmt/format.h>

#include <cstring>

namespace vigil {

Error errno_error(std::string_view what, int err) {
  return Error{fmt::format("{}: {}", what, std::strerror(err))};
}

}  // namespace vigil
