#pragma once

// Checkpoint storage on a local file system (Flink's FileSystemCheckpointStorage /
// FsCheckpointStorageAccess) and the store of retained completed checkpoints (Flink's
// CompletedCheckpointStore, StandaloneCompletedCheckpointStore).
//
// Layout, as Flink's:
//
//   <checkpoints dir>/<jobId>/chk-<n>/_metadata          a checkpoint
//   <savepoint dir>/savepoint-<jobId[0,6)>-<12 hex>/_metadata   a savepoint
//
// Keyed state of a checkpoint (chk-<n>) is in state files next to `_metadata`, one per task
// and checkpoint, written by the task (off its thread) before it acknowledges; `_metadata`
// refers to them by plain file name and byte range per key group (Flink's
// KeyGroupsStateHandle), so the coordinator never holds keyed state and a restoring subtask
// reads only the key groups it owns. Operator, channel and coordinator state, the final state
// of finished tasks, savepoints and checkpoints without a checkpoint directory stay inline in
// `_metadata` (as Flink's state below `execution.checkpointing.data-inline-threshold`), so a
// savepoint directory is self-contained and can be moved or copied anywhere. A checkpoint is
// complete exactly when `_metadata` exists; its directory holds no other references.
//
// `_metadata` format (version 4; all fixed-width integers little-endian):
//
//   offset 0   8 bytes  magic "SLCKMETA"
//   offset 8   u32      format version (1)
//   offset 12  u64      payload length in bytes (the file is exactly 24 + this long)
//   offset 20  u32      CRC-32 (zlib's crc32) of bytes [0, 20) followed by the payload
//   offset 24  payload:
//     string jobId, i64 checkpointId, i64 timestamp (ms since the epoch), u8 savepoint (0 | 1),
//     varint operator count, then per operator in ascending id order:
//       string operatorId, string operatorName, i32 parallelism, i32 maxParallelism,
//       varint subtask count, then per subtask in ascending index order:
//         varint subtask index (< parallelism),
//         keyed state: i32 maxParallelism, varint key-group count, then per key group in
//           ascending order: varint key group (< maxParallelism), blob,
//         operator state: blob (OperatorStateSnapshot::serialize() bytes; empty if no state),
//         input channel state: varint channel count, then per channel in ascending order:
//           varint channel index, blob,
//         output channel state (version 2 on; absent in version 1, read as empty): varint
//           result subpartition count, then per subpartition in ascending (partition,
//           subpartition) order: varint partition index, varint subpartition index, blob,
//         keyed state serializers (version 4 only): varint state count, then per state in
//           ascending name order: string name, StateMetaInfo::serialize() bytes (varint
//           serializer count, then per serializer string role, string description).
//   Channel state blobs hold TaskChannelState bytes (checkpoint_state.h).
//   A string is a varint length and the bytes; a blob is u8 kind 0 (inline), varint length and
//   the bytes. Version 3: a key group's blob may instead be u8 kind 1 (file range), string
//   file name (plain, in the checkpoint directory; the same for every key group of a
//   subtask, never mixed with inline ones), varint offset, varint length. Versions 1 to 3
//   still load (their states restore without a serializer check); an older build refuses a
//   newer version naming it. Nothing may follow the last operator.
//
// The header layout (magic, version, length, CRC) is the same for every format version, so an
// older build recognizes a newer file and reports its version instead of "corrupted".
//
// Writing is crash-safe: the directory is created, `_metadata` is written to a temporary name
// in it, fsync'ed, renamed to `_metadata` and the directory (and its parents) fsync'ed. Until the
// rename the directory holds no `_metadata`, so it is never taken for a complete checkpoint.
// Deleting removes `_metadata` first, for the same reason.
//
// Paths: local paths, or `file:` URIs (`file:///tmp/chk`, `file:/tmp/chk`), which are turned
// into local paths. Other schemes (hdfs://, s3://) are rejected with a ConfigurationException.
//
// Errors: every failure is a SluiceException subclass whose message names the path: an
// IOException for file-system problems (missing path, permission, disk full, a checkpoint that
// already exists), a SerializationException for a `_metadata` that is not complete and valid
// (bad magic, unsupported version, truncated, checksum mismatch, malformed payload).

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/checkpoint/checkpoint_config.h"
#include "sluice/checkpoint/checkpoint_state.h"

