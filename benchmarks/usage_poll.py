"""Usage polling at scale: time to poll N accounts and the event-loop lag it causes.

Runs the real UsageScheduler (collector, SQLite store, router evaluation) against
the loopback HTTPS fake upstream from tests/fakes, and compares the loop lag seen
by a 5 ms ticker during ``poll_all()`` with the lag of an idle loop.

    python benchmarks/usage_poll.py [--accounts 200] [--rounds 3] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fakes import FakeUpstream
from usage.doubles import open_stack

TICK = 0.005


async def ticker(stop: asyncio.Event, lags: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        start = loop.time()
        await asyncio.sleep(TICK)
        lags.append(loop.time() - start - TICK)


async def measure(work: object) -> tuple[float, list[float]]:
    """Run ``work`` (a coroutine, or a duration to idle) with the ticker; time and lags."""
    stop, lags = asyncio.Event(), []  # type: asyncio.Event, list[float]
    task = asyncio.create_task(ticker(stop, lags))
    await asyncio.sleep(0)
    started = time.perf_counter()
    if isinstance(work, float):
        await asyncio.sleep(work)
    else:
        await work  # type: ignore[misc]
    elapsed = time.perf_counter() - started
    stop.set()
    await task
    return elapsed, lags


def describe(lags: list[float]) -> str:
    lags = sorted(lags) or [0.0]
    p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
    return (
        f"max {max(lags) * 1000:6.1f} ms  p99 {p99 * 1000:5.1f} ms  "
        f"median {statistics.median(lags) * 1000:4.1f} ms"
    )


async def main(args: argparse.Namespace) -> None:
    with FakeUpstream() as fake, tempfile.TemporaryDirectory() as tmp:
        stack = await open_stack(Path(tmp), fake, scheduler={"concurrency": args.concurrency})
        try:
            ids = [f"acct-{i:04d}" for i in range(args.accounts)]
            await stack.accounts.add_many(ids)
            # As the extension does at start-up: build the HTTP client off the loop.
            await asyncio.to_thread(stack.collector.warm_up)
            for n, account_id in enumerate(ids):
                fake.set_usage(account_id, primary_used=n % 100, secondary_used=(7 * n) % 100)
            print(
                f"usage poll: {args.accounts} accounts, concurrency {args.concurrency}, "
                f"python {sys.version.split()[0]}"
            )
            results = []
            for round_ in range(1, args.rounds + 1):
                elapsed, lags = await measure(stack.scheduler.poll_all())
                results.append(elapsed)
                print(
                    f"  round {round_}: poll_all {elapsed * 1000:7.0f} ms "
                    f"({args.accounts / elapsed:5.0f} accounts/s)  loop lag {describe(lags)}"
                )
            idle, lags = await measure(float(statistics.median(results)))
            print(f"  idle loop ({idle * 1000:.0f} ms)          baseline lag {describe(lags)}")
        finally:
            await stack.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    asyncio.run(main(parser.parse_args()))
