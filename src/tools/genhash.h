// `vigilctl genhash`: the MD5 digest of a url's body, computed exactly as HTTP_GET / SSL_GET
// compare it (check/http.h: the raw bytes after the headers, cut at Content-Length:), so an
// operator can fill in a `digest` line. Takes keepalived's genhash options where they mean the
// same: -s server -p port -u url [-S] [-I] [-V vhost] [-P 1.0|1.0C|1.1] [-t seconds] [-m fwmark]
// [-v]. A blocking client: a command-line tool, not the daemon.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace vigil::tools {

// `args` are the words after "genhash". Prints the digest (32 hex digits) and returns 0; on a
// usage error returns 2, on a connection or response failure 1, with the reason on `err`.
int run_genhash(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace vigil::tools
