"""The user-space driver for the emulated NPU."""
