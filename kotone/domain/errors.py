"""One error family for the whole game; the app turns these into ``gr.Error``."""


class KotoneError(Exception):
    """Base class of every error the game raises on purpose."""


class InvalidInputError(KotoneError, ValueError):
    """User or API input was malformed, empty, oversize or out of range."""


class UnknownCardError(InvalidInputError):
    """A card id that is not in the catalog, or a card in the wrong slot."""


class LockedCardError(InvalidInputError):
    """A card the player has not unlocked yet."""


class NotFoundError(KotoneError, LookupError):
    """A song, commission or townsperson id that does not exist."""


class DataError(KotoneError):
    """A shipped data file (cards, commissions, weights) failed validation."""


class RenderError(KotoneError):
    """Audio or image rendering failed or ran past its bound."""


class CapacityError(KotoneError):
    """The server cannot take this now (busy, rate-limited, disk or gallery full): try later."""
