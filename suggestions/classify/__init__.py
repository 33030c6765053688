"""Classifying items by topic, risk and kind, in workers."""
