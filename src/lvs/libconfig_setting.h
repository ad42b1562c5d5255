// Reading the libconfig files src/lvs keeps (the IPVS ownership state, the overrides' state).
#pragma once

#include <libconfig.h++>

namespace vigil::lvs {

// An integer setting, whether written as 32-bit ("7") or 64-bit ("7L").
inline bool lookup_integer(const libconfig::Setting& group, const char* name, long long& value) {
  if (!group.exists(name)) return false;
  const auto& setting = group[name];
  if (setting.getType() == libconfig::Setting::TypeInt) {
    value = static_cast<int>(setting);
    return true;
  }
  if (setting.getType() == libconfig::Setting::TypeInt64) {
    value = static_cast<long long>(setting);
    return true;
  }
  return false;
}

}  // namespace vigil::lvs
