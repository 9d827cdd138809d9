"""Community detection on the account evidence graph."""

from linkage.detect.leiden import Communities, leiden

__all__ = ["Communities", "leiden"]
