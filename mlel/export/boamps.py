"""One BoAmps report (the Boavizta energy report format for AI tasks) of one rated entry.

Pure: the rated entry, what its first file says (:class:`mlel.export.inputs.Origin`), its energy
(:mod:`mlel.export.energy`) and the time in; a JSON-ready dict out. What we do not know is left out
(BoAmps' fields are optional but for a few), never guessed: no publisher, no country unless the
importer recorded one, no memory sizes, the infrastructure ``other``.
"""
from __future__ import annotations

import re
import statistics
import uuid
from collections import Counter
from datetime import datetime

import orjson

from mlel.base.environment import BACKENDS
from mlel.base.names import backend_key
from mlel.export.energy import EnergyFigure
from mlel.export.inputs import ExportEntry, Origin
from mlel.importers.property_units import UnitError, convert
from mlel.tasks.properties import PropertySet

SPECIFICATION_URI = "https://raw.githubusercontent.com/Boavizta/BoAmps/main/model/report_schema.json"
TOOL = "mlee"
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/mlee/export/boamps")

# What each built-in task takes in and gives out, in BoAmps' data types (input types, output types).
# A task not named here has input "other": BoAmps requires one dataset item with a type.
DATA_TYPES = {
    "inference": (("image",), ()), "training": (("image",), ()),
    "image-classification": (("image",), ()), "object-detection": (("image",), ()),
    "image-captioning": (("image",), ("text",)), "image-generation": (("text",), ("image",)),
    "text-to-image": (("text",), ("image",)), "text-to-video": (("text",), ("video",)),
    "text-classification": (("text",), ()), "sentence-similarity": (("text",), ()),
    "extractive-qa": (("text",), ("text",)), "summarization": (("text",), ("text",)),
    "text-generation": (("text",), ("text",)), "asr": (("audio",), ("text",)),
    "lm-arena-chat": (("text",), ("text",)), "gpqa": (("text",), ("text",)),
    "sourcegraph-fim": (("text",), ("text",)), "image-chat": (("image", "text"), ("text",)),
    "video-chat": (("video", "text"), ("text",)),
}
STAGES = {"training": "training", "generic": "other"}  # every other task is a model answering requests
PARAMETER_KEYS = ("total_params", "parameters")  # a model's size, in the units its property set states
PRECISION_KEYS = ("weight_precision", "precision")  # configuration keys naming the numbers' format
_COUNTED = re.compile(r"^(\d+)\s*x\s+(.+)$")  # "8 x A100": how the importers name several devices
# names that say what kind of device a hardware string of an imported record is
_GPU_WORDS = re.compile(r"\b(NVIDIA|Tesla|Quadro|GeForce|RTX|Radeon|Instinct|MI\d{3}X?|[ABHLTV]\d{1,3}|GB\d{3}|"
                        r"L40S?|GPU)\b", re.I)
_CPU_WORDS = re.compile(r"\b(CPU|Xeon|EPYC|Core|Ryzen|Processor|Threadripper|Graviton)\b", re.I)


def boamps_report(entry: ExportEntry, found: Origin, properties: PropertySet, energy: EnergyFigure,
                  created: datetime, tool_version: str | None = None) -> dict:
    """The BoAmps report of one entry (see the module's note)."""
    rated = entry.rated
    report = {
        "header": {
            "formatVersionSpecificationUri": SPECIFICATION_URI,
            "reportId": str(uuid.uuid5(_ID_NAMESPACE, orjson.dumps(list(rated.entry.key)).decode())),
            "reportDatetime": created.strftime("%Y-%m-%d %H:%M:%S"),
            "reportStatus": "final",
        },
        "task": _task(entry, found, properties, energy),
        "measures": [_measure(entry, found, energy, tool_version)],
        "infrastructure": {"infraType": "other", "components": _components(entry, found)},
    }
    if found.system.get("System"):
        report["system"] = {"os": str(found.system["System"]).lower()}  # its Release is the kernel's, no distribution's
    if found.platform is not None and found.platform.python:
        report["software"] = {"language": "python", "version": found.platform.python}
    country = found.record.configuration.get("country_iso_code") if found.record is not None else None
    if country:
        report["environment"] = {"country": str(country)}
    return report


def _task(entry: ExportEntry, found: Origin, properties: PropertySet, energy: EnergyFigure) -> dict:
    rated = entry.rated
    stage = STAGES.get(rated.task, "inference")
    requests = _requests(entry, energy) if stage == "inference" or energy.per else None
    task = {"taskStage": stage, "taskFamily": properties.display_name,
            "algorithms": [_algorithm(entry, found, properties)],
            "dataset": _datasets(rated.task, requests)}
    if requests is not None:
        task["nbRequest"] = requests
    accuracy = _accuracy(rated, properties)
    if accuracy is not None:
        task["measuredAccuracy"] = accuracy
    task["taskDescription"] = _description(entry, found, properties, energy)
    return task


def _requests(entry: ExportEntry, energy: EnergyFigure) -> int | None:
    """How many requests the energy is of: one, where it is the energy of one; a merged log's
    samples, where its runs agree on them; else unknown."""
    if energy.per is not None:
        return 1
    samples = {run.n_samples for run in entry.runs}
    return samples.pop() if len(samples) == 1 and None not in samples else None


def _datasets(task: str, requests: int | None) -> list[dict]:
    inputs, outputs = DATA_TYPES.get(task, (("other",), ()))
    items = [{"dataUsage": "input", "dataType": kind} for kind in inputs]
    if requests is not None and len(items) == 1:
        items[0]["dataQuantity"] = requests
    return items + [{"dataUsage": "output", "dataType": kind} for kind in outputs]


