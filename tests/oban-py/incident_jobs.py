"""Jobs the incident tests run on a real oban-py worker: `incident_jobs.Sleep` and
`incident_jobs.Watchful` are the worker names the tests insert."""

import asyncio

from oban import Cancel, worker


@worker(queue="default")
class Sleep:
    """Sleeps `args.seconds` (default 0), then completes."""

    async def process(self, job):
        await asyncio.sleep(float(job.args.get("seconds", 0)))


@worker(queue="default")
class Watchful:
    """Runs for `args.seconds` (default 120), checking for cancellation every 50 ms: oban-py's
    cancellation is cooperative, so only a job that checks can be stopped."""

    async def process(self, job):
        loop = asyncio.get_running_loop()
        end = loop.time() + float(job.args.get("seconds", 120))
        while loop.time() < end:
            if job.cancelled():
                return Cancel("stopped on request")
            await asyncio.sleep(0.05)
