"""bureaunet scenarios layer: scenario files, the runner, reports and the CLI."""

__all__: list[str] = []
