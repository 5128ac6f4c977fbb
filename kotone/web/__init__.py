"""The web edge: launch bounds, input checks, rate limits, media route, error policy."""
