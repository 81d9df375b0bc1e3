"""End-to-end tests of the ``adrec`` command on small synthetic data.

Workflows run the real program in a subprocess (``python -m adrec``). The many
small error and format cases call :func:`adrec.cli.main.main` in-process, which
runs the same parser and handlers without the interpreter start-up.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from adrec import __version__
from adrec.cli.main import main
from conftest import run_adrec as run_conftest_adrec

SUBPROCESS_TIMEOUT_S = 180
BUNDLE_FILES = ("manifest.json", "weights.safetensors", "users.parquet", "interests.parquet",
                "interactions.parquet")

# Settings under which every two-group user ranks its held-out interest first, as all 40
# users did with each of 20 seeds. A batch of 32 rows gives 9 optimizer steps per epoch on
# the 288 training rows. With the default batch of 1024, an epoch is a single step, so
# early stopping ends the run before the groups separate.
KNOWN_ANSWER_OPTIONS = ("--dim", "16", "--epochs", "20", "--batch-size", "32", "--lr", "0.05",
                        "--l2", "0.02", "--patience", "5", "--seed", "7")
FAST_OPTIONS = ("--epochs", "5", "--dim", "8")

# User IDs that a numeric parser would change ("0042" and "42" would merge, "1e3" would
# become 1000), and interest IDs outside ASCII or that pandas would read as missing ("NA").
ID_USERS = ("0042", "42", "007", "1e3", "u-ß", "0100")
ID_INTERESTS = ("café", "日本語", "Ölfarbe", "niño", "NA", "🎯target", "a,b")


# ----------------------------------------------------------------------------- helpers


def run_adrec(*args: str | Path, cwd: Path, timeout: float = SUBPROCESS_TIMEOUT_S
              ) -> subprocess.CompletedProcess:
    """Run ``python -m adrec ARGS`` with this module's default timeout."""
    return run_conftest_adrec(*args, cwd=cwd, timeout=timeout)


def run_main(capsys: pytest.CaptureFixture, *args: str | Path) -> tuple[int, str, str]:
    """Call ``main`` in-process; return the exit code, stdout and stderr.

    argparse exits through ``SystemExit`` (usage errors, ``--help``), whose code
    is returned like the one ``main`` returns.
    """
    try:
        code = main([str(argument) for argument in args])
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def read_csv_text(text: str) -> pd.DataFrame:
    """Parse CSV output with every cell as text, so IDs compare exactly."""
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def output_rows(fmt: str, text: str) -> list[dict]:
    """Parse the rows of ``--format json`` or ``--format csv`` output into dicts."""
    if fmt == "json":
        return json.loads(text)
    return read_csv_text(text).to_dict(orient="records")


def file_digests(folder: Path) -> dict[str, str]:
    """Return the SHA-256 of every file under ``folder``, by relative path."""
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def read_frequency(path: Path) -> pd.DataFrame:
    """Read a frequency CSV written by these tests, IDs as text and frequency as float."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return frame.assign(frequency=frame["frequency"].astype(float))


def engaged(frame: pd.DataFrame, user_id: str) -> dict[str, float]:
    """Return a user's interests and frequencies from a frequency table."""
    rows = frame[frame["user_id"] == user_id]
    return dict(zip(rows["interest_id"], rows["frequency"], strict=True))


def assert_one_line_error(stderr: str) -> str:
    """Check that stderr contains exactly one ``adrec: error:`` line and return it."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("adrec: error: "), stderr
    return lines[0]


def leftovers(folder: Path) -> list[str]:
    """Return the names of temporary folders or checkpoints left in ``folder`` by a failed save."""
    return sorted(path.name for path in folder.iterdir()
                  if path.name.endswith((".tmp", ".old", ".checkpoint.safetensors")))


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def restore_logging():
    """Undo the logging set-up of in-process ``main`` calls, which replaces the root handlers."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="module")
def known_answer_run(two_group_module_folder: Path, tmp_path_factory: pytest.TempPathFactory):
    """Train on the two-group data in a subprocess with ``--format json``.

    Returns:
        The bundle path and the finished process.
    """
    work = tmp_path_factory.mktemp("known_answer")
    out = work / "model"
    process = run_adrec("train", two_group_module_folder, "--out", out, "--format", "json",
                        *KNOWN_ANSWER_OPTIONS, cwd=work)
    assert process.returncode == 0, process.stderr
    return out, process


