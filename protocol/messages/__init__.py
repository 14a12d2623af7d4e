"""The messages, their rules and their wire form.

Models, notices, value types, lifecycle, who may send what, caveats, codec, gateway.
"""

__all__: list[str] = []
