#include "sluice/connectors/csv_source.h"

#include <stdexcept>

#include "sluice/core/exceptions.h"

namespace sluice::detail {

CsvSplitReader::CsvSplitReader(std::shared_ptr<const CsvSourceOptions> options,
                               SourceReaderContext& context)
    : options_(std::move(options)), context_(context) {}

CsvSplitReader::~CsvSplitReader() = default;

void CsvSplitReader::start() {
  requested_ = true;
  context_.sendSplitRequest();
}

void CsvSplitReader::addSplits(std::vector<FileSourceSplit> splits) {
  for (auto& s : splits) pending_.push_back(std::move(s));
  requested_ = false;
}

std::vector<FileSourceSplit> CsvSplitReader::snapshotState() const {
  std::vector<FileSourceSplit> out;
  out.reserve(pending_.size() + 1);
  if (current_ && records_) {
    FileSourceSplit rest = *current_;
    rest.offset = records_->position();
    out.push_back(std::move(rest));
  }
  out.insert(out.end(), pending_.begin(), pending_.end());
  return out;
}

void CsvSplitReader::close() {
  records_.reset();
  input_.reset();
  current_.reset();
}

std::span<const std::string> CsvSplitReader::columnNames() const {
  if (!options_->columnNames.empty()) return options_->columnNames;
  return headerNames_;
}

void CsvSplitReader::openSplit(FileSourceSplit split) {
  close();
  current_ = std::move(split);
  headerNames_.clear();
  input_ = openFileInput(current_->path);
  records_ = std::make_unique<CsvRecordReader>(
      [in = input_.get()](char* buffer, size_t n) { return in->read(buffer, n); },
      options_->delimiter);
  skipHeader_ = options_->header;
  if (current_->offset > 0) {
    // Resuming within the file: take the header's names, then skip what was read before.
    if (skipHeader_ && readRecord() && records_->ok()) {
      for (auto f : records_->fields()) headerNames_.emplace_back(f);
    }
    skipHeader_ = false;
    try {
      records_->skipTo(current_->offset);
    } catch (const std::out_of_range& e) {
      throw IOException("Cannot skip to byte offset " + std::to_string(current_->offset) + " of " +
                        current_->path + ": " + e.what());
    }
  }
}

bool CsvSplitReader::readRecord() {
  try {
    return records_->next();
  } catch (const IOException& e) {
    throw IOException(std::string(e.what()) + " (while reading line " +
                      std::to_string(records_->nextLine()) + " of " + current_->path + ")");
  }
}

CsvSplitReader::Step CsvSplitReader::next() {
  while (true) {
    if (records_) {
      if (readRecord()) {
        if (skipHeader_) {
          skipHeader_ = false;
          // A malformed header is reported like any malformed record.
          if (!records_->ok()) return Step::kRecord;
          for (auto f : records_->fields()) headerNames_.emplace_back(f);
          continue;
        }
        return Step::kRecord;
      }
      close();
      continue;
    }
    if (!pending_.empty()) {
      FileSourceSplit split = std::move(pending_.front());
      pending_.pop_front();
      openSplit(std::move(split));
      continue;
    }
    if (noMoreSplits_) return Step::kEndOfInput;
    if (!requested_) start();
    return Step::kNothingAvailable;
  }
}

BadRecord CsvSplitReader::badRecord(const std::string& reason, bool sideOutputConsumed) const {
  const CsvRecordReader& r = *records_;
  if (!sideOutputConsumed) {
    std::string message = "Malformed CSV record in " + current_->path + " at line " +
                          std::to_string(r.line()) + ": " + reason + "; the record (byte offset " +
                          std::to_string(r.recordOffset()) + "): " + quoteForMessage(r.raw(), 200) +
                          ". ";
    if (options_->badRecords.has_value()) {
      message += "Bad records go to side output '" + options_->badRecords->id +
                 "' (withBadRecords), but the job does not consume it: add "
                 "getSideOutput(tag) of the source's stream to the job, or fix the input.";
    } else {
      message +=
          "Fix the input, or send bad records to a side output with "
          "CsvSource<T>::forPaths(...).withBadRecords(tag) and consume getSideOutput(tag).";
    }
    throw MalformedRecordException(message);
  }
  return BadRecord{current_->path, r.line(), reason, std::string(r.raw())};
}

void validateCsvSourceOptions(const CsvSourceOptions& options) {
  if (options.paths.empty()) throw SluiceException("CsvSource needs at least one input path");
  char d = options.delimiter;
  if (d == '"' || d == '\r' || d == '\n') {
    throw SluiceException("CsvSource delimiter must not be '\"', CR or LF");
  }
  checkInputFiles(options.paths);
}

}  // namespace sluice::detail
