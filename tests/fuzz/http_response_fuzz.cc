// libFuzzer target: check::HttpResponseReader on arbitrary responses. The first input byte picks
// the url's expectations (regex or not, regex_no_match, min/max offset, digest; bits 0-3) and
// strict framing (bit 7), the second the chunk sizes; the rest is the response. Each input is read
// twice, whole and in chunks: the two verdicts must agree, and the reader's buffers must stay
// within their bound.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "check/http.h"

namespace {

using vigil::check::HttpResponseReader;
using vigil::check::HttpResult;
using vigil::check::HttpUrlCheck;

using vigil::check::HttpReaderOptions;

const HttpUrlCheck& check_for(uint8_t selector) {
  static const auto checks = [] {
    std::vector<HttpUrlCheck> out;
    const char* const patterns[] = {"", "ok", "(?<=a{3})b+c", "<a>[^<]*</a>", "x*$", "\\bend\\b"};
    for (uint8_t i = 0; i < 16; ++i) {
      vigil::config::HttpUrl url;
      url.path = "/";
      url.regex = patterns[i % 6];
      if (!url.regex.empty()) {
        url.regex_no_match = (i & 8) != 0;
        if ((i & 2) != 0) url.regex_min_offset = 20;
        if ((i & 4) != 0) url.regex_max_offset = 5000;
      }
      if ((i & 1) != 0) url.digest = vigil::check::Md5Digest{};
      if (i == 15) url.status_codes = {{200, 200}, {301, 302}};
      auto made = HttpUrlCheck::make(url);
      if (!made.ok()) std::abort();
      out.push_back(std::move(made).value());
    }
    return out;
  }();
  return checks[selector % checks.size()];
}

bool same(const HttpResult& a, const HttpResult& b) {
  return a.failure == b.failure && a.reason == b.reason && a.status == b.status &&
         a.content_length == b.content_length && a.body_bytes == b.body_bytes &&
         a.digest == b.digest && a.regex_match_offset == b.regex_match_offset &&
         a.regex_candidate_abandoned == b.regex_candidate_abandoned && a.chunked == b.chunked;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const HttpUrlCheck& check = check_for(data[0]);
  const HttpReaderOptions options{.compute_digest = true, .strict_framing = (data[0] & 0x80) != 0};
  const size_t chunk = 1 + data[1] % 97;
  const std::string_view response(reinterpret_cast<const char*>(data + 2), size - 2);
  constexpr size_t kBound = vigil::check::kHttpMaxHeaderBytes + vigil::check::kHttpRegexWindow;

  HttpResponseReader whole(check, options);
  whole.feed(response);
  if (whole.retained_bytes() > kBound) std::abort();
  const HttpResult a = whole.finish();

  HttpResponseReader pieces(check, options);
  for (size_t at = 0; at < response.size(); at += chunk) {
    pieces.feed(response.substr(at, chunk));
    if (pieces.retained_bytes() > kBound) std::abort();
  }
  const HttpResult b = pieces.finish();
  if (!same(a, b) || a.passed() != a.reason.empty()) std::abort();
  return 0;
}
