// vigil-lab: rehearses failover of a keepalived-syntax configuration in network namespaces.
#include "lab/cli.h"

int main(int argc, char** argv) {
  return vigil::lab::main(argc, argv);
}
