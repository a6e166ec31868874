"""Persistent storage of LRP models (the JSON contract) in SQLite under the data directory."""

from vislrp.store.models import (
    INT64_MAX,
    NAME_MAX,
    InvalidModelError,
    ModelStore,
    NameConflictError,
    StoredModel,
    StoreHealth,
    StoreUnavailableError,
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
    "StoreHealth",
    "StoreUnavailableError",
    "StoredModel",
    "UnknownModelIdError",
    "fit_name",
    "inspect_store",
]
