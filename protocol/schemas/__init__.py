"""Schema tooling.

JSON Schema export, AsyncAPI, compatibility diff, versions, generation, hypothesis strategies.
"""

__all__: list[str] = []
