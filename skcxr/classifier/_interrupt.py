"""Telling the user's Ctrl-C from a callback that ends training on purpose.

skorch callbacks stop training by raising ``KeyboardInterrupt`` (early
stopping does), which is also what Ctrl-C raises. Where the exception was
raised cannot tell them apart: Ctrl-C often lands inside a callback (scoring
the validation split takes a good share of an epoch). Whether a SIGINT
arrived can.
"""

import signal
import threading
from contextlib import contextmanager
from types import SimpleNamespace


@contextmanager
def recording_sigint():
    """Yield a record whose ``received`` turns True when SIGINT (Ctrl-C) arrives in the block.

    The handler that was installed still runs (by default it raises
    ``KeyboardInterrupt``), and is put back afterwards. Outside the main
    thread, or when SIGINT is ignored or left to the system, nothing is
    installed and ``received`` stays False: SIGINT cannot raise there.
    """
    record = SimpleNamespace(received=False)
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield record
        return

    def handler(signum, frame):
        record.received = True
        previous(signum, frame)

    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:  # e.g. not the main interpreter
        yield record
        return
    try:
        yield record
    finally:
        if signal.getsignal(signal.SIGINT) is handler:  # unless someone replaced it since
            signal.signal(signal.SIGINT, previous)
