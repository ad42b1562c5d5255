// NetlinkVmacHost: the VmacHost of a Linux host. The macvlan is made and removed with
// rtnetlink (libnl-route-3's macvlan link API); sysctls are /proc/sys files. Every call waits
// for the kernel's acknowledgement, which the kernel gives inside the send call.
#pragma once

#include <memory>

#include "common/result.h"
#include "vrrp/vmac.h"

struct nl_sock;

namespace vigil::vrrp {

class NetlinkVmacHost final : public VmacHost {
 public:
  static Result<std::unique_ptr<NetlinkVmacHost>> open();
  ~NetlinkVmacHost() override;
  NetlinkVmacHost(const NetlinkVmacHost&) = delete;
  NetlinkVmacHost& operator=(const NetlinkVmacHost&) = delete;

  Status ensure(const VmacPlan& plan) override;
  Status remove(const std::string& name) override;
  [[nodiscard]] std::optional<int> read_sysctl(const SysctlSetting& where) const override;
  Status write_sysctl(const SysctlSetting& setting) override;

 private:
  explicit NetlinkVmacHost(nl_sock* sock) : sock_(sock) {}
  Status create(const VmacPlan& plan, int base_index);
  nl_sock* sock_;
};

}  // namespace vigil::vrrp
