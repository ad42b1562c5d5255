// vigil-lab's command line: `demo`, `run`, `clean` (see docs/lab.md).
#pragma once

namespace vigil::lab {

// Exit codes: 0 every drill passed, 1 a drill failed, 2 a config the lab cannot model, 3 the lab
// cannot start (not root, a previous lab, a setup step failed), 4 / 5 as vigild -t (a config that
// cannot be read / has errors), 64 a bad command line, 130 interrupted.
int main(int argc, char** argv);

// The demo's configuration: two directors (config ids d1 and d2), VRRPv3 at 0.1 s adverts, one
// VIP, a virtual_server with three HTTP real servers checked with HTTP_GET.
const char* demo_config();

}  // namespace vigil::lab
