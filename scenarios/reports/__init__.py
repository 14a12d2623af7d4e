"""What a run leaves behind: the summary and metrics, report files, debrief, evidence chain."""

__all__: list[str] = []
