"""Load-test `adrec serve` on 127.0.0.1 and time a bulk export; write the figures to RESULTS.md.

A model is trained on synthetic data (`adrec generate`, 100,000 users and 10,000
interests by default) with the ranking objective, or taken from `--model`. Then:

1. `adrec export MODEL recommendations OUT.parquet -k 20` in a child process:
   wall time and the child's peak resident memory.
2. `adrec serve` runs in a child process on a free port of 127.0.0.1. A fixed number
   of requests goes to it from a fixed number of concurrent clients (threads with
   keep-alive connections, in this process, so the load generator shares the
   machine): recommendations (k=20) for random users, and predictions for batches
   of 10 random pairs. Reported: throughput, median and 99th-percentile latency,
   errors.

    python benchmarks/serve.py [--model BUNDLE] [--requests 4000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from common import machine_description, markdown_table, write_section

import adrec
from adrec.data.synthetic import SyntheticSpec, write_synthetic


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def load_test(base_url: str, make_request, total: int, concurrency: int) -> dict:
    """Send ``total`` requests from ``concurrency`` threads; return throughput and latencies."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    per_client = total // concurrency

    def client(seed: int) -> None:
        generator = np.random.default_rng(seed)
        with httpx.Client(base_url=base_url, timeout=30) as session:
            for _ in range(per_client):
                started = time.perf_counter()
                response = make_request(session, generator)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    if response.status_code != 200:
                        errors[0] += 1

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return {"requests": len(latencies), "concurrency": concurrency,
            "requests_per_second": len(latencies) / seconds,
            "p50_ms": statistics.median(latencies), "p99_ms": percentile(latencies, 0.99),
            "errors": errors[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a model bundle (default: train one)")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--interests", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=8)
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory() as folder:
        bundle = arguments.model
        if bundle is None:
            write_synthetic(Path(folder) / "data", SyntheticSpec(
                rows=arguments.rows, users=arguments.users, interests=arguments.interests),
                progress=False)
            training = adrec.TrainConfig(objective="ials", target_transform="log1p", epochs=5)
            bundle = Path(folder) / "model"
            adrec.Recommender(train_config=training).fit(
                adrec.load_data(Path(folder) / "data"), progress=False).save(bundle)
        model = adrec.Recommender.load(bundle)
        user_ids, interest_ids = model.users.ids, model.interests.ids
        del model

        # The export runs first, as the only child so far, so the children's peak memory is its own.
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "adrec", "export", str(bundle), "recommendations",
                        str(Path(folder) / "recommendations.parquet"), "-k", "20"], check=True)
        export_seconds = time.perf_counter() - started
        export_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6

        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "adrec", "-q", "serve", str(bundle),
                                   "--port", str(port)], env=dict(os.environ, OMP_NUM_THREADS="1"))
        base_url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    if httpx.get(f"{base_url}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)

            def recommend(session, generator):
                user = user_ids[generator.integers(len(user_ids))]
                return session.get(f"/users/{user}/recommendations", params={"k": 20})

            def predict(session, generator):
                pairs = [{"user_id": str(user_ids[generator.integers(len(user_ids))]),
                          "interest_id": str(interest_ids[generator.integers(len(interest_ids))])}
                         for _ in range(10)]
                return session.post("/predict", json={"pairs": pairs})

            load_test(base_url, recommend, 200, arguments.concurrency)  # warm-up
            rows = [{"endpoint": "GET /users/{id}/recommendations?k=20",
                     **load_test(base_url, recommend, arguments.requests, arguments.concurrency)},
                    {"endpoint": "POST /predict (10 pairs)",
                     **load_test(base_url, predict, arguments.requests, arguments.concurrency)}]
        finally:
            server.terminate()
            server.wait(timeout=60)
        print(rows, flush=True)


    body = "\n".join([
        f"Machine: {machine_description()}. Command: `python benchmarks/serve.py"
        + (f" --model {arguments.model}" if arguments.model else "")
        + f"`. Model: {len(user_ids):,} users, {len(interest_ids):,} interests. The load generator "
        "runs on the same machine as the server.", "",
        markdown_table(rows, ["endpoint", "requests", "concurrency", "requests_per_second", "p50_ms",
                              "p99_ms", "errors"]), "",
        f"Export of every user's top 20 (`adrec export MODEL recommendations OUT.parquet -k 20`): "
        f"{export_seconds:.1f} s wall, including start-up and loading; peak resident memory "
        f"{export_peak:.2f} GB.",
    ])
    print(body)
    print(f"wrote {write_section('Serving and export', body)}")


if __name__ == "__main__":
    main()
