"""Tests of the investigator service (the top-level ``api`` package)."""
