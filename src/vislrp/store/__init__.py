"""Persistent storage of LRP models (the JSON contract) in SQLite under the data directory."""

from vislrp.store.models import ModelStore, NameConflictError, StoredModel, UnknownModelIdError

__all__ = ["ModelStore", "NameConflictError", "StoredModel", "UnknownModelIdError"]
