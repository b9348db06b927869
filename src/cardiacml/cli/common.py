"""What every command of the command line shares: one red line for cardiacml's own errors (exit 2), exit 130 for an
interruption, a traceback and a request to report it for anything else (a bug, exit 1)."""

from __future__ import annotations

import typer


def _fail(exc: Exception, code: int = 2) -> None:
    import os

    rank = os.environ.get("RANK", "0") or "0"
    if rank == "0":
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    elif getattr(exc, "every_process", False):  # the same on every process (a setting): rank 0 says it
        from ..training.distributed import wait_for_rank0
        wait_for_rank0()
    elif code != 130:  # an interrupt is the same on every process (said once); another error may be this rank's own
        typer.secho(f"error [rank {rank}]: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _run(fn):
    """Run a command body: cardiacml's own errors -> one red line (exit 2); Ctrl-C / SIGTERM -> exit 130;
    anything else is a bug: its traceback and a request to report it (exit 1)."""
    import traceback

    from ..errors import CardiacMLError
    from ..utils import sigterm_as_interrupt

    try:
        with sigterm_as_interrupt():
            return fn()
    except KeyboardInterrupt as exc:
        msg = str(exc) if isinstance(exc, CardiacMLError) else "interrupted; nothing half-written was left behind"
        _fail(msg, 130)
    except CardiacMLError as exc:
        _fail(exc)
    except typer.Exit:
        raise
    except Exception:  # a bug: show where, and ask for a report
        traceback.print_exc()
        from .. import __version__

        typer.secho(f"this is a bug in cardiacml {__version__}, not a problem with your input: please report it to the "
                    "cardiacml issue tracker with the traceback above and the command you ran", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
