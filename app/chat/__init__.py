"""The chat service: answers customer messages with the tenant's assistant, through the engine.

Per customer message: one call to sessions (store the message, get the history window), the prompt built from
the tenant's assistant profile within the model's context, the answer streamed from the engine (via the
session-affine router) and relayed as it comes, the classifier run alongside, the answer stored once at the
end (partial if anything cut it short), and the escalation rules applied.
"""
