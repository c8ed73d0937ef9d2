"""The inspector: a small read-only web app over the pipeline's topics and contract.

Typed records page by page (writer schema version, reason, rule and headers of each),
every version of a subject with its diff and the schema gate's verdict, and follow mode's
statistics live. ``python -m inspector``; docs/inspector.md. No Spark here.
"""
