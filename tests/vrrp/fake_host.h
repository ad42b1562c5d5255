// Fakes for the VRRP host roles: a shared segment that carries adverts between hosts in virtual
// time (through the real codec), and a VipManager that records what it was asked to do.
#pragma once

#include <deque>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fakes/fake_scheduler.h"
#include "vrrp/host.h"
#include "vrrp/instance.h"
#include "vrrp/packet.h"

namespace vigil::vrrp::testing {

class FakeVipManager final : public VipManager {
 public:
  enum class Kind { kAdd, kRemove, kAnnounce };
  struct Call {
    TimePoint at;
    Kind kind;
    int count = 0;  // announce only
  };

  explicit FakeVipManager(const Scheduler& clock) : clock_(clock) {}

  Status add_addresses(const std::string&, const std::vector<VirtualAddress>& addresses) override {
    calls.push_back({clock_.now(), Kind::kAdd});
    if (fail) return Error{"injected failure"};
    for (const auto& a : addresses)
      present.insert(a.prefix);
    return {};
  }
  Status remove_addresses(const std::string&,
                          const std::vector<VirtualAddress>& addresses) override {
    calls.push_back({clock_.now(), Kind::kRemove});
    if (fail) return Error{"injected failure"};
    for (const auto& a : addresses)
      present.erase(a.prefix);
    return {};
  }
  Status announce(const std::string&, const std::vector<VirtualAddress>& addresses, int count,
                  const std::shared_ptr<AnnounceTally>& tally) override {
    calls.push_back({clock_.now(), Kind::kAnnounce, count});
    if (fail) return Error{"injected failure"};
    if (tally) {
      for (const auto& a : addresses)
        (a.prefix.address.is_v4() ? tally->gratuitous_arps : tally->neighbour_adverts) +=
            static_cast<uint64_t>(count);
    }
    return {};
  }

  // Times of the calls of one kind.
  [[nodiscard]] std::vector<TimePoint> times(Kind kind) const {
    std::vector<TimePoint> out;
    for (const auto& c : calls) {
      if (c.kind == kind) out.push_back(c.at);
    }
    return out;
  }

  std::set<IpPrefix> present;
  std::vector<Call> calls;
  bool fail = false;

 private:
  const Scheduler& clock_;
};

// One broadcast segment. Multicast adverts reach every other live host, unicast ones the host
// with that address; each arrives `latency` later as a datagram through the real decoder.
class FakeNetwork {
 public:
  class Host final : public AdvertTransport {
   public:
    Host(FakeNetwork& network, std::string name, IpAddress address)
        : name(std::move(name)), address(address), network_(network) {}

    Status send(const OutgoingAdvert& advert) override {
      if (!up) return Error{"host is down"};
      sent.push_back({network_.scheduler_.now(), advert});
      network_.carry(*this, advert);
      return {};
    }

    std::string name;
    IpAddress address;
    bool up = true;
    AdvertReceiver receiver;
    std::vector<std::pair<TimePoint, OutgoingAdvert>> sent;
    std::vector<TimePoint> received;  // arrival times of datagrams handed to the receiver

   private:
    FakeNetwork& network_;
  };

  explicit FakeNetwork(vigil::testing::FakeScheduler& scheduler, Duration latency = 100us)
      : scheduler_(scheduler), latency_(latency) {}

  Host& add_host(std::string name, IpAddress address) {
    hosts_.push_back(std::make_unique<Host>(*this, std::move(name), address));
    return *hosts_.back();
  }

  // Drops everything between a and b, both ways, until heal().
  void partition(const Host& a, const Host& b) {
    cuts_.insert({&a, &b});
    cuts_.insert({&b, &a});
  }
  void heal() { cuts_.clear(); }

  [[nodiscard]] Duration latency() const { return latency_; }

 private:
  void carry(const Host& from, const OutgoingAdvert& advert) {
    for (auto& host : hosts_) {
      Host* to = host.get();
      if (to == &from || cuts_.contains({&from, to})) continue;
      if (!advert.destination.is_multicast() && advert.destination != to->address) continue;
      scheduler_.call_after(latency_, [this, to, advert, from_ptr = &from] {
        if (!to->up || cuts_.contains({from_ptr, to})) return;
        to->received.push_back(scheduler_.now());
        if (advert.source.is_v4()) {
          auto header = build_ipv4_header(advert.source, advert.destination, advert.bytes.size());
          std::vector<uint8_t> datagram(header.begin(), header.end());
          datagram.insert(datagram.end(), advert.bytes.begin(), advert.bytes.end());
          to->receiver.on_ipv4_datagram(datagram);
        } else {
          to->receiver.on_ipv6_message(advert.source, advert.destination, kRequiredTtl,
                                       advert.bytes);
        }
      });
    }
  }

  vigil::testing::FakeScheduler& scheduler_;
  Duration latency_;
  std::deque<std::unique_ptr<Host>> hosts_;
  std::set<std::pair<const Host*, const Host*>> cuts_;
};

}  // namespace vigil::vrrp::testing
