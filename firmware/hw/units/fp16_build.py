"""cffi (API mode) build script for `firmware.hw.units._fp16`, the C element conversions in fp16.c."""

from __future__ import annotations

from pathlib import Path

from cffi import FFI

ffibuilder = FFI()
ffibuilder.cdef("""
    int fp16_backend(void);
    int fp16_select(int want_f16c);
    void fp16_to_f32(const void *src, void *dst, size_t n);
    void f32_to_fp16(const void *src, void *dst, size_t n);
    void i8_to_f32(const void *src, void *dst, size_t n);
    void i4_to_f32(const void *src, void *dst, size_t n);
""")
ffibuilder.set_source(
    "firmware.hw.units._fp16",
    (Path(__file__).resolve().parent / "fp16.c").read_text(encoding="utf-8"),
    extra_compile_args=["-O3", "-std=c99"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=False)
