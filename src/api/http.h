// The control API's HTTP/1.1, as far as vigil needs it: one request per connection, bounded in
// size, parsed by Boost.Beast. Pure: bytes in, requests and responses out; the socket side is
// server.h (vigild) and client.h (vigilctl).
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace vigil::api {

struct HttpLimits {
  size_t header_bytes = 8 * 1024;  // request line and headers
  size_t body_bytes = 64 * 1024;
};

struct HttpRequest {
  std::string method;                        // "GET", "POST", ...
  std::string path;                          // the target without its query
  std::map<std::string, std::string> query;  // decoded; a repeated name keeps the last value
  std::string body;
  std::string content_type;
};

class ResponseStream;  // server.h

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Set: a streaming response (server.h ResponseStream): `body` is its start, no Content-Length
  // is sent and the body ends when the connection closes.
  std::shared_ptr<ResponseStream> stream;
};

// "200 OK", "404 Not Found", ...: the reason phrase for `status`.
std::string_view reason_phrase(int status);
// The response as bytes on the wire (HTTP/1.1, Content-Length, Connection: close); a streaming
// one without Content-Length (its body runs until the connection closes).
std::string serialize(const HttpResponse& response);
// `{"error": message, "status": status}` with `status`: every error the API returns.
HttpResponse error_response(int status, std::string_view message);

// Feeds a request's bytes as they arrive. Bytes after the first complete request are ignored
// (one request per connection).
class RequestReader {
 public:
  explicit RequestReader(HttpLimits limits = {});
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;
  ~RequestReader();

  enum class Progress { kNeedMore, kComplete, kFailed };
  // Consumes what it can of `bytes`; returns the reader's state after them.
  Progress feed(std::string_view bytes);
  // The peer closed its side: a request not yet complete fails.
  void end_of_input();

  [[nodiscard]] Progress progress() const { return progress_; }
  // kComplete: the request.
  [[nodiscard]] const HttpRequest& request() const { return request_; }
  // kFailed: the response to send (400, 413, 431, 505...).
  [[nodiscard]] const HttpResponse& failure() const { return failure_; }

 private:
  void fail(int status, std::string_view message);
  struct Parser;
  std::unique_ptr<Parser> parser_;
  size_t header_bytes_;
  std::string pending_;  // bytes Beast has not consumed yet
  // Every byte received until the header is done: Beast consumes a header in parts, so pending_
  // alone cannot say how long the header is.
  std::string header_seen_;
  Progress progress_ = Progress::kNeedMore;
  HttpRequest request_;
  HttpResponse failure_;
};

// Splits "a=1&b=x%20y" into decoded pairs; nullopt on a malformed %-escape.
std::optional<std::map<std::string, std::string>> parse_query(std::string_view query);

// A whole response as vigilctl reads it (status, body); an error when it is not HTTP.
struct ParsedResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};
Result<ParsedResponse> parse_response(std::string_view bytes, size_t body_limit);

}  // namespace vigil::api
