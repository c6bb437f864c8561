#!/usr/bin/env bash
# Side-by-side timing of the PGD and MPD loops of `mpgd-blr` (400 steps, N = 100 particles,
# Bayesian logistic regression on the 569 breast-cancer rows): meanfield (`pgd_timing`)
# against NumPy and, when it installs from PyPI, JAX (`pgd_numpy.py`). Prints a Markdown
# table with ratios (peer / ours; > 1: we are faster).
#
# Usage: benches/peers/pgd_run.sh [--repeats R] [--no-jax]
# Python packages go into $PEER_VENV (default target/peers-venv). NumPy's BLAS is pinned
# to one thread (NUMPY_THREADS=N overrides), JAX is left at its defaults.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
repeats=7 jax=1
while [ $# -gt 0 ]; do
  case "$1" in
    --repeats) repeats="$2"; shift 2 ;;
    --no-jax) jax=0; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
venv="${PEER_VENV:-target/peers-venv}"
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
py="$venv/bin/python"
"$py" -m pip install --quiet --disable-pip-version-check numpy
if [ "$jax" = 1 ] && ! "$py" -c "import jax" 2>/dev/null; then
  "$py" -m pip install --quiet --disable-pip-version-check jax || echo "jax did not install; NumPy only" >&2
fi
cargo build --release --quiet -p meanfield-benches --bin pgd_timing
bin="$(cargo metadata --format-version 1 --no-deps | "$py" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/pgd_timing"
out="target/peers" && mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
numpy_threads="${NUMPY_THREADS:-1}"
OPENBLAS_NUM_THREADS="$numpy_threads" OMP_NUM_THREADS="$numpy_threads" MKL_NUM_THREADS="$numpy_threads" \
  "$py" benches/peers/pgd_numpy.py --repeats "$repeats" >"$out/pgd-peers.json"
"$bin" --repeats "$repeats" >"$out/pgd-ours.json"
"$py" - "$out/pgd-peers.json" "$out/pgd-ours.json" <<'PY' | tee "$out/pgd-table.md"
import json, sys
peers, ours = (json.load(open(p)) for p in sys.argv[1:3])
def table(title, rows, mine):
    print(f"{title}, {ours['steps']} steps, N = {ours['n']}: seconds per loop (median), final θ; ratio = peer / ours\n")
    print("| implementation | s / loop | final θ | " + " | ".join(f"ratio vs {m}" for m, _ in mine) + " |")
    print("|---|---:|---:|" + "---:|" * len(mine))
    for name, r in rows:
        print(f"| {name} | {r['seconds_per_loop']:.4g} | {r['theta_final']:.3f} | "
              + " | ".join(f"{r['seconds_per_loop'] / m['seconds_per_loop']:.2f}×" for _, m in mine) + " |")
    for name, r in mine:
        print(f"| {name} | {r['seconds_per_loop']:.4g} | {r['theta_final']:.3f} |" + " |" * len(mine))
    print()

rows = [("numpy (1 BLAS thread)", peers["numpy_1_thread"])]
if "seconds_per_loop" in peers.get("jax", {}):
    rows.append((f"jax {peers['jax']['version']} (jit, CPU)", peers["jax"]))
table("PGD", rows, [("ours 1 thread", ours["ours_1_thread"]), (f"ours {ours['threads']} threads", ours["ours_pool"])])
table("MPD", [("numpy (1 BLAS thread)", peers["mpd_numpy_1_thread"])],
      [("ours 1 thread", ours["mpd_ours_1_thread"]), (f"ours {ours['threads']} threads", ours["mpd_ours_pool"])])
if "unavailable" in peers.get("jax", {}):
    print(f"\nJAX unavailable: {peers['jax']['unavailable']}")
PY
