// vigilctl's usage and usage errors, shared by the two programs vigilctl is made of: `vigilctl`
// (the commands that talk to vigild; kept lean so that it starts fast: issue 14's drain latency)
// and `vigilctl-local` (the commands on files and on this host: config check/show, doctor,
// rs-setup, genhash, which need the configuration reader, the checkers and OpenSSL). vigilctl runs
// vigilctl-local for those commands; an operator only ever types `vigilctl`.
#pragma once

#include <iostream>
#include <string>

#include "control/exit_codes.h"

namespace vigil::tools {

inline constexpr const char* kUsage =
    "Usage: vigilctl [-s NAMESPACE] [--instance NAME] [--socket PATH] COMMAND [OPTIONS]\n"
    "Commands talking to vigild (over /run/vigil/vigild[_INSTANCE][_NAMESPACE].sock):\n"
    "  status [--json]                 the daemon, its VRRP instances and virtual servers\n"
    "                                  (exit 0 healthy, 1 degraded, 3 vigild unreachable)\n"
    "  reload [--wait] [--reason TEXT] [--json]\n"
    "                                  reload the configuration file and print the outcome\n"
    "                                  (exit 0 applied, 5 refused: the errors are printed)\n"
    "  reload --dry-run [--json]       what a reload would change, changing nothing\n"
    "                                  (exit 0 no change, 7 changes pending, 5 refused)\n"
    "  rs drain|maint|ready VS RS [--all-vs] [--reason TEXT] [--for DURATION]\n"
    "                                  drain: weight 0, connections continue; maint: out of\n"
    "                                  IPVS; ready: the override goes (health decides again)\n"
    "  rs weight VS RS N|reset         run RS at weight N while it is healthy\n"
    "                                  (VS: 192.0.2.80:80, [2001:db8::1]:80, FWM 7, a group\n"
    "                                  by its name; RS: 10.0.0.1:80, or the address alone)\n"
    "  overrides [--json]              the drains, maintenance and weights in force\n"
    "  log level LEVEL [COMPONENT]     vigild's log level (trace ... off), of one component\n"
    "                                  (vrrp, check, ipvs, control, ...) or of all\n"
    "  services [VS] [--json]          each real server: health, weight, override, checkers\n"
    "  vrrp [INSTANCE] [--json]        each VRRP instance in detail, with its counters\n"
    "  vrrp garp INSTANCE              a master announces its addresses again (GARP / NA)\n"
    "  events [--follow] [--json]      the last events: VRRP transitions, checker changes,\n"
    "                                  overrides, reloads; --follow waits for more (exit 3\n"
    "                                  when vigild ends the stream, or sends nothing, not\n"
    "                                  even its 30 s heartbeat, for 90 s)\n"
    "  vrrp stats [INSTANCE] [--clear] [--json]\n"
    "                                  adverts, transitions, errors by reason since the last\n"
    "                                  --clear (which /metrics' counters never see)\n"
    "  vrrp maintenance on|off INSTANCE|--all [--reason TEXT]\n"
    "                                  on: a master hands over (priority 0) and the instance\n"
    "                                  stays BACKUP, across restarts, until off (a sync group\n"
    "                                  moves together)\n"
    "Commands on files:\n"
    "  check-config [-f FILE] [-i ID]  validate a configuration file (exit 0 ok, 4 cannot read,\n"
    "                                  5 errors, 6 scripts without script security); every\n"
    "                                  problem is printed as file:line:col\n"
    "  dump-config  [-f FILE] [-i ID]  print the configuration as vigil understood it (JSON)\n"
    "  doctor [-f FILE] [-i ID] [--json] [--no-probes] [--fix]\n"
    "                                  check this host for what breaks the configuration:\n"
    "                                  one OK/WARN/FAIL line per check with its fix (exit 0\n"
    "                                  nothing fails, 1 something fails, 9 cannot examine);\n"
    "                                  active probes (ARP to real servers, listening for\n"
    "                                  other VRRP routers, up to 10 s) unless --no-probes;\n"
    "                                  --fix then sets this director's sysctls it named\n"
    "  rs-setup VS [--mode dr|tun|nat|fullnat] [--format shell|sysctl|networkd]\n"
    "           [--vip ADDR]... [-f FILE] [-i ID]\n"
    "                                  what a real server behind VS needs (VIP on lo or the\n"
    "                                  tunnel, arp_ignore/arp_announce, rp_filter) as a script,\n"
    "                                  sysctl.d or networkd files; --vip names a fwmark\n"
    "                                  service's VIPs (VS may then be left out, with --mode)\n"
    "  rs-setup VS --check [...]       on the real server: OK/FAIL per item with its fix\n"
    "                                  (exit 0 set up, 1 not, 9 cannot examine)\n"
    "  genhash -s ADDR -p PORT -u URL  the MD5 digest of a url's body for HTTP_GET/SSL_GET\n"
    "          [-S] [-I] [-V VHOST]    `digest` lines (keepalived's genhash options; genhash -h)\n"
    "  config check|show [-f FILE]     check-config and dump-config by their newer names\n"
    "  version                         print the version\n"
    "Options:\n"
    "  -s NAMESPACE     the vigild running in this network namespace (vigild -s / net_namespace)\n"
    "  --instance NAME  the vigild whose configuration sets `instance NAME`\n"
    "  --socket PATH    this socket (wins over -s and --instance)\n"
    "  -f FILE  configuration file (default /etc/vigil/vigil.conf, else\n"
    "           /etc/keepalived/keepalived.conf)\n"
    "  -i ID    configuration id for @ID lines (default: short host name)\n"
    "Exit codes: 0 ok, 1 degraded, 2 usage, 3 vigild unreachable, 4 config unreadable,\n"
    "            5 config errors, 6 script security, 7 changes pending, 8 vigild refused\n"
    "            the request, 9 doctor or rs-setup --check cannot examine the host,\n"
    "            10 vigilctl-local (the file commands) is not installed\n";

// Says what was wrong, then the usage; the usage exit code.
inline int usage_error(const std::string& message) {
  std::cerr << "vigilctl: " << message << "\n" << kUsage;
  return control::kCtlUsage;
}

}  // namespace vigil::tools
