"""Package discovery: ``graphengine/`` plus the top-level ``dashboard/`` as ``graphengine.dashboard``."""
from setuptools import find_packages, setup

packages = find_packages(include=["graphengine", "graphengine.*"])
dashboard = ["graphengine.dashboard"] + [
    "graphengine.dashboard." + p for p in find_packages(where="dashboard")
]
package_dir = {"graphengine": "graphengine", "graphengine.dashboard": "dashboard"}
package_dir.update({f"graphengine.dashboard.{p}": f"dashboard/{p.replace('.', '/')}"
                    for p in find_packages(where="dashboard")})

setup(packages=packages + dashboard, package_dir=package_dir)
