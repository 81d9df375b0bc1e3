"""The ``adrec`` command: argument parsing, logging set-up, error handling and exit codes.

Exit codes: 0 success, 1 unexpected failure (including file system errors), 2
invalid input (data, options or model bundle), 3 unknown user or interest ID, 130
interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys

from adrec._version import __version__
from adrec.cli import commands, tuning
from adrec.cli.output import FORMATS
from adrec.data.split import SPLIT_METHODS
from adrec.data.validation import DEFAULT_DUPLICATE_POLICY, DUPLICATE_POLICIES
from adrec.errors import AdrecError, UnknownIDError
from adrec.export import EXPORT_KINDS
from adrec.models import MODEL_KINDS, ModelConfig
from adrec.models.config import ACTIVATION_NAMES
from adrec.training import BACKENDS, OBJECTIVES, OPTIMIZERS, TARGET_TRANSFORMS, TrainConfig
from adrec.training.config import (
    DEFAULT_L2,
    DEFAULT_L2_IALS,
    DEFAULT_L2_IALS_TORCH,
    DEFAULT_LEARNING_RATE_FAST,
    DEFAULT_LEARNING_RATE_TORCH,
)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INVALID_INPUT = 2
EXIT_UNKNOWN_ID = 3
EXIT_INTERRUPTED = 130

EPILOG = """exit codes: 0 success, 1 unexpected failure (including file system errors), 2
invalid input (data, options or model bundle), 3 unknown user or interest ID, 130
interrupted.

examples:
  adrec demo
  adrec train data/ --out models/ads
  adrec recommend models/ads 6 -k 20
  adrec history models/ads 6 --format csv
  adrec split data/ splits/ --method leave-n-out --test-fraction 0.2
  adrec evaluate models/ads splits/test --json report.json
  adrec tune data/ --dims 8,16,32,64,128 --out-dir tuning/
"""


def positive_int(text: str) -> int:
    """Parse an option value that must be an integer >= 1, or raise argparse's usage error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def open_fraction(text: str) -> float:
    """Parse an option value that must be a number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), got {text}")
    return value


def _int_list(text: str) -> list[int]:
    """Parse a comma-separated list of integers >= 1."""
    values = [positive_int(part.strip()) for part in text.split(",") if part.strip()]
    if not values:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    return values


def _add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="table",
                        help="output format: an aligned table for people, csv or json for "
                             "scripts (default: table)")


def _port(text: str) -> int:
    """Parse a TCP port number."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 1 to 65535, got {text!r}")
    return port


def _name_list(text: str) -> list[str]:
    """Parse comma-separated column names; an empty text is an empty list."""
    return [name.strip() for name in text.split(",") if name.strip()]


def _attribute(text: str) -> tuple[str, str]:
    """Parse ``NAME=VALUE``."""
    name, separator, value = text.partition("=")
    if not separator or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, such as region=north, got {text!r}")
    return name, value


