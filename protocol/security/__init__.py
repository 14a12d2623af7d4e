"""The security of the exchange: primitives, wire envelope, PKI and revocation, replay memory."""

__all__: list[str] = []
