// controlplane/service_address: the ADDRESS command's checks and the table it
// writes (shm::ServiceAddrs), without a kernel side (an empty interface
// name) or with one that does not exist. Adding to a real kernel interface
// and the dataplane's answers are covered by tests/integration's
// service_address_test.py.
#include "service_address.h"

#include <arpa/inet.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "shm/service_addrs.h"

namespace fulmar::controlplane {
namespace {

using Strings = std::vector<std::string>;

uint32_t be(const char* dotted) {
    return inet_addr(dotted);
}

class ServiceAddress : public ::testing::Test {
  protected:
    void SetUp() override { t_.port_ip = be("198.18.140.1"); }
    shm::ServiceAddrs t_{};
};

TEST_F(ServiceAddress, AddsListsAndRemovesInOrder) {
    EXPECT_TRUE(add_service_address(t_, "198.18.140.100").ok());
    EXPECT_TRUE(add_service_address(t_, be("198.18.140.101")).ok());
    EXPECT_TRUE(add_service_address(t_, "198.18.140.102").ok());
    EXPECT_EQ(list_service_addresses(t_),
              (Strings{"198.18.140.100", "198.18.140.101", "198.18.140.102"}));
    EXPECT_TRUE(remove_service_address(t_, "198.18.140.101").ok());
    EXPECT_EQ(list_service_addresses(t_), (Strings{"198.18.140.100", "198.18.140.102"}));
    // What the workers read: a consistent table at an even sequence, two
    // per change.
    shm::ServiceAddrSnapshot s;
    ASSERT_TRUE(shm::read_service_addrs(t_, s));
    EXPECT_EQ(s.seq, 8u);
    ASSERT_EQ(s.n, 2u);
    EXPECT_EQ(s.addrs[0], be("198.18.140.100"));
    EXPECT_EQ(s.addrs[1], be("198.18.140.102"));
}

TEST_F(ServiceAddress, RefusesWhatIsNotADottedQuadIpv4) {
    for (const char* bad : {"", "198.18.140", "198.18.140.1.5", "300.1.1.1", "198.18.140.01", "::1",
                            "fe80::1", "example.com", " 198.18.140.9", "198.18.140.9/32"}) {
        const ServiceAddrResult r = add_service_address(t_, bad);
        EXPECT_EQ(r.status, ServiceAddrStatus::kBadAddress) << bad;
        EXPECT_NE(r.error.find("is not an IPv4 address"), std::string::npos) << r.error;
        EXPECT_EQ(remove_service_address(t_, bad).status, ServiceAddrStatus::kBadAddress) << bad;
    }
    for (const char* odd : {"0.0.0.0", "127.0.0.1", "224.0.0.1", "255.255.255.255", "240.1.1.1"}) {
        const ServiceAddrResult r = add_service_address(t_, odd);
        EXPECT_EQ(r.status, ServiceAddrStatus::kBadAddress) << odd;
        EXPECT_EQ(r.error, std::string(odd) + " is not a unicast host address");
    }
    EXPECT_TRUE(list_service_addresses(t_).empty());
    EXPECT_EQ(t_.seq.load(), 0u) << "nothing written";
}

TEST_F(ServiceAddress, RefusesThePortsOwnAddressAndDuplicates) {
    EXPECT_EQ(add_service_address(t_, "198.18.140.1").status, ServiceAddrStatus::kPortAddress);
    ASSERT_TRUE(add_service_address(t_, "198.18.140.100").ok());
    const ServiceAddrResult r = add_service_address(t_, "198.18.140.100");
    EXPECT_EQ(r.status, ServiceAddrStatus::kAlreadyServed);
    EXPECT_EQ(r.error, "198.18.140.100 is already a service address");
    EXPECT_EQ(list_service_addresses(t_), (Strings{"198.18.140.100"}));
}

TEST_F(ServiceAddress, RefusesANinthAddress) {
    for (int i = 0; i < 8; ++i)
        ASSERT_TRUE(add_service_address(t_, "198.18.140." + std::to_string(100 + i)).ok());
    const ServiceAddrResult r = add_service_address(t_, "198.18.140.200");
    EXPECT_EQ(r.status, ServiceAddrStatus::kTableFull);
    EXPECT_EQ(r.error, "8 service addresses already (the most a port serves); remove one first");
    EXPECT_EQ(list_service_addresses(t_).size(), 8u);
    ASSERT_TRUE(remove_service_address(t_, "198.18.140.103").ok());
    EXPECT_TRUE(add_service_address(t_, "198.18.140.200").ok());
    EXPECT_EQ(list_service_addresses(t_).back(), "198.18.140.200");
}

TEST_F(ServiceAddress, RemovingAnAbsentAddressIsAnError) {
    const ServiceAddrResult r = remove_service_address(t_, "198.18.140.100");
    EXPECT_EQ(r.status, ServiceAddrStatus::kNotServed);
    EXPECT_EQ(r.error, "198.18.140.100 is not a service address");
    EXPECT_EQ(t_.seq.load(), 0u);
}

TEST_F(ServiceAddress, AKernelSideOutsideThisNamespaceRefusesTheAddEntirely) {
    std::snprintf(t_.kernel_ifname, sizeof t_.kernel_ifname, "%s", "fmnosuchif0");
    const ServiceAddrResult r = add_service_address(t_, "198.18.140.100");
    EXPECT_EQ(r.status, ServiceAddrStatus::kKernel);
    EXPECT_NE(r.error.find("no interface fmnosuchif0 in this network namespace"), std::string::npos)
        << r.error;
    EXPECT_TRUE(list_service_addresses(t_).empty()) << "the dataplane must not answer for it";
    EXPECT_EQ(t_.seq.load(), 0u);
}

TEST_F(ServiceAddress, ATableLeftMidChangeByADeadWriterIsReadAndRewrittenEven) {
    ASSERT_TRUE(add_service_address(t_, "198.18.140.100").ok());
    t_.seq.fetch_add(1);  // a writer killed between its two stores
    shm::ServiceAddrSnapshot s;
    EXPECT_FALSE(shm::read_service_addrs(t_, s)) << "readers keep their copy";
    EXPECT_EQ(list_service_addresses(t_), (Strings{"198.18.140.100"}));
    ASSERT_TRUE(add_service_address(t_, "198.18.140.101").ok());
    ASSERT_TRUE(shm::read_service_addrs(t_, s));
    EXPECT_EQ(s.seq % 2, 0u);
    EXPECT_EQ(s.n, 2u);
}

TEST(ServiceAddressTcp, FollowsOnlyWithListenersOnTheWildcardAddress) {
    config::DataplaneConfig cfg;
    cfg.ports.resize(1);
    cfg.ports[0].ipv4.addr = 0xc6128c01;  // 198.18.140.1
    EXPECT_EQ(tcp_follow_problem(cfg),
              "the TCP listeners are bound to 198.18.140.1 (controlplane.listen): TCP would not "
              "follow a service address; set controlplane.listen = \"0.0.0.0\"");
    cfg.controlplane.listen = 0xc6128c05;
    EXPECT_NE(tcp_follow_problem(cfg).find("bound to 198.18.140.5"), std::string::npos);
    cfg.controlplane.listen = 0;
    EXPECT_EQ(tcp_follow_problem(cfg), "");
    cfg.controlplane.listen = 0xc6128c05;
    cfg.controlplane.memcached_port = 0;
    cfg.controlplane.redis_port = 0;
    EXPECT_EQ(tcp_follow_problem(cfg), "") << "no TCP listener at all";
}

}  // namespace
}  // namespace fulmar::controlplane
