"""Firmware sources, built images, release table and the emulated hardware (hw/)."""
