// Internal to distributed/: MPI error codes as exceptions and the bounded wait on a request.
#pragma once
// The MPI C API only (Open MPI and MPICH otherwise pull in their deprecated C++ bindings).
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

namespace tapeflow::distributed::detail {

void check_mpi(int code, const char* what);
bool test_request(MPI_Request* req, const char* what);
// Waits for req; past timeout_seconds() it prints what it waited for and aborts the job.
void wait_request(MPI_Request* req, const char* what);

}  // namespace tapeflow::distributed::detail
