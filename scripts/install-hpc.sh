#!/usr/bin/env bash
# Install the real batch system and MPI the HPC tests run on (Debian's packages), when
# missing and when we can (root with apt). Daemons are not started here: the tests start
# their own single-node SLURM in a scratch directory (tests/hpc/conftest.py).
set -uo pipefail
need=()
command -v slurmctld >/dev/null 2>&1 || need+=(slurmctld)
command -v slurmd >/dev/null 2>&1 || need+=(slurmd)
command -v sbatch >/dev/null 2>&1 || need+=(slurm-client)
command -v munged >/dev/null 2>&1 || need+=(munge)
command -v mpirun >/dev/null 2>&1 || need+=(openmpi-bin)
[ -e /usr/include/x86_64-linux-gnu/mpi.h ] || [ -e /usr/lib/x86_64-linux-gnu/openmpi/include/mpi.h ] \
    || command -v mpicc >/dev/null 2>&1 || need+=(libopenmpi-dev)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "note: cannot install ${need[*]} (not root with apt); the HPC tests will skip" >&2
    exit 0
fi
(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${need[@]}") >/dev/null 2>&1 \
    || echo "note: could not install ${need[*]}; the HPC tests will skip" >&2
exit 0
