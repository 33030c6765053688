"""Hotspots: places and cases where disputes are gathering, found early."""
