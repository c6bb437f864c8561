#!/usr/bin/env bash
# Side-by-side timing of one anisotropic CBO step: CBXpy 1.0.4 (cbo_cbxpy.py) against
# meanfield (the `cbo_timing` binary), printed as a Markdown table of per-step seconds and
# ratios CBXpy / ours.
#
# Usage: benches/peers/cbo_run.sh [--runs K] [--sizes 50x20,...] [--repeats R]
#                                  [--block-secs S] [--warmup W]
# --runs K repeats the sweep K times and keeps, per size and column, the fastest of the K
# medians (the least disturbed measurement on a shared machine). CBXpy is installed from
# PyPI (cbx==1.0.4) into $CBO_VENV (default target/peers-cbo-venv). The two sides run
# alternately, size by size, so both see the same machine load. Outputs: target/peers-cbo/.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

sizes="50x20,200x20,1000x100,10000x100"
runs=1
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --sizes) sizes="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done

venv="${CBO_VENV:-target/peers-cbo-venv}"
if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "cbx==1.0.4"
py="$venv/bin/python"

cargo build --release --quiet -p meanfield-benches --bin cbo_timing
bin="$(cargo metadata --format-version 1 --no-deps | "$py" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/cbo_timing"

out="target/peers-cbo"
rm -rf "$out" && mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/machine.txt"
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
py_files=() rs_files=()
IFS=, read -r -a list <<<"$sizes"
for run in $(seq 1 "$runs"); do
  for s in "${list[@]}"; do
    echo "== run $run: $s (load $(cut -d' ' -f1 /proc/loadavg))" >&2
    "$py" benches/peers/cbo_cbxpy.py --sizes "$s" ${args[@]+"${args[@]}"} >"$out/cbxpy-$s-$run.json"
    "$bin" --sizes "$s" ${args[@]+"${args[@]}"} >"$out/rust-$s-$run.json"
    py_files+=("$out/cbxpy-$s-$run.json") rs_files+=("$out/rust-$s-$run.json")
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/machine.txt"
echo
"$py" benches/peers/cbo_table.py "${py_files[@]}" -- "${rs_files[@]}" | tee "$out/table.md"
