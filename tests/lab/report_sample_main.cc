// report_sample DIR: writes DIR/report.json, DIR/junit.xml and DIR/index.html from the sample
// records, as the lab writes them with --report (for report_schema_test.py).
#include <fstream>
#include <iostream>

#include "lab/report_sample.h"

int main(int argc, char** argv) {
  using namespace vigil::lab;
  if (argc != 2) {
    std::cerr << "usage: report_sample DIR\n";
    return 64;
  }
  const std::string dir = argv[1];
  const auto drills = testing::sample_drills();
  std::ofstream(dir + "/report.json") << report_json(
      testing::sample_model(), testing::sample_names(), testing::sample_context(), drills);
  std::ofstream(dir + "/junit.xml") << junit_xml(testing::sample_context(), drills);
  std::ofstream(dir + "/index.html") << report_html(
      testing::sample_model(), testing::sample_names(), testing::sample_context(), drills);
  return 0;
}
