"""Shared by the thread tests."""
import threading


def run_threads(work, n):
    """work(t) in n threads started together; re-raises the first failure."""
    errors, start = [], threading.Barrier(n)

    def body(t):
        try:
            start.wait()
            work(t)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=body, args=(t,)) for t in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]
