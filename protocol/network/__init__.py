"""The network's data: the roster (with its bundled sources), topic names, routing per topology."""

__all__: list[str] = []
