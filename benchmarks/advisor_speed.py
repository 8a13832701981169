"""How fast the advisor evaluates the option space. Prints figures; asserts nothing.

    python benchmarks/advisor_speed.py [--runs 7] [--samples 200]

For the whole default space of the catalog (every priced region and pricing plan, every model,
precision, KV dtype and TP, local machines and hosted APIs) and for the default search
(eastus): options evaluated, the first search in the process (which builds the price table
once), best and median of the warm searches, options per second, the split between the
vectorised Azure pass and the plans made one by one, peak memory of one search (tracemalloc,
a separate run) and a check that sampled advisor costs equal the plan's. The
machine is shared, so the best and the median of several runs are both printed.
"""

import argparse
import os
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from planner.analyses.advisor import SearchSpace, advise, deployment_for
from planner.catalog import load_catalog
from planner.physics.throughput import load_profiles
from planner.pipeline.plan import plan_deployment
from planner.registry import PRICING_PLANS
from planner.scenario import Workload


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def _cost_check(result, space, workload, catalog, profiles, samples: int) -> str:
    options = result.evaluation.options
    n = len(options.monthly_cost_usd)
    if n == 0:
        return "no viable Azure option to sample"
    picks = np.random.default_rng(19).choice(n, min(samples, n), replace=False)
    equal, worst = 0, 0.0
    for row in result.azure_rows(picks).to_dict("records"):
        plan = plan_deployment(deployment_for(row, space), workload, catalog, profiles)
        cost = plan.monthly_cost_usd
        if cost is None or plan.nodes != row["nodes"]:
            continue
        rel = abs(cost - row["monthly_cost_usd"]) / cost
        worst = max(worst, rel)
        equal += rel <= 1e-9
    verdict = "OK" if equal == len(picks) else "MISMATCH"
    return (f"{equal}/{len(picks)} sampled options cost what plan_deployment says "
            f"(largest relative difference {worst:.1e}) {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    catalog, profiles = load_catalog(), load_profiles()
    workload = Workload(requests_per_day=200_000, input_tokens=800, output_tokens=200,
                        min_replicas=2)
    regions = tuple(sorted({p.region for p in catalog.prices}))
    spaces = {
        f"full default space ({len(regions)} priced regions, all {len(PRICING_PLANS)} plans, "
        "every model/precision/KV dtype/TP, local, API)":
            SearchSpace(regions=regions, plans=PRICING_PLANS),
        "default search (eastus, 4 plans)": SearchSpace(),
    }
    print(f"machine: {_machine()}")
    for name, space in spaces.items():
        start = time.perf_counter()
        result = advise(workload, space, catalog, profiles=profiles)
        first = time.perf_counter() - start
        times, azure, scalar = [], [], []
        for _ in range(args.runs):
            result = advise(workload, space, catalog, profiles=profiles)
            times.append(result.search_seconds)
            azure.append(result.azure_seconds)
            scalar.append(result.scalar_plan_seconds)
        tracemalloc.start()
        advise(workload, space, catalog, profiles=profiles)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        best, median = min(times), statistics.median(times)
        n = result.options_evaluated
        print(f"{name}:")
        print(f"  options evaluated: {n:,} ({result.viable_options:,} viable)")
        print(f"  first search in the process: {first * 1000:.0f} ms (builds the price table)")
        print(f"  search time: best {best * 1000:.0f} ms, median {median * 1000:.0f} ms "
              f"({args.runs} runs)")
        print(f"  options per second: best {n / best:,.0f}, median {n / median:,.0f}")
        azure_n = result.evaluation.evaluated if result.evaluation else 0
        print(f"  of which the vectorised Azure pass: {azure_n:,} options, best "
              f"{min(azure) * 1000:.0f} ms, median {statistics.median(azure) * 1000:.0f} ms "
              f"({azure_n / min(azure):,.0f} options/s); plans made one by one (own machines, "
              f"APIs, the top options): best {min(scalar) * 1000:.0f} ms, median "
              f"{statistics.median(scalar) * 1000:.0f} ms")
        print(f"  peak memory of one search: {peak / 2**20:.1f} MiB (tracemalloc)")
        print(f"  cost check: {_cost_check(result, space, workload, catalog, profiles, args.samples)}")


if __name__ == "__main__":
    main()
