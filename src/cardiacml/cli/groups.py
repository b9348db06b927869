"""The command groups ``cardiacml data ...``, ``cardiacml cache ...`` and ``cardiacml notebooks ...`` (split from
:mod:`cardiacml.cli` in 0.4.18, which had reached 700 lines). Heavy imports happen inside the commands."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from .common import _run

data_app = typer.Typer(help="Get, build, check and cache datasets.", no_args_is_help=True, rich_markup_mode=None)
nb_app = typer.Typer(help="The tutorials and task notebooks (notebooks/*.py): list them, run them in a Jupyter kernel "
                     "(needs pip install -e \".[notebooks]\").", no_args_is_help=True, rich_markup_mode=None)
cache_app = typer.Typer(help="The cache folder (~/.cache/cardiacml, or $CARDIACML_CACHE): rebuilt beats, simulated "
                        "hearts, parsed CSVs. Everything in it is rebuilt on demand.", no_args_is_help=True,
                        rich_markup_mode=None)


class Dataset(str, Enum):
    intracardiac = "intracardiac"
    heartbeat = "heartbeat"


@data_app.command("build-beats")
def build_beats_cmd(
    mitdb: Optional[Path] = typer.Option(None, help="Raw MIT-BIH folder (RECORDS, .hea/.dat/.atr). Default: $CARDIACML_MITDB, else ../shared/data/mitdb."),
    out: Path = typer.Option(Path("mitbih_beats.npz"), help="Output .npz with X (n, 187), y, classes and record ids."),
    csv_dir: Optional[Path] = typer.Option(None, "--csv-dir", help="Also write Kaggle-format mitbih_train.csv / mitbih_test.csv (random stratified 80/20) here."),
    jobs: int = typer.Option(2, help="Worker processes."),
    seed: int = typer.Option(0, help="Seed of the random split written with --csv-dir."),
):
    """Rebuild the Kaggle-style beat dataset from raw MIT-BIH records (Kachuee 2018 method, AAMI classes)."""

    def go():
        import numpy as np

        from ..datasets.kaggle import write_heartbeat_csv
        from ..datasets.mitbih import DS1, DS2, KAGGLE_COUNTS, build_beats, list_records, save_beats, split_random
        from ..tasks.sources import find_mitdb
        from ..utils import check_output

        from ..errors import OutputError, UsageError

        if jobs < 1:
            raise UsageError(f"--jobs must be >= 1, got {jobs}")
        src = find_mitdb(mitdb)
        inputs = [src / "RECORDS", *(src / n for n in list_records(src))]  # never written over (a record's files too)
        # every output refused before the work, not after it (the write refused a folder only once the beats were built)
        files = [("--out", Path(out), f"build-beats writes one .npz file (e.g. --out {Path(out) / 'mitbih_beats.npz'})")]
        files += [("--csv-dir", Path(csv_dir) / name, "choose another --csv-dir") for name in
                  (("mitbih_train.csv", "mitbih_test.csv") if csv_dir else ())]
        for what, f, hint in files:
            check_output(f, inputs, what=what)
            if f.is_dir():
                raise OutputError(f"{what} {f} is a folder: {hint}")
        beats = build_beats(src, n_jobs=jobs)
        save_beats(beats, out)
        counts = beats.class_counts()
        typer.echo(f"{len(beats)} beats from {len(set(beats.groups))} records in {src} -> {out}")
        typer.echo(f"{'class':<6}{'rebuilt':>10}{'Kaggle':>10}{'diff':>8}")
        for c, k in KAGGLE_COUNTS.items():
            typer.echo(f"{c:<6}{counts[c]:>10}{k:>10}{counts[c] - k:>+8}")
        typer.echo(f"{'total':<6}{len(beats):>10}{sum(KAGGLE_COUNTS.values()):>10}{len(beats) - sum(KAGGLE_COUNTS.values()):>+8}")
        g = beats.groups.astype(str)
        typer.echo(f"inter-patient: DS1 {int(np.isin(g, DS1).sum())} beats, DS2 {int(np.isin(g, DS2).sum())} beats")
        if csv_dir:
            tr, te = split_random(beats, 0.2, seed)
            write_heartbeat_csv(tr, Path(csv_dir) / "mitbih_train.csv")
            write_heartbeat_csv(te, Path(csv_dir) / "mitbih_test.csv")
            typer.echo(f"wrote Kaggle-format CSVs to {csv_dir}")

    _run(go)


@data_app.command("download")
def download_cmd(
    dataset: Dataset = typer.Argument(..., help="intracardiac (21 .tgz parts, ~5.2 GB) or heartbeat (Kaggle zip)."),
    dest: Path = typer.Option(..., help="Destination folder; nothing is written outside it."),
    base_url: Optional[str] = typer.Option(None, help="Mirror to fetch the same file names from (BASE_URL/NAME)."),
    manifest: Optional[Path] = typer.Option(None, help="JSON list of {url, filename, sha256?, size?, extract?} to use instead (bare file names only)."),
    keep_archives: bool = typer.Option(True, help="Keep archives after extraction (they are re-verified on every later run)."),
    retries: int = typer.Option(3, help="Reconnections per file before giving up (resumes each time)."),
):
    """Download a dataset: resumable, size/sha256-checked, archives verified end to end and extracted. Re-run to resume."""

    def go():
        from ..datasets.download import builtin_manifest, download_dataset, load_manifest, rebase_manifest

        files = load_manifest(manifest) if manifest else builtin_manifest(dataset.value)
        if base_url:
            files = rebase_manifest(files, base_url)
        paths = download_dataset(files, dest, keep_archives=keep_archives, retries=retries)
        typer.echo(f"{len(paths)} file(s) ready in {dest}")

    _run(go)


@data_app.command("cache")
def cache_cmd(
    data_dir: Path = typer.Argument(..., help="Intracardiac dataset folder (data_hearts_dd_0p2* folders; simulator shards are merged)."),
    out: Optional[Path] = typer.Option(None, help="Cache folder (default DATA_DIR/.cardiacml_cache)."),
    lenient: bool = typer.Option(False, help="Skip unpaired files instead of failing."),
):
    """Consolidate an intracardiac dataset into memory-mapped arrays (ecg, vm, act) + an index; checks shards for missing or duplicate indices."""

    def go():
        from ..datasets.intracardiac import build_cache
        from ..errors import OutputError
        from ..utils import resolved

        dest = out or data_dir / ".cardiacml_cache"
        if resolved(dest) == resolved(data_dir):
            raise OutputError(f"--out {dest} is the dataset folder itself: the cache goes in a folder of its own "
                              f"(default {data_dir / '.cardiacml_cache'})")
        from ..utils import check_output_folder

        check_output_folder(dest, ours=("index.json",))  # before the (long) build, not after it
        ds = build_cache(data_dir, dest, strict=not lenient)
        typer.echo(f"{ds}; never-activated sites: {ds.info['never_activated_sites']}")

    _run(go)


@data_app.command("check")
def check_cmd(path: Path = typer.Argument(..., help="A Kaggle heartbeat CSV, or an intracardiac dataset folder.")):
    """Validate a dataset file or folder and print a summary (shapes, classes, problems)."""

    def go():
        if path.is_dir() and (path / "index.json").is_file():  # a cache (`data cache`), as train --data-dir takes it
            from ..datasets.intracardiac import IntracardiacData

            typer.echo(f"{path}: a valid cache of {len(IntracardiacData(path))} simulations")
        elif path.is_dir():
            from ..datasets.intracardiac import discover_simulations, load_simulation, merge_simulation_metadata

            sims = discover_simulations(path)
            merge_simulation_metadata(sims)  # what `data cache` and training refuse (missing shards, pairs) is refused here
            for s in sims:
                load_simulation(s)
            typer.echo(f"{path}: {len(sims)} valid simulation pairs")
        else:
            from ..contracts.beat import MITBIH_CLASSES, PTB_CLASSES
            from ..datasets.kaggle import load_heartbeat_csv

            classes = PTB_CLASSES if "ptb" in path.name.lower() else MITBIH_CLASSES
            b = load_heartbeat_csv(path, classes, cache=False)
            typer.echo(f"{path}: {len(b)} beats x 187 samples, classes {b.class_counts()}")

    _run(go)


@cache_app.command("info")
def cache_info_cmd():
    """Where the cache is and how much each part of it takes."""

    def go():
        from ..datasets.cache import cache_info

        root, parts = cache_info()
        if not parts:
            typer.echo(f"cache: {root} (empty)")
            return
        typer.echo(f"cache: {root} ({_size(sum(n for _, n in parts))} in all)")
        for name, n in parts[:20]:  # the largest; hundreds of per-record files otherwise
            typer.echo(f"  {_size(n):>10}  {name}")
        if len(parts) > 20:
            rest = parts[20:]
            typer.echo(f"  {_size(sum(n for _, n in rest)):>10}  ... and {len(rest)} smaller entries")

    _run(go)


@cache_app.command("clear")
def cache_clear_cmd(yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation.")):
    """Delete what cardiacml cached (it is rebuilt on demand); leaves files it did not write, never follows links."""

    def go():
        from ..datasets.cache import OURS, cache_clear, cache_info, check_clearable, foreign_entries

        root, parts = cache_info(check_clearable())
        other = foreign_entries(root)
        parts = [(n, b) for n, b in parts if OURS.match(n.rstrip("/"))]
        kept = (f"; left {len(other)} entr{'y' if len(other) == 1 else 'ies'} cardiacml did not write: "
                + ", ".join(other[:5]) + (" ..." if len(other) > 5 else "")) if other else ""
        if not parts:
            typer.echo(f"cache: nothing of cardiacml's in {root}{kept}")
            return
        if not yes:
            try:
                ok = typer.confirm(f"delete {_size(sum(n for _, n in parts))} in {root}?")
            except (typer.Abort, EOFError, KeyboardInterrupt):  # no answer (no terminal, Ctrl-C, Ctrl-D)
                typer.echo("\nnothing deleted (no answer; `cardiacml cache clear --yes` deletes without asking)")
                return
            if not ok:
                typer.echo("nothing deleted")
                return
        typer.echo(f"freed {_size(cache_clear(root))} in {root}{kept}")

    _run(go)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


@nb_app.command("list")
def notebooks_list_cmd(folder: Optional[Path] = typer.Option(None, "--dir", help="Notebooks folder (default: notebooks/ of the source checkout).")):
    """The notebooks, their titles and the run time each states."""

    def go():
        from ..notebooks import list_notebooks

        for nb in list_notebooks(folder):
            typer.echo(f"{nb['name']:<34}{nb['title']}")
            typer.echo(f"{'':<34}run time: {nb['run_time']}")

    _run(go)


@nb_app.command("run")
def notebooks_run_cmd(
    names: Optional[List[str]] = typer.Argument(None, help="Notebooks to run (names of `cardiacml notebooks list`, a unique prefix is enough). Default: all of the folder (the six of notebooks/)."),
    quick: bool = typer.Option(False, help="Smaller data and fewer epochs (CARDIACML_QUICK=1): under 2 minutes per notebook on 2 cores."),
    out: Path = typer.Option(Path("notebooks_out"), help="Folder for the executed notebooks (NAME.ipynb, with outputs)."),
    folder: Optional[Path] = typer.Option(None, "--dir", help="Notebooks folder (default: notebooks/ of the source checkout)."),
    timeout: int = typer.Option(1200, help="Seconds one cell may run."),
):
    """Execute notebooks top to bottom in a fresh Jupyter kernel and save them with their outputs; prints each run time."""

    def go():
        from ..notebooks import run_notebook, select

        if timeout < 1:
            from ..errors import UsageError

            raise UsageError(f"--timeout {timeout}: a cell needs at least 1 s (the default is 1200)")
        chosen = select(names, folder)
        for nb in chosen:
            typer.echo(f"{nb['name']}: running{' (quick)' if quick else ''}...")
            dest, seconds = run_notebook(nb["path"], out, quick=quick, timeout_s=timeout)
            typer.echo(f"{nb['name']}: {seconds:.0f} s -> {dest}")

    _run(go)
