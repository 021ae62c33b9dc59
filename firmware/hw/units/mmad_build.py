"""cffi (API mode) build script for `firmware.hw.units._mmad`: the cube's tile GEMM and the
units' worker thread (mmad.c).

fp16.c is compiled in too: the kernel widens its operands with the same conversions.
"""

from __future__ import annotations

from pathlib import Path

from cffi import FFI

_HERE = Path(__file__).resolve().parent

ffibuilder = FFI()
ffibuilder.cdef("""
    int mmad_bind(void *sgemm, int int64, void *set_threads, void *get_threads);
    void mmad_stats(long *out);
    int mmad_run(int dtype, const void *a, const void *b, void *c, int m, int k, int n, int overwrite,
                 int kchunk, int split);
    int mmad_submit(int dtype, const void *a, const void *b, void *c, int m, int k, int n, int overwrite,
                    int kchunk, int split);
    int copy_submit(void *dst, const void *src, size_t rows, size_t row_bytes, size_t src_pitch,
                    size_t dst_pitch);
    void worker_drain(void);
    extern int worker_busy;
""")
ffibuilder.set_source(
    "firmware.hw.units._mmad",
    "\n".join((_HERE / name).read_text(encoding="utf-8") for name in ("fp16.c", "mmad.c")),
    extra_compile_args=["-O3", "-std=gnu11", "-pthread"],
    extra_link_args=["-pthread"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=False)
