"""Live exercises: the controller's handle, response deadlines, the terminal dashboard."""

__all__: list[str] = []
