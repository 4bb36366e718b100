"""scheduler layer of graphengine (see DESIGN.md)."""