namespace sluice {

/// Whether `name` can name a file directly inside a checkpoint directory: not empty, at most
/// 255 bytes, no '/', no NUL, not "." or "..". Every state file name read from `_metadata` is
/// checked against it, so a metadata file can never make a restore read outside its directory.
bool isPlainStateFileName(std::string_view name);

/// Reads and writes checkpoints and savepoints as directories with a `_metadata` file (see the
/// file comment for layout and format).
///
/// Thread-safety: immutable after construction; every method may be called from any thread.
/// Concurrent writes of different checkpoints are safe; two writers of the same checkpoint id
/// are not supported (the checkpoint coordinator is the only writer of a job's checkpoints).
class FileCheckpointStorage {
 public:
  /// The name of the metadata file in a checkpoint or savepoint directory (Flink's
  /// AbstractFsCheckpointStorageAccess.METADATA_FILE_NAME).
  static constexpr std::string_view kMetadataFileName = "_metadata";
  /// Prefix of checkpoint directories: chk-<id> (Flink's CHECKPOINT_DIR_PREFIX).
  static constexpr std::string_view kCheckpointDirPrefix = "chk-";
  /// Prefix of savepoint directories: savepoint-<first 6 chars of the job id>-<12 hex digits>.
  static constexpr std::string_view kSavepointDirPrefix = "savepoint-";
  /// The `_metadata` format version this build writes; it reads versions 1 to this one.
  /// Version 2 added output (result subpartition) channel state; version 3 key-group blobs that
  /// refer to a byte range of a state file in the checkpoint directory; version 4 each keyed
  /// state's serializers (StateMetaInfo), checked on restore.
  static constexpr uint32_t kMetadataVersion = 4;
  /// Size of the fixed `_metadata` header, bytes.
  static constexpr size_t kMetadataHeaderSize = 24;

  /// Storage with checkpoints under `checkpointsDirectory` and savepoints, when no target is
  /// given, under `defaultSavepointDirectory`. Either may be empty: then writeCheckpoint() /
  /// writeSavepoint() without a target throw ConfigurationException. Directories are created
  /// when first written, not here. Throws ConfigurationException for a URI that is not local.
  explicit FileCheckpointStorage(std::string checkpointsDirectory,
                                 std::string defaultSavepointDirectory = {});

  /// Storage with the directories of `config` (execution.checkpointing.dir and
  /// execution.checkpointing.savepoint-dir).
  explicit FileCheckpointStorage(const CheckpointConfig& config);

  /// The checkpoints root as a local path (empty if not configured).
  const std::string& checkpointsDirectory() const { return checkpointsDir_; }
  /// The default savepoint directory as a local path (empty if not configured).
  const std::string& defaultSavepointDirectory() const { return savepointDir_; }

  /// `<checkpoints dir>/<jobId>`. Throws ConfigurationException if no checkpoints directory is
  /// configured, SluiceException if `jobId` is not usable as a directory name (empty, ".",
  /// "..", or containing '/' or NUL).
  std::string jobCheckpointsDirectory(const std::string& jobId) const;
  /// `<checkpoints dir>/<jobId>/chk-<checkpointId>`; throws as jobCheckpointsDirectory().
  std::string checkpointDirectory(const std::string& jobId, int64_t checkpointId) const;

  /// Writes `checkpoint` (not a savepoint) to checkpointDirectory(jobId, checkpointId) and
  /// returns that directory. A directory left by an earlier attempt without `_metadata` is
  /// reused. Throws IOException if that checkpoint already exists (has `_metadata`) or on any
  /// file-system error (a temporary file is removed again); SluiceException if
  /// `checkpoint.savepoint` is set or the checkpoint is inconsistent (subtask index outside
  /// [0, parallelism), key group outside [0, maxParallelism), negative channel index, operator
  /// id differing from its map key); ConfigurationException as jobCheckpointsDirectory().
  std::string writeCheckpoint(const CompletedCheckpoint& checkpoint) const;

