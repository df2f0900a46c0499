"""The API gateway: the only public service. Authenticates, limits, forwards, and speaks problem+json."""
