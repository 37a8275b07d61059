"""trnx.workloads: figures come from simulation, the layer-scaled method agrees with the full
model, HBM capacity is enforced with a clear message, and chips compare into a DataFrame."""
import pytest

import trnx
from trnx import workloads


@pytest.fixture(scope="module")
def tiny_decode():
    return workloads.decode("tiny", batch=2, context=128, chip="trn3")


def test_decode_figures_are_consistent(tiny_decode):
    r = tiny_decode
    assert r.method == "layer-scaled" and "multiplied by 2 layers" in r.method_detail
    assert r.tokens == 2 and r.tpot_seconds == r.latency_seconds and r.ttft_seconds is None
    assert r.tokens_per_second == pytest.approx(2 / r.latency_seconds)
    assert r.tokens_per_joule == pytest.approx(2 / r.energy_joules)
    assert r.tokens_per_second_per_megawatt_chip == pytest.approx(1e6 * r.tokens_per_joule)
    # facility power >= node (IT) power >= chip power, so fewer tokens per MW at each level
    assert r.tokens_per_second_per_megawatt_chip > r.tokens_per_second_per_megawatt_node > \
        r.tokens_per_second_per_megawatt_facility > 0
    assert r.to_dict()["model"] == "tiny" and r.to_series()["chip"] == "trn3"


def test_layer_scaled_matches_the_full_model(tiny_decode):
    full = workloads.decode("tiny", batch=2, context=128, chip="trn3", method="full")
    assert full.method == "full"
    assert full.latency_seconds == pytest.approx(tiny_decode.latency_seconds, rel=0.05)
    assert full.energy_joules == pytest.approx(tiny_decode.energy_joules, rel=0.05)


def test_matches_a_direct_simulation():
    """The full method is exactly compile + timing simulate of the builder graph."""
    from trnx import models

    r = workloads.prefill("tiny", batch=1, seq=64, method="full")
    report = trnx.simulate(trnx.compile(models.prefill("tiny", 1, 64)), mode="timing").report
    assert r.latency_seconds == report.seconds and r.ttft_seconds == report.seconds
    assert r.tokens == 64


def test_training_step_and_moe():
    train = workloads.training_step("tiny", batch=1, seq=64)
    assert train.tokens == 64 and train.latency_seconds > 0
    moe = workloads.decode("tiny-moe", batch=1, context=64)
    assert moe.tokens_per_second > 0


def test_models_that_do_not_fit_one_chip_name_the_bytes():
    with pytest.raises(workloads.DoesNotFitError) as info:
        workloads.decode("gpt3-175b", batch=1, context=2048, chip="trn3")
    message = str(info.value)
    assert "needs 358,8" in message and "trn3 has 154,618,822,656 bytes" in message
    assert "weights 349.16 GB" in message and "trnx.parallel.decode" in message
    small = trnx.chips.load("trn3").derive({"hbm.capacity_bytes": 2**20}, name="tiny-hbm")
    with pytest.raises(workloads.DoesNotFitError, match="tiny-hbm has 1,048,576 bytes"):
        workloads.decode("tiny", chip=small)


def test_memory_required_parts():
    from trnx import models

    need = workloads.memory_required(models.decode("llama3-8b", batch=4, context=1024))
    assert need["weights"] == 2 * models.LLAMA3_8B.parameters()
    assert need["kv_cache"] == 2 * 32 * 4 * 1024 * 8 * 128 * 2
    assert need["total"] == sum(v for k, v in need.items() if k != "total")
    train = workloads.memory_required(models.training_step("llama3-8b", batch=1, seq=2048))
    assert train["optimizer_state"] == 8 * models.LLAMA3_8B.parameters()


def test_bad_arguments():
    with pytest.raises(ValueError, match="method must be one of"):
        workloads.decode("tiny", method="guess")
    with pytest.raises(ValueError, match="phase must be one of"):
        workloads.run("tiny", phase="finetune")
    with pytest.raises(KeyError, match="unknown model"):
        workloads.decode("llama9")
    with pytest.raises(ValueError, match="layers must be between 1 and 2 for tiny"):
        workloads.decode("tiny", layers=3)


def test_compare_chips_is_a_dataframe():
    frame = workloads.compare_chips("tiny", ["trn2", "trn3"], phase="decode", batch=1, length=64)
    assert list(frame.index) == ["trn2", "trn3"]
    assert (frame["tokens_per_second"] > 0).all() and "tokens_per_second_per_megawatt_facility" in frame


def test_progress_bar_names_each_stage(capsys):
    """progress=True: a tqdm bar on stderr saying what is being compiled and simulated; off by default off a tty."""
    workloads.decode("tiny", batch=1, context=64, chip="trn3", progress=True)
    err = capsys.readouterr().err
    assert "tiny decode b1" in err
    assert "compiling tiny_decode_b1_c64_1l-only for trn3" in err and "simulating tiny_decode_b1_c64_head on trn3" in err
    workloads.decode("tiny", batch=1, context=64, chip="trn3")
    assert capsys.readouterr().err == ""


def test_check_fits_counts_attention_scores_only_where_they_are_materialised():
    """Prefill's fused attention keeps the scores on chip: the compiled layer's HBM scratch is far below
    the [B*H, S, S] fp32 scores and probabilities, memory_required has no such part, and Llama-3-8B
    prefill at 32k tokens fits one trn3. Training's unfused attention still materialises them, so a
    long training step is refused before compiling, with the bytes by part."""
    from trnx import models

    graph = models.prefill("tiny", batch=1, seq=2048, layers=1, part="layers")
    tensors = trnx.compile(graph).tensors
    scratch = tensors[tensors.role == "scratch"].bytes.sum()
    assert scratch < workloads.SCORE_BYTES * graph.config.heads * 2048 * 2048 / 10
    assert "attention_scores" not in workloads.memory_required(graph)
    long = models.prefill("llama3-8b", batch=1, seq=32768)
    assert workloads.check_fits(long, trnx.chips.load("trn3")) == workloads.memory_required(long)["total"]
    with pytest.raises(workloads.DoesNotFitError) as info:
        workloads.check_fits(models.training_step("llama3-8b", batch=1, seq=32768), trnx.chips.load("trn3"))
    assert "attention_scores 274.88 GB" in str(info.value) and "llama3-8b train" in str(info.value)
