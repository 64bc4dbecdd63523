#pragma once

// What the examples check about their --output directory before they run.

#include <filesystem>
#include <string>
#include <system_error>

#include "sluice/core/config_options.h"
#include "sluice/core/configuration.h"
#include "sluice/core/exceptions.h"

namespace sluice::examples {

/// Refuses an --output that already holds files: part files of an earlier run would mix with
/// this run's (their names are random) and every total would count twice. A run restored from
/// a checkpoint or savepoint (-s, execution.savepoint.path in `conf`) continues that run's
/// output, so it may write where that run did. Throws IOException naming the directory.
inline void checkOutputDirectory(const std::string& output, const Configuration& conf) {
  if (!conf.get(kSavepointPath).empty()) return;
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::file_status st = fs::status(output, ec);
  if (!fs::exists(st)) return;
  if (!fs::is_directory(st)) {
    throw IOException("--output " + output + " exists and is not a directory");
  }
  if (!fs::is_empty(output, ec) || ec) {
    throw IOException("--output " + output +
                      " is not empty: remove it or choose a new directory (the job would add "
                      "its part files to those of an earlier run)");
  }
}

}  // namespace sluice::examples
