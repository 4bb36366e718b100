"""The Bokeh dashboard, installed as ``graphengine.dashboard``.

The scheduler serves it (:mod:`.server`) when started with a dashboard address: pages
/status, /workers, /profile, /graph and /system, each a module here, built from the
shared figures in :mod:`.figures`; :mod:`.report` writes the same figures into standalone
performance reports. Importing this package has no side effects.
"""
