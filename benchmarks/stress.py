"""Stress: index a generated transcript of N caption lines (default 100,000), ask, report.

    .venv/bin/python benchmarks/stress.py [--lines 100000] [--backend onnx-int8]

Prints the time per stage and the process's peak memory. Not part of the test suite.
"""

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ytqa  # noqa: E402

WORDS = ("server cache request latency budget team design review database index query user "
         "screen button release test deploy monitor alert queue worker thread memory disk").split()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--backend", default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ytqa-stress-"))
    rng = random.Random(7)
    planted = int(args.lines * 0.8)
    rows = [{"text": " ".join(rng.choice(WORDS) for _ in range(8)) + ".", "start": i * 2.4, "duration": 2.4}
            for i in range(args.lines)]
    rows[planted]["text"] = "The lighthouse keeper painted his boat bright orange."
    path = work / "stress.json"
    path.write_text(json.dumps(rows))

    library = ytqa.Library(work / "data", backend=args.backend)
    stages: dict[str, float] = {}
    last = [time.perf_counter(), None]

    def progress(stage, done, total):
        now = time.perf_counter()
        if last[1] is not None:
            stages[last[1]] = stages.get(last[1], 0.0) + now - last[0]
        last[0], last[1] = now, stage

    started = time.perf_counter()
    index = library.index("dQw4w9WgXcQ", transcript_file=path, progress=progress)
    progress("done", 1, 1)
    total = time.perf_counter() - started
    asked = time.perf_counter()
    top = index.ask("what colour did the lighthouse keeper paint his boat?")[0]
    ask_ms = 1000 * (time.perf_counter() - asked)
    hours = args.lines * 2.4 / 3600
    print(f"{args.lines} lines ({hours:.0f} h of speech), backend {library.embedder.backend}")
    print(f"chunks {len(index.chunking.chunks)}, sentences {len(index.chunking.sentences)}")
    for stage, seconds in stages.items():
        print(f"  {stage:<10} {seconds:7.1f} s")
    print(f"  {'total':<10} {total:7.1f} s")
    print(f"ask: {ask_ms:.1f} ms, top answer at {top.timestamp} "
          f"({'right' if top.start <= planted * 2.4 < top.end else 'WRONG'}: planted at "
          f"{ytqa.format_timestamp(planted * 2.4)})")
    print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")


if __name__ == "__main__":
    main()
