// libFuzzer target: api::RequestReader (the control socket's request parser) on arbitrary bytes.
// The first input byte picks the chunk size; the rest is what a peer sends. Each input is read
// whole and in chunks: both must reach the same verdict (the same request, or an error; which
// error may depend on how much Beast had seen when it gave up), and a reader never accepts more
// than its limits.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/http.h"

namespace {

using vigil::api::HttpLimits;
using vigil::api::RequestReader;

constexpr HttpLimits kLimits{.header_bytes = 1024, .body_bytes = 2048};

void read(RequestReader& reader, std::string_view bytes, size_t chunk) {
  for (size_t at = 0; at < bytes.size() && reader.progress() == RequestReader::Progress::kNeedMore;
       at += chunk)
    reader.feed(bytes.substr(at, chunk));
  if (reader.progress() == RequestReader::Progress::kNeedMore) reader.end_of_input();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t chunk = 1 + data[0] % 64;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  RequestReader whole(kLimits);
  read(whole, bytes, bytes.size() + 1);
  RequestReader pieces(kLimits);
  read(pieces, bytes, chunk);
  if (whole.progress() != pieces.progress()) std::abort();
  if (whole.progress() == RequestReader::Progress::kComplete) {
    const auto& a = whole.request();
    const auto& b = pieces.request();
    if (a.method != b.method || a.path != b.path || a.query != b.query || a.body != b.body)
      std::abort();
    if (a.body.size() > kLimits.body_bytes) std::abort();
    if (a.path.empty() || a.path.front() != '/') std::abort();
  } else if (whole.failure().status < 400 || pieces.failure().status < 400) {
    std::abort();
  }
  return 0;
}
