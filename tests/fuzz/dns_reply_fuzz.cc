// libFuzzer target: check/dns.h on arbitrary bytes. The first byte picks what is fuzzed:
// - even: the rest is a datagram judged against the query ID in the next two bytes; the verdict
//   must be the one an independent reading of the RFC 1035 header gives, with a reason exactly
//   when it did not pass;
// - odd: the rest is a DNS_CHECK name; an encoding that succeeds must decode back to the name's
//   labels within the RFC's limits, and one that fails must break one of them.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "check/dns.h"

namespace {

using vigil::check::DnsVerdict;

void judge(std::span<const uint8_t> input) {
  if (input.size() < 2) return;
  const auto query_id = static_cast<uint16_t>((input[0] << 8) | input[1]);
  const auto datagram = input.subspan(2);
  const auto j = vigil::check::judge_dns_reply(datagram, query_id);
  DnsVerdict expected = DnsVerdict::kIgnore;
  uint8_t rcode = 0;
  if (datagram.size() >= 12 && ((datagram[0] << 8) | datagram[1]) == query_id &&
      (datagram[2] & 0x80) != 0) {
    rcode = datagram[3] & 0x0f;
    expected = rcode == 0 ? DnsVerdict::kPassed : DnsVerdict::kFailed;
  }
  if (j.verdict != expected || j.rcode != rcode) std::abort();
  if ((j.verdict == DnsVerdict::kPassed) != j.reason.empty()) std::abort();
}

void encode(std::string_view name) {
  auto encoded = vigil::check::dns_encode_name(name);
  // The labels as written: "." and "" are the root, one trailing dot is dropped.
  std::string_view rest = name == "." ? std::string_view() : name;
  if (!rest.empty() && rest.back() == '.') rest.remove_suffix(1);
  bool valid = true;
  size_t total = 1;
  if (!rest.empty()) {
    size_t start = 0;
    while (true) {
      size_t dot = rest.find('.', start);
      size_t end = dot == std::string_view::npos ? rest.size() : dot;
      size_t length = end - start;
      if (length == 0 || length > 63) valid = false;
      total += 1 + length;
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
  }
  if (total > 255) valid = false;
  if (encoded.ok() != valid) std::abort();
  if (!encoded.ok()) return;
  // Decode: length-prefixed labels up to the root, joined by dots, give `rest` back.
  const auto& bytes = *encoded;
  if (bytes.size() != total || bytes.back() != 0) std::abort();
  std::string decoded;
  size_t at = 0;
  while (bytes.at(at) != 0) {
    const size_t length = bytes[at];
    if (length > 63 || at + 1 + length >= bytes.size()) std::abort();
    if (!decoded.empty()) decoded += '.';
    decoded.append(reinterpret_cast<const char*>(bytes.data() + at + 1), length);
    at += 1 + length;
  }
  if (at != bytes.size() - 1 || decoded != rest) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::span<const uint8_t> rest(data + 1, size - 1);
  if ((data[0] & 1) == 0) {
    judge(rest);
  } else {
    encode(std::string_view(reinterpret_cast<const char*>(rest.data()), rest.size()));
  }
  return 0;
}
