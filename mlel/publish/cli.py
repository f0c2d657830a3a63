"""``python -m mlel.publish`` (``mlee-publish``): a static website of results directories."""
from __future__ import annotations

import argparse
import os
import sys
import textwrap
import time
from pathlib import Path

from mlel.base.errors import EXIT_CODES_EPILOG, EXIT_FAILED, EXIT_OK, EXIT_SIGINT, EXIT_USAGE, MleeError, UsageError
from mlel.ratings.cli import add_rating_arguments, rate_as_told
from mlel.publish.build import file_count, site_files
from mlel.publish.site import load_site
from mlel.publish.writer import WriteCount, check_site_folder, write_site

EXIT_NOTHING_RATED = EXIT_FAILED
MB = 1e6


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlel.publish",
        description=textwrap.fill(
            "Publish results as a static website: an index of tasks and environments (with the rating method "
            "in brief and a search box), a method page, one page per task and environment (a sortable, "
            "filterable table and the scatter on the rating background) and one page per entry (its label as "
            "SVG and PDF, every metric with its interval and source, the files it came from, its rated result "
            "as JSON). The directories (merged logs and result records, e.g. from python -m mlel.importers) are "
            "rated together, each task under its own scheme, as python -m mlel.ratings rates a directory. The "
            "site works on any static host and opened from file://; it makes no request outside itself.", 100),
        epilog="Examples:\n"
               "  python -m mlel.publish -d results -o site\n"
               "  python -m mlel.publish -d ../shared/reference/mlee-2022/results -d imported -o site\n"
               "  python -m http.server -d site 8000   # then open http://localhost:8000/\n"
               "A second publish of unchanged input rewrites nothing; files an earlier publish made and this one\n"
               "does not are removed (only those: the site's .mlee-site.json lists them).\n" + EXIT_CODES_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-d", "--directory", action="append", required=True, metavar="DIR",
                        help="a directory of merged logs and/or result records (repeatable)")
    parser.add_argument("-o", "--output", required=True, metavar="SITE", help="the site's folder (made if missing)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_rating_arguments(parser)  # default: each task under its own scheme, as python -m mlel.ratings rates
    return parser


def check_inputs(directories: list[str], site: Path) -> None:
    """Each input a directory, the site none of them: a clear error (exit 2) naming the path."""
    for directory in directories:
        if not os.path.exists(directory):
            raise UsageError(f"no such directory: {directory}")
        if not os.path.isdir(directory):
            raise UsageError(f"not a directory: {directory} (give the folder the results are in)")
        if site.exists() and os.path.samefile(directory, site):
            raise UsageError(f"the site folder {site} is an input directory; name another folder with -o")
    check_site_folder(site)


def _progress(total: int, quiet: bool):
    if quiet:
        return None, lambda: None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc="writing pages", unit="file", dynamic_ncols=True, mininterval=0.5,
               file=sys.stderr, disable=None)
    return bar, lambda: bar.update(1)


def publish(args: argparse.Namespace) -> tuple[WriteCount, int]:
    """Rate (by the rating options of ``args``; default: each task under its own scheme), build and write
    the site: (what was written, the entries published)."""
    directories, site = args.directory, Path(args.output)
    check_inputs(directories, site)
    options, report = rate_as_told(args, directories)
    data = load_site(directories, options, report)
    for problem in data.problems:
        print(f"skipped {problem}", file=sys.stderr)
    if not data.entries:
        raise MleeError(f"nothing to publish: no rated entry in {', '.join(directories)} "
                        f"({len(data.problems)} file(s) skipped)", EXIT_NOTHING_RATED)
    bar, tick = _progress(file_count(data), args.quiet)
    try:
        count = write_site(site, stream=site_files(data), progress=tick)
    finally:
        if bar is not None:
            bar.close()
    return count, len(data.entries)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    site = Path(args.output)
    start = time.perf_counter()
    try:
        count, entries = publish(args)
    except MleeError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except (FileNotFoundError, NotADirectoryError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: the site may be half updated; publish again to finish it", file=sys.stderr)
        return EXIT_SIGINT
    seconds = time.perf_counter() - start
    print(f"published {entries} entries to {site}/index.html: {count}; {count.bytes_total / MB:.1f} MB "
          f"in {seconds:.1f} s")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
