"""``python -m torch.distributed.run`` without its own traceback.

torchrun ends a failed job with a Python traceback and a failure table whatever the workers said, and exits 1. The
workers of ``cardiacml train --nproc N`` print their own one-line, rank-tagged errors; this entry point runs the same
launcher (:func:`torch.distributed.run.run`) and returns the first failed worker's exit code instead (2 for a usage or
data error, 128 + N for a signal), with the launcher's own log lines at error level and above only.
"""

from __future__ import annotations

import logging
import os
import signal
import sys


def stop_once() -> None:
    """Let the first SIGTERM / SIGINT / SIGHUP / SIGQUIT stop torchrun's workers, and ignore the ones after it.

    torchrun's handler raises ``SignalException`` on each signal; its shutdown (SIGTERM to the workers, SIGKILL after
    30 s) runs while that handler is still installed, so a second signal (Ctrl-C twice, ``timeout`` signalling the
    launcher and its process group) raised inside the shutdown and cut it short: workers went on training after the
    command had returned, and a ``SignalException`` traceback was printed.
    """
    from torch.distributed.elastic.multiprocessing import api

    first = getattr(api, "_terminate_process_handler", None)  # what torchrun's PContext.start() installs
    if first is None or getattr(first, "cardiacml_once", False):
        return

    def once(signum, frame):
        for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT"):  # Windows has no SIGHUP, SIGQUIT
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_IGN)
        first(signum, frame)

    once.cardiacml_once = True
    api._terminate_process_handler = once


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # torchrun's default, without its banner
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    for name in list(logging.root.manager.loggerDict):  # each of torchrun's loggers has its own level set
        if name.startswith(("torch.distributed.elastic", "torch.distributed.run", "torch.distributed.launcher")):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    stop_once()
    try:
        run(parse_args(sys.argv[1:] if argv is None else argv))
    except ChildFailedError as exc:
        code = exc.get_first_failure()[1].exitcode
        return 128 - code if code < 0 else (code or 1)
    except SignalException as exc:  # SIGTERM / SIGINT to the launcher: the workers were stopped
        return 128 + int(exc.sigval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
