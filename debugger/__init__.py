"""npudbg: the debugger for the emulated NPU (Session API, shell, commands)."""
