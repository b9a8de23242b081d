"""Where `compile --target all` spends its time: CPU seconds and MB per phase.

Run: python benchmarks/bench_compile_phases.py POLICY [TARGET,...]

In one process: compile the policy to its model, then each target's emitter over
every device (its files rendered, not written), then model.json encoded in pieces.
Prints the phase, CPU seconds (``time.process_time``: the machine is shared) and
the MB it produced, then the process's peak RSS. Asserts nothing.
"""

from __future__ import annotations

import resource
import sys
import time

from zongheng.compiler.model import iter_json
from zongheng.compiler.pipeline import compile_file
from zongheng.emitters import REGISTRY, target_names
from zongheng.emitters.writer import device_files


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cpu = time.process_time
    t0 = cpu()
    network = compile_file(sys.argv[1]).network
    print(f"| model | {cpu() - t0:.1f} | |", flush=True)
    for name in sys.argv[2].split(",") if len(sys.argv) > 2 else target_names():
        t0 = cpu()
        emitter = REGISTRY[name](network, None)
        made = cpu() - t0
        size = sum(len(text.encode("utf-8")) for device in network.devices
                   for text in device_files(emitter, device).values())
        print(f"| {name} (set-up {made:.1f}) | {cpu() - t0:.1f} | {size / 1e6:.0f} |",
              flush=True)
        del emitter
    t0 = cpu()
    size = sum(len(piece.encode("utf-8")) for piece in iter_json(network))
    print(f"| model.json | {cpu() - t0:.1f} | {size / 1e6:.0f} |")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
