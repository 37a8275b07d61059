"""trnx.chips: presets load, keys read like the YAML, derive() checks values, YAML round-trips."""
import pytest

import trnx


def test_presets_load_and_expose_dotted_keys():
    assert {"trn2", "trn3", "trn4"} <= set(trnx.chips.presets())
    trn3 = trnx.chips.load("trn3")
    assert trn3.name == "trn3"
    assert trn3["hbm.capacity_bytes"] > 0 and trn3["hbm.bytes_per_second"] > 0
    assert "pe_array.rows" in trn3 and len(trn3) == len(list(trn3))
    assert trn3.peak_flops("bf16") > 0


def test_fields_describe_every_key():
    fields = trnx.chips.fields()
    assert "hbm.bytes_per_second" in fields.index
    assert set(trnx.chips.load("trn2")) == set(fields.index)


def test_derive_changes_one_key_and_keeps_the_rest():
    trn3 = trnx.chips.load("trn3")
    fast = trn3.derive({"hbm.bytes_per_second": 2 * trn3["hbm.bytes_per_second"]}, name="trn3-fast")
    assert fast.name == "trn3-fast"
    assert fast["hbm.bytes_per_second"] == 2 * trn3["hbm.bytes_per_second"]
    assert fast["pe_array.rows"] == trn3["pe_array.rows"]
    assert trn3["hbm.bytes_per_second"] != fast["hbm.bytes_per_second"]  # the original is unchanged
    assert trn3.derive(hbm__capacity_bytes=2**30)["hbm.capacity_bytes"] == 2**30


def test_yaml_round_trip(tmp_path):
    trn4 = trnx.chips.load("trn4")
    path = tmp_path / "chip.yaml"
    trn4.save(path)
    again = trnx.chips.load(path)
    assert again.to_dict() == trn4.to_dict()
    assert trnx.chips.from_yaml(trn4.to_yaml()).to_dict() == trn4.to_dict()


def test_bad_chips_raise_trnx_error(tmp_path):
    with pytest.raises(trnx.TrnxError):
        trnx.chips.load("trn99")
    with pytest.raises(trnx.TrnxError, match="hbm.bytes_per_second"):
        trnx.chips.load("trn3").derive({"hbm.bytes_per_second": 0})
    with pytest.raises(trnx.TrnxError):
        trnx.chips.load("trn3").derive({"no.such_key": 1})
