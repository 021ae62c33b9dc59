"""Small helpers for assembler tests: words of a section, symbols by name."""

from __future__ import annotations

from isa.image import ObjectImage, Section, Symbol


def section(image: ObjectImage, name: str) -> Section:
    return next(s for s in image.sections if s.name == name)


def words(image: ObjectImage, name: str = ".text") -> list[int]:
    data = section(image, name).data
    return [int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data) - len(data) % 4, 4)]


def symbol(image: ObjectImage, name: str) -> Symbol:
    return next(s for s in image.symbols if s.name == name)
