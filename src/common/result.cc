#include "common/result.h"

#include <fmt/format.h>

#include <array>
#include <cstring>

namespace vigil {

Error errno_error(std::string_view what, int err) {
  // strerror_r, not strerror: errors are made on several threads. The GNU form returns the text
  // (in `buffer` or a static string).
  std::array<char, 128> buffer{};
  return Error{fmt::format("{}: {}", what, strerror_r(err, buffer.data(), buffer.size()))};
}

}  // namespace vigil
