"""End to end: a real (tiny, random-weight) PyTorch text model generates tokens greedily under
``mlel.experiment.record.experiment``; ``merge_results.py`` turns each run folder into one generic result record;
``python -m mlel.ratings`` rates it against a second configuration of the model; the label tool labels it
(``-f`` takes the record).

Nothing is downloaded: the model is built from a config with random weights (plain torch, no
transformers). No power sensor here: RAPL is pointed at an empty tree and NVML is absent, so the CPU
power is the estimate, and every energy property must say "estimated"."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from mlel.experiment.record import experiment
from mlel.runlog.recorded import entry_name  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TASK = "lm-arena-chat"
VOCAB = 96
PROMPTS = ["What is energy?", "Rate this model.", "Hello, tiny model!"]
NEW_TOKENS = 12
MIN_WINDOW_S = 1.2  # the validity gates grade a window of 1 s or more: answer the prompts until then
SMALL = {"d_model": 32, "layers": 2}
REFERENCE = {"d_model": 64, "layers": 2}


class TinyLM(nn.Module):
    """A decoder-only language model: token + position embeddings, causal self-attention layers."""

    def __init__(self, d_model: int, layers: int, context: int = 64):
        super().__init__()
        self.tokens = nn.Embedding(VOCAB, d_model)
        self.positions = nn.Embedding(context, d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead=4, dim_feedforward=2 * d_model, dropout=0.0,
                                           batch_first=True)
        self.blocks = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, VOCAB)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        n = ids.shape[1]
        x = self.tokens(ids) + self.positions(torch.arange(n))
        causal = nn.Transformer.generate_square_subsequent_mask(n)
        return self.head(self.blocks(x, mask=causal, is_causal=True))


@torch.no_grad()
def generate(model: TinyLM, prompt: str, new_tokens: int) -> list[int]:
    """Greedy decoding: the most likely next token, appended, new_tokens times."""
    ids = torch.tensor([[ord(c) % VOCAB for c in prompt]])
    out = []
    for _ in range(new_tokens):
        next_id = model(ids)[0, -1].argmax()
        out.append(int(next_id))
        ids = torch.cat([ids, next_id.view(1, 1)], dim=1)
    return out


def _record(runs: Path, config: dict) -> tuple[Path, float, int, int]:
    torch.manual_seed(0)
    model = TinyLM(**config).eval()
    generate(model, PROMPTS[0], 2)  # warm-up outside the measurement: torch's first calls are slow
    with experiment(task=TASK, model="tiny-gpt", dataset="three prompts", output_dir=runs, backend="torch",
                    interval=0.05, **config) as run:
        start, rounds = time.perf_counter(), 0
        while rounds == 0 or time.perf_counter() - start < MIN_WINDOW_S:
            for prompt in PROMPTS:
                run.add(tokens=len(generate(model, prompt, NEW_TOKENS)), responses=1)
            rounds += 1
        run.log(total_params=sum(p.numel() for p in model.parameters()) * 1e-9)
    return run.folder, run.energy_j, int(run.metrics["tokens"]), rounds


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, cwd=REPO,
                          timeout=120)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """Both configurations recorded (no sensors: estimated) and merged by the real CLI."""
    root = tmp_path_factory.mktemp("llm")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLEL_POWERCAP_ROOT", str(root / "no-powercap"))
        mp.setitem(sys.modules, "pynvml", None)
        runs = {name: _record(root / "runs", config) for name, config in
                (("small", SMALL), ("reference", REFERENCE))}
    merged = _cli(REPO / "merge_results.py", "--directory", root / "runs", "--output-dir", root / "results")
    assert merged.returncode == 0, merged.stderr
    return root, runs


def test_merge_writes_one_record_per_run_with_properties_from_energy_and_counts(recorded):
    root, runs = recorded
    folder, energy_j, tokens, rounds = runs["small"]
    assert tokens == rounds * len(PROMPTS) * NEW_TOKENS
    record = json.loads((root / "results" / f"{folder.name}.json").read_text())
    assert record["schema"] == "mlee-result/1" and record["task"] == TASK
    assert record["name"] == entry_name("tiny-gpt", SMALL) and record["configuration"] == SMALL
    assert record["provenance"]["tool"] == "MLEE"
    props = record["properties"]
    assert energy_j > 0
    assert props["energy_per_token"]["value"] == pytest.approx(energy_j / tokens, rel=1e-9)
    assert props["energy_per_response"]["value"] == pytest.approx(energy_j / (rounds * len(PROMPTS)), rel=1e-9)
    assert props["energy_per_token"]["source"] == "estimated"  # no sensor on this machine
    assert props["avg_output_len"] == {"value": NEW_TOKENS, "unit": "tokens/response", "source": "computed"}
    assert props["total_params"]["source"] == "reported"
    assert record["environment"]["software"].startswith("PyTorch ")
    assert len(list((root / "results").glob("*.json"))) == 2


def test_ratings_index_the_record_against_the_other_configuration(recorded):
    root, _ = recorded
    reference = entry_name("tiny-gpt", REFERENCE)
    done = _cli("-m", "mlel.ratings", "--directory", root / "results", "--task", TASK,
                "--reference", reference, "--json")
    assert done.returncode == 0, done.stderr
    rated = {r["entry"]: r for r in json.loads(done.stdout)}  # one model, two configurations: two entries
    assert set(rated) == {reference, entry_name("tiny-gpt", SMALL)}
    small, ref = rated[entry_name("tiny-gpt", SMALL)], rated[reference]
    for key in ("energy_per_token", "total_params"):  # lower is better: index = reference / value
        assert small["metrics"][key]["index"] == pytest.approx(
            ref["metrics"][key]["value"] / small["metrics"][key]["value"])
        assert ref["metrics"][key]["index"] == pytest.approx(1.0)
    assert small["metrics"]["total_params"]["index"] > 1  # the smaller model has fewer parameters
    assert small["energy"]["estimated"] is True
    assert small["graded"] and ref["graded"] and small["compound"] in "ABCDE"  # windows of 1 s and more


def test_label_of_the_record(recorded, tmp_path):
    root, runs = recorded
    folder = runs["small"][0]
    label = tmp_path / "label.pdf"
    done = _cli("-m", "mlel.label_generator", "-f", root / "results" / f"{folder.name}.json",
                "--reference", entry_name("tiny-gpt", REFERENCE), "-o", label)
    assert done.returncode == 0, done.stderr
    assert label.read_bytes().startswith(b"%PDF")
    assert entry_name("tiny-gpt", SMALL) in done.stderr  # the entry it labelled, with its rating
