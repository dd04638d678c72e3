"""The two shapes every answer in the OpenAPI document takes, shared by :mod:`.openapi` (the read routes) and
:mod:`.openapi_writes` (the write routes)."""
from __future__ import annotations


def json_answer(schema: dict, description: str) -> dict:
    """A JSON answer of ``schema``."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def error_answer(description: str) -> dict:
    """An error answer: ``{"error": ...}`` (the Error schema), as every refusal of the API."""
    return json_answer({"$ref": "#/components/schemas/Error"}, description)
