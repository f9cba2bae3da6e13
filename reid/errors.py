"""Errors raised where user input enters `reid` (config files, datasets, checkpoints)."""


class ReidError(Exception):
    """Base class: bad input to the reid package; the CLI prints it as one line."""


class ConfigError(ReidError):
    """A config file is missing, unreadable, or has an unknown key or a bad value."""


class CheckpointError(ReidError):
    """A checkpoint is missing, truncated, or does not match its model."""
