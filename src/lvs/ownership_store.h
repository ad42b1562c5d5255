// Which IPVS services vigild owns, kept across restarts, so that a service the configuration
// dropped while vigild was down (or killed) is removed at the next start instead of staying in
// the kernel as foreign. Destinations need no record: vigil owns every destination of a service
// it owns (datapath/reconcile.h).
//
// The state is a small libconfig file, replaced atomically (temporary file, fsync, rename; mode
// 0600; a symbolic link at the path is replaced, never followed, and never read through). It
// records the network namespace it was written in: IPVS tables are per namespace, and a state
// file from another namespace says nothing about this one's table.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "datapath/reconcile.h"

namespace vigil::lvs {

class OwnershipStore {
 public:
  virtual ~OwnershipStore() = default;
  // What was owned when last saved. No state yet is an empty set; a state that cannot be read
  // or belongs to another namespace is an error naming the file (and line).
  virtual Result<datapath::Ownership> load() = 0;
  virtual Status save(const datapath::Ownership& owned) = 0;
};

// The file format, pure. `network_namespace` identifies the namespace (0: unknown, not checked).
std::string format_ownership(const datapath::Ownership& owned, uint64_t network_namespace);
// `name` names the text in errors ("FILE:LINE: why").
Result<datapath::Ownership> parse_ownership(const std::string& text, const std::string& name,
                                            uint64_t network_namespace);

class FileOwnershipStore final : public OwnershipStore {
 public:
  FileOwnershipStore(std::string path, uint64_t network_namespace)
      : path_(std::move(path)), network_namespace_(network_namespace) {}

  Result<datapath::Ownership> load() override;
  // Creates the file's directory if missing (one level, mode 0755); refuses one that is a
  // symbolic link, not a directory, or not root's (common/safe_file.h ensure_owned_directory).
  Status save(const datapath::Ownership& owned) override;

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
  uint64_t network_namespace_;
};

// This process's network namespace (the inode of /proc/self/ns/net), 0 if unknown.
uint64_t current_network_namespace();

}  // namespace vigil::lvs