  /// Writes `checkpoint` as a savepoint (with savepoint = true, whatever the field says) to a new
  /// directory savepoint-<first 6 chars of the job id>-<12 random hex digits> under `targetDir`
  /// (the default savepoint directory if empty; created if missing) and returns that directory.
  /// Self-contained and relocatable. Throws ConfigurationException if there is neither a target
  /// nor a default directory, IOException / SluiceException as writeCheckpoint().
  std::string writeSavepoint(const CompletedCheckpoint& checkpoint,
                             const std::string& targetDir = {}) const;

  /// Reads the checkpoint or savepoint at `path`: its directory or its `_metadata` file (a
  /// metadata file under another name is accepted too). Throws IOException when the path does
  /// not exist, when a directory has no `_metadata` ("not a complete checkpoint") or it cannot
  /// be read; SerializationException when `_metadata` is not a checkpoint metadata file (bad
  /// magic), has an unsupported format version, is truncated or longer than its header says,
  /// fails its checksum ("corrupted"), or its payload is malformed. Never reads out of bounds.
  /// Thread-safe.
  static CompletedCheckpoint load(const std::string& path);

  /// Turns a restore specification into a path load() accepts:
  ///  * `latest:DIR`: the complete checkpoint (chk-<n> with a valid `_metadata`) with the
  ///    highest id in DIR or in its sub-directories (DIR may be the checkpoints root, holding
  ///    <jobId>/chk-<n>, or a <jobId> directory holding chk-<n>); on equal ids the later
  ///    timestamp, then the greater path wins. Incomplete or corrupt candidates are skipped
  ///    (each is fully verified, i.e. read). Savepoints are not candidates. Returns the chk-<n>
  ///    directory. Throws IOException if DIR is not a directory or holds no complete checkpoint.
  ///  * anything else: a checkpoint/savepoint directory or metadata file, returned as a local
  ///    path. Throws IOException if it does not exist or is a directory without `_metadata`;
  ///    the content is checked by load().
  /// `file:` URIs are accepted in both forms. Thread-safe.
  static std::string resolveRestorePath(const std::string& spec);

  /// Deletes the checkpoint or savepoint at `path` (its directory, or the directory of its
  /// `_metadata` file): `_metadata` first, so an interrupted delete leaves an incomplete
  /// directory, never a complete-looking one; then the directory. A missing path is not an
  /// error (discarding is idempotent). To protect against a misconfigured path, only
  /// directories named chk-<n> or savepoint-* are deleted; anything else throws SluiceException.
  /// Throws IOException if deleting fails. Thread-safe.
  static void discard(const std::string& path);

  /// The `_metadata` bytes of `checkpoint` (header and payload). Throws SluiceException if the
  /// checkpoint is inconsistent (see writeCheckpoint()). Thread-safe.
  static std::vector<uint8_t> serializeMetadata(const CompletedCheckpoint& checkpoint);

  /// Parses `_metadata` bytes. `source` names them in error messages (a path). Throws
  /// SerializationException as load() does. Thread-safe.
  static CompletedCheckpoint deserializeMetadata(const uint8_t* data, size_t size,
                                                 std::string_view source);

  /// Writes the key groups of one task's keyed state into a new file `<namePrefix>-<16 hex>`
  /// in `directory` (which must exist: a checkpoint directory the coordinator created), one
  /// after the other in key-group order, and fsyncs it. Returns the handle with the file's
  /// name and each key group's byte range. Throws IOException (file-system errors, an existing
  /// file, a missing directory: the checkpoint was aborted and deleted) naming the file; the
  /// partial file is removed. Thread-safe; called off the task thread.
  static KeyGroupsStateHandle writeKeyGroupsFile(
      const std::string& directory, const std::string& namePrefix,
      const std::map<int, std::vector<uint8_t>>& keyGroups);

  /// The bytes `range` of state file `file` in `directory` (reads just those: pread). Throws
  /// SerializationException when `file` is not a plain name or the file is shorter than the
  /// range, IOException when it cannot be opened or read; both name the file. Thread-safe.
  static std::vector<uint8_t> readStateFileRange(const std::string& directory,
                                                 const std::string& file, StateFileRange range);

  /// `uri` as a local path: "file:///a/b" and "file:/a/b" become "/a/b", "file://localhost/a"
  /// becomes "/a", a plain path is returned unchanged. Throws ConfigurationException for other
  /// schemes ("hdfs://...") or a file URI with a remote host. Thread-safe.
  static std::string toLocalPath(std::string_view uri);

