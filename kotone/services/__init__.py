"""Optional outside services (ElevenLabs). Never on the critical path: the game runs without them."""
