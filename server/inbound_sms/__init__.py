"""Panics that arrive as text messages, through Twilio's inbound-SMS webhook.

Two senders: a home hub's cellular modem, when neither its WebSocket nor HTTP reached the
server (the text names the event's kind and id: it is stored once, whichever copy arrives
first), and a plain GSM panic pendant that texts "SOS" from a number registered to an elder.
Each is recognised by its phone number (``device_phones``) and goes through the same ingest
path as every hub event, so an emergency raises or joins one alert exactly once.
"""
