"""bureaunet bureaus layer: the running bureau nodes and their keys on disk."""

from bureaus.keystore import KeystoreError, PkiDirectory, init_pki, load_pki

__all__ = ["KeystoreError", "PkiDirectory", "init_pki", "load_pki"]
