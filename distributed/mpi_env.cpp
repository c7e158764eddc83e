// MPI start-up and shut-down for tapeflow::distributed: finds the launcher in the environment
// (Open MPI, MPICH/PMI, PMIx, Slurm), initialises MPI once, finalises at exit, and the
// bounded wait that every collective goes through (a rank that died never hangs the others).

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "base/error.h"
#include "distributed/internal.h"
#include "distributed/mpi_wait.h"

namespace tapeflow::distributed {
namespace {

std::mutex g_init_mutex;
bool g_initialized = false;   // by us, and not finalized
int g_rank = 0, g_size = 1, g_local_rank = 0;
std::atomic<double> g_timeout{-1.0};

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

void finalize_at_exit() { finalize(); }

}  // namespace

bool is_built() { return true; }

bool launched() {
  for (const char* n : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK", "MPI_LOCALNRANKS"})
    if (env(n)) return true;
  return false;
}

void init(bool require_launcher) {
  std::lock_guard<std::mutex> lock(g_init_mutex);
  if (g_initialized) return;
  if (require_launcher && !launched())
    fail("distributed::init: this process was not started by an MPI launcher (no OMPI_COMM_WORLD_SIZE, "
         "PMI_SIZE or PMIX_RANK in the environment); start it as `mpirun -np 2 ", "PROGRAM` (or srun), or call "
         "init(false) for a world of one process");
  int already = 0;
  MPI_Initialized(&already);
  if (!already) {
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
      fail("distributed::init: MPI_Init_thread failed");
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g_rank, MPI_INFO_NULL, &local);
  MPI_Comm_rank(local, &g_local_rank);
  MPI_Comm_free(&local);
  // Errors come back as codes (turned into exceptions) instead of aborting inside MPI.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  g_initialized = true;
  if (!already) std::atexit(finalize_at_exit);
}

bool is_initialized() { return g_initialized; }

void finalize() {
  std::lock_guard<std::mutex> lock(g_init_mutex);
  if (!g_initialized) return;
  g_initialized = false;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
  g_rank = 0; g_size = 1; g_local_rank = 0;
}

int rank() { return g_rank; }
int world_size() { return g_size; }
int local_rank() { return g_local_rank; }

std::string processor_name() {
  if (!g_initialized) return "";
  char name[MPI_MAX_PROCESSOR_NAME];
  int len = 0;
  MPI_Get_processor_name(name, &len);
  return std::string(name, len);
}

double timeout_seconds() {
  double t = g_timeout.load();
  if (t > 0) return t;
  const char* v = env("TAPEFLOW_DISTRIBUTED_TIMEOUT");
  double parsed = v ? std::atof(v) : 0.0;
  return parsed > 0 ? parsed : 300.0;
}

void set_timeout_seconds(double s) {
  if (!(s > 0)) fail("distributed::set_timeout_seconds: expected a positive number of seconds, got ", s);
  g_timeout.store(s);
}

namespace detail {

void check_initialized(const char* what) {
  if (!g_initialized)
    fail("distributed::", what, ": distributed::init() has not been called (or finalize() already was)");
}

void check_mpi(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, msg, &len);
  fail("distributed::", what, ": MPI error on rank ", g_rank, ": ", std::string(msg, len));
}

bool test_request(MPI_Request* req, const char* what) {
  int done = 0;
  check_mpi(MPI_Test(req, &done, MPI_STATUS_IGNORE), what);
  return done != 0;
}

void wait_request(MPI_Request* req, const char* what) {
  using clock = std::chrono::steady_clock;
  auto start = clock::now();
  double limit = timeout_seconds();
  for (long spins = 0;; ++spins) {
    if (test_request(req, what)) return;
    if (spins > 2000) std::this_thread::sleep_for(std::chrono::microseconds(spins > 20000 ? 1000 : 50));
    if ((spins & 63) == 0 && std::chrono::duration<double>(clock::now() - start).count() > limit) {
      std::fprintf(stderr,
                   "tapeflow::distributed: rank %d of %d waited %.0f s in %s for the other ranks (one of them "
                   "died, raised, or stopped calling collectives); aborting the job "
                   "(TAPEFLOW_DISTRIBUTED_TIMEOUT sets the limit)\n",
                   g_rank, g_size, limit, what);
      std::fflush(stderr);
      MPI_Abort(MPI_COMM_WORLD, 3);
      std::_Exit(3);
    }
  }
}

}  // namespace detail
}  // namespace tapeflow::distributed
