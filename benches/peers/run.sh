#!/usr/bin/env bash
# Side-by-side timing of one Langevin step: vectorised NumPy (mfld_numpy.py) against
# meanfield's integrators (the `peer_timing` binary), printed as a Markdown table.
#
# Usage: benches/peers/run.sh [--runs K] [--repeats R] [--block-secs S] [--warmup W]
#                              [--schemes a,b]
# (all but --runs go to both sides). --runs K repeats the whole sweep K times and the
# table keeps, per configuration and column, the fastest of the K per-run medians: on a
# machine shared with other work that is the least disturbed measurement. Needs python3 (>= 3.9) and cargo; NumPy is installed
# from PyPI into target/peers-venv (or, without the venv module, into
# target/peers-pylib with pip --target). Outputs land in target/peers/ (the table in
# langevin-table.md).
# The two implementations are run alternately, scheme by scheme, so that both see the
# same machine load; the load average is printed before and after.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

schemes="mfld,projected,mirror,adjusted_mirror"
runs=1
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --runs=*) runs="${1#--runs=}"; shift ;;
    --schemes) schemes="$2"; shift 2 ;;
    --schemes=*) schemes="${1#--schemes=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done

python="${PYTHON:-python3}"
venv="target/peers-venv"
if [ -x "$venv/bin/python" ] || "$python" -m venv "$venv" >/dev/null 2>&1; then
  py="$venv/bin/python"
  "$py" -m pip install --quiet --disable-pip-version-check numpy
else
  echo "python venv unavailable; installing numpy with pip --target target/peers-pylib" >&2
  rm -rf "$venv"
  "$python" -m pip install --quiet --disable-pip-version-check --target target/peers-pylib numpy
  export PYTHONPATH="$root/target/peers-pylib${PYTHONPATH:+:$PYTHONPATH}"
  py="$python"
fi

cargo build --release --quiet -p meanfield-benches --bin peer_timing
bin="$(cargo metadata --format-version 1 --no-deps | "$py" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/peer_timing"

out="target/peers"
rm -rf "$out" && mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/machine.txt"
# NumPy's element-wise kernels are single-threaded, but `x @ g` goes to the BLAS, whose
# threads would spin on the second core (doubling NumPy's CPU time, and under load taking
# a core from the main thread). Pin it to one thread so that "numpy" is one core, like
# "ours 1 thread"; NUMPY_THREADS=N overrides.
numpy_threads="${NUMPY_THREADS:-1}"
export OPENBLAS_NUM_THREADS="$numpy_threads" OMP_NUM_THREADS="$numpy_threads" MKL_NUM_THREADS="$numpy_threads"
np_files=() rs_files=()
IFS=, read -r -a list <<<"$schemes"
for run in $(seq 1 "$runs"); do
  for s in "${list[@]}"; do
    echo "== run $run: $s (load $(cut -d' ' -f1 /proc/loadavg))" >&2
    "$py" benches/peers/mfld_numpy.py --schemes "$s" ${args[@]+"${args[@]}"} >"$out/numpy-$s-$run.json"
    "$bin" --schemes "$s" ${args[@]+"${args[@]}"} >"$out/rust-$s-$run.json"
    np_files+=("$out/numpy-$s-$run.json") rs_files+=("$out/rust-$s-$run.json")
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/machine.txt"
echo
"$py" benches/peers/table.py "${np_files[@]}" -- "${rs_files[@]}" | tee "$out/langevin-table.md"
