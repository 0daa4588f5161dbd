"""The supervision body's pages (行政监督部门): every project with its stage and warnings,
the warnings with their rule, article, figures and linked events, the log's health, and the
statistics with their charts. Only a signed-in actor with the role supervisor opens them."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
