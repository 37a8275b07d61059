"""Evaluators the sweep tests plug in with ``evaluator: sweep_evaluators:NAME``."""
import time

from trnx.sweep.cache import compile_key


def slow(chip, workload, cache):
    """A quarter second per task, so a test can kill a sweep half way."""
    time.sleep(0.25)
    return {"hbm_tb_per_second": chip["hbm.bytes_per_second"] / 1e12}


def fails_above_4tb(chip, workload, cache):
    """Errors on fast HBM points; fine elsewhere."""
    if chip["hbm.bytes_per_second"] > 4e12:
        raise ValueError(f"refusing {chip['hbm.bytes_per_second']:g} B/s")
    return {"hbm_tb_per_second": chip["hbm.bytes_per_second"] / 1e12}


def synthetic(chip, workload, cache):
    """Compiles a fake artifact through the cache; the metrics are closed-form in the parameters."""
    program = cache.get_or_compile(compile_key(chip, workload), lambda: {"sbuf": chip["sbuf_bytes_per_partition"]})
    bandwidth = chip["hbm.bytes_per_second"]
    clock = chip["pe.clock_hz"]
    seconds = 1.0 / bandwidth * 1e12 + 1.0 / clock * 1e9
    return {"seconds": seconds, "watts": bandwidth / 1e10 + clock / 1e7, "sbuf": program["sbuf"]}
