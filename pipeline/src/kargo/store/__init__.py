"""The durable store: resource documents with resourceVersion, events, audit and step logs."""

from kargo.store.auditchain import GENESIS, record_hash, source_address
from kargo.store.documents import AuditRecord, Change, ChangeType, EventFilter, StoredEvent
from kargo.store.errors import StoreConflict, StoreError, StoreNotFound
from kargo.store.store import Store, sqlite_url
from kargo.store.transactions import Transaction, identity
from kargo.store.typed import get_model, kind_of, list_models, save_model, to_document

__all__ = [
    "AuditRecord",
    "Change",
    "ChangeType",
    "EventFilter",
    "GENESIS",
    "Store",
    "StoreConflict",
    "StoreError",
    "StoreNotFound",
    "StoredEvent",
    "Transaction",
    "get_model",
    "identity",
    "kind_of",
    "list_models",
    "record_hash",
    "save_model",
    "source_address",
    "sqlite_url",
    "to_document",
]
