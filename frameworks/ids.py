"""Helpers for the v1 shapes framework code passes around: ids as text or ``{"value"}``, one or many."""

from actors.scheduler.ids import (
    as_dicts,
    as_texts,
    id_dict,
    id_value,
    id_values,
    normalize_ids,
    uuid_bytes,
)

__all__ = ["as_dicts", "as_texts", "id_dict", "id_value", "id_values", "normalize_ids", "uuid_bytes"]
