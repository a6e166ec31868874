"""Persistent storage of LRP models (the JSON contract) in SQLite under the data directory."""

from vislrp.store.db import SqliteStore, StoreUnavailableError
from vislrp.store.designs import (
    INT64_MAX,
    NAME_MAX,
    InvalidModelError,
    ModelStore,
    NameConflictError,
    StoredModel,
    StoreHealth,
    UnknownModelIdError,
    fit_name,
    inspect_store,
)

__all__ = [
    "INT64_MAX",
    "NAME_MAX",
    "InvalidModelError",
    "ModelStore",
    "NameConflictError",
    "SqliteStore",
    "StoreHealth",
    "StoreUnavailableError",
    "StoredModel",
    "UnknownModelIdError",
    "fit_name",
    "inspect_store",
]
