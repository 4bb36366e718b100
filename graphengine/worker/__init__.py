"""worker layer of graphengine (see DESIGN.md)."""
