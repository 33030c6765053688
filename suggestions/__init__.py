"""Intake, classification and triage for a district governance centre."""
