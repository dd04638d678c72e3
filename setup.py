"""scald-monitor: monitoring and alerting for aggregated timeseries (successor of ligo-scald)."""
from setuptools import find_packages, setup

setup(
    name="scald-monitor",
    version="0.1.0",
    description="Monitoring and Nagios-compatible alerting on aggregated timeseries (ligo-scald successor)",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="GPL-2.0-or-later",
    python_requires=">=3.10",
    packages=find_packages(include=["scald_monitor", "scald_monitor.*"]) + ["scald_monitor.web"],
    package_dir={"scald_monitor.web": "web"},
    include_package_data=True,
    package_data={
        "scald_monitor": ["nagios_templates/*.in", "schema/*.schema.json"],
        "scald_monitor.web": ["templates/*", "templates/**/*", "static/*", "static/**/*"],
    },
    install_requires=[
        "click>=8.0",
        "pyyaml>=5.4",
        "numpy>=1.22",
        "apscheduler>=3.10,<4",
        "requests>=2.25",
        "influxdb>=5.3",
        "flask>=2.3",
        "waitress>=2.1",
        "prometheus_client>=0.16",
    ],
    extras_require={
        "test": ["pytest>=7", "hypothesis>=6", "jsonschema>=4", "requests>=2.25", "igwn-monitor[check-json]>=1.3",
                 "ligo-scald>=0.8.5",
                 "openapi-spec-validator>=0.7",
                 "selenium>=4.10", "schemathesis>=4.1,<5", "aiosmtpd>=1.4"],
    },
    entry_points={
        "console_scripts": [
            "scald = scald_monitor.cli:scald",
            "scald-monitor = scald_monitor.cli:monitor",
            "check_scald = scald_monitor.plugin:main",
        ],
    },
    scripts=[],
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: System :: Monitoring",
        "License :: OSI Approved :: GNU General Public License v2 or later (GPLv2+)",
    ],
)
