#!/usr/bin/env bash
# bench/distributed.sh BUILD_DIR [ROUNDS]: the wide MLP's samples per second with
# 1 process x 2 threads and 2 processes x 1 thread (mpirun), alternated ROUNDS times (default 3)
# so both see the same machine load; prints each run and the CPU model.
set -u
build=${1:?usage: bench/distributed.sh BUILD_DIR [ROUNDS]}
rounds=${2:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u)"
for r in $(seq "$rounds"); do
  "$build/bench/dist_bench" --threads 2
  mpirun -np 2 --bind-to none --mca btl self,vader,tcp --mca btl_vader_single_copy_mechanism none \
    "$build/bench/dist_bench" --threads 1 --distributed
done
