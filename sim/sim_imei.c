/*
 * sim_imei.c — simulated device identities.
 *
 * An IMEI is 14 digits and a Luhn check digit. Simulated IMEIs are
 * "86" (a TAC prefix used by modules sold in China), six digits taken from the
 * fleet seed, six digits of the device index, and the check digit, so one
 * fleet never repeats an IMEI and two runs with the same seed produce the
 * same fleet.
 */
#include "sim_internal.h"

int sim_luhn_digit(const char *s, size_t n)
{
    unsigned sum = 0;
    /* the check digit will sit right of s: double the rightmost digit of s */
    int dbl = 1;
    for (size_t i = n; i-- > 0;) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (dbl) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
        dbl = !dbl;
    }
    return (int)((10 - sum % 10) % 10);
}

int sim_luhn_valid(const char *s, size_t n)
{
    if (n < 2)
        return 0;
    int d = sim_luhn_digit(s, n - 1);
    return d >= 0 && s[n - 1] == (char)('0' + d);
}

void sim_imei_make(uint64_t seed, uint32_t index, char out[SIM_IMEI_LEN + 1])
{
    uint64_t st = seed;
    uint32_t fleet = (uint32_t)(sim_rng_next(&st) % 1000000u);
    uint32_t idx = index % 1000000u;
    out[0] = '8';
    out[1] = '6';
    for (int i = 7; i >= 2; i--) {
        out[i] = (char)('0' + fleet % 10);
        fleet /= 10;
    }
    for (int i = 13; i >= 8; i--) {
        out[i] = (char)('0' + idx % 10);
        idx /= 10;
    }
    out[14] = (char)('0' + sim_luhn_digit(out, 14));
    out[15] = '\0';
}