 private:
  // Writes `metadata` to <directory>/_metadata atomically and durably (temporary file, fsync,
  // rename, fsync of the directory). Throws IOException if _metadata already exists.
  static void writeMetadataFile(const std::string& directory, const std::vector<uint8_t>& metadata);

  std::string checkpointsDir_;
  std::string savepointDir_;
};

/// One completed checkpoint kept by a CompletedCheckpointStore.
struct RetainedCheckpoint {
  int64_t checkpointId = 0;
  /// When the checkpoint was triggered, ms since the epoch.
  int64_t timestamp = 0;
  /// Its directory (FileCheckpointStorage::writeCheckpoint()'s result); empty if the checkpoint
  /// exists in memory only (no checkpoints directory configured).
  std::string path;
  /// The checkpoint itself, if the caller keeps it in memory (for fast local failover); may be
  /// null when only `path` is known.
  std::shared_ptr<const CompletedCheckpoint> checkpoint;
};

/// The completed checkpoints of one job that are retained for recovery (Flink's
/// StandaloneCompletedCheckpointStore / DefaultCompletedCheckpointStore): at most
/// `execution.checkpointing.num-retained` of them, newest last. Adding one beyond that subsumes
/// the oldest: it is removed and its directory deleted. When the job ends, shutdown() deletes the
/// retained ones or keeps them, as `execution.checkpointing.externalized-checkpoint-retention`
/// says. Savepoints are never added here: they belong to the user and are never deleted by the
/// store.
///
/// Deletion failures are logged (spdlog warning) and do not fail the job, as in Flink.
/// Thread-safe: every method locks an internal mutex; directories are deleted outside the lock.
class CompletedCheckpointStore {
 public:
  /// A store keeping `maxRetained` (>= 1) checkpoints, cleaning up as `retention` says. Throws
  /// ConfigurationException if `maxRetained` < 1.
  explicit CompletedCheckpointStore(
      int maxRetained = 1, ExternalizedCheckpointRetention retention =
                               ExternalizedCheckpointRetention::kNoExternalizedCheckpoints);
  /// A store with `config`'s num-retained and externalized-checkpoint-retention.
  explicit CompletedCheckpointStore(const CheckpointConfig& config);

  CompletedCheckpointStore(const CompletedCheckpointStore&) = delete;
  CompletedCheckpointStore& operator=(const CompletedCheckpointStore&) = delete;

  /// Adds a completed checkpoint, then subsumes the oldest ones beyond the limit: removes them
  /// and deletes their directories (FileCheckpointStorage::discard; entries without a path are
  /// only dropped). Returns the subsumed entries, oldest first. Throws SluiceException if
  /// `checkpoint.checkpointId` is not greater than every retained id (completed checkpoints
  /// arrive in id order, since completing one aborts older pending ones) or if the in-memory
  /// checkpoint is a savepoint.
  std::vector<RetainedCheckpoint> addCheckpoint(RetainedCheckpoint checkpoint);

  /// The newest retained checkpoint, if any (what a failover restores).
  std::optional<RetainedCheckpoint> latestCheckpoint() const;

  /// Every retained checkpoint, oldest first.
  std::vector<RetainedCheckpoint> allCheckpoints() const;

  size_t numberOfRetainedCheckpoints() const;
  int maxRetainedCheckpoints() const { return maxRetained_; }
  ExternalizedCheckpointRetention retention() const { return retention_; }

  /// The job ended with `status`: if discardRetainedCheckpointsOn(retention, status), deletes
  /// every retained checkpoint's directory; otherwise leaves them on disk for a later restore
  /// (e.g. with `latest:`). Either way the store is empty afterwards. Returns whether the
  /// checkpoints were deleted. Called by the checkpoint coordinator when the job terminates.
  bool shutdown(JobTerminalStatus status);

 private:
  static void discardQuietly(const RetainedCheckpoint& checkpoint);

  const int maxRetained_;
  const ExternalizedCheckpointRetention retention_;
  mutable std::mutex mutex_;
  std::vector<RetainedCheckpoint> checkpoints_;  // ascending ids
};

}  // namespace sluice
