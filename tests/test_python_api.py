"""The Python API as a notebook user calls it: misspelt options, arrays of the wrong kind, ONNX and PyTorch runners
alike; one clear error naming the problem, never a silent default or a traceback from a library below."""

import pytest

from cardiacml.errors import UsageError


def test_train_run_refuses_an_unknown_option(tmp_path):
    """``train_run(..., epoch=1)`` (for epochs) was dropped silently: the run trained 20 epochs."""
    from cardiacml.training.run import train_run

    with pytest.raises(UsageError, match="unknown option.*epoch.*it takes.*epochs"):
        train_run("task2", "kachuee", data_dir=tmp_path, epoch=1, out=tmp_path / "run", log=lambda *a: None)
    assert not (tmp_path / "run").exists()


def test_array_record_takes_fs_as_text_and_refuses_non_numbers_in_one_line():
    """``ArrayRecord(sig, "360")`` was a TypeError from np.isfinite (open_record's ``fs="360"`` works); a signal of
    strings a ValueError from NumPy."""
    import numpy as np

    from cardiacml.errors import DataFormatError
    from cardiacml.io import ArrayRecord

    assert ArrayRecord(np.zeros(3600), "360").fs == 360.0
    for fs in ("360 Hz", None, "nan", -1, 0):
        with pytest.raises(DataFormatError, match="sampling rate must be a positive number of Hz"):
            ArrayRecord(np.zeros(3600), fs)
    with pytest.raises(DataFormatError, match="a signal must be numbers"):
        ArrayRecord(np.array(["a"] * 10), 360)


def test_array_record_refuses_leads_by_samples():
    """A (2, 21600) array (leads first) was taken for 21,600 leads of 2 samples: "recording is 0.0 s long"."""
    import numpy as np

    from cardiacml.errors import DataFormatError
    from cardiacml.io import ArrayRecord

    with pytest.raises(DataFormatError, match=r"more leads than samples; give it transposed \(signal.T\)"):
        ArrayRecord(np.zeros((2, 21600)), 360)
    assert ArrayRecord(np.zeros((21600, 2)), 360).leads == ("lead0", "lead1")


def test_onnx_runner_refuses_wrong_shapes_and_takes_no_input_as_the_torch_runner(tmp_path):
    """OnnxPredictor.predict on a (n, 187) array raised onnxruntime's INVALID_ARGUMENT; on no input a ValueError
    (need at least one array to concatenate), where the PyTorch runner refuses the shape in one line and returns (0, 5)."""
    import numpy as np

    from cardiacml.errors import DataFormatError
    from cardiacml.inference.onnx_export import export_onnx
    from cardiacml.inference.predict import load_runner

    export_onnx("beats-ds1", tmp_path / "m.onnx", n_check=2)
    pt, ox = load_runner("beats-ds1"), load_runner(tmp_path / "m.onnx")
    n_samples = pt.contract.n_samples
    for runner in (pt, ox):
        with pytest.raises(DataFormatError, match=rf"this model takes \(n, 1, {n_samples}\)"):
            runner.predict(np.zeros((3, n_samples), np.float32))
        assert runner.predict(np.zeros((0, 1, n_samples), np.float32)).shape == (0, 5)
    x = np.random.default_rng(0).random((3, 1, n_samples)).tolist()  # a list, float64
    assert np.abs(pt.predict(x) - ox.predict(x)).max() < 1e-4


