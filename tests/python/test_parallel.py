"""trnx.parallel: Megatron tensor-parallel decode on a system -- the sharded
shapes, the multi-rank program with 2 all-reduces per layer over each tp
group, and a step that is the single-chip sharded layer plus the two
all-reduces (which sit on the critical path)."""
import pytest

import trnx
from trnx.models.phases import ModelGraph


def test_shard_config_divides_heads_ffn_and_vocab():
    cfg = trnx.models.get_config("llama3-70b")
    tp = 8
    s = trnx.parallel.shard_config(cfg, tp)
    assert (s.heads, s.ffn, s.hidden) == (cfg.heads // tp, cfg.ffn // tp, cfg.hidden)
    assert s.kv_heads == max(1, cfg.kv_heads // tp)
    tiny = trnx.parallel.shard_config("tiny", 4)  # 2 KV heads over 4 ranks: one copy each
    assert (tiny.heads, tiny.kv_heads, tiny.ffn) == (1, 1, 64)
    with pytest.raises(ValueError, match="must divide heads"):
        trnx.parallel.shard_config("tiny", 3)
    with pytest.raises(NotImplementedError, match="MoE"):
        trnx.parallel.shard_config("tiny-moe", 2)


def test_tp_decode_adds_two_all_reduces_per_layer_to_the_sharded_layer():
    r = trnx.parallel.decode("tiny", batch=2, context=128, system="trn2-server", tp=4)
    assert (r.chips, r.tp, r.dp) == (16, 4, 4)
    colls = r.layer_system["collectives"]
    assert [c["op"] for c in colls] == ["all_reduce", "all_reduce"]
    assert all(c["group_size"] == 4 and c["bytes"] == 2 * 128 * 2 and c["executions"] == 1 for c in colls)
    assert "replicated" in r.replication
    # The same shard on one chip, without the collectives.
    shard = trnx.parallel.shard_config("tiny", 4)
    layer = ModelGraph(shard, "decode", 2, 128, 1, "layers", "bf16", "bf16")
    alone = trnx.simulate(trnx.compile(layer, target="trn2"), "trn2", mode="timing").report.seconds
    issue = trnx.chips.load("trn2")["dma.issue_overhead_seconds"]
    comm = sum(c["closed_form_seconds"] + issue for c in colls)
    assert r.layer_seconds == pytest.approx(alone + comm, rel=0.02)
    assert r.exposed_communication_seconds == pytest.approx(2 * sum(c["closed_form_seconds"] for c in colls), rel=1e-3)
    assert r.tpot_seconds == pytest.approx(2 * r.layer_seconds + r.head_seconds)
    assert r.tokens_per_second == pytest.approx(4 * 2 / r.tpot_seconds)
    assert r.tokens_per_second_per_megawatt_facility > 0
    with pytest.raises(ValueError, match="must divide"):
        trnx.parallel.decode("tiny", system="trn2-ultraserver", tp=4 * 3)
