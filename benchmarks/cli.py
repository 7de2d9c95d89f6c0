"""Argument types shared by the benchmarks' command lines."""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = ["sizes_type"]


def sizes_type(flag: str) -> Callable[[str], list[int]]:
    """An argparse ``type`` for ``flag``: comma-separated sizes, each >= 1 (``100,1000``)."""
    def parse(text: str) -> list[int]:
        try:
            sizes = [int(part) for part in text.split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} must be comma-separated integers, got {text!r}") from None
        if not sizes or min(sizes) < 1:
            raise argparse.ArgumentTypeError(f"{flag} sizes must be >= 1, got {text!r}")
        return sizes
    return parse
