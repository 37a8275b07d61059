"""Design-point generation: grids, lists, seeded random and Latin-hypercube samples, constraints."""
import numpy as np

from trnx import sweep

BASE = "base: trn3\nworkloads: [{builtin: gemm}]\n"


def points(write_spec, body):
    spec = sweep.load(write_spec(BASE + body))
    return [p.overrides for p in sweep.plan(spec)[0]]


def test_grid_is_the_cartesian_product_in_spec_order(write_spec):
    got = points(write_spec, "parameters:\n  cores: [4, 8]\n  hbm.bytes_per_second: {min: 1e12, max: 3e12, steps: 3}\n")
    assert got == [{"cores": c, "hbm.bytes_per_second": b} for c in (4, 8) for b in (1e12, 2e12, 3e12)]


def test_int_ranges_round_and_drop_duplicates(write_spec):
    got = points(write_spec, "parameters:\n  psum_banks: {min: 2, max: 4, steps: 5}\n")
    assert got == [{"psum_banks": 2}, {"psum_banks": 3}, {"psum_banks": 4}]


def test_list_method_takes_explicit_points(write_spec):
    got = points(write_spec, "parameters:\n  cores: 4\nsampling:\n  method: list\n  points:\n"
                             "    - {pe.clock_hz: 1.0e9}\n    - {pe.clock_hz: 2.0e9, cores: 8}\n")
    assert got == [{"cores": 4, "pe.clock_hz": 1e9}, {"cores": 8, "pe.clock_hz": 2e9}]


def test_random_samples_are_seeded_and_in_range(write_spec):
    body = ("parameters:\n  hbm.bytes_per_second: {min: 1e12, max: 8e12, scale: log}\n  psum_banks: [4, 8]\n"
            "sampling: {method: random, samples: 50, seed: 7}\n")
    first, again = points(write_spec, body), points(write_spec, body)
    assert first == again and len(first) == 50
    assert all(1e12 <= p["hbm.bytes_per_second"] <= 8e12 and p["psum_banks"] in (4, 8) for p in first)
    other = points(write_spec, body.replace("seed: 7", "seed: 8"))
    assert other != first


def test_latin_hypercube_hits_every_stratum_once(write_spec):
    n = 20
    got = points(write_spec, f"parameters:\n  hbm.bytes_per_second: {{min: 1.0, max: 2.0e13}}\n"
                             f"  pe.clock_hz: {{min: 1.0e9, max: 3.0e9}}\n"
                             f"sampling: {{method: latin_hypercube, samples: {n}, seed: 1}}\n")
    hbm = np.array([p["hbm.bytes_per_second"] for p in got])
    clock = np.array([p["pe.clock_hz"] for p in got])
    assert sorted((hbm / 2e13 * n).astype(int)) == list(range(n))
    assert sorted(((clock - 1e9) / 2e9 * n).astype(int)) == list(range(n))


def test_constraints_read_base_keys_and_drop_points(write_spec):
    got = points(write_spec, "parameters:\n  pe.clock_hz: [1.0e9, 2.0e9, 3.0e9]\n"
                             "constraints:\n  - pe.clock_hz <= dve.clock_hz\n")
    import trnx

    limit = trnx.chips.load("trn3")["dve.clock_hz"]
    assert got == [{"pe.clock_hz": c} for c in (1e9, 2e9, 3e9) if c <= limit] and got
