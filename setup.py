"""Build hook for the C parts (cffi, API mode); everything else is in pyproject.toml."""

from setuptools import setup

# Each entry is "path/to/build_script.py:ffibuilder"; the C is compiled at install.
CFFI_MODULES: list[str] = [
    "firmware/hw/units/fp16_build.py:ffibuilder",
    "firmware/hw/units/mmad_build.py:ffibuilder",
    "isa/core/build.py:ffibuilder",
]

setup(cffi_modules=CFFI_MODULES)
