"""Regenerate the paper's tables and figures from a directory of merged logs.

    python create_paper_results.py [--directory results] [--output-dir paper_results] [--reference ResNet101]

Writes exec-envs.tex (environments: hardware, libraries, number of experiments), indexing-results.tex
(value and index of power draw, runtime, parameters and top-1 per environment for the chosen models,
index cells coloured by rating), scatter plots on the index scale over the rating background, the
parameters-vs-runtime plot, histograms of compound ratings per environment (PDF + PNG), and labels.
"""
import argparse
import sys

from mlel.paper import DEFAULT_MODELS, create_paper_results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--directory", "-d", default="results", help="merged logs (default: results)")
    parser.add_argument("--output-dir", "-o", default="paper_results", help="where to write (default: paper_results)")
    parser.add_argument("--reference", default="ResNet101", help="reference model of the index scale")
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS),
                        help=f"models of the indexing table and labels (default: {' '.join(DEFAULT_MODELS)})")
    args = parser.parse_args(argv)
    try:
        written, messages = create_paper_results(args.directory, args.output_dir, args.reference, args.models)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for message in messages:
        print(message, file=sys.stderr)
    print(f"wrote {len(written)} files to {args.output_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
