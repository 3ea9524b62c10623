"""The base of every spec model: unknown keys are refused (and the nearest one suggested)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, hide_input_in_errors=True)
