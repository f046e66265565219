"""The review web app: people confirm or fix what the machine was unsure of."""
