"""The events app's services: subscriptions, recording events, delivering them."""
