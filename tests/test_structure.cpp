// The repository's structure, enforced (ARCHITECTURE.md): which folder may include which, and
// the size limit of a source file. Scans the source tree named by TAPEFLOW_SOURCE_DIR.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const fs::path kRoot = TAPEFLOW_SOURCE_DIR;
constexpr int kMaxLines = 400;

bool is_source(const fs::path& p) {
  static const std::set<std::string> exts = {".h", ".hpp", ".c", ".cpp", ".cu", ".cuh"};
  return exts.count(p.extension().string()) > 0;
}

// Every C, C++ and CUDA file of the repository, relative to its root, skipping hidden folders,
// subprojects and build directories (any folder holding a build.ninja or meson-private).
std::vector<fs::path> source_files() {
  std::vector<fs::path> out;
  for (auto it = fs::recursive_directory_iterator(kRoot); it != fs::recursive_directory_iterator(); ++it) {
    const fs::path& p = it->path();
    std::string name = p.filename().string();
    if (it->is_directory()) {
      if (name.empty() || name[0] == '.' || name == "subprojects" ||
          fs::exists(p / "build.ninja") || fs::exists(p / "meson-private"))
        it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && is_source(p)) out.push_back(fs::relative(p, kRoot));
  }
  return out;
}

std::string top_folder(const fs::path& rel) {
  auto it = rel.begin();
  return std::next(it) == rel.end() ? std::string() : it->string();
}

// The layers, bottom up. A file may include its own folder and the folders listed for it.
// Backends' internals (everything in backends/ but the contract below) are private to backends.
const std::set<std::string> kBackendContract = {"backends/backend.h", "backends/op_table.h"};
const std::set<std::string> kInterop = {"onnx", "capi"};

std::map<std::string, std::set<std::string>> allowed_folders() {
  std::map<std::string, std::set<std::string>> m;
  m["base"] = {};
  m["backends"] = {"base"};
  m["tensor"] = {"base", "backends"};  // the contract only
  m["autograd"] = {"base", "backends", "tensor"};
  for (const char* mid : {"nn", "optim", "data", "tensorboard"}) m[mid] = {"base", "backends", "tensor", "autograd"};
  // distributed: collectives over tensors, DataParallel over modules; the training layer uses it.
  m["distributed"] = {"base", "backends", "tensor", "autograd", "nn", "optim", "data"};
  m["training"] = {"base", "backends", "tensor", "autograd", "nn", "optim", "data", "tensorboard", "distributed"};
  for (const std::string& i : kInterop) {
    m[i] = m["training"];
    m[i].insert("training");
    for (const std::string& j : kInterop) m[i].insert(j);
  }
  return m;
}
// Folders above everything: they may include any header.
const std::set<std::string> kTop = {"", "samples", "bench", "tests", "cmake"};

// The "folder/file" includes of a file (quoted includes naming a top-level folder).
std::vector<std::pair<int, std::string>> project_includes(const fs::path& file, const std::set<std::string>& folders) {
  std::vector<std::pair<int, std::string>> out;
  std::ifstream in(kRoot / file);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    size_t p = line.find_first_not_of(" \t");
    if (p == std::string::npos || line.compare(p, 1, "#") != 0) continue;
    size_t inc = line.find("include", p);
    if (inc == std::string::npos) continue;
    size_t q0 = line.find('"', inc);
    if (q0 == std::string::npos) continue;
    size_t q1 = line.find('"', q0 + 1);
    if (q1 == std::string::npos) continue;
    std::string target = line.substr(q0 + 1, q1 - q0 - 1);
    size_t slash = target.find('/');
    if (slash == std::string::npos || !folders.count(target.substr(0, slash))) continue;
    out.emplace_back(n, target);
  }
  return out;
}

}  // namespace

TEST_CASE("structure: every include respects the layers", "[structure]") {
  REQUIRE(fs::exists(kRoot / "ARCHITECTURE.md"));
  auto allowed = allowed_folders();
  std::set<std::string> folders;
  for (auto& [f, below] : allowed) folders.insert(f);
  std::vector<std::string> offenders;
  int files = 0;
  for (const fs::path& file : source_files()) {
    std::string from = top_folder(file);
    if (kTop.count(from)) continue;
    ++files;
    auto rule = allowed.find(from);
    if (rule == allowed.end()) {
      offenders.push_back(file.string() + ": folder '" + from + "' has no layer (add it to ARCHITECTURE.md and tests/test_structure.cpp)");
      continue;
    }
    for (auto& [line, target] : project_includes(file, folders)) {
      std::string to = target.substr(0, target.find('/'));
      bool ok = to == from || rule->second.count(to);
      if (ok && to == "backends" && from != "backends") ok = kBackendContract.count(target) > 0;
      if (!ok)
        offenders.push_back(file.string() + ":" + std::to_string(line) + ": " + from + "/ may not include " + target);
    }
  }
  CHECK(files > 50);
  std::ostringstream os;
  for (auto& o : offenders) os << o << "\n";
  INFO(os.str());
  CHECK(offenders.empty());
}

TEST_CASE("structure: every source file has at most 400 lines", "[structure]") {
  std::vector<std::string> offenders;
  int files = 0;
  for (const fs::path& file : source_files()) {
    ++files;
    std::ifstream in(kRoot / file);
    int lines = 0;
    std::string line;
    while (std::getline(in, line)) ++lines;
    if (lines > kMaxLines) offenders.push_back(file.string() + ": " + std::to_string(lines) + " lines");
  }
  CHECK(files > 100);
  std::ostringstream os;
  for (auto& o : offenders) os << o << "\n";
  INFO("split these by family (limit " << kMaxLines << " lines):\n" << os.str());
  CHECK(offenders.empty());
}
