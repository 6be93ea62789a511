"""The error an adapter or a LeNet model raises for what its framework cannot compute at all."""


class UnsupportedError(NotImplementedError):
    """Raised by an adapter for a case its framework cannot compute at all."""
