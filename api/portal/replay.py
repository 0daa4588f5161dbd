"""The dispute replay (争议回放): a project step by step as the caller may see it, each step
with what it changed and a link to its proof, and the dispute dossier to download."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
