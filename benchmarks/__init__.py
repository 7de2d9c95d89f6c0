"""mesopy's benchmarks: each module measures figures beside a raw baseline in the same run;
``python -m benchmarks`` runs them all and prints one summary table (benchmarks/__main__.py)."""

__all__: list[str] = []
