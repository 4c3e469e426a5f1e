"""Reads of the live-stream domain: which streams (`streams`), what a caller sees
of them (`viewing`), and the back office's funding figures (`funding`)."""
