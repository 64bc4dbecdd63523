#pragma once

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "sluice/api/data_stream.h"
#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"  // makeEnv
#include "sluice/testing/temp_dir.h"

namespace sluice::testing {

namespace fs = std::filesystem;

inline void writeFile(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  ASSERT_TRUE(out.good()) << path;
}

inline std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// `content` as one gzip member (zlib's deflate with a gzip header).
inline std::string gzipBytes(const std::string& content, int level = 6) {
  z_stream s{};
  EXPECT_EQ(deflateInit2(&s, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&s, static_cast<uLong>(content.size())) + 64, '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(content.data()));
  s.avail_in = static_cast<uInt>(content.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&s, Z_FINISH), Z_STREAM_END);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

/// Lines as std::getline sees them, with one trailing '\r' removed (the oracle).
inline std::vector<std::string> splitLines(const std::string& content) {
  std::vector<std::string> lines;
  std::string line;
  std::istringstream in(content);
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

/// Output of a shell command (e.g. "gzip -dc file").
inline std::string commandOutput(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

/// Collects every record of every subtask into one shared vector (thread-safe). Named apart
/// from test_util.h's CollectSink (per-subtask arrival order) so both can share a binary.
template <typename T>
class VectorSink final : public Sink<T> {
 public:
  explicit VectorSink(std::shared_ptr<std::vector<T>> out) : out_(std::move(out)) {}
  std::unique_ptr<SinkWriter<T>> createWriter(const WriterInitContext&) const override {
    return std::make_unique<Writer>(out_, mutex_);
  }

 private:
  struct Writer final : SinkWriter<T> {
    Writer(std::shared_ptr<std::vector<T>> out, std::shared_ptr<std::mutex> m)
        : out_(std::move(out)), m_(std::move(m)) {}
    void write(const T& v, const SinkContext&) override { local_.push_back(v); }
    void flush(bool) override {
      std::lock_guard l(*m_);
      out_->insert(out_->end(), local_.begin(), local_.end());
      local_.clear();
    }
    std::vector<T> local_;
    std::shared_ptr<std::vector<T>> out_;
    std::shared_ptr<std::mutex> m_;
  };
  std::shared_ptr<std::vector<T>> out_;
  std::shared_ptr<std::mutex> mutex_ = std::make_shared<std::mutex>();
};

inline std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace sluice::testing
