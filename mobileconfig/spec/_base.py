"""The base of every spec model: unknown keys are refused (and the nearest one suggested).

Kept apart from :mod:`mobileconfig.spec.model` so that the services (one layer below the spec
front end) can build their spec models on it without importing the front end.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["SpecModel"]


class SpecModel(BaseModel):
    """A spec section: extra keys are an error, secrets never echo in error messages."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, hide_input_in_errors=True)
