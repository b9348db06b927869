"""``python -m torch.distributed.run`` without its own traceback.

torchrun ends a failed job with a Python traceback and a failure table whatever the workers said, and exits 1. The
workers of ``cardiacml train --nproc N`` print their own one-line, rank-tagged errors; this entry point runs the same
launcher (:func:`torch.distributed.run.run`) and returns the first failed worker's exit code instead (2 for a usage or
data error, 128 + N for a signal), with the launcher's own log lines at error level and above only.
"""

from __future__ import annotations

import logging
import os
import sys


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # torchrun's default, without its banner
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    for name in list(logging.root.manager.loggerDict):  # each of torchrun's loggers has its own level set
        if name.startswith(("torch.distributed.elastic", "torch.distributed.run", "torch.distributed.launcher")):
            logging.getLogger(name).setLevel(logging.CRITICAL)
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
