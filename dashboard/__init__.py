"""The Bokeh dashboard, installed as ``graphengine.dashboard``.

The pages arrive with the dashboard issue; this package exists so that the layout the
design describes is real from the start. Importing it has no side effects.
"""
