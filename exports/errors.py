"""Errors of the export and serving-client side, in the library's ZooError family."""

from zoo.errors import ConfigError, ZooError


class ExportError(ConfigError):
    """A model that cannot become a servable SavedModel (the message says why and what to change)."""


class ServingError(ZooError):
    """A model server answered a request with an error (HTTP status or gRPC code, and its message)."""

    def __init__(self, message: str, *, status: int | str | None = None):
        super().__init__(message)
        self.status = status


class ServerUnreachableError(ServingError):
    """No model server answered at the given address."""
