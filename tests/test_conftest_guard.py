import asyncio


async def test_async_test_runs_under_the_task_guard():
    task = asyncio.create_task(asyncio.sleep(0))
    await task
    assert task.done()