def test_kaggle_csvs_with_a_rare_class_or_too_few_beats_split_or_say_why(tmp_path, monkeypatch):
    """A training CSV with one beat of a class (a subset of the Kaggle file) stopped in scikit-learn's stratified split
    with a traceback; so did 30 beats of 5 classes (a 10 % validation set of 3 beats cannot hold every class)."""
    import numpy as np

    from cardiacml.datasets.kaggle import BeatSet, write_heartbeat_csv
    from cardiacml.errors import DataFormatError
    from cardiacml.tasks import load_task

    monkeypatch.setenv("CARDIACML_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)

    def write(folder, y):
        folder.mkdir()
        for name in ("mitbih_train", "mitbih_test"):
            write_heartbeat_csv(BeatSet(rng.random((len(y), 187)).astype(np.float32), np.asarray(y), ()),
                                folder / f"{name}.csv")

    write(tmp_path / "rare", [0] * 40 + [1] * 20 + [2] * 20 + [3])  # one F beat
    d = load_task("task2", data_dir=tmp_path / "rare")
    assert len(d.y_train) + len(d.y_val) == 81 and 3 in d.y_train and set(d.y_val) == {0, 1, 2}
    write(tmp_path / "few", np.arange(30) % 5)
    with pytest.raises(DataFormatError, match="30 beats cannot be split 90% / 10% with a beat of every class"):
        load_task("task2", data_dir=tmp_path / "few")
    write(tmp_path / "one", [0] * 50)  # the head of the class-sorted Kaggle file: trained, learnt nothing
    with pytest.raises(DataFormatError, match=r"training beats are all of one class \(N, 50 beats\)"):
        load_task("task2", data_dir=tmp_path / "one")


def test_cut_beats_with_a_label_that_is_no_class_index_are_refused(tmp_path):
    """A Kaggle-format CSV whose label column held 1.5 was read as class 1 (counted as agreeing with an S call), NaN
    or -1 as a reference matching no class (a RuntimeWarning for NaN); training's loader refuses such labels."""
    import numpy as np

    from cardiacml.errors import DataFormatError
    from cardiacml.inference.inputs import read_beats

    rows = np.c_[np.random.default_rng(0).random((3, 187)), [0, 1, 2]]
    np.savetxt(tmp_path / "ok.csv", rows, delimiter=",")
    assert list(read_beats(tmp_path / "ok.csv")["label"]) == [0, 1, 2]
    for bad in (1.5, np.nan, -1):
        rows[1, -1] = bad
        np.savetxt(tmp_path / "b.csv", rows, delimiter=",")
        with pytest.raises(DataFormatError, match=r"row 2: label .* \(column 188\) is not a class index"):
            read_beats(tmp_path / "b.csv")



def test_cut_beats_of_another_task_get_no_agreement_figure(tmp_path):
    """MIT-BIH cut beats (labels 0-4) given to a 2-class model: the agreement counted labels 2-4 as wrong."""
    import numpy as np

    from cardiacml.contracts.beat import KAGGLE_BEAT, PTB_CLASSES
    from cardiacml.inference.predict import _predict_cut_beats

    class TwoClasses:
        contract = KAGGLE_BEAT.with_targets("PTB normal vs abnormal", "class", PTB_CLASSES)

        def predict(self, X):
            return np.tile([0.9, 0.1], (len(X), 1))

    rows = np.c_[np.random.default_rng(0).random((5, 187)), [0, 1, 2, 3, 4]]
    np.savetxt(tmp_path / "mit.csv", rows, delimiter=",")
    msg = _predict_cut_beats(TwoClasses(), tmp_path / "mit.csv", tmp_path / "o.csv", fs=None, html=None)
    assert "no agreement computed" in msg and "agreement with reference" not in msg, msg
    assert "reference" not in (tmp_path / "o.csv").read_text().splitlines()[0]
    rows[:, -1] = [0, 1, 0, 1, 0]
    np.savetxt(tmp_path / "ptb.csv", rows, delimiter=",")
    msg = _predict_cut_beats(TwoClasses(), tmp_path / "ptb.csv", tmp_path / "o2.csv", fs=None, html=None)
    assert "agreement with reference labels 0.6000" in msg, msg


def test_kaggle_training_csv_outside_the_beat_range_is_refused_as_predict_refuses_it(tmp_path):
    """Beats not min-max normalised (values -2..3) trained and evaluated silently, and the model's predict then refused
    the same file ("beat values should lie in [0, 1]")."""
    import numpy as np

    from cardiacml.datasets.kaggle import BeatSet, load_heartbeat_csv, write_heartbeat_csv
    from cardiacml.errors import DataFormatError

    X = np.random.default_rng(0).random((4, 187)).astype(np.float32)
    write_heartbeat_csv(BeatSet(X, np.zeros(4, np.int64), ()), tmp_path / "ok.csv")
    assert load_heartbeat_csv(tmp_path / "ok.csv", cache=False).X.shape == (4, 187)
    X[2, 5] = 3.0
    write_heartbeat_csv(BeatSet(X, np.zeros(4, np.int64), ()), tmp_path / "raw.csv")
    with pytest.raises(DataFormatError, match=r"raw.csv, row 3: sample 5 is 3, outside \[-0.5, 1.5\]"):
        load_heartbeat_csv(tmp_path / "raw.csv", cache=False)


def test_predict_array_refuses_inputs_that_are_not_n_leads_samples():
    """``predict_array(model, X[:1, 0])`` (a (1, 187) beat) reached conv1d as one unbatched input and failed deep in
    PyTorch (mat1 and mat2 shapes cannot be multiplied; beats-ds1: IndexError)."""
    import numpy as np

    from cardiacml.errors import DataFormatError
    from cardiacml.training.checkpoint import load_run
    from cardiacml.training.loop import predict_array

    model, record = load_run("beats-ds1")
    n = record.contract.n_samples
    assert predict_array(model, np.zeros((2, 1, n))).shape == (2, 5)
    with pytest.raises(DataFormatError, match=r"shape \(n, leads, samples\), got \(1, \d+\); beats .* X\[:, None, :\]"):
        predict_array(model, np.zeros((1, n)))
    with pytest.raises(DataFormatError, match=r"got \(\d+,\)"):
        predict_array(model, np.zeros(n))


def test_create_model_sizes_must_be_whole_numbers():
    """``create_model("kachuee", "1", 187, 5)`` failed in the builder with "not all arguments converted during string
    formatting", 1.5 with "in_channels must be divisible by groups", "one" with int()'s ValueError traceback."""
    import numpy as np

    from cardiacml.models import create_model

    assert create_model("kachuee", np.int64(1), 187, 5) is not None
    for bad in ("1", 1.5, "one", True):
        with pytest.raises(UsageError, match=r"create_model: n_leads must be a whole number, got"):
            create_model("kachuee", bad, 187, 5)


def test_create_model_checks_its_options_and_task_as_train_does():
    """create_model('tcn', ..., width=0) built a model train refuses; an unknown task= was ignored."""
    from cardiacml.contracts.ecg12 import ECG12
    from cardiacml.errors import UsageError
    from cardiacml.models import create_model

    with pytest.raises(UsageError, match="needs width >= 1"):
        create_model("tcn", contract=ECG12, width=0)
    with pytest.raises(UsageError, match="unknown task 'taskX'"):
        create_model("tcn", contract=ECG12, task="taskX")
    with pytest.raises(UsageError, match="has no option 'foo'"):
        create_model("kachuee", 1, 187, 5, foo=1)


def test_load_checkpoint_puts_the_model_on_map_location():
    from cardiacml.training.checkpoint import load_checkpoint

    model, _ = load_checkpoint("beats-ds1", map_location="meta")  # was ignored
    assert next(model.parameters()).device.type == "meta"


def test_resume_keeps_the_runs_settings_but_takes_this_machines_threads_and_device(tmp_path, monkeypatch):
    """--resume --threads 3 --device cpu: the run's saved config replaced everything, these were dropped unsaid."""
    import json

    import cardiacml.training.run as R
    from cardiacml.training.run import partial_dir, train_run

    out = tmp_path / "run"
    part = partial_dir(out)
    part.mkdir(parents=True)
    saved = {"task": "task2", "model": "kachuee", "epochs": 3, "batch_size": 64, "threads": 1, "device": "auto",
             "seed": 0, "hparams": {}}
    (part / "run_args.json").write_text(json.dumps({"config": saved, "data_args": {"protocol": "random"}}))
    got = {}

    class Stop(Exception):
        pass

    def capture(**kw):
        raise Stop

    real = R.TrainConfig.from_dict
    monkeypatch.setattr(R.TrainConfig, "from_dict", staticmethod(lambda d: got.update(d) or real(d)))
    monkeypatch.setattr(R, "load_task", lambda *a, **k: capture())
    with pytest.raises(Stop):
        train_run("task2", out=out, resume=True, threads=3, device="cpu", epochs=9, log=lambda *a: None)
    assert got["threads"] == 3 and got["device"] == "cpu" and got["epochs"] == 3 and got["batch_size"] == 64


def test_create_model_takes_a_list_for_a_tuple_option():
    """check_hparams wanted a tuple for beatnet's widths: JSON (--hparam, run.json) can only give a list."""
    from cardiacml.models import create_model

    assert create_model("beatnet", 1, 187, 5, widths=[16, 32, 32, 48]) is not None


def test_path_arguments_that_are_no_path_are_one_line_errors_naming_the_argument(shared):
    """``open_record(None)``, ``read_beats(5)``, ``predict_file(None, ...)``: TypeErrors from pathlib (expected str,
    bytes or os.PathLike object); ``open_record("")`` said the current folder "is a folder"."""
    import numpy as np

    from cardiacml.inference.inputs import read_beats, read_ecg12
    from cardiacml.inference.predict import load_runner, predict_file
    from cardiacml.io import open_record
    from cardiacml.training.checkpoint import load_run

    for bad in (None, 5, b"x.npy", np.zeros(3)):
        for call, name in ((open_record, "open_record: path"), (read_beats, "read_beats: path"),
                           (read_ecg12, "12-lead ECG path"), (load_runner, "model"), (load_run, "model")):
            with pytest.raises(UsageError, match=rf"^{name}.* must be a str or pathlib.Path, got {type(bad).__name__}"):
                call(bad)
        with pytest.raises(UsageError, match="predict_file: input_path must be a str or pathlib.Path"):
            predict_file("beats-all", bad)
        if bad is not None:  # None: the default output name
            with pytest.raises(UsageError, match="predict_file: out_path must be a str or pathlib.Path"):
                predict_file("beats-all", shared / "wfdb_samples" / "100", bad)
    with pytest.raises(UsageError, match="open_record: path is empty"):
        open_record("")


def test_read_beats_of_cut_beats_takes_fs_as_open_record_does(tmp_path):
    """``read_beats("beats.csv", fs="360")`` raised ValueError (Unknown format code 'g' for str) while building its
    own message, ``fs="abc"`` float()'s ValueError; a raw recording takes ``fs="360"``."""
    import numpy as np

    from cardiacml.errors import DataFormatError
    from cardiacml.inference.inputs import read_beats

    np.savetxt(tmp_path / "b.csv", np.random.default_rng(0).random((3, 187)), delimiter=",")
    assert read_beats(tmp_path / "b.csv", fs="125")["X"].shape == (3, 1, 187)
    with pytest.raises(DataFormatError, match=r"sampled at 125 Hz; got fs=360 Hz"):
        read_beats(tmp_path / "b.csv", fs="360")
    for bad in ("abc", -125, float("nan")):
        with pytest.raises(DataFormatError, match="b.csv: sampling rate must be a"):
            read_beats(tmp_path / "b.csv", fs=bad)


def test_lead_names_are_a_list_or_one_string_everywhere(tmp_path):
    """``ArrayRecord(sig, 360, leads="MLII")`` took the string for 4 leads named M, L, I, I ("4 lead names for 1 signal
    columns"), where open_record's ``leads="MLII"`` is one name; ``leads=3`` was a TypeError ('int' object is not
    iterable) in ArrayRecord, open_record and read_ecg12."""
    import numpy as np

    from cardiacml.errors import DataFormatError
    from cardiacml.inference.inputs import read_ecg12
    from cardiacml.io import ArrayRecord, open_record

    assert ArrayRecord(np.zeros(1000), 360, leads="MLII").leads == ("MLII",)
    assert ArrayRecord(np.zeros((1000, 2)), 360, leads="I, II").leads == ("I", "II")
    assert ArrayRecord(np.zeros((1000, 2)), 360, leads=np.array(["I", "II"])).leads == ("I", "II")
    np.save(tmp_path / "s.npy", np.random.default_rng(0).normal(size=(3600, 2)).astype(np.float32))
    np.savetxt(tmp_path / "s.csv", np.random.default_rng(0).normal(size=(3600, 2)), delimiter=",")
    msg = r"leads must be lead names, as a list \(\['I', 'II'\]\) or one string \('I,II'\), got int 3"
    with pytest.raises(DataFormatError, match="<array>: " + msg):
        ArrayRecord(np.zeros((1000, 2)), 360, leads=3)
    for f in ("s.npy", "s.csv"):
        with pytest.raises(DataFormatError, match=f"{f}: " + msg):
            open_record(tmp_path / f, fs=360, leads=3)
    with pytest.raises(DataFormatError, match="s.csv: " + msg):
        read_ecg12(tmp_path / "s.csv", fs=360, leads=3)


def test_record_read_refuses_what_is_no_sample_index_or_lead_in_one_line():
    """``record.read(0, 100, 1.0)`` was a TypeError ('float' object is not iterable), ``read(0, nan)`` and
    ``read("a")`` int()'s ValueError, ``read(1.5, 100)`` read from sample 1 silently."""
    import numpy as np

    from cardiacml.errors import DataFormatError
    from cardiacml.io import ArrayRecord

    r = ArrayRecord(np.random.default_rng(0).normal(size=(1000, 2)), 360)
    assert r.read(None, 10).shape == r.read(0, 10).shape == (10, 2)
    assert r.read(np.int64(5), 1e9, lead=np.int64(1)).shape == (995,)
    assert r.read(2.0, 4.0, lead=["lead1", 0]).shape == (2, 2)
    for bad in (1.0, np.float64(1), object()):
        with pytest.raises(DataFormatError, match=r"lead must be a name, a 0-based index, a list of them or 'all', got"):
            r.read(0, 10, bad)
    for start, stop in ((1.5, 10), ("a", 10), (0, float("nan")), (True, 10)):
        with pytest.raises(DataFormatError, match=r"<array>: read\((start|stop)=\.\.\.\) takes a whole sample index"):
            r.read(start, stop)


def test_csv_delimiter_option_must_be_one_character(tmp_path):
    """``open_record("x.csv", delimiter=5)`` was an AttributeError ('int' object has no attribute 'strip'),
    ``delimiter=";;"`` the csv module's TypeError ("delimiter" must be a 1-character string)."""
    import numpy as np

    from cardiacml.io import open_record

    np.savetxt(tmp_path / "s.csv", np.random.default_rng(0).normal(size=(3600, 2)), delimiter=";")
    assert open_record(tmp_path / "s.csv", fs=360, delimiter=";").leads == ("lead0", "lead1")
    for bad in (5, ";;", b";"):
        with pytest.raises(UsageError, match=r"s.csv: delimiter must be one character .* got"):
            open_record(tmp_path / "s.csv", fs=360, delimiter=bad)


def test_a_beat_index_that_is_no_whole_number_is_refused(shared, tmp_path):
    """``read_ecg12(path, beat=1.5)`` took beat 1 silently (int(1.5)), on a model-format array too."""
    import numpy as np

    from cardiacml.errors import DataFormatError
    from cardiacml.inference.inputs import read_ecg12

    rec = shared / "wfdb_samples" / "s0010_re"
    assert read_ecg12(rec, beat="3").shape == read_ecg12(rec, beat=3.0).shape == (1, 12, 500)
    np.save(tmp_path / "b.npy", np.random.default_rng(0).normal(size=(3, 12, 500)).astype(np.float32))
    for path in (rec, tmp_path / "b.npy"):
        for bad in (1.5, True, float("nan"), "x"):
            with pytest.raises(DataFormatError, match=r"beat must be 'auto', 'all' or a beat index, got"):
                read_ecg12(path, beat=bad)


def test_adapt_minutes_that_is_no_number_is_a_usage_error(shared, tmp_path):
    """``predict_file(..., adapt_minutes="x")`` was float()'s ValueError."""
    from cardiacml.inference.predict import predict_file

    with pytest.raises(UsageError, match=r"--adapt-minutes 'x': must be a number of minutes"):
        predict_file("beats-all", shared / "wfdb_samples" / "100", tmp_path / "o.csv", adapt_minutes="x")
    assert not (tmp_path / "o.csv").exists()


def test_threads_below_one_refused_above_the_cores_cut_and_given_to_onnxruntime(tmp_path, monkeypatch):
    """`predict m.onnx ... --threads 1000` was accepted and ignored (onnxruntime took its default), and --threads -3
    became 1 silently for PyTorch; now onnxruntime takes the count, cut to the cores with a warning."""

    from typer.testing import CliRunner

    import cardiacml.inference.onnx_export as OE
    from cardiacml.cli import app
    from cardiacml.inference.predict import load_runner
    from cardiacml.utils import cpu_cores, resolve_threads

    cores = cpu_cores()
    monkeypatch.delenv("CARDIACML_THREADS", raising=False)
    for bad in (0, -3, 1.5, "x"):
        with pytest.raises(UsageError, match="--threads must be a whole number of threads, 1 or more"):
            resolve_threads(bad)
    with pytest.warns(UserWarning, match=rf"--threads 1000: this process may run on {cores} CPU cores; using {cores}"):
        assert resolve_threads(1000) == cores
    monkeypatch.setenv("CARDIACML_THREADS", "0")
    with pytest.raises(UsageError, match=r"\$CARDIACML_THREADS must be a whole number of threads, 1 or more"):
        resolve_threads()
    monkeypatch.delenv("CARDIACML_THREADS")
    OE.export_onnx("beats-ds1", tmp_path / "m.onnx", n_check=2)
    assert load_runner(tmp_path / "m.onnx", threads=1).session.get_session_options().intra_op_num_threads == 1
    seen = []

    def spy(self, path, threads=None):
        seen.append(threads)
        raise UsageError("stop here")

    monkeypatch.setattr(OE.OnnxPredictor, "__init__", spy)
    runner = CliRunner()
    res = runner.invoke(app, ["predict", str(tmp_path / "m.onnx"), str(tmp_path / "x.csv"), "--threads", "1"])
    assert res.exit_code == 2 and "stop here" in res.output and seen[-1] == 1, (seen, res.output)
    with pytest.warns(UserWarning, match=rf"--threads 1000: this process may run on {cores} CPU cores; using {cores}"):
        res = runner.invoke(app, ["predict", str(tmp_path / "m.onnx"), str(tmp_path / "x.csv"), "--threads", "1000"])
    assert res.exit_code == 2 and "stop here" in res.output and seen[-1] == cores, (seen, res.output)
    res = runner.invoke(app, ["predict", str(tmp_path / "m.onnx"), str(tmp_path / "x.csv"), "--threads", "-3"])
    assert res.exit_code == 2 and "--threads must be a whole number" in res.output and len(seen) == 2, res.output


def test_resume_from_a_damaged_or_foreign_partial_run_is_one_line(tmp_path):
    """Resuming another task or model was refused already; a damaged OUT.partial/run_args.json was a JSONDecodeError
    traceback, and a last.pt of another model load_state_dict's RuntimeError (both asked for a bug report)."""
    import numpy as np
    import torch
    from typer.testing import CliRunner

    from cardiacml.cli import app
    from cardiacml.contracts import KAGGLE_BEAT
    from cardiacml.errors import DataFormatError
    from cardiacml.tasks import TaskData
    from cardiacml.training.checkpoint import TrainConfig
    from cardiacml.training.loop import fit
    from cardiacml.training.run import partial_dir

    out = tmp_path / "run"
    part = partial_dir(out)
    part.mkdir(parents=True)
    for text in ("{garbage", '{"config": {"task": "task2"}, "data_args": {}}', "[]"):
        (part / "run_args.json").write_text(text)
        res = CliRunner().invoke(app, ["train", "task2", "--resume", "--out", str(out)])
        assert res.exit_code == 2 and "run_args.json: damaged" in res.output and "without --resume" in res.output, \
            res.output
        assert "Traceback" not in res.output
    rng = np.random.default_rng(0)
    X, y = rng.random((20, 1, 187), dtype=np.float32), np.arange(20) % 5
    data = TaskData("task2", X, y, X, y, X, y, KAGGLE_BEAT, "synthetic", "random")
    cfg = TrainConfig(task="task2", model="kachuee", epochs=1, threads=1)
    for last, why in (({"model": {"w": torch.zeros(2)}, "optimizer": {}}, "its weights do not fit the model"),
                      ({"weights": {}}, "no 'model'")):
        torch.save(last, part / "last.pt")
        with pytest.raises(DataFormatError, match=rf"last\.pt: not an epoch checkpoint of this run \(task2 with kachuee: "
                                                  rf"{why}\); .*without --resume"):
            fit(data, cfg, None, log=lambda *a: None, checkpoint_dir=part, resume=True)


def test_cpu_cores_are_the_ones_this_process_may_run_on(monkeypatch):
    """The default thread count and the cut of --threads counted os.cpu_count(): a container or `taskset` limited to
    2 of 64 cores ran 64 threads on 2. cpu_cores() counts the process's affinity mask."""
    import os

    from cardiacml.utils import cpu_cores, resolve_threads

    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.delattr(os, "process_cpu_count", raising=False)  # Python < 3.13: the affinity mask
    assert cpu_cores() == 2
    monkeypatch.setattr(os, "process_cpu_count", lambda: 2, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.delenv("CARDIACML_THREADS", raising=False)
    assert cpu_cores() == 2 and resolve_threads() == 2
    with pytest.warns(UserWarning, match="--threads 8: this process may run on 2 CPU cores; using 2") as said:
        assert resolve_threads(8) == 2
    assert "machine" not in str(said[0].message)  # the machine has 64: the process may run on 2 of them


def test_cpu_cores_and_the_default_thread_count_on_windows(monkeypatch):
    """Windows has neither os.sched_getaffinity nor os.getloadavg: resolve_threads() (every command's default
    --threads) caught OSError only, so the AttributeError of os.getloadavg was a traceback there."""
    import os

    from cardiacml.utils import cpu_cores, resolve_threads

    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    for name in ("sched_getaffinity", "process_cpu_count", "getloadavg"):
        monkeypatch.delattr(os, name, raising=False)
    monkeypatch.delenv("CARDIACML_THREADS", raising=False)
    assert cpu_cores() == 4 and resolve_threads() == 4
