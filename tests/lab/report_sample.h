// A lab's worth of drill records that reaches every shape report.json and junit.xml can take
// (measured and null values, a failed run, a run not run, partition and preempt fields), for the
// report tests and for report_sample, which writes them for the schema test.
#pragma once

#include <vector>

#include "lab/drills.h"
#include "lab/report.h"

namespace vigil::lab::testing {

LabModel sample_model();
Names sample_names();
ReportContext sample_context();
std::vector<DrillRecord> sample_drills();

}  // namespace vigil::lab::testing
