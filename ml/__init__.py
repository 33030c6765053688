"""Segmentation and the triage model: topic, risk level and kind of a resident's item.

Importing this package (or any module in it) reads no file and loads no dictionary; the service goes through
`ml.serving`, the command line through `python -m ml`.
"""
