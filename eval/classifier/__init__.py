"""The classifier's golden set (``golden.jsonl``, see ``DATASHEET.md``) and its evaluation (``make eval``).

``dataset`` reads and checks labelled items, ``engine`` runs the chat service's own classifier call against an
engine (a simulator it starts, or a vLLM by URL), ``scoring`` turns predictions into the figures, ``records`` keeps
the committed evaluation of each served revision, and ``__main__`` is the command.
"""
