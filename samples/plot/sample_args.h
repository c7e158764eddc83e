// The command line shared by the layer samples (fashion_cnn, addition_rnn, tiny_transformer):
//   --epochs N  --limit N  --quick  --batch-size N  --seed N  --device cpu|cuda  --plot FILE.svg
// plus --data DIR where the sample reads a dataset, and integer options of its own
// (addition_rnn's --hidden N). --quick sets the sample's CI epochs and limit. Header-only.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace samples {

struct SampleArgs {
  int epochs = 10;
  int64_t limit = 0, batch_size = 64;
  uint64_t seed = 1;
  std::string device = "cpu", plot, data;
  bool takes_data = false;                               // accept --data DIR
  std::vector<std::pair<std::string, int64_t*>> extra;  // e.g. {"--hidden", &hidden}
  int quick_epochs = 2;
  int64_t quick_limit = 1000;

  // Parses argv into these fields; --help prints the usage and exits 0, a bad option exits 2.
  void parse(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string k = argv[i];
      if (k == "--quick") { epochs = quick_epochs; limit = quick_limit; continue; }
      if (k == "--help" || k == "-h") {
        std::string u = "[--epochs N] [--limit N] [--quick]";
        for (const auto& [name, p] : extra) u += " [" + name + " N]";
        u += " [--batch-size N] [--seed N]";
        if (takes_data) u += " [--data DIR]";
        std::printf("usage: %s %s [--device cpu|cuda] [--plot FILE.svg]\n", argv[0], u.c_str());
        std::exit(0);
      }
      if (i + 1 >= argc) { std::fprintf(stderr, "%s: %s needs a value\n", argv[0], k.c_str()); std::exit(2); }
      std::string v = argv[++i];
      if (k == "--epochs") { epochs = std::atoi(v.c_str()); continue; }
      if (k == "--limit") { limit = std::atoll(v.c_str()); continue; }
      if (k == "--batch-size") { batch_size = std::atoll(v.c_str()); continue; }
      if (k == "--seed") { seed = std::strtoull(v.c_str(), nullptr, 10); continue; }
      if (k == "--device") { device = v; continue; }
      if (k == "--plot") { plot = v; continue; }
      if (k == "--data" && takes_data) { data = v; continue; }
      bool known = false;
      for (const auto& [name, p] : extra)
        if (k == name) { *p = std::atoll(v.c_str()); known = true; }
      if (!known) { std::fprintf(stderr, "%s: unknown option %s (try --help)\n", argv[0], k.c_str()); std::exit(2); }
    }
  }
};

}  // namespace samples
