/* Fast element conversions for the cube and vector units (compiled by fp16_build.py).
 *
 * fp16 <-> fp32 with numpy's exact results: round to nearest even, subnormals kept,
 * infinities kept, a NaN keeps its sign and the top payload bits without being
 * quieted (and a payload that would vanish becomes 1), as numpy's own conversion does.
 * On x86 with F16C the bulk runs through _mm256_cvtph_ps / _mm256_cvtps_ph (chosen at
 * run time from cpuid); the rare NaN lanes are then redone by the portable code, since
 * F16C quiets signaling NaNs. Elsewhere the portable code does everything.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static uint32_t h2f_bits(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1fu)
        return sign | 0x7f800000u | (man << 13);
    if (exp == 0) {
        uint32_t s = 0;
        if (man == 0)
            return sign;
        while (!(man & 0x400u)) {  /* normalize the subnormal */
            man <<= 1;
            s++;
        }
        return sign | ((113u - s) << 23) | ((man & 0x3ffu) << 13);
    }
    return sign | ((exp + 112u) << 23) | (man << 13);
}

static uint16_t f2h_bits(uint32_t f)
{
    uint16_t sign = (uint16_t)((f >> 16) & 0x8000u);
    uint32_t fexp = (f >> 23) & 0xffu;
    uint32_t man = f & 0x7fffffu;
    int e;
    if (fexp == 0xffu) {
        if (man) {
            uint16_t r = (uint16_t)(0x7c00u | (man >> 13));
            return sign | (r == 0x7c00u ? 0x7c01u : r);
        }
        return sign | 0x7c00u;
    }
    e = (int)fexp - 127 + 15;  /* biased fp16 exponent */
    if (e >= 0x1f)
        return sign | 0x7c00u;
    if (e <= 0) {  /* fp16 subnormal or zero: value in units of 2^-24 is m >> (14 - e) */
        uint32_t m = man | 0x800000u, q, rem, half;
        int shift = 14 - e;
        if (e < -10)
            return sign;
        q = m >> shift;
        rem = m & ((1u << shift) - 1u);
        half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1u)))
            q++;
        return sign | (uint16_t)q;
    } else {
        uint32_t q = ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1fffu;
        if (rem > 0x1000u || (rem == 0x1000u && (q & 1u)))
            q++;  /* a carry into the exponent (up to infinity) is the right answer */
        return sign | (uint16_t)q;
    }
}

static void h2f_portable(const uint16_t *src, uint32_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = h2f_bits(src[i]);
}

static void f2h_portable(const uint32_t *src, uint16_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = f2h_bits(src[i]);
}

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>

static int cpu_has_f16c(void)
{
    unsigned a, b, c, d, lo, hi;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    if (!(c & bit_F16C) || !(c & bit_AVX) || !(c & bit_OSXSAVE))
        return 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    return (lo & 6u) == 6u;  /* the OS saves the YMM state */
}

__attribute__((target("avx,f16c"))) static void h2f_f16c(const uint16_t *src, uint32_t *dst, size_t n)
{
    const __m128i absmask = _mm_set1_epi16(0x7fff), inf = _mm_set1_epi16(0x7c00), quiet = _mm_set1_epi16(0x7e00);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(src + i));
        __m128i a = _mm_and_si128(h, absmask);
        __m128i snan = _mm_and_si128(_mm_cmpgt_epi16(a, inf), _mm_cmplt_epi16(a, quiet));
        _mm256_storeu_ps((float *)(dst + i), _mm256_cvtph_ps(h));
        if (_mm_movemask_epi8(snan))
            h2f_portable(src + i, dst + i, 8);
    }
    h2f_portable(src + i, dst + i, n - i);
}

__attribute__((target("avx,f16c"))) static void f2h_f16c(const uint32_t *src, uint16_t *dst, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 f = _mm256_loadu_ps((const float *)(src + i));
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT));
        if (_mm256_movemask_ps(_mm256_cmp_ps(f, f, _CMP_UNORD_Q)))
            f2h_portable(src + i, dst + i, 8);
    }
    f2h_portable(src + i, dst + i, n - i);
}
#else
static int cpu_has_f16c(void) { return 0; }
static void h2f_f16c(const uint16_t *src, uint32_t *dst, size_t n) { h2f_portable(src, dst, n); }
static void f2h_f16c(const uint32_t *src, uint16_t *dst, size_t n) { f2h_portable(src, dst, n); }
#endif

static int backend = -1;  /* -1 = not chosen yet, 0 = portable, 1 = f16c */

int fp16_backend(void)
{
    if (backend < 0)
        backend = cpu_has_f16c();
    return backend;
}

int fp16_select(int want_f16c)
{
    backend = want_f16c && cpu_has_f16c();
    return backend;
}

void fp16_to_f32(const void *src, void *dst, size_t n)
{
    if (fp16_backend())
        h2f_f16c((const uint16_t *)src, (uint32_t *)dst, n);
    else
        h2f_portable((const uint16_t *)src, (uint32_t *)dst, n);
}

void f32_to_fp16(const void *src, void *dst, size_t n)
{
    if (fp16_backend())
        f2h_f16c((const uint32_t *)src, (uint16_t *)dst, n);
    else
        f2h_portable((const uint32_t *)src, (uint16_t *)dst, n);
}

void i8_to_f32(const void *src, void *dst, size_t n)
{
    const int8_t *s = (const int8_t *)src;
    float *d = (float *)dst;
    for (size_t i = 0; i < n; i++)
        d[i] = (float)s[i];
}

void i4_to_f32(const void *src, void *dst, size_t n)
{
    /* n packed bytes -> 2n values; the low nibble is the earlier element, two's complement */
    const uint8_t *s = (const uint8_t *)src;
    float *d = (float *)dst;
    for (size_t i = 0; i < n; i++) {
        d[2 * i] = (float)((int8_t)(uint8_t)(s[i] << 4) >> 4);
        d[2 * i + 1] = (float)((int8_t)s[i] >> 4);
    }
}
