"""The services' shared core: settings, logs, errors, request ids, metrics, tracing, database, identity tokens,
internal HTTP calls, SSE framing and the app factory every ``app.<service>`` is built with."""
