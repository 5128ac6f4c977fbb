"""Neural MIDI experts (seed 004): canonical format, tokenizers, models, decoding."""