@pytest.fixture(scope="module")
def id_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset folder whose IDs must survive as written: leading zeros, unicode, 'NA'.

    Each user engages with about two thirds of the interests; frequencies are
    small integers from a fixed formula.
    """
    folder = tmp_path_factory.mktemp("ids")
    rows = []
    for u, user in enumerate(ID_USERS):
        for i, interest in enumerate(ID_INTERESTS):
            if (u + i) % 3 != 0:
                rows.append((user, interest, 1 + (3 * u + 5 * i) % 7))
    pd.DataFrame(rows, columns=["user_id", "interest_id", "frequency"]).to_csv(
        folder / "frequency.csv", index=False)
    pd.DataFrame({"interest_id": ID_INTERESTS,
                  "name": [f"Name of {interest}, with a comma" for interest in ID_INTERESTS]}).to_csv(
        folder / "interests.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def id_frequency(id_folder: Path) -> pd.DataFrame:
    """The frequency table of ``id_folder``, read independently of adrec."""
    return read_frequency(id_folder / "frequency.csv")


@pytest.fixture(scope="module")
def id_run(id_folder: Path, tmp_path_factory: pytest.TempPathFactory):
    """Train on ``id_folder`` in a subprocess with table output; return the bundle and process."""
    work = tmp_path_factory.mktemp("id_model")
    out = work / "model"
    process = run_adrec("train", id_folder, "--out", out, "--no-bias", *FAST_OPTIONS, cwd=work)
    assert process.returncode == 0, process.stderr
    return out, process


@pytest.fixture(scope="module")
def id_bundle(id_run) -> Path:
    """The bundle trained on ``id_folder``; tests must not modify it."""
    return id_run[0]


@pytest.fixture()
def bundle_copy(id_bundle: Path, tmp_path: Path) -> Path:
    """A private copy of the ``id_folder`` bundle that a test may damage."""
    return Path(shutil.copytree(id_bundle, tmp_path / "copy"))


# --------------------------------------------------------------------- help, version


HELP_OPTIONS = {
    "demo": ("--user", "-k", "--out", "--progress"),
    "train": ("DATA", "--out", "--init-from", "--checkpoint", "--reference", "--dim", "--no-bias",
              "--epochs", "--learning-rate", "--l2", "--validation-fraction", "--patience",
              "--target-transform", "--seed", "--duplicates", "--events", "--format"),
    "history": ("MODEL", "USER", "-k", "--format"),
    "recommend": ("MODEL", "USER", "-k", "--include-seen", "--format"),
    "predict": ("MODEL", "USER", "INTEREST", "--format"),
    "info": ("MODEL", "--format"),
}


def test_top_level_help(tmp_path: Path):
    process = run_adrec("--help", cwd=tmp_path)

    assert process.returncode == 0, process.stderr
    for word in (*HELP_OPTIONS, "--version", "--verbose", "--quiet", "exit codes"):
        assert word in process.stdout, word


@pytest.mark.parametrize("command", sorted(HELP_OPTIONS))
def test_subcommand_help(capsys, command: str):
    code, out, _ = run_main(capsys, command, "--help")

    assert code == 0
    for option in HELP_OPTIONS[command]:
        assert option in out, option


def test_version(tmp_path: Path):
    process = run_adrec("--version", cwd=tmp_path)

    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == f"adrec {__version__}"


def test_module_folder_matches_fixture(two_group_folder: Path, two_group_module_folder: Path):
    assert file_digests(two_group_module_folder) == file_digests(two_group_folder)


# ------------------------------------------------------------------------------ train


def test_train_writes_bundle_files(known_answer_run):
    out, _ = known_answer_run

    assert out.is_dir()
    for name in BUNDLE_FILES:
        assert (out / name).is_file(), name


def test_train_removes_default_checkpoint(known_answer_run):
    out, _ = known_answer_run

    assert not out.with_name(out.name + ".checkpoint.safetensors").exists()
    assert leftovers(out.parent) == []


def test_train_json_output(known_answer_run, two_group_module_folder: Path):
    _, process = known_answer_run
    frequency = read_frequency(two_group_module_folder / "frequency.csv")

    info = json.loads(process.stdout)
    metrics = info["metrics"]
    assert metrics["train_rows"] + metrics["validation_rows"] == len(frequency)
    assert metrics["validation_rows"] > 0
    assert math.isfinite(metrics["validation_rmse"])
    assert math.isfinite(metrics["baseline_global_mean_rmse"])
    assert info["model"]["dim"] == 16
    assert info["model"]["use_bias"] is True
    assert info["users"] == frequency["user_id"].nunique()
    assert info["interests"] == frequency["interest_id"].nunique()
    assert info["engaged_rows"] == len(frequency)
    assert len(info["bundle_hash"]) == 16


def test_train_table_output(id_run, id_frequency: pd.DataFrame):
    _, process = id_run

    assert f"{len(id_frequency)} rows" in process.stdout
    assert f"{len(ID_USERS)} users" in process.stdout
    assert f"{len(ID_INTERESTS)} interests" in process.stdout
    assert "Validation RMSE" in process.stdout
    assert "Saved the model bundle to" in process.stdout


def test_train_csv_output(capsys, id_folder: Path, tmp_path: Path):
    code, out, err = run_main(capsys, "train", id_folder, "--out", tmp_path / "model",
                              *FAST_OPTIONS, "--format", "csv")

    assert code == 0, err
    values = dict(read_csv_text(out).itertuples(index=False, name=None))
    assert values["model.dim"] == "8"
    assert values["users"] == str(len(ID_USERS))
    assert math.isfinite(float(values["metrics.validation_rmse"]))


def held_out_interest(frame: pd.DataFrame, user_id: str) -> str:
    """Return the one interest of the user's own group that the user has no row for.

    In the two-group data, a user ID starts with the group digit and an interest
    ID with the group letter: users "0..." go with interests "a...", "1..." with "b...".
    """
    letter = "ab"[int(user_id[0])]
    own_group = {interest for interest in frame["interest_id"] if interest.startswith(letter)}
    (missing,) = own_group - set(engaged(frame, user_id))
    return missing


def test_known_answer_top1(known_answer_run, two_group_module_folder: Path):
    out, _ = known_answer_run
    frequency = read_frequency(two_group_module_folder / "frequency.csv")

    process = run_adrec("recommend", out, "0000", "-k", "1", "--format", "json", cwd=out.parent)

    assert process.returncode == 0, process.stderr
    rows = json.loads(process.stdout)
    assert len(rows) == 1
    assert rows[0]["interest_id"] == held_out_interest(frequency, "0000")


def test_known_answer_every_user(capsys, known_answer_run, two_group_module_folder: Path):
    out, _ = known_answer_run
    frequency = read_frequency(two_group_module_folder / "frequency.csv")

    wrong = {}
    for user_id in sorted(frequency["user_id"].unique()):
        code, text, err = run_main(capsys, "recommend", out, user_id, "-k", "1", "--format", "csv")
        assert code == 0, err
        top = read_csv_text(text)["interest_id"].iloc[0]
        if top != held_out_interest(frequency, user_id):
            wrong[user_id] = top
    assert wrong == {}


# ------------------------------------------------------- history, recommend, predict, info


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_history_matches_input(capsys, id_bundle: Path, id_frequency: pd.DataFrame, fmt: str):
    for user_id in ID_USERS:
        expected = engaged(id_frequency, user_id)

        code, out, err = run_main(capsys, "history", id_bundle, user_id, "-k", "100",
                                  "--format", fmt)

        assert code == 0, err
        rows = output_rows(fmt, out)
        interests = [row["interest_id"] for row in rows]
        frequencies = [float(row["frequency"]) for row in rows]
        assert all(isinstance(interest, str) for interest in interests)
        assert sorted(interests) == sorted(expected)
        assert frequencies == [expected[interest] for interest in interests]
        assert frequencies == sorted(frequencies, reverse=True)
        assert [int(row["rank"]) for row in rows] == list(range(1, len(rows) + 1))
        assert {row["part"] for row in rows} <= {"train", "validation"}


def test_history_k_keeps_highest(capsys, id_bundle: Path, id_frequency: pd.DataFrame):
    expected = sorted(engaged(id_frequency, "0042").values(), reverse=True)[:2]

    code, out, err = run_main(capsys, "history", id_bundle, "0042", "-k", "2", "--format", "json")

    assert code == 0, err
    assert [row["frequency"] for row in json.loads(out)] == expected


def test_history_table(capsys, id_bundle: Path, id_frequency: pd.DataFrame):
    code, out, err = run_main(capsys, "history", id_bundle, "0042", "-k", "100")

    assert code == 0, err
    assert out.startswith("User 0042: most frequented interests")
    for interest in engaged(id_frequency, "0042"):
        assert interest in out, interest


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_recommend_excludes_seen(capsys, id_bundle: Path, id_frequency: pd.DataFrame, fmt: str):
    for user_id in ID_USERS:
        seen = set(engaged(id_frequency, user_id))

        code, out, err = run_main(capsys, "recommend", id_bundle, user_id, "-k", "100",
                                  "--format", fmt)

        assert code == 0, err
        rows = output_rows(fmt, out)
        interests = [row["interest_id"] for row in rows]
        scores = [float(row["predicted_frequency"]) for row in rows]
        assert set(interests).isdisjoint(seen)
        assert sorted(interests) == sorted(set(ID_INTERESTS) - seen)
        assert scores == sorted(scores, reverse=True)
        for row in rows:
            assert row["name"] == f"Name of {row['interest_id']}, with a comma"


def test_recommend_include_seen(capsys, id_bundle: Path, id_frequency: pd.DataFrame):
    seen = set(engaged(id_frequency, "0042"))

    code, out, err = run_main(capsys, "recommend", id_bundle, "0042", "-k", "100",
                              "--include-seen", "--format", "json")

    assert code == 0, err
    interests = [row["interest_id"] for row in json.loads(out)]
    assert sorted(interests) == sorted(ID_INTERESTS)
    assert seen <= set(interests)


def test_recommend_k_limits_rows(capsys, id_bundle: Path):
    code, out, err = run_main(capsys, "recommend", id_bundle, "0042", "-k", "1",
                              "--include-seen", "--format", "csv")

    assert code == 0, err
    assert len(read_csv_text(out)) == 1


def test_recommend_table(capsys, id_bundle: Path):
    code, out, err = run_main(capsys, "recommend", id_bundle, "u-ß", "-k", "100", "--format", "json")
    assert code == 0, err
    expected = [row["interest_id"] for row in json.loads(out)]

    code, out, err = run_main(capsys, "recommend", id_bundle, "u-ß", "-k", "100")

    assert code == 0, err
    assert out.startswith("User u-ß: recommended interests not engaged with yet")
    for interest in expected:
        assert interest in out, interest


def test_predict_table(capsys, id_bundle: Path):
    code, out, err = run_main(capsys, "predict", id_bundle, "0042", "café")

    assert code == 0, err
    value = float(out.strip())
    assert math.isfinite(value)
    assert value >= 0


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_predict_formats(capsys, id_bundle: Path, fmt: str):
    code, out, err = run_main(capsys, "predict", id_bundle, "0042", "日本語", "--format", fmt)

    assert code == 0, err
    rows = output_rows(fmt, out)
    assert len(rows) == 1
    assert rows[0]["user_id"] == "0042"
    assert rows[0]["interest_id"] == "日本語"
    value = float(rows[0]["predicted_frequency"])
    assert math.isfinite(value)
    assert value >= 0


def test_predict_matches_history(capsys, id_bundle: Path):
    code, out, err = run_main(capsys, "history", id_bundle, "0042", "-k", "100", "--format", "json")
    assert code == 0, err

    for row in json.loads(out):
        code, text, err = run_main(capsys, "predict", id_bundle, "0042", row["interest_id"],
                                   "--format", "json")
        assert code == 0, err
        predicted = json.loads(text)[0]["predicted_frequency"]
        assert predicted == pytest.approx(row["predicted_frequency"], rel=1e-6)


def test_info_json(capsys, id_bundle: Path, id_frequency: pd.DataFrame):
    code, out, err = run_main(capsys, "info", id_bundle, "--format", "json")

    assert code == 0, err
    info = json.loads(out)
    assert info["model"]["dim"] == 8
    assert info["model"]["use_bias"] is False
    assert info["training"]["epochs"] == 5
    assert info["users"] == len(ID_USERS)
    assert info["interests"] == len(ID_INTERESTS)
    assert info["engaged_rows"] == len(id_frequency)
    assert info["metrics"]["train_rows"] + info["metrics"]["validation_rows"] == len(id_frequency)
    assert info["adrec_version"] == __version__


def test_info_csv(capsys, id_bundle: Path):
    code, out, err = run_main(capsys, "info", id_bundle, "--format", "csv")

    assert code == 0, err
    frame = read_csv_text(out)
    assert list(frame.columns) == ["key", "value"]
    values = dict(frame.itertuples(index=False, name=None))
    assert values["model.dim"] == "8"
    assert values["interests"] == str(len(ID_INTERESTS))
    assert math.isfinite(float(values["metrics.validation_rmse"]))


def test_info_table(capsys, id_bundle: Path):
    code, out, err = run_main(capsys, "info", id_bundle)

    assert code == 0, err
    for text in ("model:", "dim: 8", "metrics:", "validation_rmse:", "bundle_hash:",
                 "Validation RMSE (lower is better"):
        assert text in out, text


def test_ids_round_trip_end_to_end(id_bundle: Path, id_frequency: pd.DataFrame):
    work = id_bundle.parent

    ranked = run_adrec("recommend", id_bundle, "0042", "-k", "100", "--include-seen",
                       "--format", "json", cwd=work)
    history = run_adrec("history", id_bundle, "0042", "-k", "100", "--format", "csv", cwd=work)
    predicted = run_adrec("predict", id_bundle, "u-ß", "🎯target", "--format", "json", cwd=work)
    info = run_adrec("info", id_bundle, "--format", "json", cwd=work)

    for process in (ranked, history, predicted, info):
        assert process.returncode == 0, process.stderr
    assert sorted(row["interest_id"] for row in json.loads(ranked.stdout)) == sorted(ID_INTERESTS)
    assert sorted(read_csv_text(history.stdout)["interest_id"]) == sorted(engaged(id_frequency,
                                                                                  "0042"))
    prediction = json.loads(predicted.stdout)[0]
    assert (prediction["user_id"], prediction["interest_id"]) == ("u-ß", "🎯target")
    assert json.loads(info.stdout)["users"] == len(ID_USERS)


def test_similar_ids_stay_distinct(capsys, id_bundle: Path, id_frequency: pd.DataFrame):
    for user_id in ("0042", "42", "1e3"):
        code, out, err = run_main(capsys, "history", id_bundle, user_id, "-k", "100",
                                  "--format", "json")
        assert code == 0, err
        history = {row["interest_id"]: row["frequency"] for row in json.loads(out)}
        assert history == engaged(id_frequency, user_id), user_id

    for user_id in ("00042", "1000", "7"):
        code, _, err = run_main(capsys, "history", id_bundle, user_id)
        assert code == 3, user_id


# ------------------------------------------------------------------------ bad data


BAD_TABLES = {
    "negative": ("user_id,interest_id,frequency\nu1,i1,3\nu2,i2,-1\n",
                 ("column 'frequency'", "line 3", "'-1'", "negative")),
    "not_a_number": ("user_id,interest_id,frequency\nu1,i1,3\nu2,i2,abc\n",
                     ("column 'frequency'", "line 3", "'abc'", "not a number")),
    "missing_column": ("user_id,frequency\nu1,3\n", ("interest ID column", "--interest-col")),
    "empty_file": ("", ("empty",)),
    "header_only": ("user_id,interest_id,frequency\n", ("no data rows",)),
}


@pytest.mark.parametrize("case", sorted(BAD_TABLES))
def test_bad_data_rejected(capsys, tmp_path: Path, case: str):
    content, fragments = BAD_TABLES[case]
    data = tmp_path / f"{case}.csv"
    data.write_text(content, encoding="utf-8")
    out = tmp_path / "model"

    code, stdout, err = run_main(capsys, "train", data, "--out", out, *FAST_OPTIONS)

    assert code == 2
    line = assert_one_line_error(err)
    assert f"{case}.csv" in line
    for fragment in fragments:
        assert fragment in line, fragment
    assert stdout == ""
    assert not out.exists()
    assert leftovers(tmp_path) == []


def test_bad_data_exit_code_end_to_end(tmp_path: Path):
    content, _ = BAD_TABLES["negative"]
    (tmp_path / "frequency.csv").write_text(content, encoding="utf-8")

    process = run_adrec("train", "frequency.csv", "--out", "model", *FAST_OPTIONS, cwd=tmp_path)

    assert process.returncode == 2
    line = assert_one_line_error(process.stderr)
    assert "frequency.csv" in line
    assert "'-1'" in line
    assert not (tmp_path / "model").exists()


def test_failed_train_keeps_existing_bundle(capsys, id_folder: Path, tmp_path: Path):
    out = tmp_path / "model"
    code, _, err = run_main(capsys, "train", id_folder, "--out", out, *FAST_OPTIONS)
    assert code == 0, err
    before = file_digests(out)
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_TABLES["negative"][0], encoding="utf-8")

    code, _, err = run_main(capsys, "train", bad, "--out", out, *FAST_OPTIONS)

    assert code == 2
    assert_one_line_error(err)
    assert file_digests(out) == before
    assert leftovers(tmp_path) == []


def test_out_data_folder_rejected(capsys, two_group_folder: Path):
    before = file_digests(two_group_folder)

    code, _, err = run_main(capsys, "train", two_group_folder, "--out", two_group_folder,
                            *FAST_OPTIONS)

    assert code == 2
    line = assert_one_line_error(err)
    assert "not a model bundle" in line
    assert file_digests(two_group_folder) == before


def test_out_file_rejected(capsys, two_group_folder: Path):
    target = two_group_folder / "frequency.csv"
    before = target.read_bytes()

    code, _, err = run_main(capsys, "train", two_group_folder, "--out", target, *FAST_OPTIONS)

    assert code == 2
    assert "is a file" in assert_one_line_error(err)
    assert target.read_bytes() == before


def test_out_empty_folder_accepted(capsys, id_folder: Path, tmp_path: Path):
    out = tmp_path / "model"
    out.mkdir()

    code, _, err = run_main(capsys, "train", id_folder, "--out", out, *FAST_OPTIONS)

    assert code == 0, err
    assert (out / "manifest.json").is_file()


def test_out_existing_bundle_replaced(capsys, id_folder: Path, tmp_path: Path):
    out = tmp_path / "model"
    code, _, err = run_main(capsys, "train", id_folder, "--out", out, *FAST_OPTIONS, "--seed", "1")
    assert code == 0, err
    before = file_digests(out)

    code, _, err = run_main(capsys, "train", id_folder, "--out", out, *FAST_OPTIONS, "--seed", "2")

    assert code == 0, err
    assert file_digests(out)["weights.safetensors"] != before["weights.safetensors"]
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------- unknown IDs, bundles


@pytest.mark.parametrize("command", ["history", "recommend", "predict"])
def test_unknown_user(capsys, id_bundle: Path, command: str):
    extra = ("café",) if command == "predict" else ()

    code, out, err = run_main(capsys, command, id_bundle, "nobody-9", *extra)

    assert code == 3
    line = assert_one_line_error(err)
    assert "unknown user ID 'nobody-9'" in line
    assert out == ""


def test_unknown_interest(capsys, id_bundle: Path):
    code, out, err = run_main(capsys, "predict", id_bundle, "0042", "cafe")

    assert code == 3
    assert "unknown interest ID 'cafe'" in assert_one_line_error(err)
    assert out == ""


def test_unknown_user_end_to_end(id_bundle: Path):
    process = run_adrec("recommend", id_bundle, "0043", cwd=id_bundle.parent)

    assert process.returncode == 3
    assert "'0043'" in assert_one_line_error(process.stderr)
    assert process.stdout == ""


@pytest.mark.parametrize("command", ["history", "recommend", "predict", "info"])
def test_missing_model_path(capsys, tmp_path: Path, command: str):
    missing = tmp_path / "no-such-model"
    extra = {"history": ("0042",), "recommend": ("0042",), "predict": ("0042", "café"),
             "info": ()}[command]

    code, _, err = run_main(capsys, command, missing, *extra)

    assert code == 2
    line = assert_one_line_error(err)
    assert str(missing) in line
    assert "no model bundle" in line


def truncate_weights(bundle: Path) -> None:
    path = bundle / "weights.safetensors"
    path.write_bytes(path.read_bytes()[:100])


def flip_interaction_bytes(bundle: Path) -> None:
    path = bundle / "interactions.parquet"
    content = bytearray(path.read_bytes())
    middle = len(content) // 2
    for position in range(middle, middle + 8):
        content[position] ^= 0xFF
    path.write_bytes(bytes(content))


def write_garbage_manifest(bundle: Path) -> None:
    (bundle / "manifest.json").write_text("{not json", encoding="utf-8")


def write_future_manifest(bundle: Path) -> None:
    path = bundle / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["format_version"] = 999
    path.write_text(json.dumps(manifest), encoding="utf-8")


def remove_users_table(bundle: Path) -> None:
    (bundle / "users.parquet").unlink()


DAMAGES = {
    "truncated_weights": (truncate_weights, ("weights.safetensors", "truncated")),
    "flipped_interactions": (flip_interaction_bytes, ("interactions.parquet", "checksum mismatch")),
    "garbage_manifest": (write_garbage_manifest, ("manifest.json", "corrupted manifest")),
    "future_format": (write_future_manifest, ("format version 999", "not supported")),
    "missing_users": (remove_users_table, ("users.parquet", "missing")),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
@pytest.mark.parametrize("command", ["recommend", "info"])
def test_damaged_bundle(capsys, bundle_copy: Path, damage: str, command: str):
    damage_function, fragments = DAMAGES[damage]
    damage_function(bundle_copy)
    extra = ("0042",) if command == "recommend" else ()

    code, out, err = run_main(capsys, command, bundle_copy, *extra)

    assert code == 2
    line = assert_one_line_error(err)
    for fragment in fragments:
        assert fragment in line, fragment
    assert out == ""


def test_damaged_bundle_end_to_end(bundle_copy: Path):
    truncate_weights(bundle_copy)

    process = run_adrec("info", bundle_copy, cwd=bundle_copy.parent)

    assert process.returncode == 2
    assert "truncated" in assert_one_line_error(process.stderr)


@pytest.mark.parametrize("files", [5, {"weights.safetensors": {}}])
def test_malformed_manifest_files(capsys, bundle_copy: Path, files):
    path = bundle_copy / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["files"] = files
    path.write_text(json.dumps(manifest), encoding="utf-8")

    code, _, err = run_main(capsys, "info", bundle_copy)

    assert code == 2
    assert_one_line_error(err)


def test_manifest_dim_mismatch(capsys, bundle_copy: Path):
    path = bundle_copy / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["model"]["dim"] = 3
    path.write_text(json.dumps(manifest), encoding="utf-8")

    code, _, err = run_main(capsys, "info", bundle_copy)

    assert code == 2
    assert_one_line_error(err)


# --------------------------------------------------------------------- invalid options


@pytest.mark.parametrize("option, fragment", [
    (("--dim", "0"), "embedding dimension"),
    (("--validation-fraction", "1.5"), "validation fraction"),
    (("--epochs", "0"), "epochs"),
    (("--batch-size", "0"), "batch size"),
    (("--lr", "0"), "learning rate"),
    (("--l2", "-1"), "l2"),
    (("--patience", "-1"), "patience"),
])
def test_invalid_setting(capsys, id_folder: Path, tmp_path: Path, option: tuple[str, str],
                         fragment: str):
    out = tmp_path / "model"

    code, _, err = run_main(capsys, "train", id_folder, "--out", out, *option)

    assert code == 2
    line = assert_one_line_error(err)
    assert fragment in line
    assert option[1] in line
    assert not out.exists()


def test_invalid_device(capsys, id_folder: Path, tmp_path: Path):
    code, _, err = run_main(capsys, "train", id_folder, "--out", tmp_path / "model",
                            "--device", "nonsense")

    assert code == 2
    assert "nonsense" in assert_one_line_error(err)


def test_nan_l2(capsys, id_folder: Path, tmp_path: Path):
    code, _, _ = run_main(capsys, "train", id_folder, "--out", tmp_path / "model", "--l2", "nan")

    assert code == 2


USAGE_ERRORS = {
    "no_command": [],
    "unknown_command": ["frobnicate"],
    "train_without_out": ["train", "{data}"],
    "dim_not_integer": ["train", "{data}", "--out", "{out}", "--dim", "abc"],
    "unknown_format": ["info", "{model}", "--format", "xml"],
    "k_zero": ["recommend", "{model}", "0042", "-k", "0"],
    "k_negative": ["history", "{model}", "0042", "-k", "-3"],
    "predict_without_interest": ["predict", "{model}", "0042"],
}


@pytest.mark.parametrize("case", sorted(USAGE_ERRORS))
def test_usage_error(capsys, id_folder: Path, id_bundle: Path, tmp_path: Path, case: str):
    places = {"data": id_folder, "out": tmp_path / "model", "model": id_bundle}
    argv = [argument.format(**places) for argument in USAGE_ERRORS[case]]

    code, out, err = run_main(capsys, *argv)

    assert code == 2
    assert "usage: adrec" in err
    assert out == ""
    assert not (tmp_path / "model").exists()


def test_invalid_setting_end_to_end(id_folder: Path, tmp_path: Path):
    process = run_adrec("train", id_folder, "--out", "model", "--epochs", "0", cwd=tmp_path)

    assert process.returncode == 2
    assert "epochs" in assert_one_line_error(process.stderr)


def test_usage_error_end_to_end(tmp_path: Path):
    process = run_adrec(cwd=tmp_path)

    assert process.returncode == 2
    assert "usage: adrec" in process.stderr


# ------------------------------------------------------------------- training options


def train_info(capsys, data: Path, out: Path, *options: str) -> dict:
    """Train in-process with ``--format json`` and return the printed model info."""
    code, text, err = run_main(capsys, "train", data, "--out", out, "--format", "json", *options)
    assert code == 0, err
    return json.loads(text)


def test_reference_design(capsys, id_folder: Path, tmp_path: Path):
    info = train_info(capsys, id_folder, tmp_path / "model", "--reference")

    assert info["model"]["dim"] == 100
    assert info["model"]["use_bias"] is False
    assert info["training"]["optimizer"] == "adamax"
    assert info["training"]["epochs"] == 30
    assert info["training"]["patience"] == 0

    code, out, err = run_main(capsys, "info", tmp_path / "model", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["model"] == info["model"]


def test_reference_design_with_override(capsys, id_folder: Path, tmp_path: Path):
    info = train_info(capsys, id_folder, tmp_path / "model", "--reference", "--dim", "16",
                      "--epochs", "2")

    assert info["model"]["dim"] == 16
    assert info["model"]["use_bias"] is False
    assert info["training"]["epochs"] == 2
    assert info["metrics"]["epochs_run"] == 2


def test_target_transform_recorded(capsys, id_folder: Path, tmp_path: Path):
    train_info(capsys, id_folder, tmp_path / "model", *FAST_OPTIONS, "--target-transform", "log1p")

    code, out, err = run_main(capsys, "info", tmp_path / "model", "--format", "json")

    assert code == 0, err
    info = json.loads(out)
    assert info["training"]["target_transform"] == "log1p"
    assert info["target_transform"]["name"] == "log1p"
    assert info["metrics"]["target_transform"] == "log1p"
    assert math.isfinite(info["metrics"]["validation_rmse_target"])


def test_init_from_bundle(capsys, id_folder: Path, tmp_path: Path):
    train_info(capsys, id_folder, tmp_path / "first", *FAST_OPTIONS)

    code, _, err = run_main(capsys, "-v", "train", id_folder, "--out", tmp_path / "second",
                            *FAST_OPTIONS, "--init-from", tmp_path / "first", "--format", "json")

    assert code == 0, err
    assert f"initialized {len(ID_USERS)} of {len(ID_USERS)} user embeddings" in err
    assert f"initialized {len(ID_INTERESTS)} of {len(ID_INTERESTS)} interest embeddings" in err
    assert (tmp_path / "second" / "manifest.json").is_file()


def test_init_from_other_dimension(capsys, id_folder: Path, tmp_path: Path):
    train_info(capsys, id_folder, tmp_path / "first", *FAST_OPTIONS)

    code, _, err = run_main(capsys, "train", id_folder, "--out", tmp_path / "second",
                            "--epochs", "1", "--dim", "4", "--init-from", tmp_path / "first")

    assert code == 2
    assert "dim=8" in assert_one_line_error(err)
    assert not (tmp_path / "second").exists()


def test_init_from_missing_bundle(capsys, id_folder: Path, tmp_path: Path):
    code, _, err = run_main(capsys, "train", id_folder, "--out", tmp_path / "model",
                            *FAST_OPTIONS, "--init-from", tmp_path / "absent")

    assert code == 2
    assert "absent" in assert_one_line_error(err)
    assert not (tmp_path / "model").exists()


DUPLICATED_ROWS = ("user_id,interest_id,frequency\n"
                   "u1,i1,2\nu1,i2,1\nu2,i1,3\nu2,i2,5\nu1,i1,4\nu3,i1,1\nu3,i2,2\n")


def test_duplicates_error(capsys, tmp_path: Path):
    data = tmp_path / "frequency.csv"
    data.write_text(DUPLICATED_ROWS, encoding="utf-8")

    code, _, err = run_main(capsys, "train", data, "--out", tmp_path / "model", *FAST_OPTIONS,
                            "--duplicates", "error")

    assert code == 2
    line = assert_one_line_error(err)
    assert "('u1', 'i1')" in line
    assert "--duplicates" in line
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize("policy, expected", [("mean", 3.0), ("sum", 6.0), ("last", 4.0)])
def test_duplicates_combined(capsys, tmp_path: Path, policy: str, expected: float):
    data = tmp_path / "frequency.csv"
    data.write_text(DUPLICATED_ROWS, encoding="utf-8")
    out = tmp_path / "model"
    train_info(capsys, data, out, *FAST_OPTIONS, "--duplicates", policy)

    code, text, err = run_main(capsys, "history", out, "u1", "--format", "json")

    assert code == 0, err
    history = {row["interest_id"]: row["frequency"] for row in json.loads(text)}
    assert history == {"i1": expected, "i2": 1.0}


def test_explicit_checkpoint_kept(capsys, id_folder: Path, tmp_path: Path):
    checkpoint = tmp_path / "best.safetensors"

    train_info(capsys, id_folder, tmp_path / "model", *FAST_OPTIONS, "--checkpoint", checkpoint)

    assert checkpoint.is_file()
    assert not (tmp_path / "model.checkpoint.safetensors").exists()


def test_verbose_logs_epochs(capsys, id_folder: Path, tmp_path: Path):
    code, _, err = run_main(capsys, "-v", "train", id_folder, "--out", tmp_path / "model",
                            *FAST_OPTIONS, "--format", "json")

    assert code == 0, err
    for epoch in range(1, 6):
        assert f"epoch={epoch} " in err


def test_quiet_hides_warnings(capsys, tmp_path: Path):
    # u3 and i3 each have a single row, which loading reports as a warning.
    data = tmp_path / "frequency.csv"
    data.write_text("user_id,interest_id,frequency\nu1,i1,2\nu1,i2,1\nu2,i1,3\nu2,i2,5\nu3,i3,1\n",
                    encoding="utf-8")

    code, _, loud = run_main(capsys, "train", data, "--out", tmp_path / "loud", *FAST_OPTIONS,
                             "--format", "json")
    assert code == 0, loud
    code, _, quiet = run_main(capsys, "-q", "train", data, "--out", tmp_path / "quiet",
                              *FAST_OPTIONS, "--format", "json")

    assert code == 0, quiet
    assert "single row" in loud
    assert quiet == ""


# ------------------------------------------------------------------------------- demo


def test_demo_unknown_user_fails_before_training(capsys, tmp_path: Path):
    code, out, err = run_main(capsys, "demo", "--user", "nobody", "--out", tmp_path / "demo")

    assert code == 3
    assert "'nobody'" in assert_one_line_error(err)
    assert out == ""
    assert not (tmp_path / "demo").exists()


def table_column(output: str, title: str, column: int) -> list[str]:
    """Return one column of the table printed under ``title``, up to the next blank line."""
    lines = output.split(title, 1)[1].splitlines()[2:]
    values = []
    for line in lines:
        if not line.strip():
            break
        values.append(line.split()[column])
    return values


@pytest.mark.slow
def test_demo_end_to_end(tmp_path: Path):
    from adrec.data import sample_data_path

    out = tmp_path / "demo-models"
    process = run_adrec("demo", "--out", out, cwd=tmp_path, timeout=900)

    assert process.returncode == 0, process.stderr
    for text in ("Validation RMSE (lower is better", "log1p(frequency)",
                 "1. Frequency model", "2. Ranking model",
                 "User 6: most frequented interests, actual and predicted",
                 "User 6: recommended interests not engaged with yet",
                 f"Saved the model bundles to {out / 'frequency'}", "Demo finished"):
        assert text in process.stdout, text

    sample = read_frequency(sample_data_path() / "frequency.csv")
    seen = engaged(sample, "6")
    shown_history = table_column(process.stdout, "User 6: most frequented", 1)
    shown_recommendations = table_column(process.stdout, "User 6: recommended", 1)
    assert len(shown_history) == 10
    assert set(shown_history) <= set(seen)
    assert len(shown_recommendations) == 10
    assert set(shown_recommendations).isdisjoint(seen)

    recommended = run_adrec("recommend", out / "ranking", "6", "-k", "10", "--format", "json",
                            cwd=tmp_path)
    assert recommended.returncode == 0, recommended.stderr
    assert [row["interest_id"] for row in json.loads(recommended.stdout)] == shown_recommendations
    info = run_adrec("info", out / "frequency", "--format", "json", cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["target_transform"]["name"] == "log1p"
    ranking_info = run_adrec("info", out / "ranking", "--format", "json", cwd=tmp_path)
    assert json.loads(ranking_info.stdout)["training"]["objective"] == "ials"
