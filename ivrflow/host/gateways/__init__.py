"""Gateways: the interpreter behind real telephony (FastAGI for Asterisk, HTTP webhooks)."""
