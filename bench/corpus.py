"""Build a large corpus of merged logs from the 2022 reference logs: renamed, perturbed copies.

Used by the rating benchmark (files on disk) and by other benches (``corpus_runs``: records only).
"""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "reference" / "mlee-2022" / "results"


def _perturb(log: dict, copy: int, rng: random.Random) -> dict:
    """A plausible new log: the model renamed per copy, every energy total and duration scaled."""
    factor = rng.uniform(0.8, 1.25)
    config = log["config"]
    config["model"] = f"{config['model']}-v{copy}" if copy else config["model"]
    if "infer_model" in config:
        config["infer_model"] = config["model"]
    split = log.get("validation", log)
    for key, summary in split.items():
        if key.startswith("monitoring_") and isinstance(summary, dict):
            total = summary.get("total", {})
            if total.get("total_power_draw", -1) > 0:
                total["total_power_draw"] *= factor
    if isinstance(split.get("duration"), (int, float)):
        split["duration"] *= factor
    return log


def build_corpus(directory: str | Path, n_logs: int = 20_000, seed: int = 0) -> list[Path]:
    """Write ``n_logs`` merged logs into ``directory`` (kept if already complete)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    existing = sorted(directory.glob("*.json"))
    if len(existing) == n_logs:
        return existing
    for path in existing:
        path.unlink()
    sources = sorted(REFERENCE.glob("*.json"))
    texts = [p.read_text() for p in sources]
    rng = random.Random(seed)
    paths = []
    for i in range(n_logs):
        copy, which = divmod(i, len(sources))
        log = _perturb(json.loads(texts[which]), copy, rng)
        path = directory / f"{sources[which].stem}_{copy:04d}.json"
        path.write_text(json.dumps(log, indent=1))
        paths.append(path)
    return paths


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "bench" / "out" / "corpus"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000
    print(f"{len(build_corpus(target, count))} logs in {target}")
