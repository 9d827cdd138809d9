"""The package version, in one place (``linkage.__version__``)."""

__version__ = "0.1.0"
