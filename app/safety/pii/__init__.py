"""PII detection (Presidio's analyzer on a blank spaCy pipeline plus our recognizers), consistent placeholders per
conversation, and the encrypted vault that lets an answer show the customer's own values again."""
