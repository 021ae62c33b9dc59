/* Sort and checksum: quicksort (recursive, so it uses the stack) over
   pseudo-random data, checked for order, folded into a checksum with
   multiplies, divisions and remainders. main returns checksum % 251. */
#define N 200

static unsigned int seed = 12345u;      /* .data */
static int values[N];                   /* .bss */
static const int weights[4] = {3, -7, 11, -13};  /* .rodata */

static int next_value(void) {
    seed = seed * 1103515245u + 12345u;
    return (int)(seed >> 8) - (1 << 22);
}

static void quicksort(int *a, int lo, int hi) {
    while (lo < hi) {
        int pivot = a[(lo + hi) / 2], i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) {
                int t = a[i]; a[i] = a[j]; a[j] = t;
                i++; j--;
            }
        }
        if (j - lo < hi - i) { quicksort(a, lo, j); lo = i; }
        else { quicksort(a, i, hi); hi = j; }
    }
}

int main(void) {
    for (int i = 0; i < N; i++) values[i] = next_value();
    quicksort(values, 0, N - 1);
    for (int i = 1; i < N; i++)
        if (values[i - 1] > values[i]) return 255;
    unsigned int sum = 0;
    for (int i = 0; i < N; i++)
        sum = sum * 31u + (unsigned int)(values[i] / 7 + values[i] % 5) * (unsigned int)weights[i & 3];
    return (int)(sum % 251u);
}
