"""Community detection and the end-to-end detection pipeline."""

from linkage.detect.leiden import Communities, leiden
from linkage.detect.pipeline import DetectionResult, detect

__all__ = ["Communities", "DetectionResult", "detect", "leiden"]
