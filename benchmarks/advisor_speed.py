"""How fast the advisor evaluates the option space. Prints figures; asserts nothing.

    python benchmarks/advisor_speed.py
"""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from planner.analyses.advisor import SearchSpace, advise
from planner.catalog import load_catalog
from planner.scenario import Workload


def main() -> None:
    catalog = load_catalog()
    workload = Workload(requests_per_day=200_000, input_tokens=800, output_tokens=200,
                        min_replicas=2)
    # the US regions where the snapshot prices the older sizes too (the whole snapshot is more
    # than the advisor's space limit: evaluating it at once is the speed issue's work)
    us = tuple(sorted({p.region for p in catalog.prices if p.region.endswith("us")
                       or p.region.endswith(("us2", "us3"))}))
    spaces = {
        "default (eastus, 4 plans, all models/precisions/TP, local, API)": SearchSpace(),
        f"{len(us)} US regions": SearchSpace(regions=us),
    }
    advise(workload, SearchSpace(), catalog)  # warm up imports and caches
    for name, space in spaces.items():
        times, evaluated = [], 0
        for _ in range(5):
            start = time.perf_counter()
            result = advise(workload, space, catalog)
            times.append(time.perf_counter() - start)
            evaluated = result.options_evaluated
        best = min(times)
        print(f"{name}:")
        print(f"  options evaluated: {evaluated:,}")
        print(f"  time: best {best * 1000:.0f} ms, median {statistics.median(times) * 1000:.0f} ms "
              f"(5 runs)")
        print(f"  options per second: {evaluated / best:,.0f}")


if __name__ == "__main__":
    main()
