"""outflow: a file-based workflow and build tool for scientific pipelines."""

__version__ = "0.1.0"
