"""Command line for the model builders: list configs, emit MLIR, print a summary.

    /usr/bin/python3 -m trnx.models list
    /usr/bin/python3 -m trnx.models emit llama3-8b --phase decode --batch 1 --context 2048 --layers 1 -o layer.mlir
    /usr/bin/python3 -m trnx.models summary mixtral-8x7b --phase prefill --batch 1 --seq 4096

Bad arguments print one ``error:`` line and exit with status 1.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

from .config import configs, get_config
from .phases import PARTS, PHASES, ModelGraph, decode, prefill, training_step


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 1 (argparse's default is 2 and usage)
        raise SystemExit(_fail(message))


def _fail(message: str) -> int:
    from .._trnx import diagnostic_line

    print(diagnostic_line("error", message), file=sys.stderr)
    return 1


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python3 -m trnx.models", description="Shape-only transformer graphs as MLIR.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="named model configurations")
    for name in ("emit", "summary"):
        s = sub.add_parser(name, help="write the MLIR" if name == "emit" else "parameters, FLOPs and bytes")
        s.add_argument("model", help=f"one of {', '.join(configs())}")
        s.add_argument("--phase", choices=PHASES, default="decode")
        s.add_argument("--batch", type=int, default=1)
        s.add_argument("--context", type=int, help="decode: cached positions (default 2048)")
        s.add_argument("--seq", type=int, help="prefill/train: tokens per sequence (default 2048)")
        s.add_argument("--layers", type=int, help="decoder layers (default: the model's)")
        s.add_argument("--part", choices=PARTS, default="full",
                       help="full model, decoder layers only, or embedding + LM head only")
        s.add_argument("--weight-dtype", default="bf16")
        if name == "emit":
            s.add_argument("-o", "--output", default="-", help="output file (default: stdout)")
    return p


def _graph(args: argparse.Namespace) -> ModelGraph:
    if args.phase == "decode":
        if args.seq is not None:
            raise ValueError("--seq is for prefill/train; decode takes --context")
        return decode(args.model, args.batch, args.context or 2048, layers=args.layers, part=args.part,
                      weight_dtype=args.weight_dtype)
    if args.context is not None:
        raise ValueError("--context is for decode; prefill/train take --seq")
    build = prefill if args.phase == "prefill" else training_step
    return build(args.model, args.batch, args.seq or 2048, layers=args.layers, part=args.part,
                 weight_dtype=args.weight_dtype)


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            for name in configs():
                cfg = get_config(name)
                print(f"{name:14s} {cfg.parameters() / 1e9:8.2f} B params  {cfg.layers:3d} layers  "
                      f"hidden {cfg.hidden}" + (f"  {cfg.experts} experts top-{cfg.top_k}" if cfg.is_moe else ""))
            return 0
        graph = _graph(args)
        if args.command == "summary":
            print(json.dumps(graph.summary(), indent=2))
            return 0
        text = graph.to_mlir()
        if args.output == "-":
            sys.stdout.write(text)
        else:
            with open(args.output, "w") as f:
                f.write(text)
        return 0
    except (KeyError, ValueError, NotImplementedError, OSError) as e:
        return _fail(str(e.args[0]) if isinstance(e, KeyError) else str(e))


if __name__ == "__main__":
    sys.exit(main())
