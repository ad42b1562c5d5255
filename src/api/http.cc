#include "api/http.h"

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <nlohmann/json.hpp>

namespace vigil::api {
namespace http = boost::beast::http;

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 202:
      return "Accepted";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 422:
      return "Unprocessable Entity";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::string serialize(const HttpResponse& response) {
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " ";
  out += reason_phrase(response.status);
  out += "\r\nServer: vigild\r\nContent-Type: " + response.content_type;
  if (!response.stream) out += "\r\nContent-Length: " + std::to_string(response.body.size());
  out += "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n";
  out += response.body;
  return out;
}

HttpResponse error_response(int status, std::string_view message) {
  nlohmann::json body = {{"error", std::string(message)}, {"status", status}};
  return HttpResponse{.status = status, .body = body.dump() + "\n"};
}

struct RequestReader::Parser {
  http::request_parser<http::string_body> parser;
};

RequestReader::RequestReader(HttpLimits limits)
    : parser_(std::make_unique<Parser>()), header_bytes_(limits.header_bytes) {
  // The header limit is ours (feed()): Beast's own check depends on how the bytes were split.
  parser_->parser.header_limit(static_cast<std::uint32_t>(limits.header_bytes * 2 + 64));
  parser_->parser.body_limit(limits.body_bytes);
  parser_->parser.eager(true);
}

RequestReader::~RequestReader() = default;

void RequestReader::fail(int status, std::string_view message) {
  progress_ = Progress::kFailed;
  failure_ = error_response(status, message);
  pending_.clear();
}

namespace {

int status_for(const boost::beast::error_code& ec) {
  if (ec == http::error::header_limit) return 431;
  if (ec == http::error::body_limit) return 413;
  if (ec == http::error::bad_version) return 505;
  return 400;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

std::optional<std::map<std::string, std::string>> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    auto name = percent_decode(pair.substr(0, eq));
    auto value = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!name || !value) return std::nullopt;
    out[*name] = *value;
  }
  return out;
}

RequestReader::Progress RequestReader::feed(std::string_view bytes) {
  if (progress_ != Progress::kNeedMore) return progress_;
  pending_.append(bytes);
  auto& parser = parser_->parser;
  // The header (up to its blank line) within header_bytes, however the bytes came in: counted
  // over everything received so far, since Beast may have consumed part of it already.
  if (!parser.is_header_done()) {
    header_seen_.append(bytes);
    const size_t crlf = header_seen_.find("\r\n\r\n");
    const size_t lf = header_seen_.find("\n\n");
    const size_t end = std::min(crlf == std::string::npos ? crlf : crlf + 4,
                                lf == std::string::npos ? lf : lf + 2);
    if ((end == std::string::npos && header_seen_.size() > header_bytes_) ||
        (end != std::string::npos && end > header_bytes_)) {
      fail(431, "malformed request: header limit exceeded");
      return progress_;
    }
  } else if (!header_seen_.empty()) {
    header_seen_ = std::string();
  }
  while (!pending_.empty() && !parser.is_done()) {
    boost::beast::error_code ec;
    const size_t used = parser.put(boost::asio::buffer(pending_.data(), pending_.size()), ec);
    pending_.erase(0, used);
    if (ec == http::error::need_more) {
      if (used == 0) break;
      continue;
    }
    if (ec) {
      fail(status_for(ec), "malformed request: " + ec.message());
      return progress_;
    }
  }
  if (!parser.is_done()) return progress_;
  const auto& message = parser.get();
  const std::string_view target(message.target().data(), message.target().size());
  if (target.empty() || target.front() != '/') {
    fail(400, "the request target must be a path");
    return progress_;
  }
  const size_t question = target.find('?');
  auto query = parse_query(question == std::string_view::npos ? "" : target.substr(question + 1));
  if (!query) {
    fail(400, "malformed query string");
    return progress_;
  }
  request_.method = std::string(message.method_string());
  request_.path = std::string(target.substr(0, question));
  request_.query = std::move(*query);
  request_.body = message.body();
  if (auto it = message.find(http::field::content_type); it != message.end())
    request_.content_type = std::string(it->value());
  progress_ = Progress::kComplete;
  pending_.clear();
  return progress_;
}

void RequestReader::end_of_input() {
  if (progress_ != Progress::kNeedMore) return;
  fail(400, "the connection ended before a whole request");
}

Result<ParsedResponse> parse_response(std::string_view bytes, size_t body_limit) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(body_limit);
  parser.eager(true);
  boost::beast::error_code ec;
  size_t offset = 0;
  while (offset < bytes.size() && !parser.is_done()) {
    const size_t used =
        parser.put(boost::asio::buffer(bytes.data() + offset, bytes.size() - offset), ec);
    offset += used;
    if (ec == http::error::need_more) {
      if (used == 0) break;
      ec = {};
      continue;
    }
    if (ec) return Error{"malformed response: " + ec.message()};
  }
  if (!parser.is_done()) {
    parser.put_eof(ec);
    if (ec || !parser.is_done()) return Error{"the response ended early"};
  }
  const auto& message = parser.get();
  // Beast 1.74's response parser does not enforce body_limit on a Content-Length body.
  if (message.body().size() > body_limit) return Error{"the response body is too large"};
  ParsedResponse out{.status = static_cast<int>(message.result_int()), .body = message.body()};
  if (auto it = message.find(http::field::content_type); it != message.end())
    out.content_type = std::string(it->value());
  return out;
}

}  // namespace vigil::api
