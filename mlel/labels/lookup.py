"""Finding the summary to label among the rated ones: by task, model (or entry) name and
environment, forgiving in spelling; what is not found is said with the closest names."""
from __future__ import annotations

import difflib

from mlel.base.errors import EXIT_FAILED, EXIT_USAGE, MleeError
from mlel.base.names import normalise_model_name

EXIT_NOT_FOUND = EXIT_FAILED
MAX_SUGGESTIONS = 5  # "did you mean a, b, c?": a handful, never the whole list
MAX_LISTED = 12  # where nothing is close, a list this short is shown whole


class LabelError(MleeError):
    """A problem to report in one line, with the exit code it ends with (default 1)."""

    def __init__(self, message: str, code: int = EXIT_NOT_FOUND):
        super().__init__(message, code)
        self.code = code


def closest(word: str, candidates: list[str], n: int = MAX_SUGGESTIONS) -> list[str]:
    """The candidates closest to ``word`` (difflib, case-insensitive), best first; those that
    contain it, or that it contains, join them where difflib finds too few."""
    by_key: dict[str, str] = {}
    for candidate in sorted(candidates):
        by_key.setdefault(candidate.lower(), candidate)
    key = word.lower()
    found = difflib.get_close_matches(key, list(by_key), n=n, cutoff=0.5)
    if len(found) < n and key:
        found += [c for c in sorted(by_key, key=len) if c not in found and (key in c or c in key)][:n - len(found)]
    return [by_key[c] for c in found]


def did_you_mean(word: str, candidates: list[str]) -> str:
    """ "; did you mean X, Y?" from the closest candidates; else the whole list where it is short."""
    close = closest(word, candidates)
    if close:
        return f"; did you mean {', '.join(close)}?"
    if candidates and len(set(candidates)) <= MAX_LISTED:
        return f"; available: {', '.join(sorted(set(candidates)))}"
    return f" (none of the {len(set(candidates))} names is close)" if candidates else ""


def pick_model(rated: list[dict], task: str, model: str) -> list[dict]:
    """The summaries of ``task`` whose entry or model is ``model`` ("resnet-50" finds ResNet50)."""
    of_task = [s for s in rated if s["task"] == task]
    if not of_task:
        tasks = sorted({s["task"] for s in rated})
        raise LabelError(f"no rated {task} results{did_you_mean(task, tasks)}")
    found = [s for s in of_task if s.get("entry") == model] or [s for s in of_task if s["model"] == model]
    if not found:
        wanted = normalise_model_name(model)
        found = [s for s in of_task if normalise_model_name(s["model"]) == wanted]
    if not found:
        names = sorted({str(s.get("entry") or s["model"]) for s in of_task})
        raise LabelError(f"model '{model}' has no rated {task} results{did_you_mean(model, names)}")
    entries = sorted({str(s.get("entry") or s["model"]) for s in found})
    if len(entries) > 1:  # one model, several configurations: the entry's name tells them apart
        shown = ", ".join(entries[:MAX_SUGGESTIONS]) + (f", … ({len(entries)} in all)"
                                                        if len(entries) > MAX_SUGGESTIONS else "")
        raise LabelError(f"'{model}' has {len(entries)} configurations in {task}; choose one with -m: {shown}",
                         EXIT_USAGE)
    return found


def pick_environment(found: list[dict], environment: str | None) -> dict:
    """The one summary of ``found`` in ``environment`` (exact, then any case, then a part of it)."""
    environments = [s["environment"] for s in found]
    if environment is None:
        if len(found) == 1:
            return found[0]
        raise LabelError(f"'{found[0]['model']}' ran in {len(found)} environments; choose one with "
                         f"-e/--environment: {'; '.join(sorted(environments))}", EXIT_USAGE)
    for match in (lambda e: e == environment, lambda e: e.lower() == environment.lower(),
                  lambda e: environment.lower() in e.lower()):
        hits = [s for s in found if match(s["environment"])]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise LabelError(f"environment '{environment}' matches several: "
                             f"{'; '.join(sorted(s['environment'] for s in hits))}", EXIT_USAGE)
    raise LabelError(f"'{found[0]['model']}' has no results in environment '{environment}'"
                     f"{did_you_mean(environment, environments)}")
