// Flink's streaming WordCount on Sluice: text lines from files or directories (.gz read
// transparently), tokenized as Flink's example (lower-case, split on non-word characters),
// keyed by word with a rolling sum. Prints one "(word,count)" line per update, or writes them
// through the FileSink to --output.
//
//   wordcount --input ../shared/data/gutenberg [--input more] [--output DIR] [-p N] [-Dkey=value]

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "sluice/api/data_stream.h"
#include "sluice/cli/command_line.h"
#include "sluice/connectors/file_sink.h"
#include "sluice/connectors/file_source.h"
#include "wordcount/tokenizer.h"

namespace {

using sluice::examples::Tokenizer;
using sluice::examples::WordCount;

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> inputs;
  std::string output;
  sluice::CommandLine cli("wordcount", "Flink's streaming WordCount on Sluice.");
  cli.addOption("--input", inputs, "input file or directory (repeatable; .gz read transparently)")
      ->required();
  cli.addOption("--output", output, "output directory (part files); prints to stdout if absent");
  try {
    sluice::Configuration conf = cli.parse(argc, argv);
    auto env = sluice::StreamExecutionEnvironment::getExecutionEnvironment(conf);

    auto counts = sluice::fromTextFiles(*env, inputs)
                      .name("File Source")
                      .flatMap(Tokenizer{})
                      .name("Tokenizer")
                      .keyBy([](const WordCount& wc) -> const std::string& { return wc.first; })
                      .sum<1>()
                      .name("Counter");
    if (output.empty()) {
      counts.print().name("Print");
    } else {
      counts.sinkTo(sluice::FileSink<WordCount>::forRowFormat(output).build(), "File Sink");
    }
    sluice::JobExecutionResult result = env->execute("WordCount");
    spdlog::info("WordCount finished in {} ms", result.getNetRuntime());
    return 0;
  } catch (const sluice::CommandLineError& e) {
    (e.isHelp() ? std::cout : std::cerr) << e.what() << std::endl;
    return e.exitCode();
  } catch (const std::exception& e) {
    std::cerr << "wordcount: " << e.what() << std::endl;
    return 1;
  }
}