def _add_user_query(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of a per-user query: the bundle, the user ID, ``-k`` and ``--format``."""
    parser.add_argument("model", metavar="MODEL", help="model bundle folder")
    parser.add_argument("user", metavar="USER", help="user ID, exactly as in the data")
    parser.add_argument("-k", type=positive_int, default=20, help="number of interests (default: 20)")
    _add_format(parser)


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument("--users", metavar="FILE", help="users table (overrides the folder's)")
    group.add_argument("--interests", metavar="FILE",
                       help="interests table (overrides the folder's)")
    group.add_argument("--user-col", metavar="NAME", help="user ID column of the frequency table")
    group.add_argument("--interest-col", metavar="NAME",
                       help="interest ID column of the frequency table")
    group.add_argument("--frequency-col", metavar="NAME", help="frequency column")
    group.add_argument("--timestamp-col", metavar="NAME", help="timestamp column (optional)")
    group.add_argument("--events", action="store_true",
                       help="the table is an event log: count each row as one engagement")
    group.add_argument("--duplicates", choices=DUPLICATE_POLICIES, default=DEFAULT_DUPLICATE_POLICY,
                       help="how to combine repeated (user, interest) rows "
                            f"(default: {DEFAULT_DUPLICATE_POLICY})")
    group.add_argument("--encoding", default="utf-8-sig",
                       help="text encoding of CSV/TSV files (default: UTF-8, with or without BOM)")


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    """Add the model and training options, whose help shows the library's defaults."""
    model_defaults, train_defaults = ModelConfig(), TrainConfig()

    group = parser.add_argument_group("model and training")
    group.add_argument("--objective", choices=OBJECTIVES,
                       help="mse fits the frequencies of engaged pairs and predicts frequencies; "
                            "ials (implicit-feedback ALS) also learns from the interests a user "
                            "did not engage with and outputs ranking scores, the better choice "
                            f"for recommending new interests (default: {train_defaults.objective})")
    group.add_argument("--reference", action="store_true",
                       help="use the reference design: dimension 100, plain dot product without "
                            "biases, MSE, Adamax, 30 epochs; other options given here still apply")
    group.add_argument("--dim", type=int, help=f"embedding dimension (default: {model_defaults.dim})")
    group.add_argument("--no-bias", action="store_true",
                       help="leave out the user and interest biases and the global mean")
    group.add_argument("--model", choices=MODEL_KINDS, dest="model_kind",
                       help="mf: dot product of user and interest embeddings; hybrid: adds "
                            "embeddings of the users' and interests' attributes, so new users "
                            "and interests can be scored from attributes; deep: dense layers over "
                            f"the embeddings (default: {model_defaults.kind})")
    group.add_argument("--layers", type=_int_list,
                       help="deep: sizes of the hidden layers, comma-separated (default: "
                            f"{','.join(map(str, model_defaults.layers))})")
    group.add_argument("--activation", choices=ACTIVATION_NAMES,
                       help=f"deep: activation of the hidden layers (default: "
                            f"{model_defaults.activation})")
    group.add_argument("--dropout", type=float,
                       help=f"deep: dropout after each hidden layer (default: {model_defaults.dropout})")
    group.add_argument("--no-product", action="store_true",
                       help="deep: feed the two vectors to the layers without their element-wise "
                            "product")
    group.add_argument("--attributes", action=argparse.BooleanOptionalAction, default=None,
                       help="embed the users' and interests' attribute columns (default: on for "
                            "hybrid, off for deep)")
    group.add_argument("--user-columns", type=_name_list, metavar="A,B",
                       help="hybrid: users table columns to embed; an empty value embeds none "
                            "(default: chosen automatically, see the README)")
    group.add_argument("--interest-columns", type=_name_list, metavar="A,B",
                       help="hybrid: interests table columns to embed (default: chosen "
                            "automatically)")
    group.add_argument("--max-attribute-values", type=int,
                       help="hybrid: text columns with more distinct values are not chosen "
                            f"automatically (default: {model_defaults.max_attribute_values})")
    group.add_argument("--user-id-dropout", type=float,
                       help="hybrid: chance of dropping a user's own embedding in a training row, "
                            "so attributes learn to score new users alone (default: "
                            f"{model_defaults.user_id_dropout})")
    group.add_argument("--interest-id-dropout", type=float,
                       help="hybrid: the same for interests; it costs some accuracy for new "
                            f"users (default: {model_defaults.interest_id_dropout})")

    group.add_argument("--backend", choices=BACKENDS,
                       help="mse training: fast is compiled lock-free SGD on the CPU, one step "
                            "per row; torch is the PyTorch mini-batch loop, for any optimizer and "
                            "for CUDA (default: fast on the CPU, torch with --device cuda or "
                            "--optimizer)")
    group.add_argument("--threads", type=int,
                       help="threads of the fast backend (default: 1 below a million rows, "
                            "which makes runs reproducible, else every core)")
    group.add_argument("--epochs", type=int,
                       help=f"maximum number of epochs (default: {train_defaults.epochs})")
    group.add_argument("--batch-size", type=int,
                       help=f"torch backend: rows per optimizer step "
                            f"(default: {train_defaults.batch_size})")
    group.add_argument("--optimizer", choices=OPTIMIZERS,
                       help="torch backend: the optimizer (default: adamax); giving one selects "
                            "the torch backend")
    group.add_argument("--learning-rate", "--lr", type=float, dest="learning_rate",
                       help=f"learning rate (default for the fast backend: "
                            f"{DEFAULT_LEARNING_RATE_FAST['none']} for raw frequencies, "
                            f"{DEFAULT_LEARNING_RATE_FAST['log1p']} with --target-transform log1p; "
                            f"{DEFAULT_LEARNING_RATE_TORCH} for torch with adamax)")
    group.add_argument("--l2", type=float,
                       help="L2 penalty weight on the embeddings and biases of each batch "
                            f"(default: {DEFAULT_L2['none']} for raw frequencies, "
                            f"{DEFAULT_L2['log1p']} with --target-transform log1p; "
                            f"{DEFAULT_L2_IALS} for ials with mf, scaled per row by its number of "
                            f"pairs; {DEFAULT_L2_IALS_TORCH} for ials with hybrid and deep)")
    group.add_argument("--confidence-weight", type=float,
                       help="ials: an engaged pair's confidence is 1 + this x target "
                            f"(default: {train_defaults.confidence_weight})")
    group.add_argument("--unobserved-weight", type=float,
                       help="ials: weight of the pairs without a row "
                            f"(default: {train_defaults.unobserved_weight})")
    group.add_argument("--validation-fraction", type=float,
                       help="share of rows held out for validation, in [0, 1) "
                            f"(default: {train_defaults.validation_fraction})")
    group.add_argument("--patience", type=int,
                       help="stop after this many epochs without a better validation loss; "
                            f"0 turns early stopping off (default: {train_defaults.patience})")
    group.add_argument("--target-transform", choices=TARGET_TRANSFORMS,
                       help="train on frequencies as they are (none) or on log(1 + frequency) "
                            f"for heavy-tailed counts (default: {train_defaults.target_transform})")
    group.add_argument("--refit", action=argparse.BooleanOptionalAction, default=None,
                       help="after early stopping, retrain on every row for the best epoch count; "
                            "the reported validation figures stay those of the validated run "
                            "(default: on, off with --reference)")
    group.add_argument("--seed", type=int,
                       help=f"seed of the split, initialization and shuffling "
                            f"(default: {train_defaults.seed})")

    group.add_argument("--device", help="torch device, for example cpu or cuda (default: cpu)")
    group.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="show a progress bar (default: when stderr is a terminal)")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``adrec`` command and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="adrec",
        description="Learn user and interest embeddings from frequency logs; recommend "
                    "interests, show histories and predict frequencies.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"adrec {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log more: -v for per-epoch lines, -vv for debugging")
    parser.add_argument("-q", "--quiet", action="store_true", help="log errors only")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")
    subcommands.required = True

    demo = subcommands.add_parser(
        "demo", help="train on the embedded sample data and show a user's history and "
                     "recommendations",
        description="Run the whole workflow on the synthetic ads dataset shipped with adrec: "
                    "load and validate it, train a frequency model (MSE) and a ranking model "
                    "(implicit-feedback ALS) with early stopping, compare each with its "
                    "baselines, then show a user's history with predicted frequencies and the "
                    "ranking model's recommendations.")
    demo.add_argument("--user", default="6", help="user ID to show (default: 6)")
    demo.add_argument("-k", type=positive_int, default=10,
                      help="rows of history and recommendations (default: 10)")
    demo.add_argument("--out", metavar="DIR",
                      help="also save the two model bundles to DIR/frequency and DIR/ranking")
    demo.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                      help="show a progress bar (default: when stderr is a terminal)")
    demo.set_defaults(handler=commands.run_demo)

    train = subcommands.add_parser(
        "train", help="train a model on a folder or file and save the bundle",
        description="Train a model on frequency data and save it as a model bundle folder. "
                    "DATA is a folder with frequency/users/interests tables (CSV, TSV or "
                    "Parquet), a single frequency table, or a MovieLens 100K or Last.fm 2K "
                    "folder.")
    train.add_argument("data", metavar="DATA", help="dataset folder or frequency table file")
    train.add_argument("--out", required=True, metavar="DIR", help="model bundle folder to write")
    train.add_argument("--init-from", metavar="BUNDLE",
                       help="start from this bundle's embeddings, matched by ID")
    train.add_argument("--checkpoint", metavar="FILE",
                       help="where the best weights so far are written during training "
                            "(default: OUT.checkpoint.safetensors, removed once the bundle is "
                            "saved)")
    _add_data_options(train)
    _add_training_options(train)
    _add_format(train)
    train.set_defaults(handler=commands.run_train)

    history = subcommands.add_parser(
        "history", help="a user's most frequented interests: actual and predicted frequency",
        description="List a user's most frequented interests with the actual frequency, the "
                    "model's prediction and whether the row was in the validation part.")
    _add_user_query(history)
    history.set_defaults(handler=commands.run_history)

    recommend = subcommands.add_parser(
        "recommend", help="the best interests a user has not engaged with yet",
        description="Recommend the interests a user has not engaged with, best first, with "
                    "their names and categories.")
    _add_user_query(recommend)
    recommend.add_argument("--include-seen", action="store_true",
                           help="also rank interests the user already engaged with")
    recommend.add_argument("--fallback", action="store_true",
                           help="for a user the model does not know, return a fallback instead of failing: "
                                "a hybrid model scores the user from --attribute values; other "
                                "models list the interests engaged by the most users (within the "
                                "segment of --attribute); the answer is flagged as a fallback")
    recommend.add_argument("--attribute", action="append", type=_attribute, default=[],
                           metavar="NAME=VALUE",
                           help="with --fallback: a users-table attribute of the unknown user, "
                                "such as region=north; repeat for several")
    recommend.set_defaults(handler=commands.run_recommend)

    audience = subcommands.add_parser(
        "audience", help="the users most likely to engage with an interest (lookalikes)",
        description="Rank the users most likely to engage with an interest they have not "
                    "engaged with yet, best first, with their attributes: an audience for ad "
                    "targeting.")
    audience.add_argument("model", metavar="MODEL", help="model bundle folder")
    audience.add_argument("interest", metavar="INTEREST", help="interest ID, exactly as in the data")
    audience.add_argument("-k", type=positive_int, default=1000,
                          help="number of users (default: 1000)")
    audience.add_argument("--include-engaged", action="store_true",
                          help="also rank users who already engaged with the interest")
    audience.add_argument("--attribute", action="append", type=_attribute, default=[],
                          metavar="NAME=VALUE",
                          help="INTEREST is new to the model: rank users from its interests-table "
                               "attributes, such as category=Sports (hybrid models); repeat for "
                               "several")
    _add_format(audience)
    audience.set_defaults(handler=commands.run_audience)

    similar = subcommands.add_parser(
        "similar", help="the interests (or users) nearest to one in embedding space",
        description="List the interests nearest to an interest, or with --users the users "
                    "nearest to a user, by cosine similarity of their embeddings.")
    similar.add_argument("model", metavar="MODEL", help="model bundle folder")
    similar.add_argument("id", metavar="ID", help="interest ID, or user ID with --users")
    similar.add_argument("-k", type=positive_int, default=20, help="number of neighbours (default: 20)")
    similar.add_argument("--users", action="store_true", help="ID is a user: list similar users")
    _add_format(similar)
    similar.set_defaults(handler=commands.run_similar)

    serve = subcommands.add_parser(
        "serve", help="answer recommendations, predictions and audiences over HTTP",
        description="Serve a model bundle over HTTP (FastAPI run by uvicorn): recommendations, "
                    "history, predictions, audiences and similar interests and users, with the "
                    "OpenAPI schema at /openapi.json and interactive docs at /docs. POST "
                    "/admin/reload loads the bundle again from MODEL and swaps it in only if it "
                    "loads cleanly.")
    serve.add_argument("model", metavar="MODEL", help="model bundle folder")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=_port, default=8000, help="port, 1 to 65535 (default: 8000)")
    serve.add_argument("--admin-token",
                       help="token that POST /admin/reload requires as 'Authorization: Bearer "
                            "TOKEN' (default: $ADREC_ADMIN_TOKEN; required beyond 127.0.0.1)")
    serve.add_argument("--torch-threads", type=positive_int, default=1,
                       help="threads each request's scoring uses; requests already run in "
                            "parallel (default: 1)")
    serve.set_defaults(handler=commands.run_serve)

    export = subcommands.add_parser(
        "export", help="write every user's recommendations, every audience, or the embeddings",
        description="Write a bulk export for ad platforms, as Parquet or CSV by OUT's extension, "
                    "in chunks with bounded memory and atomically (a crash leaves no half file). "
                    "recommendations: every user's top -k interests not engaged with yet; "
                    "audiences: every interest's top -k users who have not engaged with it; "
                    "embeddings: every user and interest vector with its ID (and bias).")
    export.add_argument("model", metavar="MODEL", help="model bundle folder")
    export.add_argument("kind", choices=EXPORT_KINDS, help="what to export")
    export.add_argument("out", metavar="OUT", help="file to write, .parquet or .csv")
    export.add_argument("-k", type=positive_int,
                        help="list length (default: 20 for recommendations, 1000 for audiences)")
    export.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="show a progress bar (default: when stderr is a terminal)")
    export.set_defaults(handler=commands.run_export)

    predict = subcommands.add_parser(
        "predict", help="predicted frequency of one (user, interest) pair",
        description="Predict how often a user would engage with an interest, in the input's "
                    "units. A model trained with --objective ials returns its ranking score "
                    "instead, labelled as such.")
    predict.add_argument("model", metavar="MODEL", help="model bundle folder")
    predict.add_argument("user", metavar="USER", help="user ID")
    predict.add_argument("interest", metavar="INTEREST", help="interest ID")
    predict.add_argument("--attribute", action="append", type=_attribute, default=[],
                         metavar="NAME=VALUE",
                         help="USER is new to the model: predict from the user's users-table "
                              "attributes, such as age_band=25-34 (hybrid models); repeat for "
                              "several")
    _add_format(predict)
    predict.set_defaults(handler=commands.run_predict)

    split = subcommands.add_parser(
        "split", help="split data into training and test folders for evaluation",
        description="Split a dataset into OUT/train (frequency, users and interests tables) and "
                    "OUT/test (frequency table), as CSV, and report the test users and "
                    "interests that do not occur in training. random: rows at random; "
                    "leave-n-out: per user, -n rows or --test-fraction of their rows; time: "
                    "every row at or after --cutoff, or the latest --test-fraction of rows; "
                    "cold-users: every row of --test-fraction of the users, so no test user "
                    "occurs in training; cold-interests: the same for interests.")
    split.add_argument("data", metavar="DATA", help="dataset folder or frequency table file")
    split.add_argument("out", metavar="OUT", help="folder to create with train/ and test/")
    split.add_argument("--method", choices=SPLIT_METHODS, default="random",
                       help="how rows are held out: random rows, leave-n-out per user, time "
                            "cutoff, or whole users (cold-users) or interests (cold-interests) "
                            "(default: random)")
    split.add_argument("--test-fraction", type=open_fraction,
                       help="share held out, between 0 and 1: of the rows, or of the users or "
                            "interests for the cold splits (default: 0.1 unless -n or --cutoff "
                            "is given)")
    split.add_argument("-n", type=positive_int,
                       help="leave-n-out only: rows held out per user, instead of --test-fraction")
    split.add_argument("--cutoff", help="time only: first held-out moment, as Unix seconds or an "
                                        "ISO date such as 2024-05-01 (UTC unless it names a time "
                                        "zone), instead of --test-fraction")
    split.add_argument("--seed", type=int, default=0, help="seed of the random choices (default: 0)")
    _add_data_options(split)
    _add_format(split)
    split.set_defaults(handler=commands.run_split)

    evaluate = subcommands.add_parser(
        "evaluate", help="measure a model on held-out rows beside the baselines",
        description="Measure a model bundle on held-out rows (DATA: a folder or frequency "
                    "table, as for train): RMSE and MAE where the model predicts frequencies, "
                    "and precision, recall, NDCG, MAP, hit rate and coverage at k with each "
                    "user's training interests excluded, beside the global mean, bias-only and "
                    "most-popular baselines fitted on the model's training rows.")
    evaluate.add_argument("model", metavar="MODEL", help="model bundle folder")
    evaluate.add_argument("data", metavar="DATA", help="held-out rows: folder or frequency table")
    evaluate.add_argument("-k", type=_int_list, default=[10, 20],
                          help="ranking cut-offs, comma-separated (default: 10,20)")
    evaluate.add_argument("--relevant-min", type=float,
                          help="smallest held-out frequency that counts as relevant for ranking "
                               "(default: every held-out row is relevant)")
    evaluate.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    evaluate.add_argument("--no-baselines", action="store_true", help="evaluate the model only")
    evaluate.add_argument("--cold", choices=("users", "interests"),
                          help="measure cold start: score the held-out users (or interests) the "
                               "model was not trained on from their attributes, beside the "
                               "fallbacks; use the test part of a cold-users (cold-interests) "
                               "split (hybrid models)")
    _add_data_options(evaluate)
    _add_format(evaluate)
    evaluate.set_defaults(handler=commands.run_evaluate)

    generate = subcommands.add_parser(
        "generate", help="write a synthetic dataset of any size, for scale tests",
        description="Write a synthetic dataset folder (frequency, users and interests tables "
                    "as Parquet) with power-law user activity and interest popularity and a "
                    "planted segment structure, streamed in blocks of users so memory stays "
                    "bounded. adrec train and adrec split read the folder.")
    generate.add_argument("out", metavar="OUT", help="folder to create")
    generate.add_argument("--rows", type=positive_int, required=True,
                          help="target number of (user, interest) rows; repeated pairs merge, so "
                               "the result has slightly fewer")
    generate.add_argument("--users", type=positive_int, required=True, help="number of users")
    generate.add_argument("--interests", type=positive_int, required=True,
                          help="number of interests")
    generate.add_argument("--segments", type=positive_int, default=20,
                          help="number of planted user and interest segments (default: 20)")
    generate.add_argument("--affinity", type=float, default=0.7,
                          help="share of a user's rows in their own segment (default: 0.7)")
    generate.add_argument("--seed", type=int, default=0, help="seed of every random choice "
                                                              "(default: 0)")
    generate.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                          help="show a progress bar (default: when stderr is a terminal)")
    _add_format(generate)
    generate.set_defaults(handler=commands.run_generate)

    info = subcommands.add_parser(
        "info", help="a model's configuration, data summary, metrics and versions",
        description="Show what a model bundle contains: configuration, data summary, validation "
                    "metrics against the baseline, versions and the bundle hash.")
    info.add_argument("model", metavar="MODEL", help="model bundle folder")
    _add_format(info)
    info.set_defaults(handler=commands.run_info)

    tuning.add_tune_parser(subcommands, _add_data_options, _add_training_options)

    # -v and -q also work after the subcommand; SUPPRESS keeps the top-level values otherwise.
    for subparser in subcommands.choices.values():
        subparser.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                               help="log more: -v for per-epoch lines, -vv for debugging")
        subparser.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                               help="log errors only")
    return parser


def configure_logging(verbose: int, quiet: bool) -> None:
    """Send log lines to stderr at the level the flags ask for."""
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr, force=True)


def main(argv: list[str] | None = None) -> int:
    """Run the ``adrec`` command and return its exit code."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    configure_logging(arguments.verbose, arguments.quiet)
    try:
        arguments.handler(arguments)
    except UnknownIDError as error:
        print(f"adrec: error: {error}", file=sys.stderr)
        return EXIT_UNKNOWN_ID
    except AdrecError as error:
        print(f"adrec: error: {error}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    except KeyboardInterrupt:
        print("adrec: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout went away (for example `| head`); that is not a failure.
        return EXIT_OK
    except OSError as error:
        # A file system failure while writing (disk full, permissions): one line, not a traceback.
        print(f"adrec: error: {error}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
