// The connect errors keepalived 2.2.7 distinguishes (core/layer4.c), as checker Reasons, and the
// text vigil puts into probe details.
#include "check_io/connector.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace vigil::check_io {
namespace {

using check::Reason;

TEST(ConnectionFailure, ErrnoToReason) {
  struct Case {
    int error;
    Reason reason;
    const char* detail;
  };
  const Case cases[] = {
      {ECONNREFUSED, Reason::kConnectionRefused, "connection refused"},
      {EHOSTUNREACH, Reason::kUnreachable, "no route to host"},
      {ENETUNREACH, Reason::kUnreachable, "network is unreachable"},
      {EHOSTDOWN, Reason::kUnreachable, "host is down"},
      {ENETDOWN, Reason::kUnreachable, "network is down"},
      {ETIMEDOUT, Reason::kTimeout, "connection timed out"},
      {ECONNRESET, Reason::kConnectionReset, "connection reset by peer"},
      {ECONNABORTED, Reason::kConnectionReset, "software caused connection abort"},
      {EPIPE, Reason::kConnectionReset, "broken pipe"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.detail);
    auto failure = connection_failure(c.error);
    EXPECT_EQ(failure.reason, c.reason);
    EXPECT_EQ(failure.detail, c.detail);
  }
  EXPECT_EQ(connection_failure(ECONNRESET, "read: ").detail, "read: connection reset by peer");
}

TEST(ConnectionFailure, TimeoutNamesTheStepAndTheLimit) {
  auto failure = timeout_failure("connect", 5s);
  EXPECT_EQ(failure.reason, Reason::kTimeout);
  EXPECT_EQ(failure.detail, "connect timed out after 5s");
  EXPECT_EQ(timeout_failure("read", 200ms).detail, "read timed out after 200ms");
  EXPECT_EQ(duration_text(1500us), "1500us");
}

TEST(EndpointText, BracketsIpv6) {
  EXPECT_EQ(endpoint_text(*IpAddress::parse("10.0.0.1"), 80), "10.0.0.1:80");
  EXPECT_EQ(endpoint_text(*IpAddress::parse("2001:db8::1"), 443), "[2001:db8::1]:443");
}

TEST(StartConnect, LocalProblemsAreNotRun) {
  check::ConnectionIdentity link_local{.connect_ip = *IpAddress::parse("fe80::1"),
                                       .connect_port = 80};
  auto no_interface = start_connect(link_local);
  ASSERT_TRUE(std::holds_alternative<check::ProbeNotRun>(no_interface));
  EXPECT_EQ(std::get<check::ProbeNotRun>(no_interface).detail,
            "a link-local IPv6 address needs bind_if");

  check::ConnectionIdentity mixed{.connect_ip = *IpAddress::parse("127.0.0.1"),
                                  .connect_port = 80,
                                  .bind_ip = *IpAddress::parse("::1")};
  EXPECT_TRUE(std::holds_alternative<check::ProbeNotRun>(start_connect(mixed)));

  check::ConnectionIdentity unknown_interface{.connect_ip = *IpAddress::parse("127.0.0.1"),
                                              .connect_port = 80,
                                              .bind_if = "vigil-nonesuch0"};
  auto result = start_connect(unknown_interface);
  ASSERT_TRUE(std::holds_alternative<check::ProbeNotRun>(result));
  EXPECT_EQ(std::get<check::ProbeNotRun>(result).detail.rfind("bind_if vigil-nonesuch0: ", 0), 0U)
      << std::get<check::ProbeNotRun>(result).detail;
}

}  // namespace
}  // namespace vigil::check_io
