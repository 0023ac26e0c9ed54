"""Stories: the reports of one incident, across outlets, grouped incrementally (issue #10).

Pure: `extract` turns a classified report into features, `StoryAssigner` keeps the recent stories in
memory and decides where each new report belongs. Storage and the ingest hook live elsewhere.
"""

from __future__ import annotations

from bot.stories.assigner import WINDOW_SECONDS, Decision, Params, StoryAssigner
from bot.stories.features import ReportFeatures, extract

__all__ = ["WINDOW_SECONDS", "Decision", "Params", "ReportFeatures", "StoryAssigner", "extract"]
