"""The lark grammar of the Outflowfile language, shipped as package data."""
