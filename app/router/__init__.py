"""The session-affine router: an OpenAI-compatible proxy in front of the engine replicas.

Turns of one conversation go to the same replica (its prefix cache holds the conversation), replicas that go
away are dropped at once, and a request that has not started streaming is retried on another replica.
"""
