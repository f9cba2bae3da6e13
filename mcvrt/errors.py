"""Errors raised where user input enters `mcvrt`; the CLI prints each as one line, exit 2."""

from reid.errors import CheckpointError, ConfigError, ReidError


class McvrtError(Exception):
    """Base class for bad input to the pipeline."""


class InputError(McvrtError):
    """A video, ground-truth file, output folder or model file cannot be used."""


__all__ = ["CheckpointError", "ConfigError", "InputError", "McvrtError", "ReidError"]
