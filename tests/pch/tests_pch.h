// Precompiled header for the test files (tests/meson.build): Catch2 and the whole public API,
// parsed once per build instead of once per test file. Each test file still includes what it
// uses; this only makes those includes cheap.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "tapeflow.h"
