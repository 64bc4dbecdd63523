#include "sluice/testing/collect_sink.h"

#include <algorithm>

namespace sluice::testing {

std::vector<std::string> readCollectedLines(const std::string& directory) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(directory, ec)) {
    if (e.path().filename().string().rfind("subtask-", 0) == 0) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> lines;
  for (const auto& f : files) {
    std::ifstream in(f);
    if (!in) throw IOException("cannot read '" + f + "'");
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
  }
  return lines;
}

}  // namespace sluice::testing
