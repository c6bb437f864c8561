#!/usr/bin/env bash
# Side-by-side timing of one step of each consensus variant at (N, d) = (1000, 20), one
# thread: CBXpy 1.0.4 (variants_cbxpy_timing.py) against meanfield (the on-demand test
# `timing_of_variant_steps_at_n1000_d20` of crates/integrators/tests/cbo.rs, test profile,
# opt-level 2), alternated variant by variant so that both sides see the same load, --runs
# times. Prints JSON lines (both sides) to target/peers-variants/timings.jsonl and a
# Markdown table of the fastest median per side and the ratio CBXpy / ours.
#
# Usage: benches/peers/variants_run.sh [--runs K]   (CBO_VENV: a venv with cbx==1.0.4)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
runs=3
[ "${1:-}" = "--runs" ] && runs="$2"
venv="${CBO_VENV:-target/peers-cbo-venv}"
if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "cbx==1.0.4"
fi
py="$venv/bin/python"
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 RAYON_NUM_THREADS=1
cargo test -q -p meanfield-integrators --test cbo --no-run 2>/dev/null
out="target/peers-variants"
mkdir -p "$out"
: >"$out/timings.jsonl"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for run in $(seq 1 "$runs"); do
  for v in memory pso covariance mirror drift hypersurface; do
    "$py" benches/peers/variants_cbxpy_timing.py --variant "$v" >>"$out/timings.jsonl"
    MEANFIELD_VARIANT="$v" cargo test -q -p meanfield-integrators --test cbo -- --ignored \
      --nocapture timing_of_variant_steps 2>/dev/null | grep '^{' >>"$out/timings.jsonl"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$py" - "$out/timings.jsonl" <<'PY'
import collections, json, sys
best = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    r = json.loads(line)
    side = "ours" if r.get("impl") == "meanfield" else "cbxpy"
    best[r["variant"]][side] = min(best[r["variant"]].get(side, 1e9), r["median_s"])
print("| variant | CBXpy 1.0.4 s/step | ours s/step | CBXpy / ours |")
print("|---|---|---|---|")
for v, b in best.items():
    print(f"| {v} | {b['cbxpy']:.3e} | {b['ours']:.3e} | {b['cbxpy'] / b['ours']:.1f}× |")
PY