def _algorithm(entry: ExportEntry, found: Origin, properties: PropertySet) -> dict:
    rated = entry.rated
    # a hub id ("org/model") names a published model BoAmps calls a foundation model
    algorithm = {"foundationModelName" if "/" in rated.model else "algorithmName": rated.model}
    if rated.task == "training":
        algorithm["trainingType"] = "supervisedLearning"
        epochs = {run.epochs for run in entry.runs}
        if len(epochs) == 1 and None not in epochs:
            algorithm["epochsNumber"] = epochs.pop()
    framework, version = _framework(rated.entry.backend, found)
    if framework:
        algorithm["framework"] = framework
    if version:
        algorithm["frameworkVersion"] = version
    billions = _parameters_billion(rated, properties)
    if billions is not None:
        algorithm["parametersNumber"] = billions
    configuration = dict(rated.entry.configuration)
    precision = next((configuration[k] for k in PRECISION_KEYS if configuration.get(k)), None)
    if precision:
        algorithm["quantization"] = str(precision)
    return algorithm


def _framework(backend: str, found: Origin) -> tuple[str, str | None]:
    """(framework, version): a merged log's backend by its display name, the version installed in
    its run; an imported record's software as its importer named it."""
    if found.platform is None:
        return backend, None
    display, dists = BACKENDS.get(backend_key(backend), (backend, ()))
    return display, next((found.platform.packages[d] for d in dists if d in found.platform.packages), None)


def _parameters_billion(rated, properties: PropertySet) -> float | None:
    units = {p.key: p.unit for p in properties.properties}
    for key in PARAMETER_KEYS:
        metric = rated.metrics.get(key)
        if key in units and metric is not None and metric.value is not None:
            try:
                return convert(metric.value, units[key], "billion")
            except UnitError:
                return None
    return None


def _accuracy(rated, properties: PropertySet) -> float | None:
    """The first quality fraction of the property set (top-1 accuracy), where it has a value."""
    for prop in properties.properties:
        metric = rated.metrics.get(prop.key)
        if (prop.group == "Quality" and prop.unit == "fraction" and prop.higher_is_better and metric is not None
                and metric.value is not None and 0 <= metric.value <= 1):
            return metric.value
    return None


def _description(entry: ExportEntry, found: Origin, properties: PropertySet, energy: EnergyFigure) -> str:
    rated = entry.rated
    data = rated.entry.dataset or "a dataset not named"
    runs = rated.entry.n_runs
    if energy.key is None:
        what = f"of the run ({energy.how()})" + (f", the mean of {runs} runs" if runs > 1 else "")
    else:
        tool = found.record.provenance.tool if found.record is not None else "its source"
        what = (f"{energy.key} ({energy.source}{' by ' + tool if energy.source == 'reported' else ''})"
                + (f", the energy of one {energy.per}" if energy.per else ""))
    if rated.compound is not None:
        rating = f"rated {rated.to_dict()['compound']} under the {rated.scheme or 'default'} scheme"
    else:
        rating = f"not rated: {rated.entry.not_graded or rated.not_rated or 'no compound rating'}"
    return (f"{rated.name} on {data} ({properties.display_name}), environment {rated.environment}; "
            f"energy: {what}; {rating} by MLEE (reference {rated.reference}); files: {', '.join(rated.logs)}")


def _measure(entry: ExportEntry, found: Origin, energy: EnergyFigure, tool_version: str | None) -> dict:
    if energy.key is None:  # measured (or estimated) by this project's power sources
        measure = {"measurementMethod": f"{TOOL} ({energy.how()})"}
        if tool_version:
            measure["version"] = tool_version
        for field, device in (("cpuTrackingMode", "CPU"), ("gpuTrackingMode", "GPU")):
            if energy.meters_of(device):
                measure[field] = ", ".join(energy.meters_of(device))
    else:
        tool = found.record.provenance.tool if found.record is not None else "an imported result"
        measure = {"measurementMethod": f"{tool} ({energy.source}, imported by {TOOL})"}
    measure["powerConsumption"] = energy.energy_kwh
    durations = [run.duration_s for run in entry.runs]
    if durations and None not in durations:
        measure["measurementDuration"] = statistics.fmean(durations)  # of one run, as the energy is
    return measure


def _components(entry: ExportEntry, found: Origin) -> list[dict]:
    """The hardware: a merged log's GPUs (one component per model) and CPU; an imported record's
    hardware as its importer named it ("8 x H100")."""
    components = []
    if found.system:
        gpus = Counter(str(gpu.get("Name") or "GPU") for _, gpu in sorted((found.system.get("GPU") or {}).items()))
        components += [{"componentName": f"{count} x {name}", "componentType": "gpu", "nbComponent": count}
                       for name, count in gpus.items()]
        if found.system.get("Processor"):
            components.append({"componentName": str(found.system["Processor"]), "componentType": "cpu",
                               "nbComponent": 1})
    elif found.record is not None:
        hardware = found.record.environment.hardware
        counted = _COUNTED.match(hardware)
        count, name = (int(counted.group(1)), counted.group(2)) if counted else (1, hardware)
        components.append({"componentName": hardware, "componentType": _kind(name, counted is not None),
                           "nbComponent": count})
    return components or [{"componentName": entry.rated.environment, "componentType": "unknown",
                           "nbComponent": 1}]


def _kind(name: str, counted: bool) -> str:
    """gpu | cpu | unknown, by the words of the name ("N x …" is how importers count GPUs)."""
    if counted:
        return "gpu"
    if _CPU_WORDS.search(name):  # first: "Xeon E5-2680 v4" is no V4 GPU
        return "cpu"
    return "gpu" if _GPU_WORDS.search(name) else "unknown"
