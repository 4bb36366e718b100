"""Local schedulers."""
