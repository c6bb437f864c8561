#!/usr/bin/env python3
"""Prints the medians of the `langevin` criterion bench as a Markdown table.

Run after `cargo bench -p meanfield-benches --bench langevin`; reads
<target>/criterion/langevin_*/<mode>/<size>/new/estimates.json (standard library only).
Usage: criterion_medians.py [TARGET_DIR]   (default: target)
"""

import glob
import json
import os
import sys


def main():
    target = sys.argv[1] if len(sys.argv) > 1 else "target"
    rows = {}
    pattern = os.path.join(target, "criterion", "langevin_*", "*", "*", "new", "estimates.json")
    for path in sorted(glob.glob(pattern)):
        parts = path.split(os.sep)
        group, mode, size = parts[-5], parts[-4], parts[-3]
        with open(path) as f:
            est = json.load(f)
        m = est["median"]
        rows.setdefault((group.removeprefix("langevin_"), size), {})[mode] = (
            m["point_estimate"],
            m["confidence_interval"]["lower_bound"],
            m["confidence_interval"]["upper_bound"],
        )
    if not rows:
        sys.exit(f"no langevin criterion results under {target}/criterion")
    order = ["mfld", "projected_simplex", "mirror_entropic", "adjusted_mirror_entropic"]
    print("| scheme | size | Sequential median (ms) | Rayon median (ms) | speed-up |")
    print("|---|---|---:|---:|---:|")
    sizes = ["N=50000,d=3", "N=10000,d=100"]

    def rank(kv):
        (group, size), _ = kv
        return (
            order.index(group) if group in order else len(order),
            sizes.index(size) if size in sizes else len(sizes),
            size,
        )

    for (group, size), modes in sorted(rows.items(), key=rank):
        seq, par = modes.get("Sequential"), modes.get("Rayon")
        cell = lambda v: "n/a" if v is None else f"{v[0] / 1e6:.3f} [{v[1] / 1e6:.3f}, {v[2] / 1e6:.3f}]"
        speed = f"{seq[0] / par[0]:.2f}x" if seq and par else "n/a"
        print(f"| {group} | {size} | {cell(seq)} | {cell(par)} | {speed} |")
    print("\nMedians in ms with criterion's 95% confidence interval of the median.")


if __name__ == "__main__":
    main()
