"""Accepting items from residents, operators and grid workers."""
