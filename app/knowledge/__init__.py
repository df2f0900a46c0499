"""The knowledge service: articles per tenant, their passages and indexes, retrieval, curated answers, gaps."""
