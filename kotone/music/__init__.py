"""Music engine: blend cards, plan the song, generate parts, humanize, measure."""
