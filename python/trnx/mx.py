"""OCP Microscaling (MX v1.0) quantisation in numpy: the reference for MX weights.

MXFP8 (e4m3 elements) and MXFP4 (e2m1 elements) keep one e8m0 scale per block
of 32 values along an axis (K, the contraction axis, for matmul weights). The
block rule is the one the chip's ``quantize_mx`` instruction implements
(isa/MxQuantize.h): the scale exponent is ``floor(log2(amax)) - emax`` (emax 8
for e4m3, 2 for e2m1), clamped to [-127, 127] (-127 for an all-zero block), and
each value is divided by the scale and rounded to nearest even, saturating::

    import trnx.mx
    data, scales = trnx.mx.quantize(w, "mxfp4")        # w [K, N] float
    w_q = trnx.mx.dequantize(data, scales, "mxfp4")    # what the chip multiplies

``quantize`` returns the storage trnx programs take: for ``mxfp4`` the elements
packed two per byte along the last axis (low nibble = even column) as uint8;
for ``mxfp8`` the e4m3 element values as float32 (exactly representable, so a
``f8E4M3FN`` tensor stores them unchanged); scales as uint8 e8m0 codes.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

BLOCK = 32
FORMATS = ("mxfp8", "mxfp4")
# Element format: (largest power-of-two exponent, mantissa bits, smallest normal exponent, largest finite).
_ELEMENTS = {"mxfp8": (8, 3, -6, 448.0), "mxfp4": (2, 1, 0, 6.0)}
_FP4_VALUES = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0])


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown MX format {fmt!r}; use one of {FORMATS}")


def _round_element(v: np.ndarray, fmt: str) -> np.ndarray:
    """Round to the element format: nearest even at its precision, saturating."""
    _, mbits, emin, vmax = _ELEMENTS[fmt]
    mag = np.abs(v)
    with np.errstate(divide="ignore"):
        e = np.floor(np.log2(np.where(mag > 0, mag, 1.0)))
    step = np.exp2(np.maximum(e, emin) - mbits)
    r = np.round(mag / step) * step  # numpy rounds half to even
    return np.sign(v) * np.minimum(r, vmax)


def scale_exponents(x: np.ndarray, fmt: str, axis: int = 0) -> np.ndarray:
    """The e8m0 codes (uint8) of ``x``'s blocks of 32 along ``axis`` (blocks on that axis)."""
    _check_format(fmt)
    x = np.moveaxis(np.asarray(x, dtype=np.float64), axis, 0)
    if x.shape[0] % BLOCK:
        raise ValueError(f"MX blocks need the axis length ({x.shape[0]}) to be a multiple of {BLOCK}")
    blocks = x.reshape((x.shape[0] // BLOCK, BLOCK) + x.shape[1:])
    amax = np.max(np.abs(blocks), axis=1)
    emax = _ELEMENTS[fmt][0]
    with np.errstate(divide="ignore"):
        e = np.where(amax > 0, np.floor(np.log2(np.where(amax > 0, amax, 1.0))) - emax, -127)
    codes = np.clip(e, -127, 127) + 127
    codes = np.where(np.isfinite(amax), codes, 255)
    return np.moveaxis(codes.astype(np.uint8), 0, axis)


def quantize_values(x: np.ndarray, fmt: str, axis: int = 0) -> np.ndarray:
    """``x`` after MX quantisation and dequantisation (float64): what the PE multiplies."""
    codes = scale_exponents(x, fmt, axis)
    x = np.moveaxis(np.asarray(x, dtype=np.float64), axis, 0)
    scale = np.repeat(np.exp2(np.moveaxis(codes, axis, 0).astype(np.float64) - 127), BLOCK, axis=0)
    return np.moveaxis(_round_element(x / scale, fmt) * scale, 0, axis)


def quantize(w: np.ndarray, fmt: str = "mxfp4", axis: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """MX storage of a rank-2 ``w`` [K, N] quantised along ``axis`` (default K).

    Returns ``(data, scales)``: data [K, N/2] uint8 (mxfp4) or [K, N] float32
    e4m3 values (mxfp8); scales [K/32, N] uint8 e8m0 codes (for axis 0).
    """
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(f"quantize expects a rank-2 array, got shape {w.shape}")
    codes = scale_exponents(w, fmt, axis)
    scale = np.exp2(np.repeat(codes.astype(np.float64) - 127, BLOCK, axis=axis))
    elems = _round_element(w / scale, fmt)
    if fmt == "mxfp8":
        return elems.astype(np.float32), codes
    if w.shape[1] % 2:
        raise ValueError(f"mxfp4 packs two values per byte along the last axis: it needs an even length, got {w.shape[1]}")
    nibble = np.searchsorted(_FP4_VALUES, np.abs(elems)).astype(np.uint8) | np.where(elems < 0, 8, 0).astype(np.uint8)
    return (nibble[:, 0::2] | (nibble[:, 1::2] << 4)).astype(np.uint8), codes


def dequantize(data: np.ndarray, scales: np.ndarray, fmt: str = "mxfp4", axis: int = 0) -> np.ndarray:
    """The float64 values of MX storage made by :func:`quantize`."""
    _check_format(fmt)
    if fmt == "mxfp4":
        data = np.asarray(data, dtype=np.uint8)
        lo, hi = data & 0xF, data >> 4
        nib = np.empty(data.shape[:-1] + (2 * data.shape[-1],), dtype=np.uint8)
        nib[..., 0::2], nib[..., 1::2] = lo, hi
        elems = _FP4_VALUES[nib & 7] * np.where(nib & 8, -1.0, 1.0)
    else:
        elems = np.asarray(data, dtype=np.float64)
    codes = np.repeat(np.asarray(scales).astype(np.float64), BLOCK, axis=axis)
    scale = np.where(codes == 255, np.nan, np.exp2(codes - 127))
    return elems * scale
