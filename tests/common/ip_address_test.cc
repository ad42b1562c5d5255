#include "common/ip_address.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

struct ParseCase {
  const char* text;
  bool valid;
  const char* canonical;
};

class IpAddressParse : public ::testing::TestWithParam<ParseCase> {};

TEST_P(IpAddressParse, ParsesOrRejects) {
  const auto& c = GetParam();
  auto address = IpAddress::parse(c.text);
  ASSERT_EQ(address.has_value(), c.valid) << c.text;
  if (c.valid) {
    EXPECT_EQ(address->to_string(), c.canonical);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, IpAddressParse,
    ::testing::Values(ParseCase{"10.0.0.1", true, "10.0.0.1"},
                      ParseCase{"255.255.255.255", true, "255.255.255.255"},
                      ParseCase{"fe80::1", true, "fe80::1"},
                      ParseCase{"2001:DB8:0:0::1", true, "2001:db8::1"},
                      ParseCase{"::", true, "::"}, ParseCase{"10.0.0", false, ""},
                      ParseCase{"10.0.0.256", false, ""}, ParseCase{"", false, ""},
                      ParseCase{"10.0.0.1/24", false, ""}, ParseCase{"host", false, ""},
                      ParseCase{"1::2::3", false, ""}));

TEST(IpAddress, OrdersNumericallyAndV4BeforeV6) {
  auto a = *IpAddress::parse("10.0.0.2");
  auto b = *IpAddress::parse("10.0.0.10");
  auto c = *IpAddress::parse("::1");
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ(IpAddress::v4(0x0a00000a), b);
  EXPECT_EQ(b.v4_host_order(), 0x0a00000aU);
}

TEST(IpAddress, Classifies) {
  EXPECT_TRUE(IpAddress::parse("224.0.0.18")->is_multicast());
  EXPECT_TRUE(IpAddress::parse("ff02::12")->is_multicast());
  EXPECT_FALSE(IpAddress::parse("10.0.0.1")->is_multicast());
  EXPECT_TRUE(IpAddress::parse("fe80::1")->is_link_local());
  EXPECT_TRUE(IpAddress::parse("0.0.0.0")->is_unspecified());
}

TEST(IpPrefix, ParsesWithAndWithoutLength) {
  auto p = IpPrefix::parse("10.1.2.3/24");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->length, 24);
  EXPECT_EQ(p->to_string(), "10.1.2.3/24");
  EXPECT_EQ(IpPrefix::parse("10.1.2.3")->length, 32);
  EXPECT_EQ(IpPrefix::parse("fe80::1")->length, 128);
  EXPECT_FALSE(IpPrefix::parse("10.1.2.3/33"));
  EXPECT_FALSE(IpPrefix::parse("10.1.2.3/"));
  EXPECT_FALSE(IpPrefix::parse("10.1.2.3/2x"));
}

}  // namespace
}  // namespace vigil
